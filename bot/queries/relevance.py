"""Is a story about a free-text topic? Scores on the story's central terms, with a cut-off.

A free-text topic (``crash of the Air France Concorde``) is read as its content terms (stop
words and one-letter words dropped; a quoted phrase is one term). For each term and story:

    centrality(t, s) = sum over the story's articles of w(t, a)  /  (articles in s + 0.5)

where ``w(t, a)`` in [0, 1] is the BM25 term-frequency part of ``t`` in article ``a`` (saturated,
length-normalised, a headline occurrence counting ``TITLE_WEIGHT`` body occurrences; see
``bot.storage.topic_terms``). A term every article of the story leads with scores near 1; a
passing mention in one article of twenty counts about 0.02. The story's score is the
IDF-weighted mean centrality of the topic's terms:

    score(s) = sum_t idf(t) * centrality(t, s) / sum_t idf(t)      (0 .. 1)

A story belongs to the topic when ``score >= digest.topic_threshold`` and ``score >=
digest.topic_relative * (the best story's score)``: a digest never fills its slots with stories
below the cut. Boolean queries (``AND``/``OR``/``NOT``, parentheses), a topic that is one quoted
phrase, and followed stories keep their exact meaning (``bot.queries.topics.match_stories``): every
story with an article satisfying the query.

Term statistics come from the search index and are cached per store until the next article is
stored, so the subscriptions of one digest cycle share them.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from bot.analysis.textvec import STOP_WORDS
from bot.queries.language import Query, Term, parse_query
from bot.queries.topics import TopicMatch, match_stories
from bot.settings import DigestSettings
from bot.storage import Store
from bot.storage.scope import EVERYTHING, Scope
from bot.storage.topic_terms import latest_article, original_count, story_sizes, term_postings

SMOOTHING = 0.5  # added to a story's article count: one article is not a whole story
IDF_FLOOR = 1.0  # a term in a third of the articles or more still counts: news all on one topic
MATCHED_MIN = 0.1  # a term is listed as matched when its centrality in the story reaches this
CACHED_ENTRIES = 4_000_000  # (story, term) values kept across a cycle's topics: ~64 MB
EXACT_LIMIT = 1000  # stories a boolean topic may bring at most


def exact_meaning(query: Query) -> bool:
    """Boolean queries and a lone quoted phrase mean exactly what they say: no scoring cut."""
    terms = query.terms()
    return query.boolean or (len(terms) == 1 and terms[0].phrase)


def content_terms(query: Query) -> list[Term]:
    """The terms a free-text topic is about: no stop words, no one-letter words, no repeats
    (all of them when nothing else is left)."""
    out: list[Term] = []
    for term in query.terms():
        content = term.phrase or (len(term.words[0]) > 1 and term.words[0] not in STOP_WORDS)
        if content and term not in out:
            out.append(term)
    return out or list(dict.fromkeys(query.terms()))


@dataclass(slots=True)
class _Posting:
    idf: float
    stories: NDArray[np.int64]  # sorted story ids
    centrality: NDArray[np.float64]


@dataclass(slots=True)
class _TermCache:
    version: int = -1
    total: int = 0
    story_ids: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    story_size: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0, np.float64))
    terms: OrderedDict[tuple[str, ...], _Posting] = field(default_factory=OrderedDict)
    entries: int = 0


async def _cache(store: Store) -> _TermCache:
    cache = store.derived.setdefault(__name__, _TermCache())
    assert isinstance(cache, _TermCache)
    version = await latest_article(store)
    if version != cache.version:
        cache.version = version
        cache.total = await original_count(store)
        cache.story_ids, cache.story_size = await story_sizes(store)
        cache.terms.clear()
        cache.entries = 0
    return cache


def idf(total: int, hits: int) -> float:
    """BM25's IDF, floored at :data:`IDF_FLOOR`: a term most stored articles carry (the news
    is all about it) still counts, and a rare word weighs at most a few times more."""
    return max(IDF_FLOOR, math.log(1.0 + (total - hits + 0.5) / (hits + 0.5)))


async def _posting(store: Store, cache: _TermCache, words: tuple[str, ...]) -> _Posting:
    found = cache.terms.get(words)
    if found is not None:
        cache.terms.move_to_end(words)
        return found
    hits, stories, sums = await term_postings(store, words, cache.total)
    pos = np.searchsorted(cache.story_ids, stories)
    pos = np.clip(pos, 0, max(len(cache.story_ids) - 1, 0))
    sizes = cache.story_size[pos] if len(cache.story_ids) else np.ones(len(stories))
    posting = _Posting(idf(cache.total, hits), stories, sums / (sizes + SMOOTHING))
    cache.terms[words] = posting
    cache.entries += len(stories)
    while cache.entries > CACHED_ENTRIES and len(cache.terms) > 1:
        _, old = cache.terms.popitem(last=False)
        cache.entries -= len(old.stories)
    return posting


def combine(postings: list[_Posting]) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """(story ids, score) of every story containing a term: the IDF-weighted mean centrality."""
    if not postings:
        return np.zeros(0, np.int64), np.zeros(0, np.float64)
    weight = sum(p.idf for p in postings) or 1.0
    ids = np.concatenate([p.stories for p in postings])
    vals = np.concatenate([p.centrality * (p.idf / weight) for p in postings])
    stories, inverse = np.unique(ids, return_inverse=True)
    sums = np.bincount(inverse, weights=vals, minlength=len(stories)).astype(np.float64)
    return stories.astype(np.int64), sums


def _centrality(posting: _Posting, story_id: int) -> float:
    i = int(np.searchsorted(posting.stories, story_id))
    if i < len(posting.stories) and posting.stories[i] == story_id:
        return float(posting.centrality[i])
    return 0.0


async def _scored(
    store: Store, query: Query
) -> tuple[NDArray[np.int64], NDArray[np.float64], list[_Posting], list[Term]]:
    terms = content_terms(query)
    cache = await _cache(store)
    postings = [await _posting(store, cache, t.words) for t in terms]
    # A term central to no story ("pros and cons", "causes", "status": the framing words of a
    # topic title) says nothing about which story is the topic's; left in, its IDF (high when
    # the stored news barely uses it) would dilute every story's score below the threshold.
    central = [
        i for i, p in enumerate(postings) if len(p.centrality) and p.centrality.max() >= MATCHED_MIN
    ]
    postings = [postings[i] for i in central]
    terms = [terms[i] for i in central]
    stories, scores = combine(postings)
    return stories, scores, postings, terms


def _matches(
    stories: NDArray[np.int64],
    scores: NDArray[np.float64],
    postings: list[_Posting],
    terms: list[Term],
    order: NDArray[np.int64],
) -> list[TopicMatch]:
    out = []
    for i in order:
        sid = int(stories[i])
        cent = [
            (_centrality(p, sid), " ".join(t.words)) for p, t in zip(postings, terms, strict=True)
        ]
        matched = [w for c, w in sorted(cent, key=lambda cw: -cw[0]) if c >= MATCHED_MIN]
        out.append(TopicMatch(sid, round(float(scores[i]), 4), matched))
    return out


async def score_topic(
    store: Store, topic: str | Query, *, limit: int | None = None
) -> list[TopicMatch]:
    """Every story containing one of a free-text topic's terms, best first, unfiltered, with
    the terms central to it (the first ``limit`` only, when given)."""
    query = parse_query(topic) if isinstance(topic, str) else topic
    stories, scores, postings, terms = await _scored(store, query)
    order = np.lexsort((stories, -scores))[:limit]
    return _matches(stories, scores, postings, terms, order)


async def topic_matches(
    store: Store,
    topic: str,
    *,
    threshold: float,
    relative: float,
    limit: int | None = None,
    scope: Scope = EVERYTHING,
) -> list[TopicMatch]:
    """The stories a topic subscription gets, best first: scored and cut for free text, exact
    for boolean queries and a quoted phrase; only stories ``scope`` sees (the relative cut is
    taken among those)."""
    query = parse_query(topic)
    if exact_meaning(query):
        return await match_stories(store, query, limit=limit or EXACT_LIMIT, scope=scope)
    stories, scores, postings, terms = await _scored(store, query)
    if not scope.everything and len(stories):
        floor0 = threshold - 1e-12
        candidates = [int(s) for s in stories[scores >= floor0]]
        seen = await store.visible_story_ids(candidates, scope)
        keep = np.fromiter((int(s) in seen for s in stories), dtype=bool, count=len(stories))
        stories, scores = stories[keep], scores[keep]
    if not len(scores):
        return []
    floor = max(threshold, relative * float(scores.max())) - 1e-12
    order = np.lexsort((stories, -scores))
    order = order[scores[order] >= floor][:limit]
    return _matches(stories, scores, postings, terms, order)


async def subscription_matches(
    store: Store,
    settings: DigestSettings,
    topic: str,
    *,
    limit: int | None = None,
    scope: Scope = EVERYTHING,
) -> list[TopicMatch]:
    """The stories a subscription to ``topic`` gets with the configured cut (digests, the
    ``/news topics`` preview, ``subscribe``'s count and ``stories --topic`` all use this)."""
    return await topic_matches(
        store,
        topic,
        threshold=settings.topic_threshold,
        relative=settings.topic_relative,
        limit=limit,
        scope=scope,
    )


async def topic_stories(
    store: Store,
    settings: DigestSettings,
    topic: str | None,
    story_id: int | None = None,
    scope: Scope = EVERYTHING,
) -> dict[int, list[str]] | None:
    """What ``compose_digest`` asks: the stories a topic digest may show, best first, each
    with the topic's terms it matched (none below the cut-off); None when the digest has no
    topic (every story, or the one followed story)."""
    if story_id is not None or not topic:
        return None
    matches = await subscription_matches(store, settings, topic, scope=scope)
    return {m.story_id: m.matched_terms for m in matches}
