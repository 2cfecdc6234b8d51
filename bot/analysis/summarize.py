"""Extractive multi-source summary of a story: central, non-redundant, attributed sentences.

Method: candidate sentences (self-contained, no page furniture) from every article,
TF-IDF vectors, continuous LexRank centrality weighted by a lead prior (early sentences
say what happened) and by closeness to the headlines, then greedy MMR selection that
drops near-duplicates and prefers outlets not yet quoted.
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
FOCUS_WEIGHT = 2.0  # a sentence holding every topic term scores (1 + FOCUS_WEIGHT) times more


def focus_boost(pool: Sequence[Candidate], focus: str) -> np.ndarray:
    """Weight of each candidate by how many of the topic's terms it holds (query focus, as in
    query-focused summarisation): 1 with no topic, up to ``1 + FOCUS_WEIGHT``."""
    wanted = set(content_ids(focus)) if focus else set()
    if not wanted:
        return np.ones(len(pool))
    share = [len(wanted.intersection(c.terms.tolist())) / len(wanted) for c in pool]
    return 1.0 + FOCUS_WEIGHT * np.asarray(share, dtype=np.float64)


def lead_prior(position: int) -> float:
    """Weight of a sentence by its place in the article: the lead says what happened."""
    return float(1.0 / np.sqrt(1.0 + position))


def length_prior(text: str) -> float:
    words = len(text.split())
    if words < 10:
        return 0.7
    if words > 40:
        return max(0.5, 1.0 - (words - 40) / 60)
    return 1.0


def mmr_select(
    scores: np.ndarray,
    sim: np.ndarray,
    outlets: Sequence[str],
    n: int,
    *,
    lam: float = 0.75,
    redundant: float = REDUNDANT,
    first_from: Sequence[int] | None = None,
) -> list[int]:
    """Greedy maximal-marginal-relevance choice of ``n`` indices.

    Items more similar than ``redundant`` to a chosen one are never taken; an outlet
    already quoted costs a quarter of the score while other outlets remain.
    ``first_from`` restricts the first pick (e.g. to lead sentences).
    """
    count = len(scores)
    if count == 0 or n <= 0:
        return []
    top = float(scores.max()) or 1.0
    norm = scores / top
    chosen: list[int] = []
    used: set[str] = set()
    allowed = np.ones(count, dtype=bool)
    while len(chosen) < min(n, count):
        best, best_value = -1, -np.inf
        pool = first_from if (not chosen and first_from) else range(count)
        fresh = any(outlets[i] not in used for i in range(count) if allowed[i])
        for i in pool:
            if not allowed[i]:
                continue
            overlap = max((sim[i, j] for j in chosen), default=0.0)
            value = lam * norm[i] - (1 - lam) * overlap
            if fresh and outlets[i] in used:
                value -= 0.25 * lam * norm[i]
            if value > best_value:
                best, best_value = i, value
        if best < 0:
            break
        chosen.append(best)
        used.add(outlets[best])
        allowed[best] = False
        allowed &= sim[best] <= redundant
    return chosen


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
    "focus_boost",
    "lead_prior",
    "mmr_select",
    "select",
    "summarize",
    "unknown",
]
