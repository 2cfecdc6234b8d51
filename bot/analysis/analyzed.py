"""One article analysed once: its statements and everything digests compute from them.

Splitting sentences, judging whether each stands alone, turning it into term ids and
preparing it for conflict detection depend only on the article, so they are done once (at
ingest) and stored; a digest composes from stored analyses instead of re-reading text.

Two parts, stored apart so that a long story's background loads fast:

* :class:`KnownText` — term ids per statement and the article's word vocabulary: all that
  novelty needs of text the channel already has (plain integer arrays, loaded without
  parsing);
* :class:`AnalyzedArticle` — the statements themselves, whether each reads alone, and their
  conflict-detection form, for the articles a digest quotes or compares.

:func:`dump_detail`/:func:`load_detail` store the second part as a pickle read back with an
allow-list of classes (``datetime`` and plain containers: the analysis classes are stored
as tuples), so a tampered database row cannot name any other callable. Bump :data:`ANALYSIS_VERSION`
whenever the analysis changes; rows of another version are recomputed.
"""

from __future__ import annotations

import io
import logging
import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from bot.analysis import ArticleText, Statement, article_statements
from bot.analysis.conflicts import Prepared, PreparedArticle, astuple_shallow, prepare_article
from bot.analysis.sentences import is_self_contained, split_sentences
from bot.analysis.slots import Slot
from bot.analysis.textvec import TermRows, content_ids, term_id, tokens

log = logging.getLogger(__name__)

ANALYSIS_VERSION = 5  # 3: wire boilerplate dropped, numbers and units normalised; 4: "Co." etc.;
# 5: the conflict form stored column by column, one blob per prepared statement


@dataclass(slots=True)
class KnownText:
    """What novelty needs of an article: term ids per statement, and every word's id."""

    terms: TermRows
    vocab: np.ndarray  # sorted unique int64 ids of the article's word tokens

    def to_bytes(self) -> tuple[bytes, bytes, bytes]:
        return (
            self.terms.ids.astype(np.int64).tobytes(),
            self.terms.lens.astype(np.int32).tobytes(),
            self.vocab.astype(np.int64).tobytes(),
        )

    @staticmethod
    def from_bytes(ids: bytes, lens: bytes, vocab: bytes) -> KnownText:
        return KnownText(
            TermRows(np.frombuffer(ids, np.int64), np.frombuffer(lens, np.int32).astype(np.int64)),
            np.frombuffer(vocab, np.int64),
        )


@dataclass(slots=True)
class AnalyzedArticle:
    """An article's statements with their analysis, index-aligned with ``statements``.

    ``clean``: the statement reads alone (:func:`is_self_contained`); ``known.terms``: its
    content term ids (TF-IDF input); ``prepared``: its conflict-detection form (each
    statement's full form decoded on first use).
    """

    id: int
    title: str
    outlet: str
    published: datetime
    dated: bool
    statements: list[Statement]
    clean: list[bool]
    title_terms: tuple[int, ...]
    prepared: PreparedArticle
    known: KnownText


def analyze(article: ArticleText) -> AnalyzedArticle:
    """Everything the digest needs of one article, computed from its text alone."""
    statements = article_statements(article)
    return AnalyzedArticle(
        id=article.id,
        title=article.title,
        outlet=article.outlet,
        published=article.published,
        dated=article.dated,
        statements=statements,
        clean=[is_self_contained(s.text) for s in statements],
        title_terms=content_ids(article.title),
        prepared=PreparedArticle.of(prepare_article(statements) if statements else []),
        known=_known([s.text for s in statements]),
    )


def _known(sentences: Sequence[str]) -> KnownText:
    vocab = {term_id(t) for s in sentences for t in tokens(s)}
    return KnownText(
        TermRows.from_rows([content_ids(s) for s in sentences]),
        np.array(sorted(vocab), dtype=np.int64),
    )


def known_sentences(known: Sequence[str]) -> list[str]:
    """The known material as sentences (each item may be one statement or a whole text)."""
    out: list[str] = []
    for item in known:
        parts = split_sentences(item)
        out.extend(parts if parts else [item.strip()] if item.strip() else [])
    return out


def known_of_texts(texts: Sequence[str]) -> KnownText:
    """:class:`KnownText` of loose statements or texts (e.g. what a channel was shown)."""
    return _known(known_sentences(texts))


