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
from bot.analysis.sentences import split_sentences
from bot.analysis.summarize import candidates, lead_prior, length_prior, mmr_select
from bot.analysis.textvec import cosine, lexrank, tfidf, tokens

KNOWN_PARAPHRASE = 0.55  # cosine to a known sentence above which a statement adds nothing
NOVELTY_DEPTH = 25  # sentences of a new article considered

_NUMBER = re.compile(r"\d[\d,.]*")
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*")


def new_facts(sentence: str, known_terms: set[str]) -> int:
    """Numbers and capitalised names in ``sentence`` that the known text never mentions."""
    found = {n.strip(".,") for n in _NUMBER.findall(sentence)}
    found |= {m.lower() for m in _NAME.findall(sentence)}
    return sum(1 for f in found if f and not set(tokens(f)) <= known_terms)


def known_sentences(known: Sequence[str]) -> list[str]:
    """The known material as sentences (each item may be one statement or a whole text)."""
    out: list[str] = []
    for item in known:
        parts = split_sentences(item)
        out.extend(parts if parts else [item.strip()] if item.strip() else [])
    return out


def novel_statements(
    new_articles: Sequence[ArticleText], known: Sequence[str], max_items: int = 3
) -> list[Statement]:
    """Up to ``max_items`` attributed statements of ``new_articles`` that the channel lacks.

    ``known`` holds what the channel was shown and all earlier story text. Results are
    ranked by importance and never repeat each other or paraphrase known text.
    """
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
    old = known_sentences(known)
    matrix = tfidf(texts + old)
    new_vecs, old_vecs = matrix[: len(texts)], matrix[len(texts) :]
    sim = cosine(new_vecs, new_vecs)
    centrality = lexrank(sim)
    redundancy = cosine(new_vecs, old_vecs).max(axis=1) if old else np.zeros(len(texts))
    known_terms = {t for s in old for t in tokens(s)}
    scores = np.zeros(len(pool))
    for i, cand in enumerate(pool):
        if redundancy[i] >= KNOWN_PARAPHRASE:
            continue
        facts = new_facts(texts[i], known_terms) if old else 0
        boost = 1.0 + 0.25 * min(facts, 4)
        clean = 1.0 if cand.clean else 0.5
        scores[i] = (
            centrality[i]
            * lead_prior(cand.statement.position)
            * length_prior(texts[i])
            * (1.0 - redundancy[i])
            * boost
            * clean
        )
    keep = [i for i in range(len(pool)) if scores[i] > 0]
    if not keep:
        return []
    sub = np.ix_(keep, keep)
    chosen = mmr_select(
        scores[keep], sim[sub], [pool[i].statement.outlet for i in keep], max_items, lam=0.7
    )
    return [pool[keep[i]].statement for i in chosen]


__all__ = ["known_sentences", "new_facts", "novel_statements"]
