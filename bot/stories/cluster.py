"""Online story grouping: each article joins the best active story or opens a new one.

Single pass in arrival order, never re-clustering the store (after Miranda et al., EMNLP 2018):

1. the article becomes a hashed TF-IDF vector over tokens and entity proxies (online IDF);
2. candidate stories come from a pruned inverted index over the *active* stories' centroids
   (cost per article does not grow with the number of stories);
3. each candidate is rescored exactly: ``cosine(article, centroid)`` where the centroid is the
   story's ``centroid_terms`` heaviest terms (optionally ``* 0.5 ** (gap / half-life)``, ``gap``
   being the time between the article and the story's span); a story whose span is more than
   ``active_days`` from the article's date is no candidate;
4. the best candidate at or above ``threshold`` takes the article, otherwise a new story opens;
5. if the runner-up also clears the threshold and the two centroids are now at least
   ``merge_threshold`` alike, the younger story merges into the older (recorded in ``merges``);
6. stories with no article for ``active_days`` of *stream* time leave the active set; they stay
   searchable through :meth:`StoryClusterer.search`.

Everything is deterministic: fixed-seed hashing and lowest-key tie-breaks.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np

from bot.stories.index import PrunedIndex
from bot.stories.vectorize import (
    Features,
    SparseVec,
    Vectorizer,
    normalized,
    readable,
    sparse_sum,
    top_terms,
)

_DAY = 86400.0
STATE_VERSION = 1


@dataclass(frozen=True, slots=True)
class Doc:
    """One article to group: ``key`` is the caller's id (e.g. the database article id)."""

    key: str
    title: str
    text: str
    published: datetime


@dataclass(frozen=True, slots=True)
class Assignment:
    story_key: int
    is_new: bool
    score: float  # decayed similarity to the story it joined (best rejected score when new)
    matched_terms: list[str]
    merged: list[int] = field(default_factory=list)  # stories merged into story_key just now


@dataclass(frozen=True, slots=True)
class Merge:
    from_key: int
    into_key: int
    at: datetime
    similarity: float


@dataclass(frozen=True, slots=True)
class ClusterParams:
    """Tunables. The defaults (= ``topic_level()``) follow a topic over months, as in the DUC
    2006 development topics: no time decay, a ten-year active window, centroids cut to their
    100 heaviest terms. ``story_level()`` groups one short-lived news event instead."""

    threshold: float = 0.13
    time_decay_days: float | None = None  # half-life of similarity in days; None: no decay
    active_days: float = 3650.0
    merge_threshold: float = 0.5
    title_weight: float = 2.0
    entity_weight: float = 0.5
    centroid_terms: int | None = 100  # a story is matched on its heaviest terms (None: all)
    size_penalty: float = 0.0  # score -= size_penalty * ln(story size), capped at size_penalty_cap
    size_penalty_cap: float = 0.12
    doc_terms: int | None = None  # keep only an article's heaviest terms (None: all)
    index_terms: int = 32  # centroid terms per story in the candidate index
    query_terms: int | None = 48  # an article's heaviest terms looked up in the index
    candidates: int = 50  # candidates rescored exactly
    max_centroid_terms: int = 2000  # terms kept in a story's running sum
    max_titles: int = 64  # headlines kept per story for the title choice
    label_pool: int = 48  # readable terms kept per story for labels
    bits: int = 20

    @classmethod
    def topic_level(cls, **overrides: Any) -> ClusterParams:
        """The defaults: tuned on the DUC 2006 dev topics (BCubed F1 0.871 on all 50 topics)."""
        return replace(cls(), **overrides)

    @classmethod
    def story_level(cls, **overrides: Any) -> ClusterParams:
        """One news event over days: 3-day similarity half-life, 14-day active window."""
        base = cls(
            threshold=0.30,
            time_decay_days=3.0,
            active_days=14.0,
            entity_weight=2.0,
            centroid_terms=None,
        )
        return replace(base, **overrides)

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> ClusterParams:
        """From ``bot.settings.StorySettings`` (or anything with attributes named like fields:
        any field the settings object has overrides the default)."""
        values = {
            f.name: getattr(settings, f.name) for f in fields(cls) if hasattr(settings, f.name)
        }
        values.update(overrides)
        return replace(cls(), **values)


