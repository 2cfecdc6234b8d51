"""Stories a channel muted (table ``muted_stories``): the "Mute story" button and ``/news mute``.

A muted story never reaches that channel's digests again (:func:`bot.digest.compose.
candidate_stories` leaves it out). A muted story that later joins another story (a merge) mutes
the story it joined: :meth:`MutedStories.story_ids` answers with live story ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.storage.store import Store, from_iso, to_iso
from bot.storage.stories import live_story_id


@dataclass(frozen=True, slots=True)
class Muted:
    channel_key: str
    story_id: int
    muted_by: str
    muted_at: datetime


class MutedStories:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def mute(self, channel_key: str, story_id: int, *, by: str, now: datetime) -> bool:
        """Mute ``story_id`` in the channel; ``False`` when it already was."""
        async with self.store.transaction() as conn:
            cur = await conn.execute(
                "INSERT INTO muted_stories (channel_key, story_id, muted_by, muted_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (channel_key, story_id) DO NOTHING",
                (channel_key, story_id, by, to_iso(now)),
            )
            return cur.rowcount > 0

    async def unmute(self, channel_key: str, story_id: int) -> bool:
        """Unmute ``story_id`` (and the muted stories merged into it); ``False`` if none was."""
        ids = [m.story_id for m in await self.for_channel(channel_key)]
        gone = [sid for sid in ids if await live_story_id(self.store, sid) == story_id]
        if not gone:
            return False
        async with self.store.transaction() as conn:
            await conn.executemany(
                "DELETE FROM muted_stories WHERE channel_key = ? AND story_id = ?",
                [(channel_key, sid) for sid in gone],
            )
        return True

    async def for_channel(self, channel_key: str) -> list[Muted]:
        rows = await self.store.fetchall(
            "SELECT channel_key, story_id, muted_by, muted_at FROM muted_stories "
            "WHERE channel_key = ? ORDER BY muted_at, story_id",
            (channel_key,),
        )
        return [Muted(str(r[0]), int(r[1]), str(r[2]), from_iso(str(r[3]))) for r in rows]

    async def story_ids(self, channel_key: str) -> set[int]:
        """The live ids of the stories the channel muted (merges followed)."""
        rows = await self.store.fetchall(
            "SELECT story_id FROM muted_stories WHERE channel_key = ?", (channel_key,)
        )
        return {await live_story_id(self.store, int(r[0])) for r in rows}
