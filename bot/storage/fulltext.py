"""Full-text search in each dialect, from one parsed query (:class:`bot.queries.language.Query`).

SQLite: the FTS5 table ``articles_fts`` (:func:`bot.queries.language.to_fts5` renders the query).
PostgreSQL: the ``articles.fts`` ``tsvector`` column (headline weight A, body D) and its GIN
index; a query becomes a ``tsquery`` built in SQL from its words, so user text is a parameter,
never syntax: a word or a phrase is ``phraseto_tsquery`` (the words adjacent, in order, as
FTS5's phrases), ``AND``/``OR``/``NOT`` are ``&&``/``||``/``!!``. Both stem English words and
keep stop words, so the same query matches the same articles, up to the tokenisers' edges
(FTS5's unicode61 folds diacritics; PostgreSQL's parser does not).
"""

from __future__ import annotations

from typing import Any

from bot.errors import UserError
from bot.queries.language import And, Node, Not, Query, Term

CONFIG = "'newsbot'"  # the text search configuration migrations_pg/0001_core.sql creates


def weights(title_weight: float) -> str:
    """ts_rank's weights {D, C, B, A} (each at most 1): a headline hit counts
    ``title_weight`` body hits."""
    return f"'{{{1.0 / title_weight:.6f}, 0, 0, 1}}'"


SEARCH_WEIGHTS = weights(4.0)  # as SQLite's bm25(articles_fts, 4.0, 1.0)
HEADLINE_OPTIONS = "'StartSel=**, StopSel=**, MaxWords=24, MinWords=8, MaxFragments=1'"


def phrase_tsquery(words: tuple[str, ...]) -> tuple[str, tuple[Any, ...]]:
    """A word or phrase as a ``tsquery`` expression (and its parameter)."""
    return f"phraseto_tsquery({CONFIG}, ?)", (" ".join(words),)


def pg_tsquery(query: Query) -> tuple[str, tuple[Any, ...]]:
    """The query as a ``tsquery`` SQL expression with its parameters."""
    params: list[Any] = []

    def render(node: Node) -> str:
        if isinstance(node, Term):
            expr, p = phrase_tsquery(node.words)
            params.extend(p)
            return expr
        if isinstance(node, Not):
            return f"(!! {render(node.child)})"
        joiner = " && " if isinstance(node, And) else " || "
        return "(" + joiner.join(render(child) for child in node.children) + ")"

    if isinstance(query.root, Not):
        raise UserError("a query cannot be only NOT ...")
    return render(query.root), tuple(params)
