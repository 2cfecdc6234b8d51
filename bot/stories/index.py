"""Candidate retrieval for story centroids: a pruned inverted index with a delta buffer.

Each story contributes only its ``terms_per_story`` heaviest centroid terms. They live in a
CSR posting matrix (feature -> stories), rebuilt in batches, plus an append-only delta buffer
for stories created or changed since the last rebuild. A changed or removed story's old
postings are zeroed in place, so every story is counted once. A query's approximate score for
a story is the dot product of the query with the story's pruned centroid; callers rescore the
best few exactly. The work per query depends on the query's terms and the posting lengths of
those terms, not on scanning all stories (the delta buffer is bounded).
"""

from __future__ import annotations

import numpy as np

from bot.stories.vectorize import SparseVec, top_terms


class PrunedIndex:
    """Inverted index over the top terms of each story centroid."""

    def __init__(
        self,
        dim: int,
        *,
        terms_per_story: int = 32,
        query_terms: int | None = 48,
        min_rebuild: int = 256,
    ) -> None:
        self.dim = dim
        self.terms_per_story = terms_per_story
        self.query_terms = query_terms
        self.min_rebuild = min_rebuild
        self._pruned: dict[int, SparseVec] = {}
        # main CSR: rows = features, entries = (story key, weight)
        self._indptr = np.zeros(dim + 1, dtype=np.int64)
        self._keys = np.zeros(0, dtype=np.int64)
        self._data = np.zeros(0, dtype=np.float32)
        self._main_pos: dict[int, np.ndarray] = {}
        # delta buffer (append-only between rebuilds)
        self._d_terms = np.zeros(1024, dtype=np.int64)
        self._d_keys = np.zeros(1024, dtype=np.int64)
        self._d_vals = np.zeros(1024, dtype=np.float32)
        self._d_len = 0
        self._d_pos: dict[int, tuple[int, int]] = {}
        self.rebuilds = 0

    def __len__(self) -> int:
        return len(self._pruned)

    def __contains__(self, key: int) -> bool:
        return key in self._pruned

    def keys(self) -> list[int]:
        return list(self._pruned)

    # -- maintenance -------------------------------------------------------------------------
    def _forget(self, key: int) -> None:
        pos = self._main_pos.pop(key, None)
        if pos is not None:
            self._data[pos] = 0.0
        span = self._d_pos.pop(key, None)
        if span is not None:
            self._d_vals[span[0] : span[1]] = 0.0

    def put(self, key: int, centroid: SparseVec) -> None:
        """Add or replace a story's centroid (only its top terms are indexed)."""
        self._forget(key)
        pruned = top_terms(centroid, self.terms_per_story)
        self._pruned[key] = pruned
        n = pruned.nnz
        end = self._d_len + n
        if end > self._d_terms.size:
            cap = max(end, 2 * self._d_terms.size)
            self._d_terms = np.resize(self._d_terms, cap)
            self._d_keys = np.resize(self._d_keys, cap)
            self._d_vals = np.resize(self._d_vals, cap)
        self._d_terms[self._d_len : end] = pruned.idx
        self._d_keys[self._d_len : end] = key
        self._d_vals[self._d_len : end] = pruned.val
        self._d_pos[key] = (self._d_len, end)
        self._d_len = end
        if len(self._d_pos) >= max(self.min_rebuild, len(self._pruned) // 32):
            self.rebuild()

    def remove(self, key: int) -> None:
        self._forget(key)
        self._pruned.pop(key, None)

    def rebuild(self) -> None:
        """Fold the delta buffer into the CSR postings (O(total postings))."""
        keys = list(self._pruned)
        self._main_pos = {}
        self._d_len = 0
        self._d_pos = {}
        self.rebuilds += 1
        if not keys:
            self._indptr = np.zeros(self.dim + 1, dtype=np.int64)
            self._keys = np.zeros(0, dtype=np.int64)
            self._data = np.zeros(0, dtype=np.float32)
            return
        vecs = [self._pruned[k] for k in keys]
        lens = np.fromiter((v.nnz for v in vecs), dtype=np.int64, count=len(vecs))
        terms = np.concatenate([v.idx for v in vecs]).astype(np.int64)
        vals = np.concatenate([v.val for v in vecs])
        owners = np.repeat(np.asarray(keys, dtype=np.int64), lens)
        order = np.argsort(terms, kind="stable")
        inverse = np.empty_like(order)
        inverse[order] = np.arange(order.size)
        counts = np.bincount(terms, minlength=self.dim)
        self._indptr = np.zeros(self.dim + 1, dtype=np.int64)
        np.cumsum(counts, out=self._indptr[1:])
        self._keys = owners[order]
        self._data = vals[order]
        offsets = np.zeros(len(keys) + 1, dtype=np.int64)
        np.cumsum(lens, out=offsets[1:])
        for i, k in enumerate(keys):
            self._main_pos[k] = inverse[offsets[i] : offsets[i + 1]]

    # -- queries -----------------------------------------------------------------------------
    def scores(self, query: SparseVec, dense: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Approximate scores ``(keys, scores)`` of every story sharing an indexed term.

        Only the query's ``query_terms`` heaviest terms are looked up in the main postings (the
        small delta buffer sees them all). ``dense`` must hold the query's weights at its
        feature ids (zeros elsewhere).
        """
        parts_k: list[np.ndarray] = []
        parts_w: list[np.ndarray] = []
        if query.nnz and self._keys.size:
            if self.query_terms:
                query = top_terms(query, self.query_terms)
            starts = self._indptr[query.idx]
            lens = self._indptr[query.idx + 1] - starts
            total = int(lens.sum())
            if total:
                shift = np.repeat(starts - (np.cumsum(lens) - lens), lens)
                pos = np.arange(total, dtype=np.int64) + shift
                parts_k.append(self._keys[pos])
                parts_w.append(self._data[pos] * np.repeat(query.val, lens))
        if self._d_len:
            n = self._d_len
            w = self._d_vals[:n] * dense[self._d_terms[:n]]
            hit = np.flatnonzero(w)
            parts_k.append(self._d_keys[hit])
            parts_w.append(w[hit])
        if not parts_k:
            return np.zeros(0, np.int64), np.zeros(0, np.float64)
        keys = np.concatenate(parts_k) if len(parts_k) > 1 else parts_k[0]
        weights = np.concatenate(parts_w) if len(parts_w) > 1 else parts_w[0]
        if keys.size == 0:
            return keys, weights.astype(np.float64)
        # dense accumulation: O(postings touched + largest key), no sort
        sums = np.bincount(keys, weights=weights)
        touched = np.flatnonzero(sums > 0)
        return touched, sums[touched]

    def candidates(self, query: SparseVec, dense: np.ndarray, k: int) -> np.ndarray:
        """Keys of the ``k`` best stories by approximate score (ties: lower key first)."""
        keys, sums = self.scores(query, dense)
        if keys.size > k:
            # keep everything tied with the k-th score, then order that small set totally
            kth = np.partition(sums, keys.size - k)[keys.size - k]
            pick = np.flatnonzero(sums >= kth)
            keys, sums = keys[pick], sums[pick]
            order = np.lexsort((keys, -sums))[:k]
            keys = keys[order]
        return keys
