"""Which story a public id names (table ``stories`` and the aliases of merged stories).

A user types a story's public id (``s-4f2a``); after a merge the old id is an alias
(``story_aliases``) of the story it joined, so it keeps working.
"""

from __future__ import annotations

from bot.storage.store import Store


async def story_by_public_id(store: Store, public_id: str) -> int | None:
    """The row id of the story ``public_id`` names (as stored: lower case), one merge step
    followed (:meth:`Store.live_story_id` follows the rest); ``None`` when no story has it."""
    row = await store.fetchone(
        "SELECT coalesce(s.merged_into, s.id) FROM stories s WHERE s.public_id = ? UNION ALL "
        "SELECT story_id FROM story_aliases WHERE public_id = ?",
        (public_id, public_id),
    )
    return int(row[0]) if row else None
