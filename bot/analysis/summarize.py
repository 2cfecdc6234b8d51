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
from bot.analysis.textvec import TermRows, content_ids, cosine, lexrank, tfidf_ids

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
) -> list[Statement]:
    """The ``n`` (2-4 recommended) sentences that best tell the story, lead first.

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
    texts = [c.statement.text for c in pool]
    titles = [a.title_terms for a in articles if a.title.strip()]
    known_rows = known.terms if known is not None else TermRows.from_rows([])
    matrix = candidate_vectors(pool, [TermRows.from_rows(titles), known_rows])
    n_pool, n_titles = len(texts), len(titles)
    sent_vecs = matrix[:n_pool]
    title_vecs = matrix[n_pool : n_pool + n_titles]
    if len(known_rows):
        told = cosine(sent_vecs, matrix[n_pool + n_titles :]).max(axis=1)
        keep = [i for i in range(n_pool) if told[i] < KNOWN_PARAPHRASE]
        if not keep:
            return []
        pool = [pool[i] for i in keep]
        texts = [texts[i] for i in keep]
        sent_vecs = sent_vecs[keep]
    sim = cosine(sent_vecs, sent_vecs)
    centrality = lexrank(sim)
    title_sim = cosine(sent_vecs, title_vecs).max(axis=1) if titles else np.zeros(len(texts))
    positions = [c.statement.position for c in pool]
    scores = focus_boost(pool, focus) * np.array(
        [
            centrality[i] * lead_prior(positions[i]) * (0.5 + title_sim[i]) * length_prior(texts[i])
            for i in range(len(pool))
        ]
    )
    leads = [i for i, p in enumerate(positions) if p <= 1]
    chosen = mmr_select(
        scores, sim, [c.statement.outlet for c in pool], n, first_from=leads or None
    )
    return [pool[i].statement for i in chosen]


__all__ = [
    "KNOWN_PARAPHRASE",
    "Candidate",
    "analyzed",
    "candidate_vectors",
    "candidates",
    "focus_boost",
    "lead_prior",
    "mmr_select",
    "summarize",
]
