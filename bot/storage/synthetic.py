"""Synthetic stories written straight into a database, for benchmarks at scale.

Bypasses ingest (no normalisation, dedup or grouping): each story gets its articles as given,
so a benchmark can time what reads stories (topic matching) against 100,000 of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.storage.store import Store

STAMP = "2030-01-01T00:00:00+00:00"


@dataclass(frozen=True, slots=True)
class SyntheticArticle:
    title: str
    text: str


async def fill_stories(
    store: Store, stories: Iterable[list[SyntheticArticle]], *, batch: int = 5000
) -> int:
    """Store each list of articles as one story; returns the number of articles stored."""
    next_story = int(await store.scalar("SELECT coalesce(max(id), 0) FROM stories") or 0) + 1
    next_article = int(await store.scalar("SELECT coalesce(max(id), 0) FROM articles") or 0) + 1
    story_rows: list[tuple[object, ...]] = []
    article_rows: list[tuple[object, ...]] = []
    stored = 0

    async def flush() -> None:
        async with store.transaction() as conn:
            await conn.executemany(
                "INSERT INTO stories (id, public_id, title, first_seen_at, last_seen_at, "
                "article_count) VALUES (?, ?, ?, ?, ?, ?)",
                story_rows,
            )
            await conn.executemany(
                "INSERT INTO articles (id, ext_id, outlet, title, text, published_at, "
                "first_seen_at, content_hash, story_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                article_rows,
            )
        story_rows.clear()
        article_rows.clear()

    for articles in stories:
        sid = next_story
        next_story += 1
        story_rows.append((sid, f"s-syn{sid}", articles[0].title, STAMP, STAMP, len(articles)))
        for art in articles:
            aid = next_article
            next_article += 1
            article_rows.append(
                (aid, f"syn-{aid}", "synthetic", art.title, art.text, STAMP, STAMP, str(aid), sid)
            )
            stored += 1
        if len(article_rows) >= batch:
            await flush()
    if story_rows:
        await flush()
    return stored
