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
REPLAY_CHUNK = 200  # originals regrouped per write transaction when rebuilding


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
        """Load the snapshot, then follow the originals stored after it.

        Each original is grouped in its own ingest transaction, so the story rows of articles
        after the snapshot are already right and following them only updates this process's
        grouper (no write). Without a usable snapshot the grouper is rebuilt and, on a
        writable store, every story row is rewritten (in short transactions).
        """
        if self._loaded:
            return
        row = await self.store.fetchone(
            "SELECT version, watermark, data FROM engine_state WHERE name = ?", (ENGINE,)
        )
        rebuild = True
        if row is not None and row[0] == STATE_VERSION:
            try:
                self.engine = StoryClusterer.from_state(load_state(row[2]), self.params)
                self.watermark = int(row[1])
                rebuild = False
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
        if rebuild and self.store.writable:
            done = 0
            while True:
                async with self.store.transaction() as conn:
                    n = await self.catch_up(conn, limit=REPLAY_CHUNK)
                done += n
                if n < REPLAY_CHUNK:
                    break
            if done:
                # no snapshot yet is normal (another process is writing the first batch)
                log.log(logging.INFO if row else logging.DEBUG, "regrouped %d articles", done)
                await self.save()
        else:
            await self.follow()

    async def follow(self) -> int:
        """Feed this process's grouper the originals other writers stored and grouped since
        it last looked (reads only; call outside a write transaction to keep those short)."""
        if not self._loaded:
            return 0
        async with self.store.committed() as conn:
            return await self.catch_up(conn, write=False)

    async def catch_up(
        self,
        conn: aiosqlite.Connection,
        *,
        before: int | None = None,
        limit: int | None = None,
        write: bool = True,
    ) -> int:
        """Group, in id order, the originals above the watermark (below ``before``).

        Inside a write transaction (``write=True``) the database's write lock is held, so this
        process is the one story writer: whatever any process stored is grouped in arrival
        order before the next article, and the rows written equal those another process
        grouping the same articles wrote (same stream, same grouper state).
        """
        sql = (
            "SELECT id, title, text, published_at FROM articles "
            "WHERE duplicate_of IS NULL AND id > ?" + (" AND id < ?" if before else "") +
            " ORDER BY id" + (f" LIMIT {int(limit)}" if limit else "")
        )  # fmt: skip
        params: tuple[int, ...] = (self.watermark, before) if before else (self.watermark,)
        async with conn.execute(sql, params) as cur:
            pending = list(await cur.fetchall())
        for article_id, title, text, published in pending:
            if write:
                await self._assign(conn, int(article_id), title, text, from_iso(published))
            else:
                self.engine.add(Doc(str(article_id), title, text, from_iso(published)))
                self.watermark = max(self.watermark, int(article_id))
        return len(pending)

    async def save(self) -> None:
        """Snapshot the grouper (call after a batch; cost grows with the number of stories).

        In one write transaction: group what other processes stored meanwhile, mark quiet
        stories, store the snapshot unless a newer one (higher watermark) is there already.
        """
        if not self.store.writable:
            return
        async with self.store.transaction() as conn:
            await self.catch_up(conn)
            await self._sync_active(conn)
            blob = dump_state(self.engine.to_state())
            await conn.execute(
                "INSERT INTO engine_state (name, version, watermark, data, saved_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
                "version = excluded.version, watermark = excluded.watermark, "
                "data = excluded.data, saved_at = excluded.saved_at "
                "WHERE excluded.watermark >= engine_state.watermark "
                "OR excluded.version != engine_state.version",
                (ENGINE, STATE_VERSION, self.watermark, blob, to_iso(utcnow())),
            )

    async def _sync_active(self, conn: aiosqlite.Connection) -> None:
        async with conn.execute("SELECT id FROM stories WHERE active = 1") as cur:
            rows = await cur.fetchall()
        # a story the engine does not know (rows left by an engine rebuilt by replay after a
        # state format change) is not active either
        gone = [r[0] for r in rows if not self._engine_active(int(r[0]))]
        if gone:
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
        """Ingest hook: give a stored article its story, inside the article's transaction
        (after grouping whatever other processes stored before it)."""
        if article.id is None:
            return
        if not self._loaded:
            raise RuntimeError("StoryService.load() must run before ingest starts")
        await self.catch_up(conn, before=article.id)
        if article.duplicate_of is not None:
            if article.story_id is not None:
                await conn.execute(
                    "UPDATE stories SET last_seen_at = max(last_seen_at, ?) WHERE id = ?",
                    (to_iso(article.published_at), article.story_id),
                )
            return
        # the time as stored (whole seconds), as a replay of the same article reads it
        published = from_iso(to_iso(article.published_at))
        article.story_id = await self._assign(
            conn, article.id, article.title, article.text, published
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