def merge_known(parts: Sequence[KnownText]) -> KnownText:
    """All statements of ``parts`` as one body of known text."""
    if not parts:
        return KnownText(TermRows.from_rows([]), np.zeros(0, np.int64))
    return KnownText(
        TermRows.concat([p.terms for p in parts]),
        np.unique(np.concatenate([p.vocab for p in parts])),
    )


_ALLOWED = {
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("datetime", "datetime"),
    ("datetime", "timezone"),
    ("datetime", "timedelta"),
}


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"stored analysis names {module}.{name}: not allowed")
        return super().find_class(module, name)


def _ints(values: np.ndarray, dtype: type) -> bytes:
    return np.asarray(values).astype(dtype).tobytes()


def dump_detail(a: AnalyzedArticle) -> bytes:
    """The statement part of an analysis (the arrays are stored by :meth:`KnownText.to_bytes`).

    The conflict form is stored column by column (what the pair filter reads of every
    statement) plus one blob per statement with the rest of its :class:`Prepared`, decoded
    only when a pair needs it.
    """
    p = a.prepared
    columns = (_ints(p.words, np.int32), _ints(p.templated, np.uint8), _ints(p.kinds, np.uint8),
               *_rows_bytes(p.terms), *_rows_bytes(p.context),
               [pickle.dumps((x.tokens, [astuple_shallow(s) for s in x.slots], x.terms, x.context,
                              x.claim), protocol=5) for x in p])  # fmt: skip
    fields = (a.title, a.outlet, a.published, a.dated, [astuple_shallow(s) for s in a.statements],
              a.clean, a.title_terms, columns)  # fmt: skip
    return pickle.dumps(fields, protocol=5)


def _rows_bytes(rows: TermRows) -> tuple[bytes, bytes]:
    return _ints(rows.ids, np.int64), _ints(rows.lens, np.int32)


def _rows(ids: bytes, lens: bytes) -> TermRows:
    return TermRows(np.frombuffer(ids, np.int64), np.frombuffer(lens, np.int32).astype(np.int64))


def _load(blob: bytes) -> Any:
    return _Unpickler(io.BytesIO(blob)).load()


def load_detail(article_id: int, blob: bytes, known: KnownText) -> AnalyzedArticle:
    """The analysis stored by :func:`dump_detail` (``pickle.UnpicklingError`` on bad data)."""
    value = _load(blob)
    if not isinstance(value, tuple) or len(value) != 8:
        raise pickle.UnpicklingError("stored analysis has the wrong shape")
    title, outlet, published, dated, rows, clean, title_terms, columns = value
    statements = [Statement(*s) for s in rows]
    words, templated, kinds, t_ids, t_lens, c_ids, c_lens, blobs = columns
    n = len(statements)
    terms, context = _rows(t_ids, t_lens), _rows(c_ids, c_lens)
    if not (len(blobs) == len(terms) == len(context) == len(words) // 4 == n):
        raise pickle.UnpicklingError("stored analysis has the wrong shape")

    fallback: list[Prepared] = []

    def decode(i: int) -> Prepared:
        try:
            toks, slots, term_set, context_set, claim = _load(blobs[i])
        except (pickle.UnpicklingError, ValueError, TypeError, EOFError) as exc:
            if not fallback:  # the statements are fine: prepare them again from their text
                log.warning("article %d: stored conflict form unreadable (%s); preparing it "
                            "again", article_id, exc)  # fmt: skip
                fallback.extend(prepare_article(statements))
            return fallback[i]
        return Prepared(statements[i], toks, [t.lower() for t in toks], [Slot(*x) for x in slots],
                        term_set, context_set, claim, tuple(prepared.terms.row(i).tolist()),
                        tuple(prepared.context.row(i).tolist()), bool(prepared.templated[i]),
                        int(prepared.words[i]))  # fmt: skip

    prepared = PreparedArticle(
        statements,
        np.frombuffer(words, np.int32).astype(np.int64),
        np.frombuffer(templated, np.uint8).astype(bool),
        np.frombuffer(kinds, np.uint8).astype(np.int64),
        terms,
        context,
        [None] * n,
        decode,
    )
    return AnalyzedArticle(article_id, title, outlet, published, dated, statements, clean,
                           title_terms, prepared, known)  # fmt: skip


__all__ = [
    "ANALYSIS_VERSION",
    "AnalyzedArticle",
    "KnownText",
    "analyze",
    "dump_detail",
    "known_of_texts",
    "known_sentences",
    "load_detail",
    "merge_known",
]
