"""What new coverage adds: statements of new articles that the channel was not given.

Method (update summarisation as budgeted concept coverage, :mod:`bot.analysis.coverage`):
concepts (term pairs, names, typed figures) weigh the number of new articles carrying them and
nothing when the known text (what the channel was shown, the story's earlier coverage) holds
them; paraphrases of known sentences are dropped outright (TF-IDF cosine), and statements are
chosen to cover the most new weight within a word budget, so they never repeat each other.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from bot.analysis import ArticleText, Statement
from bot.analysis.analyzed import AnalyzedArticle, KnownText, known_of_texts, known_sentences
from bot.analysis.summarize import KNOWN_PARAPHRASE, analyzed, candidates, select, unknown
from bot.analysis.textvec import term_id, tokens

NOVELTY_DEPTH = 25  # sentences of a new article considered
NEW_WORDS = 100  # default word budget of what is new in a story

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
    words: int = NEW_WORDS,
    solver: str = "greedy",
) -> list[Statement]:
    """Up to ``max_items`` attributed statements of ``new_articles`` that the channel lacks.

    ``known`` holds what the channel was shown and all earlier story text (as texts, or as
    :class:`KnownText` built from stored analyses); ``focus`` (the channel's topic) favours
    statements about it; at most ``words`` words in all. Selection is budgeted coverage of
    the concepts the new articles carry and the known text lacks (:mod:`bot.analysis.coverage`),
    most covering first; results never repeat each other or paraphrase known text.
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
    fresh = unknown(pool, known)
    pool = [c for c, f in zip(pool, fresh, strict=True) if f]
    chosen = select(new_articles, pool, known, focus=focus, words=words, max_items=max_items,
                    solver=solver, depth=NOVELTY_DEPTH)  # fmt: skip
    return [pool[i].statement for i in chosen]


__all__ = ["KNOWN_PARAPHRASE", "known_sentences", "new_facts", "novel_statements"]
