"""Per-channel memory: which articles and statements each channel has been given."""

from __future__ import annotations

import json
from datetime import datetime

from bot.digest.codec import encode_digest
from bot.digest.model import Digest
from bot.storage import Store
from bot.storage.scope import EVERYTHING, Scope
from bot.storage.store import to_iso


def channel_key(platform: str, workspace: str, channel: str) -> str:
    return f"{platform}:{workspace}:{channel}"


async def delivered_articles(store: Store, key: str) -> set[int]:
    rows = await store.fetchall(
        "SELECT DISTINCT article_id FROM delivered_items WHERE channel_key = ? "
        "AND article_id IS NOT NULL",
        (key,),
    )
    return {int(r[0]) for r in rows}


async def delivered_statements(store: Store, key: str, story_id: int) -> list[str]:
    rows = await store.fetchall(
        "SELECT statement FROM delivered_items WHERE channel_key = ? AND story_id = ? "
        "AND statement IS NOT NULL ORDER BY rowid",
        (key, story_id),
    )
    return [r[0] for r in rows]


async def recent_statements(store: Store, key: str, limit: int) -> list[str]:
    """The ``limit`` statements most recently delivered to the channel, in any story."""
    rows = await store.fetchall(
        "SELECT statement FROM delivered_items WHERE channel_key = ? AND statement IS NOT NULL "
        "ORDER BY rowid DESC LIMIT ?",
        (key, limit),
    )
    return [r[0] for r in rows]


async def known_stories(store: Store, key: str) -> set[int]:
    rows = await store.fetchall(
        "SELECT DISTINCT story_id FROM delivered_items WHERE channel_key = ?", (key,)
    )
    return {int(r[0]) for r in rows}


async def followed_stories(store: Store, key: str) -> set[int]:
    """The stories the channel follows through an enabled story subscription."""
    platform, _, rest = key.partition(":")
    workspace, _, channel = rest.partition(":")
    rows = await store.fetchall(
        "SELECT story_id FROM subscriptions WHERE platform = ? AND workspace = ? AND channel = ? "
        "AND enabled = 1 AND story_id IS NOT NULL",
        (platform, workspace, channel),
    )
    return {int(r[0]) for r in rows}


async def stories_with_unseen(
    store: Store, key: str, story_ids: list[int], scope: Scope = EVERYTHING
) -> dict[int, bool]:
    """Which of ``story_ids`` hold an article the channel was not given that is not backfill
    and that ``scope`` sees (the only stories that can have news for it), each with whether
    one such article is an original (then the story has news for sure; a new copy is news
    only if it was edited)."""
    visible, params = scope.articles("a")
    found: dict[int, bool] = {}
    for start in range(0, len(story_ids), 500):
        chunk = story_ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        rows = await store.fetchall(
            "SELECT a.story_id, max(a.duplicate_of IS NULL) FROM articles a "
            f"WHERE a.story_id IN ({marks}) AND a.backfill = 0 AND a.id NOT IN "
            "(SELECT article_id FROM delivered_items WHERE channel_key = ? "
            f"AND article_id IS NOT NULL) AND {visible} GROUP BY a.story_id",
            (*chunk, key, *params),
        )
        found.update((int(r[0]), bool(r[1])) for r in rows)
    return found


async def record_delivery(
    store: Store,
    *,
    key: str,
    digest: Digest,
    shown: list[tuple[int, list[int], list[str]]],
    idempotency_key: str,
    subscription_id: int | None = None,
    status: str = "sent",
    now: datetime,
) -> int | None:
    """Store the digest and what it showed: ``shown`` is (story id, article ids, statements).

    Returns the delivery id, or ``None`` when this idempotency key was already recorded.
    """
    async with store.transaction() as conn:
        async with conn.execute(
            "SELECT id FROM deliveries WHERE idempotency_key = ?", (idempotency_key,)
        ) as cur:
            if await cur.fetchone():
                return None
        cur2 = await conn.execute(
            "INSERT INTO deliveries (subscription_id, channel_key, idempotency_key, status, "
            "payload, created_at, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                subscription_id,
                key,
                idempotency_key,
                status,
                json.dumps({"digest": encode_digest(digest), "shown": shown}, ensure_ascii=False),
                to_iso(now),
                to_iso(now) if status == "sent" else None,
            ),
        )
        delivery_id = int(cur2.lastrowid or 0)
        rows: list[tuple[object, ...]] = []
        for story_id, article_ids, statements in shown:
            rows.extend((key, delivery_id, story_id, aid, None, to_iso(now)) for aid in article_ids)
            rows.extend(
                (key, delivery_id, story_id, None, text, to_iso(now)) for text in statements
            )
        await conn.executemany(
            "INSERT INTO delivered_items (channel_key, delivery_id, story_id, article_id, "
            "statement, delivered_at) VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
    return delivery_id
