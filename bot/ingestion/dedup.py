"""Near-duplicate detection: MinHash signatures over word shingles in an LSH index (datasketch).

Exact duplicates (GUID, canonical URL, content hash) are found by the store's indexed columns;
this module catches syndicated copies whose boilerplate, headline or a few words differ.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xxhash
from datasketch import MinHash, MinHashLSH

from bot.settings import DedupSettings
from bot.text.fingerprint import shingles, words

_SEED = 1
_SCHEME = "affine32"


def _hash32(data: bytes) -> int:
    return xxhash.xxh32_intdigest(data)


@dataclass(frozen=True, slots=True)
class NearMatch:
    article_id: int
    similarity: float  # estimated Jaccard similarity of the word shingles


class NearDuplicateIndex:
    """In-memory MinHash LSH over the bodies of stored originals (rebuilt from the DB at start)."""

    def __init__(self, settings: DedupSettings) -> None:
        self.settings = settings
        self._template = MinHash(
            num_perm=settings.num_perm, seed=_SEED, hashfunc=_hash32, scheme=_SCHEME
        )
        self._lsh = MinHashLSH(
            threshold=settings.near_duplicate_threshold, num_perm=settings.num_perm
        )
        self._signatures: dict[int, MinHash] = {}

    def __len__(self) -> int:
        return len(self._signatures)

    def signature(self, text: str) -> MinHash | None:
        """The text's MinHash, or ``None`` when it is too short to judge by shingles."""
        tokens = words(text)
        if len(tokens) < self.settings.min_words:
            return None
        mh = MinHash(
            num_perm=self.settings.num_perm,
            seed=_SEED,
            hashfunc=_hash32,
            permutations=self._template.permutations,
            scheme=_SCHEME,
        )
        mh.update_batch(shingles(tokens, self.settings.shingle_words))
        return mh

    def find(self, sig: MinHash) -> NearMatch | None:
        """The most similar indexed article at or above the threshold (lowest id on ties)."""
        best: NearMatch | None = None
        for key in self._lsh.query(sig):
            sim = float(sig.jaccard(self._signatures[key]))
            if sim < self.settings.near_duplicate_threshold:
                continue
            if best is None or (sim, -key) > (best.similarity, -best.article_id):
                best = NearMatch(key, sim)
        return best

    def add(self, article_id: int, sig: MinHash) -> None:
        if article_id in self._signatures:
            return
        self._signatures[article_id] = sig
        self._lsh.insert(article_id, sig)

    def to_bytes(self, sig: MinHash) -> bytes:
        return np.asarray(sig.hashvalues, dtype=np.uint64).tobytes()

    def from_bytes(self, data: bytes) -> MinHash:
        values = np.frombuffer(data, dtype=np.uint64)
        return MinHash(
            num_perm=len(values),
            seed=_SEED,
            hashfunc=_hash32,
            hashvalues=values.copy(),
            permutations=self._template.permutations,
            scheme=_SCHEME,
        )
