"""Bag-of-words vectors shared by the summarisers: content terms, TF-IDF, cosine matrices."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from itertools import chain

import numpy as np
import xxhash
from scipy import sparse
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer
from sklearn.utils.sparsefuncs_fast import inplace_csr_row_normalize_l2

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


@lru_cache(maxsize=262144)
def term_id(term: str) -> int:
    """A stable 62-bit id of a term (xxh64), the same in every process and every run."""
    return xxhash.xxh64_intdigest(term.encode("utf-8")) >> 2


def content_ids(text: str) -> tuple[int, ...]:
    """:func:`content_terms` of ``text`` as stable ids, in order (repeats kept for counts)."""
    return tuple(map(term_id, content_terms(text)))


class TermRows:
    """Rows of term ids (one row per sentence) as two flat arrays: ids and row lengths."""

    __slots__ = ("ids", "lens")

    def __init__(self, ids: np.ndarray, lens: np.ndarray) -> None:
        self.ids = ids
        self.lens = lens

    @staticmethod
    def from_rows(rows: Sequence[Sequence[int]]) -> TermRows:
        lens = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
        ids = np.fromiter(chain.from_iterable(rows), dtype=np.int64, count=int(lens.sum()))
        return TermRows(ids, lens)

    @staticmethod
    def of_arrays(rows: Sequence[np.ndarray]) -> TermRows:
        lens = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
        ids = np.concatenate(rows).astype(np.int64) if rows else np.zeros(0, np.int64)
        return TermRows(ids, lens)

    def row_arrays(self) -> list[np.ndarray]:
        """Each row's ids (views, no copy)."""
        offsets = np.zeros(self.lens.size + 1, dtype=np.int64)
        np.cumsum(self.lens, out=offsets[1:])
        return [self.ids[offsets[i] : offsets[i + 1]] for i in range(self.lens.size)]

    def row(self, i: int) -> np.ndarray:
        """Row ``i``'s ids (a view)."""
        start = int(self.lens[:i].sum())
        return self.ids[start : start + int(self.lens[i])]

    @staticmethod
    def concat(parts: Sequence[TermRows]) -> TermRows:
        if not parts:
            return TermRows.from_rows([])
        return TermRows(
            np.concatenate([p.ids for p in parts]), np.concatenate([p.lens for p in parts])
        )

    def __len__(self) -> int:
        return int(self.lens.size)


def tfidf_ids(rows: TermRows) -> sparse.csr_matrix:
    """:func:`tfidf` over rows already turned into term ids (:func:`content_ids`).

    The same weighting as :func:`tfidf` (sublinear tf, smoothed IDF from ``rows``, L2 rows);
    columns are the distinct ids in ascending order.
    """
    n = len(rows)
    if n == 0:
        return sparse.csr_matrix((0, 0))
    if rows.ids.size == 0:
        return sparse.csr_matrix((n, 1))
    uniq, cols = np.unique(rows.ids, return_inverse=True)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(rows.lens, out=indptr[1:])
    counts = sparse.csr_matrix(
        (np.ones(rows.ids.size), cols.astype(np.int64), indptr), shape=(n, uniq.size)
    )
    counts.sum_duplicates()
    return _sublinear_tfidf(counts)


def _sublinear_tfidf(counts: sparse.csr_matrix) -> sparse.csr_matrix:
    """``TfidfTransformer(sublinear_tf=True).fit_transform(counts)`` (smoothed IDF, L2 rows),
    the same operations in the same order without its per-call validation (digests call it
    once per story)."""
    n = counts.shape[0]
    df = np.bincount(counts.indices, minlength=counts.shape[1]).astype(np.float64)
    df += 1.0
    idf = np.full_like(df, fill_value=n + 1, dtype=np.float64)
    idf /= df
    np.log(idf, out=idf)
    idf += 1.0
    out = sparse.csr_matrix(
        (counts.data.astype(np.float64, copy=True), counts.indices.copy(), counts.indptr.copy()),
        shape=counts.shape,
    )
    np.log(out.data, out.data)
    out.data += 1.0
    out.data *= idf[out.indices]
    inplace_csr_row_normalize_l2(out)
    return out


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
