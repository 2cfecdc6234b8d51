"""Bag-of-words vectors shared by the summarisers: content terms, TF-IDF, cosine matrices."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

_TOKEN = re.compile(r"[a-z0-9]+(?:[.'’-][a-z0-9]+)*")
STOP_WORDS = frozenset(ENGLISH_STOP_WORDS) | frozenset(
    [
        "said",
        "says",
        "say",
        "told",
        "according",
        "also",
        "would",
        "could",
        "including",
        "just",
        "like",
        "mr",
        "mrs",
        "ms",
    ]
)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light suffix stripper (plural, -ed, -ing) so that inflections share a term."""
    if len(word) <= 3 or word.isdigit():
        return word
    for suffix, repl in (("ies", "y"), ("sses", "ss"), ("ing", ""), ("ed", ""), ("es", "e")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + repl
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens (possessives removed, inner dots kept: ``u.s``)."""
    text = text.lower().replace("’", "'")
    return [t.removesuffix("'s") for t in _TOKEN.findall(text)]


def content_terms(text: str) -> list[str]:
    """Stemmed tokens without stop words: the terms that carry a sentence's content."""
    return [stem(t.replace(".", "")) for t in tokens(text) if t not in STOP_WORDS]


def tfidf(texts: Sequence[str]) -> sparse.csr_matrix:
    """L2-normalised TF-IDF rows (sublinear tf) over content terms; IDF from ``texts``."""
    if not texts:
        return sparse.csr_matrix((0, 0))
    vectorizer = TfidfVectorizer(analyzer=content_terms, sublinear_tf=True, dtype=np.float64)
    try:
        return sparse.csr_matrix(vectorizer.fit_transform(texts))
    except ValueError:  # no terms at all
        return sparse.csr_matrix((len(texts), 1))


def cosine(a: sparse.spmatrix, b: sparse.spmatrix) -> np.ndarray:
    """Dense cosine matrix between the L2-normalised rows of ``a`` and ``b``."""
    return np.asarray((a @ b.T).todense())


def lexrank(sim: np.ndarray, damping: float = 0.85, iterations: int = 50) -> np.ndarray:
    """Continuous LexRank: stationary distribution of the row-normalised similarity graph."""
    n = sim.shape[0]
    if n == 0:
        return np.zeros(0)
    weights = sim.copy()
    np.fill_diagonal(weights, 0.0)
    row_sums = weights.sum(axis=1, keepdims=True)
    transition = np.divide(
        weights, row_sums, out=np.full_like(weights, 1.0 / n), where=row_sums > 0
    )
    rank = np.full(n, 1.0 / n)
    for _ in range(iterations):
        updated = (1 - damping) / n + damping * (transition.T @ rank)
        if np.abs(updated - rank).sum() < 1e-9:
            rank = updated
            break
        rank = updated
    return np.asarray(rank / rank.max())
