"""Topics of exact meaning: which stories a boolean query or a quoted phrase matches, and why.

A boolean query (``ukraine AND (trump OR putin)``) or a topic that is one quoted phrase is
evaluated per article by FTS5: a story matches when one of its articles does, ranked by BM25.
Free-text topics are scored and cut by ``bot.relevance`` instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bot.query import Query, Term, parse_query, to_fts5
from bot.storage import Store
from bot.storage.scope import EVERYTHING, Scope


@dataclass(frozen=True, slots=True)
class TopicMatch:
    story_id: int
    score: float
    matched_terms: list[str]


def _term_fts(term: Term) -> str:
    return '"' + " ".join(term.words) + '"'


async def match_stories(
    store: Store, query: str | Query, *, limit: int = 50, scope: Scope = EVERYTHING
) -> list[TopicMatch]:
    """Stories matching ``query``, best first, with the query terms each one contains (on
    the articles ``scope`` sees)."""
    q = parse_query(query) if isinstance(query, str) else query
    visible, params = scope.articles("a")
    hits = await store.fetchall(
        "SELECT a.story_id, -bm25(articles_fts, 4.0, 1.0) "
        "FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid "
        f"WHERE articles_fts MATCH ? AND a.story_id IS NOT NULL AND {visible} "
        "ORDER BY rank LIMIT 5000",
        (to_fts5(q), *params),
    )
    if not hits:
        return []
    totals: dict[int, float] = {}
    for sid, score in hits:  # a story's relevance: the sum over its matching articles
        totals[int(sid)] = totals.get(int(sid), 0.0) + float(score)
    rows = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))[: limit * 4]
    story_ids = [int(r[0]) for r in rows]
    terms = q.terms()
    marks = ",".join("?" * len(story_ids))
    matched: dict[int, list[str]] = {sid: [] for sid in story_ids}
    for term in terms:
        hits = await store.fetchall(
            "SELECT DISTINCT a.story_id FROM articles_fts JOIN articles a "
            f"ON a.id = articles_fts.rowid WHERE articles_fts MATCH ? AND a.story_id IN ({marks}) "
            f"AND {visible}",
            (_term_fts(term), *story_ids, *params),
        )
        for (sid,) in hits:
            matched[int(sid)].append(" ".join(term.words))
    need = 1 if q.boolean else max(1, math.ceil(len(terms) / 2))
    results = []
    for sid, score in rows:
        found = matched[int(sid)]
        if len(found) < need:
            continue
        coverage = len(found) / max(len(terms), 1)
        results.append(TopicMatch(int(sid), round(float(score) * coverage, 4), found))
    results.sort(key=lambda m: (-m.score, m.story_id))
    return results[:limit]
