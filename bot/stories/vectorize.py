"""Article -> hashed sparse TF-IDF vector over word tokens and named-entity proxies.

Features (after Miranda et al., EMNLP 2018, "Multilingual Clustering of Streaming News"):

* word tokens of the headline and body (lower-cased, English stop words and numbers dropped);
  headline tokens count ``title_weight`` times;
* entity proxies: capitalised tokens that do not start a sentence (``e:putin``) and runs of two
  or more capitalised tokens (``E:vladimir putin``), weighted ``entity_weight`` — no NER model
  is needed and the rule holds for any English news text.

Every feature is hashed (xxh32, fixed seed) into ``2**bits`` dimensions, so vectors and the
candidate index have a fixed size whatever the vocabulary. Term weight is
``(1 + log tf) * group weight * idf``; the IDF is *online*: document frequencies are counted as
articles arrive (nothing is fitted on the future of the stream). Vectors are L2-normalised.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import xxhash
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

_TOKEN_RE = re.compile(r"[^\W\d_][\w'’-]*[^\W_]|[^\W\d_]{2,}", re.UNICODE)
# A capitalised word (Title-case or ALL-CAPS, may hold dots/hyphens: U.S., Al-Qaeda).
_CAP = r"(?:[A-Z][a-z]*\.(?:[A-Z][a-z]*\.)+|[A-Z][\w’'-]*[\w])"
_CAP_RUN_RE = re.compile(rf"{_CAP}(?:[ ]{_CAP})*")
_SENTENCE_END = frozenset(".!?:;\"“”'‘’()[]|-–—•*#")
STOP_WORDS: frozenset[str] = frozenset(ENGLISH_STOP_WORDS) | frozenset(
    {"said", "says", "mr", "mrs", "ms", "just", "like", "new", "year", "years"}
)
_SEED = 0x5EED
# Always capitalised in English, so their capital does not mark a name.
_CALENDAR = frozenset(
    [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ]
)
_ENTITY_STOP = frozenset(ENGLISH_STOP_WORDS) | _CALENDAR


@dataclass(frozen=True, slots=True)
class SparseVec:
    """A sparse vector: sorted unique feature ids (int32) and their weights (float32)."""

    idx: np.ndarray
    val: np.ndarray

    @property
    def nnz(self) -> int:
        return int(self.idx.size)

    def dot_dense(self, dense: np.ndarray) -> float:
        return float(self.val @ dense[self.idx])

    @staticmethod
    def empty() -> SparseVec:
        return SparseVec(np.zeros(0, np.int32), np.zeros(0, np.float32))


def sparse_sum(vectors: list[tuple[SparseVec, float]]) -> SparseVec:
    """Weighted sum of sparse vectors (not normalised)."""
    vectors = [(v, w) for v, w in vectors if v.nnz]
    if not vectors:
        return SparseVec.empty()
    idx = np.concatenate([v.idx for v, _ in vectors])
    val = np.concatenate([v.val * np.float32(w) for v, w in vectors])
    uniq, inv = np.unique(idx, return_inverse=True)
    out = np.bincount(inv, weights=val, minlength=uniq.size).astype(np.float32)
    return SparseVec(uniq.astype(np.int32), out)


def normalized(vec: SparseVec) -> SparseVec:
    norm = float(np.sqrt(vec.val.astype(np.float64) @ vec.val))
    if norm == 0.0:
        return vec
    return SparseVec(vec.idx, (vec.val / norm).astype(np.float32))


def top_terms(vec: SparseVec, k: int) -> SparseVec:
    """The ``k`` heaviest entries of ``vec`` (ids kept sorted); ties broken by feature id."""
    if vec.nnz <= k:
        return vec
    # the k-th largest weight bounds the pick; only entries tied with it need the id order
    kth = np.partition(vec.val, vec.nnz - k)[vec.nnz - k]
    above = np.flatnonzero(vec.val > kth)
    tied = np.flatnonzero(vec.val == kth)
    order = np.concatenate([above, tied[: k - above.size]])  # tied ids ascend already
    order.sort()
    return SparseVec(vec.idx[order], vec.val[order])


_CACHE_SIZE = 200_000  # tokens and capitalised runs whose features are memoised


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _content_word(low: str) -> str:
    """A lower-cased token's content word ("" when dropped)."""
    word = low.replace("’", "'")
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) < 2 or word in STOP_WORDS:
        word = ""
    return word


def token_counts(text: str) -> Counter[str]:
    """Counts of lower-cased content words (stop words and digit-only tokens dropped)."""
    raw = Counter(_TOKEN_RE.findall(text.lower()))
    out: Counter[str] = Counter()
    for low, n in raw.items():
        word = _content_word(low)
        if word:
            out[word] += n
    return out


def tokens(text: str) -> list[str]:
    """Lower-cased content words in text order (stop words and digit-only tokens dropped)."""
    return [w for w in map(_content_word, _TOKEN_RE.findall(text.lower())) if w]


def _is_sentence_start(text: str, pos: int) -> bool:
    i = pos - 1
    while i >= 0 and text[i] in " \t":
        i -= 1
    return i < 0 or text[i] == "\n" or text[i] in _SENTENCE_END


def _entity_word(word: str) -> str:
    low = word.lower().rstrip(".").replace("’", "'")
    return low[:-2] if low.endswith("'s") else low


