"""The stories repository: story rows, merges and aliases, the grouper's snapshot, and the one
definition of the live story.

A story the grouper merged into another stays as a row with ``merged_into`` set (its public id
also becomes an alias of the story it joined), so an old id keeps working. *Live* stories are
the unmerged ones: :func:`live_sql` is the condition every query listing stories applies, and
:func:`live_story_id` follows a merged story to the one it now is.

Writes take the typed transaction of the article being ingested (:class:`WriteTxn`), so a
story's row, its articles' ``story_id`` and any merge commit with that article.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot.storage.times import from_iso, to_iso
from bot.storage.txn import ReadTxn, WriteTxn

if TYPE_CHECKING:
    from bot.storage.store import Store

MERGE_CHAIN_LIMIT = 32  # merge chains are short; the bound guards against a cycle


@dataclass(frozen=True, slots=True)
class EngineSnapshot:
    """An in-memory engine's saved state and the highest article id it includes."""

    version: int
    watermark: int
    data: bytes


@dataclass(frozen=True, slots=True)
class PendingOriginal:
    """An original article as the story grouper reads it."""

    id: int
    title: str
    text: str
    published_at: datetime


@dataclass(frozen=True, slots=True)
class StoryFields:
    """What the grouper says about a story (its row but the ids)."""

    title: str
    terms: Sequence[str]
    first_seen: datetime
    last_seen: datetime
    article_count: int
    active: bool


# ---------------------------------------------------------------------- the live story
def live_sql(alias: str = "st") -> str:
    """SQL condition: the ``stories`` row ``alias`` is live (not merged into another)."""
    if not alias.isidentifier():
        raise ValueError(f"not an SQL alias: {alias!r}")
    return f"{alias}.merged_into IS NULL"


async def live_story_id(store: Store, story_id: int) -> int:
    """The story ``story_id`` now is: merged stories followed to the live one they joined."""
    for _ in range(MERGE_CHAIN_LIMIT):
        nxt = await store.scalar("SELECT merged_into FROM stories WHERE id = ?", (story_id,))
        if nxt is None:
            break
        story_id = int(nxt)
    return story_id


async def resolve_public_id(store: Store, public_id: str) -> int | None:
    """The live story a public id (its own, or an alias left by a merge) refers to."""
    row = await store.fetchone(
        "SELECT s.id FROM stories s WHERE s.public_id = ? UNION ALL "
        "SELECT story_id FROM story_aliases WHERE public_id = ?",
        (public_id, public_id),
    )
    return None if row is None else await live_story_id(store, int(row[0]))


async def count_live(store: Store, *, active_only: bool = False) -> int:
    """How many live stories there are (``active_only``: those still receiving articles)."""
    active = " AND st.active = 1" if active_only else ""
    return int(await store.scalar(f"SELECT count(*) FROM stories st WHERE {live_sql()}{active}"))


# ------------------------------------------------------------------ grouper snapshot
async def load_snapshot(store: Store, name: str) -> EngineSnapshot | None:
    row = await store.fetchone(
        "SELECT version, watermark, data FROM engine_state WHERE name = ?", (name,)
    )
    return EngineSnapshot(int(row[0]), int(row[1]), bytes(row[2])) if row else None


async def save_snapshot(
    txn: WriteTxn, name: str, snapshot: EngineSnapshot, *, saved_at: datetime
) -> None:
    """Store the snapshot unless a newer one (higher watermark, same version) is there."""
    await txn._conn.execute(
        "INSERT INTO engine_state (name, version, watermark, data, saved_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
        "version = excluded.version, watermark = excluded.watermark, "
        "data = excluded.data, saved_at = excluded.saved_at "
        "WHERE excluded.watermark >= engine_state.watermark "
        "OR excluded.version != engine_state.version",
        (name, snapshot.version, snapshot.watermark, snapshot.data, to_iso(saved_at)),
    )