@dataclass(slots=True)
class _Story:
    key: int
    total: SparseVec  # sum of member unit vectors
    centroid: SparseVec  # total, L2-normalised
    n_docs: int
    first_ts: float
    last_ts: float
    members: list[str]
    titles: list[tuple[str, SparseVec]]
    terms: dict[str, float]
    active: bool = True
    merged_into: int | None = None


@dataclass(frozen=True, slots=True)
class StoryView:
    key: int
    title: str
    terms: list[str]
    n_docs: int
    first_seen: datetime
    last_seen: datetime
    active: bool
    merged_into: int | None
    members: list[str]


def _ts(when: datetime) -> float:
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _dot(a: SparseVec, b: SparseVec) -> float:
    common, ia, ib = np.intersect1d(a.idx, b.idx, assume_unique=True, return_indices=True)
    if common.size == 0:
        return 0.0
    return float(a.val[ia].astype(np.float64) @ b.val[ib])


def _label_terms(names: dict[int, str], vec: SparseVec, k: int) -> dict[str, float]:
    top = top_terms(vec, k)
    return {
        names[int(c)]: float(w) for c, w in zip(top.idx, top.val, strict=True) if int(c) in names
    }


def pick_labels(weighted: list[tuple[str, float]], n: int) -> list[str]:
    """Up to ``n`` distinct readable labels, heaviest first; a term whose words are all covered
    by labels already chosen is skipped (``putin`` after ``vladimir putin``)."""
    total: dict[str, float] = {}
    for name, w in weighted:
        label = readable(name)
        total[label] = total.get(label, 0.0) + w
    chosen: list[str] = []
    covered: set[str] = set()
    for label, _ in sorted(total.items(), key=lambda kv: (-kv[1], kv[0])):
        words = set(label.split())
        if words <= covered:
            continue
        # a longer entity may subsume single words chosen before it
        chosen = [c for c in chosen if not (set(c.split()) < words)]
        chosen.append(label)
        covered |= words
        if len(chosen) >= n:
            break
    return chosen[:n]


