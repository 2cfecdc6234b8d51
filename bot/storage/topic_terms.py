"""Which stories a query's terms occur in, read from the FTS5 index (no article text is read).

For a term (a word or a phrase) the index gives every original article containing it with its
BM25 score for that term alone; dividing by the term's IDF (computed as FTS5 computes it)
leaves the saturated, length-normalised term frequency, a headline hit weighted
``TITLE_WEIGHT`` times a body hit. :func:`term_postings` sums that per story.

For topics of exact meaning (:mod:`bot.queries.topics`), :func:`query_hits` gives the articles a
whole
boolean query matches and :func:`stories_with_phrase` which stories contain one term, both on
the articles a scope sees. Queries come in parsed (:class:`bot.queries.language.Query`), never as
FTS5
text, so another backend answers the same calls with its own full-text index.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from bot.queries.language import Query, to_fts5
from bot.storage import fulltext
from bot.storage.scope import EVERYTHING, Scope
from bot.storage.store import Store

TITLE_WEIGHT = 3.0  # a headline occurrence counts as this many body occurrences
K1 = 1.2  # FTS5's bm25() constant: the largest per-article term score is idf * (K1 + 1)


def fts_phrase(words: tuple[str, ...]) -> str:
    """A word or phrase as an FTS5 string (quoted, so user text is never syntax)."""
    return '"' + " ".join(w.replace('"', "") for w in words) + '"'


async def original_count(store: Store) -> int:
    """Rows in the search index: the original (non-copy) articles."""
    return int(await store.scalar("SELECT count(*) FROM articles WHERE duplicate_of IS NULL") or 0)


async def story_sizes(store: Store) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Every story's id and number of original articles (sorted by id)."""
    rows = await store.fetchall(
        "SELECT story_id, count(*) FROM articles WHERE duplicate_of IS NULL "
        "AND story_id IS NOT NULL GROUP BY story_id ORDER BY story_id"
    )
    ids = np.fromiter((int(r[0]) for r in rows), dtype=np.int64, count=len(rows))
    sizes = np.fromiter((float(r[1]) for r in rows), dtype=np.float64, count=len(rows))
    return ids, sizes


async def latest_article(store: Store) -> int:
    """The newest article id: term statistics change only when an article is stored."""
    return int(await store.scalar("SELECT max(id) FROM articles") or 0)


async def term_postings(
    store: Store, words: tuple[str, ...], total: int
) -> tuple[int, NDArray[np.int64], NDArray[np.float64]]:
    """(articles containing the term, story ids, sum per story of each article's term weight
    in [0, 1]); ``total`` is :func:`original_count`.

    On PostgreSQL the weight is BM25's saturated term frequency without length normalisation
    (``tf / (tf + K1)``, ``tf`` from ``ts_rank_cd`` with a headline hit counted
    ``TITLE_WEIGHT`` times): close to SQLite's, not equal."""
    if store.postgres:
        return await _term_postings_pg(store, words)
    rows = await store.fetchall(
        f"SELECT a.story_id, -bm25(articles_fts, {TITLE_WEIGHT}, 1.0) FROM articles_fts "
        "JOIN articles a ON a.id = articles_fts.rowid WHERE articles_fts MATCH ?",
        (fts_phrase(words),),
    )
    hits = len(rows)
    if not hits:
        return 0, np.zeros(0, np.int64), np.zeros(0, np.float64)
    idf = math.log((total - hits + 0.5) / (hits + 0.5)) if total > hits else 0.0
    idf = idf if idf > 0.0 else 1e-6  # FTS5's own floor
    sids = np.fromiter((-1 if r[0] is None else int(r[0]) for r in rows), np.int64, count=hits)
    weights = np.fromiter((float(r[1]) for r in rows), np.float64, count=hits)
    weights = np.clip(weights / (idf * (K1 + 1.0)), 0.0, 1.0)
    keep = sids >= 0
    stories, inverse = np.unique(sids[keep], return_inverse=True)
    sums = np.bincount(inverse, weights=weights[keep], minlength=len(stories)).astype(np.float64)
    return hits, stories, sums


