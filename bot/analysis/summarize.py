"""Extractive multi-source summary of a story: covering, non-redundant, attributed sentences.

Method: candidate sentences (self-contained, no page furniture) of the story's first
``SUMMARY_DEPTH`` sentences per article; those paraphrasing what the channel was told (TF-IDF
cosine) are dropped; the rest are chosen by budgeted concept coverage
(:mod:`bot.analysis.coverage`: concepts weighted by how many articles carry them, the topic
and headlines, within a word budget, never two sentences saying the same thing).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from bot.analysis import ArticleText, Statement
from bot.analysis.analyzed import AnalyzedArticle, KnownText, analyze
from bot.analysis.coverage import SOLVERS, Unit, build_problem, pair_ids, redundant_sets
from bot.analysis.textvec import TermRows, content_ids, cosine, tfidf_ids

SUMMARY_WORDS = 100  # default word budget of a summary
REDUNDANT = 0.5  # cosine above which two sentences say the same thing
SUMMARY_DEPTH = 12  # sentences beyond this index of an article never lead a summary


@dataclass(frozen=True, slots=True)
class Candidate:
    statement: Statement
    clean: bool  # passes is_self_contained
    terms: np.ndarray  # content term ids (TF-IDF input)


def analyzed(articles: Sequence[AnalyzedArticle | ArticleText]) -> list[AnalyzedArticle]:
    """The analyses of ``articles``, analysing the ones given as plain text."""
    return [a if isinstance(a, AnalyzedArticle) else analyze(a) for a in articles]


def candidates(
    articles: Sequence[AnalyzedArticle | ArticleText],
    *,
    allow_unclean: bool = False,
    max_position: int | None = None,
) -> list[Candidate]:
    """Sentences of the articles worth considering, de-duplicated by exact text, in order.

    ``max_position`` keeps only the first sentences of each article.
    """
    seen: set[str] = set()
    out: list[Candidate] = []
    for article in sorted(analyzed(articles), key=lambda a: (a.published, a.id)):
        rows = article.known.terms.row_arrays()
        for position, statement in enumerate(article.statements):
            if max_position is not None and position > max_position:
                break
            key = " ".join(statement.text.lower().split())
            if key in seen:
                continue
            clean = article.clean[position]
            if not clean and not allow_unclean:
                continue
            seen.add(key)
            out.append(Candidate(statement, clean, rows[position]))
    return out


def candidate_vectors(
    pool: Sequence[Candidate], extra: Sequence[TermRows] = ()
) -> sparse.csr_matrix:
    """TF-IDF rows of the candidates, then of each ``extra`` block, in one shared space."""
    rows = TermRows.concat([TermRows.of_arrays([c.terms for c in pool]), *extra])
    return tfidf_ids(rows)


KNOWN_PARAPHRASE = 0.55  # cosine to a known sentence above which a statement adds nothing


def summarize(
    articles: Sequence[AnalyzedArticle | ArticleText],
    n: int = 3,
    *,
    focus: str = "",
    known: KnownText | None = None,
    words: int = SUMMARY_WORDS,
    solver: str = "greedy",
) -> list[Statement]:
    """At most ``n`` sentences, ``words`` words in all, that cover the most of the story:
    budgeted concept coverage (:mod:`bot.analysis.coverage`), in the order they were chosen
    (the most covering first).

    ``focus`` (the topic a channel follows) favours sentences about it; a sentence that
    paraphrases ``known`` text (what the channel was already given, in any story) is never
    picked. Each returned :class:`Statement` carries its outlet and time for attribution.
    """
    articles = analyzed(articles)
    pool = candidates(articles, max_position=SUMMARY_DEPTH)
    if not pool:
        pool = [
            c
            for c in candidates(articles, allow_unclean=True, max_position=SUMMARY_DEPTH)
            if len(c.statement.text) > 40
        ]
    if not pool:
        return []
    if known is not None and len(known.terms):
        pool = [c for c, fresh in zip(pool, unknown(pool, known), strict=True) if fresh]
        if not pool:
            return []
    chosen = select(
        articles, pool, known, focus=focus, words=words, max_items=n, solver=solver
    )
    return [pool[i].statement for i in chosen]


def unknown(pool: Sequence[Candidate], known: KnownText) -> list[bool]:
    """Whether each candidate is not a paraphrase of ``known`` text (TF-IDF cosine to every
    known sentence below :data:`KNOWN_PARAPHRASE`)."""
    if not pool:
        return []
    if not len(known.terms):
        return [True] * len(pool)
    matrix = candidate_vectors(pool, [known.terms])
    told = cosine(matrix[: len(pool)], matrix[len(pool) :]).max(axis=1)
    return [bool(t < KNOWN_PARAPHRASE) for t in told]


def select(
    articles: Sequence[AnalyzedArticle],
    pool: Sequence[Candidate],
    known: KnownText | None,
    *,
    focus: str,
    words: int,
    max_items: int,
    solver: str = "greedy",
    depth: int = SUMMARY_DEPTH,
) -> list[int]:
    """Indices into ``pool`` chosen by budgeted concept coverage over ``articles`` (the new
    ones: concept weights count them), ``known`` concepts weighing nothing."""
    if not pool or max_items <= 0 or words <= 0:
        return []
    chosen = {(c.statement.article_id, c.statement.position): k for k, c in enumerate(pool)}
    units: list[Unit] = []
    order: list[int] = []  # pool index of each candidate unit
    for a in articles:
        rows = a.known.terms.row_arrays()
        for st, row in zip(a.statements[: depth + 1], rows, strict=False):
            k = chosen.get((a.id, st.position))
            units.append(Unit(st.text, tuple(row.tolist()), a.id, st.position, k is not None))
            if k is not None:
                order.append(k)
    missing = set(range(len(pool))) - set(order)
    for k in sorted(missing):  # candidates outside the articles given (defensive)
        c = pool[k]
        units.append(Unit(c.statement.text, tuple(c.terms.tolist()), c.statement.article_id,
                          c.statement.position, True))  # fmt: skip
        order.append(k)
    if known is not None and len(known.terms):
        known_pairs, vocab = pair_ids(known.terms.ids, known.terms.lens), known.vocab
    else:
        known_pairs, vocab = np.zeros(0, np.int64), np.zeros(0, np.int64)
    redundant = redundant_sets([pool[k].terms.tolist() for k in order], REDUNDANT)
    problem, _ = build_problem(
        units,
        known_pairs=known_pairs,
        known_vocab=vocab,
        focus_terms=frozenset(content_ids(focus)) if focus else frozenset(),
        title_terms=[a.title_terms for a in articles if a.title_terms],
        budget=words,
        max_items=max_items,
        redundant=redundant,
    )
    return [order[i] for i in SOLVERS[solver](problem)]


__all__ = [
    "KNOWN_PARAPHRASE",
    "Candidate",
    "analyzed",
    "candidate_vectors",
    "candidates",
    "select",
    "summarize",
    "unknown",
]
