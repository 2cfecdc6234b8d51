"""Topics of exact meaning: which stories a boolean query or a quoted phrase matches, and why.

A boolean query (``ukraine AND (trump OR putin)``) or a topic that is one quoted phrase is
evaluated per article by FTS5: a story matches when one of its articles does, ranked by BM25.
Free-text topics are scored and cut by ``bot.queries.relevance`` instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bot.queries.language import Query, parse_query
from bot.storage import Store
from bot.storage.scope import EVERYTHING, Scope
from bot.storage.topic_terms import query_hits, stories_with_phrase


@dataclass(frozen=True, slots=True)
class TopicMatch:
    story_id: int
    score: float
    matched_terms: list[str]


async def match_stories(
    store: Store, query: str | Query, *, limit: int = 50, scope: Scope = EVERYTHING
) -> list[TopicMatch]:
    """Stories matching ``query``, best first, with the query terms each one contains (on
    the articles ``scope`` sees)."""
    q = parse_query(query) if isinstance(query, str) else query
    hits = await query_hits(store, q, scope=scope)
    if not hits:
        return []
    totals: dict[int, float] = {}
    for hit in hits:  # a story's relevance: the sum over its matching articles
        totals[hit.story_id] = totals.get(hit.story_id, 0.0) + hit.score
    rows = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))[: limit * 4]
    story_ids = [sid for sid, _ in rows]
    terms = q.terms()
    matched: dict[int, list[str]] = {sid: [] for sid in story_ids}
    for term in terms:
        for sid in await stories_with_phrase(store, term.words, story_ids, scope=scope):
            matched[sid].append(" ".join(term.words))
    need = 1 if q.boolean else max(1, math.ceil(len(terms) / 2))
    results = []
    for sid, score in rows:
        found = matched[sid]
        if len(found) < need:
            continue
        coverage = len(found) / max(len(terms), 1)
        results.append(TopicMatch(sid, round(score * coverage, 4), found))
    results.sort(key=lambda m: (-m.score, m.story_id))
    return results[:limit]