async def _term_postings_pg(
    store: Store, words: tuple[str, ...]
) -> tuple[int, NDArray[np.int64], NDArray[np.float64]]:
    tsq, params = fulltext.phrase_tsquery(words)
    rows = await store.fetchall(
        f"WITH q AS (SELECT {tsq} AS q) SELECT a.story_id, "
        f"ts_rank_cd({fulltext.weights(TITLE_WEIGHT)}, a.fts, q.q) FROM articles a, q "
        "WHERE a.fts @@ q.q",
        params,
    )
    hits = len(rows)
    if not hits:
        return 0, np.zeros(0, np.int64), np.zeros(0, np.float64)
    sids = np.fromiter((-1 if r[0] is None else int(r[0]) for r in rows), np.int64, count=hits)
    tf = TITLE_WEIGHT * np.fromiter((float(r[1]) for r in rows), np.float64, count=hits)
    weights = np.clip(tf / (tf + K1), 0.0, 1.0)
    keep = sids >= 0
    stories, inverse = np.unique(sids[keep], return_inverse=True)
    sums = np.bincount(inverse, weights=weights[keep], minlength=len(stories)).astype(np.float64)
    return hits, stories, sums


QUERY_TITLE_WEIGHT = 4.0  # query_hits' BM25 weight of a headline (the search ranking's)
QUERY_HIT_WINDOW = 5000  # the best-ranked articles query_hits returns


@dataclass(frozen=True, slots=True)
class StoryHit:
    """One article a query matched: its story and its BM25 score (higher is better)."""

    story_id: int
    score: float


async def query_hits(
    store: Store, query: Query, *, scope: Scope = EVERYTHING, limit: int = QUERY_HIT_WINDOW
) -> list[StoryHit]:
    """The articles of a story, among those ``scope`` sees, matching ``query``: best first, at
    most ``limit``, one :class:`StoryHit` per article."""
    visible, params = scope.articles("a")
    if store.postgres:
        tsq, qparams = fulltext.pg_tsquery(query)
        rows = await store.fetchall(
            f"WITH q AS (SELECT {tsq} AS q) SELECT a.story_id, "
            f"ts_rank({fulltext.weights(QUERY_TITLE_WEIGHT)}, a.fts, q.q) AS r FROM articles a, q "
            f"WHERE a.fts @@ q.q AND a.story_id IS NOT NULL AND {visible} "
            "ORDER BY r DESC, a.id DESC LIMIT ?",
            (*qparams, *params, int(limit)),
        )
        return [StoryHit(int(r[0]), float(r[1])) for r in rows]
    rows = await store.fetchall(
        f"SELECT a.story_id, -bm25(articles_fts, {QUERY_TITLE_WEIGHT}, 1.0) "
        "FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid "
        f"WHERE articles_fts MATCH ? AND a.story_id IS NOT NULL AND {visible} "
        "ORDER BY rank LIMIT ?",
        (to_fts5(query), *params, int(limit)),
    )
    return [StoryHit(int(r[0]), float(r[1])) for r in rows]


async def stories_with_phrase(
    store: Store, words: tuple[str, ...], story_ids: Sequence[int], *, scope: Scope = EVERYTHING
) -> set[int]:
    """Those of ``story_ids`` with an article ``scope`` sees that contains the phrase."""
    if not story_ids:
        return set()
    visible, params = scope.articles("a")
    marks = ",".join("?" * len(story_ids))
    if store.postgres:
        tsq, qparams = fulltext.phrase_tsquery(words)
        rows = await store.fetchall(
            f"SELECT DISTINCT a.story_id FROM articles a WHERE a.fts @@ {tsq} "
            f"AND a.story_id IN ({marks}) AND {visible}",
            (*qparams, *story_ids, *params),
        )
        return {int(r[0]) for r in rows}
    rows = await store.fetchall(
        "SELECT DISTINCT a.story_id FROM articles_fts JOIN articles a "
        f"ON a.id = articles_fts.rowid WHERE articles_fts MATCH ? AND a.story_id IN ({marks}) "
        f"AND {visible}",
        (fts_phrase(words), *story_ids, *params),
    )
    return {int(r[0]) for r in rows}
