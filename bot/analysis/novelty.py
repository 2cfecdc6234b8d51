"""What new coverage adds: statements of new articles that the channel was not given.

Method (novelty-filtered centrality): candidate sentences of the new articles and the
known text share one TF-IDF space; a candidate's score is its LexRank centrality within
the new articles, times a lead prior, times ``1 - max cosine to any known sentence``,
boosted when it brings numbers or names the known text never mentioned. Paraphrases of
known sentences are dropped outright, and MMR removes repeats across new articles.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from bot.analysis import ArticleText, Statement
from bot.analysis.analyzed import AnalyzedArticle, KnownText, known_of_texts, known_sentences
from bot.analysis.summarize import (
    KNOWN_PARAPHRASE,
    analyzed,
    candidate_vectors,
    candidates,
    focus_boost,
    lead_prior,
    length_prior,
    mmr_select,
)
from bot.analysis.textvec import cosine, lexrank, term_id, tokens

NOVELTY_DEPTH = 25  # sentences of a new article considered

_NUMBER = re.compile(r"\d[\d,.]*")
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*")


def new_facts(sentence: str, known_vocab: np.ndarray) -> int:
    """Numbers and capitalised names in ``sentence`` that the known text never mentions.

    ``known_vocab`` holds the sorted ids (:func:`term_id`) of every known word.
    """
    found = {n.strip(".,") for n in _NUMBER.findall(sentence)}
    found |= {m.lower() for m in _NAME.findall(sentence)}
    count = 0
    for f in found:
        ids = np.fromiter(map(term_id, tokens(f)), dtype=np.int64) if f else None
        if ids is None or ids.size == 0:
            continue
        pos = np.searchsorted(known_vocab, ids)
        inside = pos < known_vocab.size
        if not (inside.all() and (known_vocab[pos[inside]] == ids).all()):
            count += 1
    return count


def novel_statements(
    new_articles: Sequence[AnalyzedArticle | ArticleText],
    known: Sequence[str] | KnownText,
    max_items: int = 3,
    *,
    focus: str = "",
) -> list[Statement]:
    """Up to ``max_items`` attributed statements of ``new_articles`` that the channel lacks.

    ``known`` holds what the channel was shown and all earlier story text (as texts, or as
    :class:`KnownText` built from stored analyses); ``focus`` (the channel's topic) favours
    statements about it. Results are ranked by importance and never repeat each other or
    paraphrase known text.
    """
    new_articles = analyzed(new_articles)
    if not isinstance(known, KnownText):
        known = known_of_texts(known)
    pool = candidates(new_articles, max_position=NOVELTY_DEPTH)
    if len(pool) < max_items:
        pool = [
            c
            for c in candidates(new_articles, allow_unclean=True, max_position=NOVELTY_DEPTH)
            if len(c.statement.text.split()) >= 6
        ]
    if not pool or max_items <= 0:
        return []
    texts = [c.statement.text for c in pool]
    has_known = len(known.terms) > 0
    matrix = candidate_vectors(pool, [known.terms])
    new_vecs, old_vecs = matrix[: len(texts)], matrix[len(texts) :]
    sim = cosine(new_vecs, new_vecs)
    centrality = lexrank(sim)
    redundancy = cosine(new_vecs, old_vecs).max(axis=1) if has_known else np.zeros(len(texts))
    scores = np.zeros(len(pool))
    relevance = focus_boost(pool, focus)
    for i, cand in enumerate(pool):
        if redundancy[i] >= KNOWN_PARAPHRASE:
            continue
        facts = new_facts(texts[i], known.vocab) if has_known else 0
        boost = 1.0 + 0.25 * min(facts, 4)
        clean = 1.0 if cand.clean else 0.5
        scores[i] = (
            centrality[i]
            * lead_prior(cand.statement.position)
            * length_prior(texts[i])
            * (1.0 - redundancy[i])
            * boost
            * clean
            * relevance[i]
        )
    keep = [i for i in range(len(pool)) if scores[i] > 0]
    if not keep:
        return []
    sub = np.ix_(keep, keep)
    chosen = mmr_select(
        scores[keep], sim[sub], [pool[i].statement.outlet for i in keep], max_items, lam=0.7
    )
    return [pool[keep[i]].statement for i in chosen]


__all__ = ["KNOWN_PARAPHRASE", "known_sentences", "new_facts", "novel_statements"]
