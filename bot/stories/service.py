"""Stories in the database: the online grouper wired to ingest, persisted, reloadable.

Every stored original article is assigned in its own ingest transaction (``assign`` is an
ingest hook): the article's ``story_id``, its story's row and any merge (with an alias so the
merged story's public id keeps working) are written together. The grouper's in-memory state is
snapshotted to ``engine_state`` with a watermark; at start the snapshot is loaded and any later
articles are replayed in id order, so a crash between snapshots loses nothing and the same
stream always gives the same stories.
"""

from __future__ import annotations

import base64
import json
import logging
import zlib
from typing import Any

import aiosqlite
import xxhash

from bot.models import Article, utcnow
from bot.settings import Settings
from bot.storage import Store
from bot.storage.store import from_iso, to_iso
from bot.stories.cluster import STATE_VERSION, ClusterParams, Doc, StoryClusterer

log = logging.getLogger(__name__)
ENGINE = "stories"


def _encode(obj: Any) -> Any:
    if isinstance(obj, bytes):
        return {"$b": base64.b64encode(obj).decode("ascii")}
    if isinstance(obj, dict):
        return {str(k): _encode(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_encode(v) for v in obj]
    return obj


def _decode(obj: Any) -> Any:
    if isinstance(obj, dict):
        if set(obj) == {"$b"}:
            return base64.b64decode(obj["$b"])
        return {k: _decode(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decode(v) for v in obj]
    return obj


def dump_state(state: dict[str, Any]) -> bytes:
    return zlib.compress(json.dumps(_encode(state), separators=(",", ":")).encode(), 6)


def load_state(blob: bytes) -> dict[str, Any]:
    state = _decode(json.loads(zlib.decompress(blob)))
    assert isinstance(state, dict)
    return state


def candidate_public_ids(key: int) -> list[str]:
    """Short ids users can type, shortest first: ``s-4f2a``, then longer on collision."""
    digest = xxhash.xxh64_hexdigest(f"story:{key}".encode())
    return [f"s-{digest[:n]}" for n in range(4, 17)]


class StoryService:
    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        stories = settings.stories
        self.params = ClusterParams.from_settings(
            stories,
            time_decay_days=stories.time_decay_days or None,
            centroid_terms=stories.centroid_terms or None,
        )
        self.engine = StoryClusterer(self.params)
        self.watermark = 0
        self._loaded = False

    # ------------------------------------------------------------------ lifecycle
    async def load(self) -> None:
        """Load the snapshot, then replay originals stored after it (crash recovery)."""
        if self._loaded:
            return
        row = await self.store.fetchone(
            "SELECT version, watermark, data FROM engine_state WHERE name = ?", (ENGINE,)
        )
        if row is not None and row[0] == STATE_VERSION:
            try:
                self.engine = StoryClusterer.from_state(load_state(row[2]), self.params)
                self.watermark = int(row[1])
            except (ValueError, KeyError, zlib.error) as exc:
                log.warning("story snapshot unreadable (%s); regrouping from articles", exc)
                self.engine, self.watermark = StoryClusterer(self.params), 0
        elif row is not None:
            log.warning(
                "story snapshot has format %s, this version reads %s; regrouping from articles",
                row[0],
                STATE_VERSION,
            )
        self._loaded = True
        pending = await self.store.fetchall(
            "SELECT id, title, text, published_at, story_id FROM articles "
            "WHERE duplicate_of IS NULL AND id > ? ORDER BY id",
            (self.watermark,),
        )
        if pending:
            log.info("regrouping %d articles stored after the last story snapshot", len(pending))
            async with self.store.transaction() as conn:
                for article_id, title, text, published, _story in pending:
                    await self._assign(conn, article_id, title, text, from_iso(published))
            await self.save()

    async def save(self) -> None:
        """Snapshot the grouper (call after a batch; cost grows with the number of stories)."""
        await self._sync_active()
        blob = dump_state(self.engine.to_state())
        async with self.store.transaction() as conn:
            await conn.execute(
                "INSERT OR REPLACE INTO engine_state (name, version, watermark, data, saved_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (ENGINE, STATE_VERSION, self.watermark, blob, to_iso(utcnow())),
            )

    async def _sync_active(self) -> None:
        rows = await self.store.fetchall("SELECT id FROM stories WHERE active = 1")
        # a story the engine does not know (rows left by an engine rebuilt by replay after a
        # state format change) is not active either
        gone = [r[0] for r in rows if not self._engine_active(int(r[0]))]
        if gone:
            async with self.store.transaction() as conn:
                await conn.executemany(
                    "UPDATE stories SET active = 0 WHERE id = ?", [(g,) for g in gone]
                )

    def _engine_active(self, key: int) -> bool:
        try:
            return self.engine.is_active(key)
        except KeyError:
            return False

    # ------------------------------------------------------------------ ingest hook
    async def assign(self, conn: aiosqlite.Connection, article: Article) -> None:
        """Ingest hook: give a stored article its story, inside the article's transaction."""
        if article.id is None:
            return
        if article.duplicate_of is not None:
            if article.story_id is not None:
                await conn.execute(
                    "UPDATE stories SET last_seen_at = max(last_seen_at, ?) WHERE id = ?",
                    (to_iso(article.published_at), article.story_id),
                )
            return
        if not self._loaded:
            raise RuntimeError("StoryService.load() must run before ingest starts")
        article.story_id = await self._assign(
            conn, article.id, article.title, article.text, article.published_at
        )

    async def _assign(
        self, conn: aiosqlite.Connection, article_id: int, title: str, text: str, published: Any
    ) -> int:
        result = self.engine.add(Doc(str(article_id), title, text, published))
        key = result.story_key
        await self._write_story(conn, key)
        for merged in result.merged:
            await self._record_merge(conn, merged, key)
        await conn.execute("UPDATE articles SET story_id = ? WHERE id = ?", (key, article_id))
        await conn.execute(
            "UPDATE articles SET story_id = ? WHERE duplicate_of = ? AND story_id IS NOT ?",
            (key, article_id, key),
        )
        self.watermark = max(self.watermark, article_id)
        return key

    async def _write_story(self, conn: aiosqlite.Connection, key: int) -> None:
        view = self.engine.story(key)
        terms = json.dumps(view.terms[:6])
        async with conn.execute("SELECT public_id FROM stories WHERE id = ?", (key,)) as cur:
            exists = await cur.fetchone()
        if exists:
            await conn.execute(
                "UPDATE stories SET title = ?, terms = ?, first_seen_at = ?, last_seen_at = ?, "
                "article_count = ?, active = ? WHERE id = ?",
                (
                    view.title,
                    terms,
                    to_iso(view.first_seen),
                    to_iso(view.last_seen),
                    view.n_docs,
                    int(view.active),
                    key,
                ),
            )
            return
        public_id = await self._free_public_id(conn, key)
        await conn.execute(
            "INSERT INTO stories (id, public_id, title, terms, first_seen_at, last_seen_at, "
            "article_count, active) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                key,
                public_id,
                view.title,
                terms,
                to_iso(view.first_seen),
                to_iso(view.last_seen),
                view.n_docs,
                int(view.active),
            ),
        )

    async def _free_public_id(self, conn: aiosqlite.Connection, key: int) -> str:
        for candidate in candidate_public_ids(key):
            async with conn.execute(
                "SELECT 1 FROM stories WHERE public_id = ? UNION ALL "
                "SELECT 1 FROM story_aliases WHERE public_id = ?",
                (candidate, candidate),
            ) as cur:
                if await cur.fetchone() is None:
                    return candidate
        return f"s-{key}"

    async def _record_merge(self, conn: aiosqlite.Connection, merged: int, into: int) -> None:
        async with conn.execute("SELECT public_id FROM stories WHERE id = ?", (merged,)) as cur:
            row = await cur.fetchone()
        await conn.execute(
            "UPDATE stories SET merged_into = ?, active = 0 WHERE id = ?", (into, merged)
        )
        await conn.execute("UPDATE articles SET story_id = ? WHERE story_id = ?", (into, merged))
        if row:
            await conn.execute(
                "INSERT OR REPLACE INTO story_aliases (public_id, story_id, merged_at) "
                "VALUES (?, ?, ?)",
                (row[0], into, to_iso(utcnow())),
            )
        await conn.execute(
            "UPDATE story_aliases SET story_id = ? WHERE story_id = ?", (into, merged)
        )
        await self._write_story(conn, into)

    def explain(self, article: Article, story_id: int, n: int = 8) -> list[str]:
        """Terms and entities that tie ``article`` to its story (for ``story --explain``)."""
        doc = Doc(str(article.id), article.title, article.text, article.published_at)
        try:
            return self.engine.explain(doc, story_id, n)
        except KeyError:
            return []