# ------------------------------------------------------------------ grouping input
async def originals_after(
    txn: ReadTxn, after: int, *, before: int | None = None, limit: int | None = None
) -> list[PendingOriginal]:
    """Originals with an id above ``after`` (and below ``before``), in id order."""
    sql = (
        "SELECT id, title, text, published_at FROM articles "
        "WHERE duplicate_of IS NULL AND id > ?" + (" AND id < ?" if before else "") +
        " ORDER BY id" + (f" LIMIT {int(limit)}" if limit else "")
    )  # fmt: skip
    params: tuple[int, ...] = (after, before) if before else (after,)
    async with txn._conn.execute(sql, params) as cur:
        rows = await cur.fetchall()
    return [PendingOriginal(int(r[0]), r[1], r[2], from_iso(r[3])) for r in rows]


# ---------------------------------------------------------------------- story rows
def _row(fields: StoryFields) -> tuple[object, ...]:
    return (
        fields.title,
        json.dumps(list(fields.terms)),
        to_iso(fields.first_seen),
        to_iso(fields.last_seen),
        fields.article_count,
        int(fields.active),
    )


async def update_story(txn: WriteTxn, story_id: int, fields: StoryFields) -> bool:
    """Rewrite a stored story's row; ``False`` when there is no such story."""
    cur = await txn._conn.execute(
        "UPDATE stories SET title = ?, terms = ?, first_seen_at = ?, last_seen_at = ?, "
        "article_count = ?, active = ? WHERE id = ?",
        (*_row(fields), story_id),
    )
    return cur.rowcount > 0


async def insert_story(
    txn: WriteTxn, story_id: int, fields: StoryFields, *, public_ids: Iterable[str]
) -> str:
    """Store a new story under the first of ``public_ids`` no story or alias holds (else the
    last of them); returns the public id."""
    public_id = ""
    for candidate in public_ids:
        public_id = candidate
        async with txn._conn.execute(
            "SELECT 1 FROM stories WHERE public_id = ? UNION ALL "
            "SELECT 1 FROM story_aliases WHERE public_id = ?",
            (candidate, candidate),
        ) as cur:
            if await cur.fetchone() is None:
                break
    await txn._conn.execute(
        "INSERT INTO stories (id, public_id, title, terms, first_seen_at, last_seen_at, "
        "article_count, active) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (story_id, public_id, *_row(fields)),
    )
    return public_id


async def extend_story(txn: WriteTxn, story_id: int, seen_at: datetime) -> None:
    """An article of the story (a copy) was seen at ``seen_at``."""
    await txn._conn.execute(
        "UPDATE stories SET last_seen_at = max(last_seen_at, ?) WHERE id = ?",
        (to_iso(seen_at), story_id),
    )


async def set_original_story(txn: WriteTxn, article_id: int, story_id: int) -> None:
    """An original and its copies belong to ``story_id``."""
    await txn.set_article_story(article_id, story_id)
    await txn._conn.execute(
        "UPDATE articles SET story_id = ? WHERE duplicate_of = ? AND story_id IS NOT ?",
        (story_id, article_id, story_id),
    )


async def record_merge(txn: WriteTxn, merged: int, into: int, *, now: datetime) -> None:
    """Story ``merged`` joined ``into``: its articles move, its public id (and the aliases it
    held) become aliases of ``into``. The caller rewrites ``into``'s row."""
    async with txn._conn.execute("SELECT public_id FROM stories WHERE id = ?", (merged,)) as cur:
        row = await cur.fetchone()
    await txn._conn.execute(
        "UPDATE stories SET merged_into = ?, active = 0 WHERE id = ?", (into, merged)
    )
    await txn._conn.execute("UPDATE articles SET story_id = ? WHERE story_id = ?", (into, merged))
    if row:
        await txn._conn.execute(
            "INSERT OR REPLACE INTO story_aliases (public_id, story_id, merged_at) "
            "VALUES (?, ?, ?)",
            (row[0], into, to_iso(now)),
        )
    await txn._conn.execute(
        "UPDATE story_aliases SET story_id = ? WHERE story_id = ?", (into, merged)
    )


async def active_story_ids(txn: ReadTxn) -> list[int]:
    async with txn._conn.execute("SELECT id FROM stories WHERE active = 1") as cur:
        return [int(r[0]) for r in await cur.fetchall()]


async def deactivate_stories(txn: WriteTxn, story_ids: Sequence[int]) -> None:
    """The stories went quiet."""
    if story_ids:
        await txn._conn.executemany(
            "UPDATE stories SET active = 0 WHERE id = ?", [(i,) for i in story_ids]
        )