class StoryClusterer:
    """In-memory online story grouping; see the module docstring for the algorithm."""

    def __init__(self, params: ClusterParams | None = None) -> None:
        self.params = params or ClusterParams()
        p = self.params
        self.vectorizer = Vectorizer(
            bits=p.bits,
            title_weight=p.title_weight,
            entity_weight=p.entity_weight,
            max_terms=p.doc_terms,
        )
        dim = self.vectorizer.dim
        self._active_index = PrunedIndex(
            dim, terms_per_story=p.index_terms, query_terms=p.query_terms
        )
        self._archive_index = PrunedIndex(
            dim, terms_per_story=p.index_terms, query_terms=p.query_terms, min_rebuild=1024
        )
        self._stories: dict[int, _Story] = {}
        self._expiry: list[tuple[float, int]] = []
        self._dense = np.zeros(dim, dtype=np.float32)
        self._next_key = 1
        self._now = -math.inf
        self.merges: list[Merge] = []

    # -- public queries ----------------------------------------------------------------------
    @property
    def stories(self) -> list[int]:
        """Keys of the active stories, oldest first."""
        return [k for k, s in self._stories.items() if s.active and s.merged_into is None]

    @property
    def all_stories(self) -> list[int]:
        """Keys of every story not merged away (active or quiet)."""
        return [k for k, s in self._stories.items() if s.merged_into is None]

    def resolve(self, key: int) -> int:
        """The story that now holds ``key``'s articles (follows recorded merges)."""
        story = self._stories[key]
        while story.merged_into is not None:
            story = self._stories[story.merged_into]
        return story.key

    def is_active(self, key: int) -> bool:
        story = self._stories[self.resolve(key)]
        return story.active

    def story_members(self, key: int) -> list[str]:
        return list(self._stories[self.resolve(key)].members)

    def story_terms(self, key: int, n: int = 5) -> list[str]:
        """3 to 6 (``n``) key terms or entities of the story, heaviest first."""
        story = self._stories[self.resolve(key)]
        return pick_labels(list(story.terms.items()), n)

    def story_title(self, key: int) -> str:
        """The member headline closest to the story centroid (earliest wins ties)."""
        story = self._stories[self.resolve(key)]
        best, best_score = "", -1.0
        for title, vec in story.titles:
            score = _dot(vec, story.centroid)
            if score > best_score + 1e-9:
                best, best_score = title, score
        return best

    def story(self, key: int) -> StoryView:
        s = self._stories[self.resolve(key)]
        return StoryView(
            key=s.key,
            title=self.story_title(s.key),
            terms=self.story_terms(s.key),
            n_docs=s.n_docs,
            first_seen=_dt(s.first_ts),
            last_seen=_dt(s.last_ts),
            active=s.active,
            merged_into=s.merged_into,
            members=list(s.members),
        )

    def centroid(self, key: int) -> SparseVec:
        return self._stories[self.resolve(key)].centroid

    def explain(self, doc: Doc, story_key: int, n: int = 8) -> list[str]:
        """Shared terms/entities that tie ``doc`` to the story, strongest first."""
        vec, feats = self.vectorizer.transform(doc.title, doc.text, learn=False)
        return self._explain(vec, feats, self._stories[self.resolve(story_key)].centroid, n)

    def search(
        self, title: str, text: str = "", *, k: int = 10, include_quiet: bool = True
    ) -> list[tuple[int, float]]:
        """Stories most similar to a text (no time decay), active and optionally quiet ones."""
        vec, _ = self.vectorizer.transform(title, text, learn=False)
        dense = self._dense
        dense[vec.idx] = vec.val
        try:
            found: list[tuple[int, float]] = []
            indexes = [self._active_index] + ([self._archive_index] if include_quiet else [])
            for index in indexes:
                for key in index.candidates(vec, dense, max(k, self.params.candidates)):
                    c = self._stories[int(key)].centroid
                    found.append((int(key), float(c.val @ dense[c.idx])))
        finally:
            dense[vec.idx] = 0.0
        found.sort(key=lambda kv: (-kv[1], kv[0]))
        return found[:k]

    # -- the online step ---------------------------------------------------------------------
    def add(self, doc: Doc) -> Assignment:
        """Assign one article (arrival order) to a story, opening one if none fits."""
        ts = _ts(doc.published)
        self.advance(doc.published)
        vec, feats = self.vectorizer.transform(doc.title, doc.text, learn=True)
        p = self.params
        dense = self._dense
        dense[vec.idx] = vec.val
        try:
            scored = self._score_candidates(vec, ts)
            if scored and scored[0][1] >= p.threshold:
                key, score, _ = scored[0]
                story = self._stories[key]
                self._join(story, doc, vec, feats, ts)
                matched = self._explain(vec, feats, story.centroid, 8)
                merged: list[int] = []
                if len(scored) > 1 and scored[1][1] >= p.threshold:
                    merged = self._maybe_merge(story, self._stories[scored[1][0]], ts)
                final = self.resolve(key)
                return Assignment(final, False, score, matched, merged)
            best = scored[0][1] if scored else 0.0
            story = self._open(doc, vec, feats.names, ts)
            return Assignment(story.key, True, best, [])
        finally:
            dense[vec.idx] = 0.0

    def advance(self, now: datetime) -> list[int]:
        """Move stream time to ``now`` and deactivate stories quiet for ``active_days``."""
        ts = _ts(now)
        if ts <= self._now:
            return []
        self._now = ts
        cutoff = ts - self.params.active_days * _DAY
        gone: list[int] = []
        while self._expiry and self._expiry[0][0] < cutoff:
            last, key = heapq.heappop(self._expiry)
            story = self._stories[key]
            if story.active and story.merged_into is None and story.last_ts == last:
                story.active = False
                self._active_index.remove(key)
                self._archive_index.put(key, story.centroid)
                gone.append(key)
        return gone

    def _score_candidates(self, vec: SparseVec, ts: float) -> list[tuple[int, float, float]]:
        """Exactly rescored candidates ``(key, decayed score, cosine)``, best first."""
        p = self.params
        keys = self._active_index.candidates(vec, self._dense, p.candidates).tolist()
        if not keys:
            return []
        stories = [self._stories[k] for k in keys]
        cents = [s.centroid for s in stories]
        lens = np.fromiter((c.nnz for c in cents), dtype=np.int64, count=len(cents))
        idx = np.concatenate([c.idx for c in cents])
        val = np.concatenate([c.val for c in cents])
        owner = np.repeat(np.arange(len(cents)), lens)
        cos = np.bincount(owner, weights=val * self._dense[idx], minlength=len(cents))
        score: np.ndarray = cos.astype(np.float64)
        first = np.fromiter((s.first_ts for s in stories), dtype=np.float64, count=len(stories))
        last = np.fromiter((s.last_ts for s in stories), dtype=np.float64, count=len(stories))
        gap = np.maximum(0.0, np.maximum(first - ts, ts - last))
        if p.time_decay_days:
            score *= 0.5 ** (gap / (p.time_decay_days * _DAY))
        if p.size_penalty:
            n_docs = np.fromiter((s.n_docs for s in stories), dtype=np.float64, count=len(stories))
            score -= np.minimum(p.size_penalty_cap, p.size_penalty * np.log(n_docs))
        # a story only takes articles dated within its active window of the story's span (an
        # old archive ingested late cannot join today's stories, nor today's news old ones)
        in_window = (gap <= p.active_days * _DAY).tolist()
        out = [
            t
            for t, ok in zip(
                zip(keys, score.tolist(), cos.tolist(), strict=True), in_window, strict=True
            )
            if ok
        ]
        out.sort(key=lambda t: (-t[1], t[0]))
        return out

    def _explain(self, vec: SparseVec, feats: Features, centroid: SparseVec, n: int) -> list[str]:
        common, ia, ib = np.intersect1d(
            vec.idx, centroid.idx, assume_unique=True, return_indices=True
        )
        if common.size == 0:
            return []
        contrib = vec.val[ia] * centroid.val[ib]
        order = np.lexsort((common, -contrib))
        weighted = [
            (feats.names[int(common[i])], float(contrib[i]))
            for i in order[: 4 * n]
            if int(common[i]) in feats.names
        ]
        return pick_labels(weighted, n)

    # -- story bookkeeping -------------------------------------------------------------------
    def _title_vec(self, title: str) -> SparseVec:
        return self.vectorizer.weigh(self.vectorizer.features(title, ""))

    def _open(self, doc: Doc, vec: SparseVec, names: dict[int, str], ts: float) -> _Story:
        p = self.params
        story = _Story(
            key=self._next_key,
            total=vec,
            centroid=self._centroid_of(vec),
            n_docs=1,
            first_ts=ts,
            last_ts=ts,
            members=[doc.key],
            titles=[(doc.title, self._title_vec(doc.title))],
            terms=_label_terms(names, vec, p.label_pool),
        )
        self._next_key += 1
        self._stories[story.key] = story
        self._active_index.put(story.key, story.centroid)
        heapq.heappush(self._expiry, (ts, story.key))
        return story

    def _set_total(self, story: _Story, total: SparseVec) -> None:
        total = top_terms(total, self.params.max_centroid_terms)
        story.total = total
        story.centroid = self._centroid_of(total)

    def _centroid_of(self, total: SparseVec) -> SparseVec:
        k = self.params.centroid_terms
        return normalized(top_terms(total, k) if k else total)

    def _join(self, story: _Story, doc: Doc, vec: SparseVec, feats: Features, ts: float) -> None:
        p = self.params
        self._set_total(story, sparse_sum([(story.total, 1.0), (vec, 1.0)]))
        story.n_docs += 1
        story.members.append(doc.key)
        if len(story.titles) < p.max_titles:
            story.titles.append((doc.title, self._title_vec(doc.title)))
        for name, w in _label_terms(feats.names, vec, p.label_pool).items():
            story.terms[name] = story.terms.get(name, 0.0) + w
        if len(story.terms) > p.label_pool:
            keep = sorted(story.terms.items(), key=lambda kv: (-kv[1], kv[0]))[: p.label_pool]
            story.terms = dict(keep)
        old_last = story.last_ts
        story.first_ts = min(story.first_ts, ts)
        story.last_ts = max(story.last_ts, ts)
        self._active_index.put(story.key, story.centroid)
        if story.last_ts != old_last:
            heapq.heappush(self._expiry, (story.last_ts, story.key))

    def _maybe_merge(self, a: _Story, b: _Story, ts: float) -> list[int]:
        similarity = _dot(a.centroid, b.centroid)
        if similarity < self.params.merge_threshold:
            return []
        into, gone = (a, b) if a.key < b.key else (b, a)
        p = self.params
        self._set_total(into, sparse_sum([(into.total, 1.0), (gone.total, 1.0)]))
        into.n_docs += gone.n_docs
        into.members.extend(gone.members)
        into.titles.extend(gone.titles[: max(0, p.max_titles - len(into.titles))])
        for name, w in gone.terms.items():
            into.terms[name] = into.terms.get(name, 0.0) + w
        keep = sorted(into.terms.items(), key=lambda kv: (-kv[1], kv[0]))[: p.label_pool]
        into.terms = dict(keep)
        into.first_ts = min(into.first_ts, gone.first_ts)
        into.last_ts = max(into.last_ts, gone.last_ts)
        gone.merged_into = into.key
        gone.active = False
        gone.members = []
        self._active_index.remove(gone.key)
        self._active_index.put(into.key, into.centroid)
        heapq.heappush(self._expiry, (into.last_ts, into.key))
        self.merges.append(Merge(gone.key, into.key, _dt(ts), similarity))
        return [gone.key]

    def open_story(
        self, doc: Doc, vec: SparseVec | None = None, names: dict[int, str] | None = None
    ) -> int:
        """Open a story for ``doc`` without searching (bulk loading and benchmarks).

        With ``vec`` (a unit vector from this engine's vectorizer) the text is not re-read and
        the document counts are not updated; ``names`` labels its feature ids.
        """
        ts = _ts(doc.published)
        self.advance(doc.published)
        if vec is None:
            vec, feats = self.vectorizer.transform(doc.title, doc.text, learn=True)
            names = feats.names
        return self._open(doc, vec, names or {}, ts).key

    # -- persistence -------------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        """Plain data (ints, floats, str, bytes, lists, dicts) to rebuild the engine at start.

        Centroid sums are stored as bytes (int32 ids, float32 weights); indexes are rebuilt.
        """
        stories = []
        for s in self._stories.values():
            stories.append(
                {
                    "key": s.key,
                    "idx": s.total.idx.astype(np.int32).tobytes(),
                    "val": s.total.val.astype(np.float32).tobytes(),
                    "n_docs": s.n_docs,
                    "first_ts": s.first_ts,
                    "last_ts": s.last_ts,
                    "members": list(s.members),
                    "titles": [
                        [t, v.idx.astype(np.int32).tobytes(), v.val.astype(np.float32).tobytes()]
                        for t, v in s.titles
                    ],
                    "terms": dict(s.terms),
                    "active": s.active,
                    "merged_into": s.merged_into,
                }
            )
        return {
            "version": STATE_VERSION,
            "next_key": self._next_key,
            "now": self._now if math.isfinite(self._now) else None,
            "idf": self.vectorizer.idf.to_state(),
            "stories": stories,
            "merges": [
                [m.from_key, m.into_key, m.at.timestamp(), m.similarity] for m in self.merges
            ],
        }

    @classmethod
    def from_state(
        cls, state: dict[str, Any], params: ClusterParams | None = None
    ) -> StoryClusterer:
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported story state version {state.get('version')!r}")
        self = cls(params)
        self.vectorizer.idf.load_state(state["idf"])
        self._next_key = int(state["next_key"])
        self._now = -math.inf if state["now"] is None else float(state["now"])

        def vec(idx: bytes, val: bytes) -> SparseVec:
            return SparseVec(
                np.frombuffer(idx, np.int32).copy(), np.frombuffer(val, np.float32).copy()
            )

        for d in state["stories"]:
            total = vec(d["idx"], d["val"])
            s = _Story(
                key=int(d["key"]),
                total=total,
                centroid=self._centroid_of(total),
                n_docs=int(d["n_docs"]),
                first_ts=float(d["first_ts"]),
                last_ts=float(d["last_ts"]),
                members=list(d["members"]),
                titles=[(t, vec(i, v)) for t, i, v in d["titles"]],
                terms=dict(d["terms"]),
                active=bool(d["active"]),
                merged_into=d["merged_into"],
            )
            self._stories[s.key] = s
            if s.merged_into is None:
                if s.active:
                    self._active_index.put(s.key, s.centroid)
                    heapq.heappush(self._expiry, (s.last_ts, s.key))
                else:
                    self._archive_index.put(s.key, s.centroid)
        self._active_index.rebuild()
        self._archive_index.rebuild()
        self.merges = [
            Merge(int(f), int(i), _dt(t), float(sim)) for f, i, t, sim in state["merges"]
        ]
        return self