def entities(text: str) -> list[str]:
    """Named-entity proxies from running text (not headlines: they are Title Case).

    A run of capitalised words yields one ``E:`` feature for the whole run (2+ words, leading
    stop words dropped) and one ``e:`` feature per capitalised non-stop word, except a single
    word that starts a sentence (its capital says nothing).
    """
    out: list[str] = []
    for m in _CAP_RUN_RE.finditer(text):
        out.extend(_run_entities(m.group(0), _is_sentence_start(text, m.start())))
    return out


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _run_entities(run: str, start: bool) -> tuple[str, ...]:
    lows = [_entity_word(w) for w in run.split(" ")]
    while lows and lows[0] in _ENTITY_STOP:
        lows.pop(0)
        start = False
    while lows and lows[-1] in _ENTITY_STOP:
        lows.pop()
    if not lows or (len(lows) == 1 and start):
        return ()
    out: list[str] = []
    if len(lows) >= 2:
        out.append("E:" + " ".join(lows))
    for j, low in enumerate(lows):
        if (j == 0 and start) or len(low) < 2 or low in _ENTITY_STOP:
            continue
        out.append("e:" + low)
    return tuple(out)


class FeatureHasher:
    """Feature string -> column id in ``[0, 2**bits)``, memoised (deterministic)."""

    def __init__(self, bits: int = 20, cache_size: int = 400_000) -> None:
        self.dim = 1 << bits
        self._mask = self.dim - 1
        self._cache: dict[str, int] = {}
        self._cache_size = cache_size

    def columns(self, features: list[str]) -> np.ndarray:
        """Column ids of ``features`` (int64), in order."""
        cols = list(map(self._cache.get, features))
        if None in cols:
            cols = [self(f) if c is None else c for f, c in zip(features, cols, strict=True)]
        return np.asarray(cols, dtype=np.int64)

    def __call__(self, feature: str) -> int:
        col = self._cache.get(feature)
        if col is None:
            if len(self._cache) >= self._cache_size:
                self._cache.clear()
            col = xxhash.xxh32_intdigest(feature.encode("utf-8"), _SEED) & self._mask
            self._cache[feature] = col
        return col


@dataclass(slots=True)
class Features:
    """A document's weighted feature counts before IDF, with readable names per column."""

    cols: np.ndarray  # int32, sorted, unique
    tf: np.ndarray  # float32, (1 + log tf) * group weight
    names: dict[int, str]  # column -> a readable feature (first seen) for labels/explanations


class OnlineIdf:
    """Document frequencies counted as documents arrive; ``idf = ln((n+1)/(df+1)) + 1``."""

    def __init__(self, dim: int) -> None:
        self.df = np.zeros(dim, dtype=np.int32)
        self.n_docs = 0

    def observe(self, cols: np.ndarray) -> None:
        self.df[cols] += 1
        self.n_docs += 1

    def weights(self, cols: np.ndarray) -> np.ndarray:
        return (
            np.log((self.n_docs + 1.0) / (self.df[cols].astype(np.float64) + 1.0)) + 1.0
        ).astype(np.float32)

    def to_state(self) -> dict[str, Any]:
        nz = np.flatnonzero(self.df).astype(np.int32)
        return {
            "n_docs": self.n_docs,
            "cols": nz.tobytes(),
            "df": self.df[nz].astype(np.int32).tobytes(),
        }

    def load_state(self, state: dict[str, Any]) -> None:
        self.df[:] = 0
        cols = np.frombuffer(state["cols"], dtype=np.int32)
        self.df[cols] = np.frombuffer(state["df"], dtype=np.int32)
        self.n_docs = int(state["n_docs"])


class Vectorizer:
    """Turns (title, text) into L2-normalised hashed TF-IDF vectors with an online IDF."""

    def __init__(
        self,
        *,
        bits: int = 20,
        title_weight: float = 2.0,
        entity_weight: float = 2.0,
        max_terms: int | None = None,
    ) -> None:
        self.hasher = FeatureHasher(bits)

        self.max_terms = max_terms
        self.idf = OnlineIdf(self.hasher.dim)
        self.title_weight = title_weight
        self.entity_weight = entity_weight

    @property
    def dim(self) -> int:
        return self.hasher.dim

    def features(self, title: str, text: str) -> Features:
        groups = (
            (token_counts(text), 1.0),
            (token_counts(title), self.title_weight),
            (Counter(entities(text)), self.entity_weight),
        )
        feats: list[str] = []
        parts: list[np.ndarray] = []
        for counts, group_weight in groups:
            if counts:
                feats.extend(counts)
                n = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
                parts.append((1.0 + np.log(n)) * group_weight)
        if not feats:
            return Features(np.zeros(0, np.int32), np.zeros(0, np.float32), {})
        cols = self.hasher.columns(feats)
        uniq, inv = np.unique(cols, return_inverse=True)
        tf = np.bincount(inv, weights=np.concatenate(parts), minlength=uniq.size)
        # first feature seen names a column (the reversed dict keeps the earliest)
        names = dict(zip(reversed(cols.tolist()), reversed(feats), strict=True))
        return Features(uniq.astype(np.int32), tf.astype(np.float32), names)

    def weigh(self, feats: Features) -> SparseVec:
        """TF-IDF with the current document frequencies (heaviest ``max_terms``), L2-normalised."""
        if feats.cols.size == 0:
            return SparseVec.empty()
        vec = SparseVec(feats.cols, feats.tf * self.idf.weights(feats.cols))
        if self.max_terms:
            vec = top_terms(vec, self.max_terms)
        return normalized(vec)

    def transform(self, title: str, text: str, *, learn: bool) -> tuple[SparseVec, Features]:
        """Vectorise one document; with ``learn`` its terms first join the document counts."""
        feats = self.features(title, text)
        if learn and feats.cols.size:
            self.idf.observe(feats.cols)
        return self.weigh(feats), feats


def readable(feature: str) -> str:
    """``E:vladimir putin`` -> ``vladimir putin`` (feature namespace dropped)."""
    return feature[2:] if feature[:2] in ("E:", "e:") else feature
