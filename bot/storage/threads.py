"""The threads threaded digests post in (tables ``story_threads`` and ``delivery_threads``).

A subscription in thread mode ``story`` gives each story one thread per channel: the first
digest that tells the story opens it, later ones post the story's updates in it. In mode
``digest`` each delivery opens its own thread. Either is recorded the moment the platform
opened it, before anything is posted in it, so a retried post finds it and posts there
instead of opening a second one. A story merged into another keeps its row: the story it
joined uses that thread (merges followed like :mod:`bot.storage.muted`; the oldest thread
when both had one).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from bot.storage.store import Store, to_iso
from bot.storage.stories import live_story_id, resolve_public_id


class ThreadRepo:
    def __init__(self, store: Store) -> None:
        self.store = store

    # ------------------------------------------------------------------- story threads
    async def story_threads(self, channel_key: str, public_ids: Iterable[str]) -> dict[str, str]:
        """The open threads of these stories (public ids) in the channel: public id -> thread."""
        rows = await self.store.fetchall(
            "SELECT story_id, thread_id FROM story_threads WHERE channel_key = ? "
            "ORDER BY opened_at, story_id",
            (channel_key,),
        )
        by_live: dict[int, str] = {}
        for story_id, thread_id in rows:
            by_live.setdefault(await live_story_id(self.store, int(story_id)), str(thread_id))
        found: dict[str, str] = {}
        for public_id in public_ids:
            live = await resolve_public_id(self.store, public_id)
            if live is not None and live in by_live:
                found[public_id] = by_live[live]
        return found

    async def open_story_thread(
        self, channel_key: str, public_id: str, thread_id: str, *, now: datetime
    ) -> bool:
        """Record the thread just opened for a story in the channel (one opened because the
        story's thread was deleted replaces it); ``False`` when the story is unknown."""
        story_id = await resolve_public_id(self.store, public_id)
        if story_id is None:
            return False
        async with self.store.transaction() as conn:
            await conn.execute(
                "INSERT INTO story_threads (channel_key, story_id, thread_id, opened_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (channel_key, story_id) DO UPDATE SET "
                "thread_id = excluded.thread_id, opened_at = excluded.opened_at",
                (channel_key, story_id, thread_id, to_iso(now)),
            )
        return True

    async def channel_threads(self, channel_key: str) -> dict[int, str]:
        """Every story thread of a channel: story id (as stored) -> thread id."""
        rows = await self.store.fetchall(
            "SELECT story_id, thread_id FROM story_threads WHERE channel_key = ?",
            (channel_key,),
        )
        return {int(r[0]): str(r[1]) for r in rows}

    # ---------------------------------------------------------------- delivery threads
    async def delivery_thread(self, delivery_id: int) -> str | None:
        """The thread a delivery (mode ``digest``) opened, if it got that far."""
        value = await self.store.scalar(
            "SELECT thread_id FROM delivery_threads WHERE delivery_id = ?", (delivery_id,)
        )
        return None if value is None else str(value)

    async def open_delivery_thread(self, delivery_id: int, thread_id: str) -> None:
        async with self.store.transaction() as conn:
            await conn.execute(
                "INSERT INTO delivery_threads (delivery_id, thread_id) VALUES (?, ?) "
                "ON CONFLICT (delivery_id) DO NOTHING",
                (delivery_id, thread_id),
            )
