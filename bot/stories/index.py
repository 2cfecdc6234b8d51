"""Candidate retrieval for story centroids: a pruned inverted index in three levels.

Each story contributes only its ``terms_per_story`` heaviest centroid terms. They live in a
main CSR posting matrix (feature -> stories, oldest story first), rebuilt by a COO->CSR
counting sort once a 32nd of the stories changed; the stories changed since then sit in a
mid level sorted by feature, refreshed whenever a small append-only buffer (scanned whole by
each query) holds ``delta_stories`` stories. A changed or removed story is marked stale, so its
outdated postings are skipped and every story is counted once. A query looks up only its
``query_terms`` heaviest terms, and of a very common feature only the ``max_postings`` newest
stories. Its approximate score for a story is the dot product with the story's pruned
centroid; callers rescore the best few exactly. The work per query depends on the query's
terms and bounded posting lengths, not on scanning all stories.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from bot.stories.vectorize import SparseVec, top_terms


class PrunedIndex:
    """Inverted index over the top terms of each story centroid."""

    def __init__(
        self,
        dim: int,
        *,
        terms_per_story: int = 32,
        query_terms: int | None = 48,
        max_postings: int | None = 2000,
        min_rebuild: int = 256,
        delta_stories: int = 64,
    ) -> None:
        self.dim = dim
        self.terms_per_story = terms_per_story
        self.query_terms = query_terms
        self.max_postings = max_postings
        self.min_rebuild = min_rebuild
        self.delta_stories = delta_stories
        self._pruned: dict[int, SparseVec] = {}
        # main CSR: rows = features, entries = (story key, weight), oldest story first
        self._indptr = np.zeros(dim + 1, dtype=np.int64)
        self._keys = np.zeros(0, dtype=np.int64)
        self._data = np.zeros(0, dtype=np.float32)
        # stale[key]: the story changed or left since the last rebuild (its main postings are
        # outdated and skipped); the size grows with the largest key
        self._stale = np.zeros(1024, dtype=bool)
        # mid level: postings of the stories changed since the main rebuild, sorted by feature
        # (rebuilt whenever the delta buffer fills; entries of a story changed again are zeroed)
        self._changed: set[int] = set()
        self._m_terms = np.zeros(0, dtype=np.int32)
        self._m_keys = np.zeros(0, dtype=np.int64)
        self._m_vals = np.zeros(0, dtype=np.float32)
        self._m_pos: dict[int, np.ndarray] = {}
        # delta buffer (append-only, at most ``delta_stories`` stories, scanned whole)
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
        if key >= self._stale.size:
            self._stale = np.resize(self._stale, max(key + 1, 2 * self._stale.size))
        self._stale[key] = True
        pos = self._m_pos.pop(key, None)
        if pos is not None:
            self._m_vals[pos] = 0.0
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
        self._changed.add(key)
        if len(self._d_pos) >= self.delta_stories:
            if len(self._changed) >= max(self.min_rebuild, len(self._pruned) // 32):
                self.rebuild()
            else:
                self._rebuild_mid()

    def remove(self, key: int) -> None:
        self._forget(key)
        self._pruned.pop(key, None)
        self._changed.discard(key)

    def _rebuild_mid(self) -> None:
        """Fold the delta buffer into the mid level (O(stories changed since the main
        rebuild), at most a 32nd of the index)."""
        keys = sorted(self._changed)
        self._d_len = 0
        self._d_pos = {}
        vecs = [self._pruned[k] for k in keys]
        lens = np.fromiter((v.nnz for v in vecs), dtype=np.int64, count=len(vecs))
        terms = np.concatenate([v.idx for v in vecs]) if vecs else np.zeros(0, np.int32)
        vals = np.concatenate([v.val for v in vecs]) if vecs else np.zeros(0, np.float32)
        owners = np.repeat(np.asarray(keys, dtype=np.int64), lens)
        order = np.argsort(terms, kind="stable")
        inverse = np.empty_like(order)
        inverse[order] = np.arange(order.size)
        self._m_terms = terms[order]
        self._m_keys = owners[order]
        self._m_vals = vals[order]
        offsets = np.zeros(len(keys) + 1, dtype=np.int64)
        np.cumsum(lens, out=offsets[1:])
        self._m_pos = {k: inverse[offsets[i] : offsets[i + 1]] for i, k in enumerate(keys)}

    def rebuild(self) -> None:
        """Fold the changed stories into the main postings: the surviving main entries plus
        the changed stories' entries, COO -> CSR (a counting sort, O(total postings))."""
        rows = [np.repeat(np.arange(self.dim, dtype=np.int32), np.diff(self._indptr))]
        keep = ~self._stale[self._keys]
        rows[0] = rows[0][keep]
        cols = [self._keys[keep]]
        vals = [self._data[keep]]
        for key in sorted(self._changed):
            vec = self._pruned[key]
            rows.append(vec.idx)
            cols.append(np.full(vec.nnz, key, dtype=np.int64))
            vals.append(vec.val)
        self._d_len = 0
        self._d_pos = {}
        self._changed = set()
        self._m_terms = np.zeros(0, dtype=np.int32)
        self._m_keys = np.zeros(0, dtype=np.int64)
        self._m_vals = np.zeros(0, dtype=np.float32)
        self._m_pos = {}
        self._stale[:] = False
        self.rebuilds += 1
        col = np.concatenate(cols)
        # postings of a feature come out in story key order (canonical CSR sorts each row)
        csr = sparse.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), col)),
            shape=(self.dim, int(col.max()) + 1 if col.size else 1),
        )
        csr.sort_indices()
        self._indptr = csr.indptr.astype(np.int64)
        self._keys = csr.indices.astype(np.int64)
        self._data = csr.data.astype(np.float32)

    # -- queries -----------------------------------------------------------------------------
    def scores(self, query: SparseVec, dense: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Approximate scores ``(keys, scores)`` of every story sharing an indexed term.

        Only the query's ``query_terms`` heaviest terms are looked up in the main postings,
        and of each at most the ``max_postings`` newest stories (the small delta buffer sees
        all). ``dense`` must hold the query's weights at its feature ids (zeros elsewhere).
        """
        parts_k: list[np.ndarray] = []
        parts_w: list[np.ndarray] = []
        if self.query_terms:
            query = top_terms(query, self.query_terms)
        if query.nnz and self._m_terms.size:
            starts = np.searchsorted(self._m_terms, query.idx, "left")
            lens = np.searchsorted(self._m_terms, query.idx, "right") - starts
            total = int(lens.sum())
            if total:
                shift = np.repeat(starts - (np.cumsum(lens) - lens), lens)
                pos = np.arange(total, dtype=np.int64) + shift
                parts_k.append(self._m_keys[pos])
                parts_w.append(self._m_vals[pos] * np.repeat(query.val, lens))
        if query.nnz and self._keys.size:
            starts = self._indptr[query.idx]
            ends = self._indptr[query.idx + 1]
            if self.max_postings:  # a very common feature: only its newest stories
                starts = np.maximum(starts, ends - self.max_postings)
            lens = ends - starts
            total = int(lens.sum())
            if total:
                shift = np.repeat(starts - (np.cumsum(lens) - lens), lens)
                pos = np.arange(total, dtype=np.int64) + shift
                found = self._keys[pos]
                fresh = ~self._stale[found]
                parts_k.append(found[fresh])
                parts_w.append((self._data[pos] * np.repeat(query.val, lens))[fresh])
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
