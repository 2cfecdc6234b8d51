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
from datetime import datetime
from typing import Any

import xxhash

from bot.models import Article, utcnow
from bot.settings import Settings
from bot.storage import Store, stories
from bot.storage.stories import EngineSnapshot, StoryFields
from bot.storage.times import from_iso, to_iso
from bot.storage.txn import ReadTxn, WriteTxn
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
    """Short ids users can type, shortest first: ``s-4f2a``, then longer on collision, and
    ``s-KEY`` when every one is taken."""
    digest = xxhash.xxh64_hexdigest(f"story:{key}".encode())
    return [f"s-{digest[:n]}" for n in range(4, 17)] + [f"s-{key}"]


class StoryService:
    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        story_settings = settings.stories
        self.params = ClusterParams.from_settings(
            story_settings,
            time_decay_days=story_settings.time_decay_days or None,
            centroid_terms=story_settings.centroid_terms or None,
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
        snapshot = await stories.load_snapshot(self.store, ENGINE)
        rebuild = True
        if snapshot is not None and snapshot.version == STATE_VERSION:
            try:
                self.engine = StoryClusterer.from_state(load_state(snapshot.data), self.params)
                self.watermark = snapshot.watermark
                rebuild = False
            except (ValueError, KeyError, zlib.error) as exc:
                log.warning("story snapshot unreadable (%s); regrouping from articles", exc)
                self.engine, self.watermark = StoryClusterer(self.params), 0
        elif snapshot is not None:
            log.warning(
                "story snapshot has format %s, this version reads %s; regrouping from articles",
                snapshot.version,
                STATE_VERSION,
            )
        self._loaded = True
        if rebuild and self.store.writable:
            done = 0
            while True:
                async with self.store.write() as txn:
                    n = await self.catch_up(txn, limit=REPLAY_CHUNK)
                done += n
                if n < REPLAY_CHUNK:
                    break
            if done:
                # no snapshot yet is normal (another process is writing the first batch)
                log.log(logging.INFO if snapshot else logging.DEBUG, "regrouped %d articles", done)
                await self.save()
        else:
            await self.follow()

    async def follow(self) -> int:
        """Feed this process's grouper the originals other writers stored and grouped since
        it last looked (reads only; call outside a write transaction to keep those short)."""
        if not self._loaded:
            return 0
        async with self.store.committed() as txn:
            return await self.catch_up(txn)

    async def catch_up(
        self, txn: ReadTxn, *, before: int | None = None, limit: int | None = None
    ) -> int:
        """Group, in id order, the originals above the watermark (below ``before``).

        Inside a write transaction (a :class:`WriteTxn`) the database's write lock is held,
        so this process is the one story writer: whatever any process stored is grouped in
        arrival order before the next article, and the rows written equal those another
        process grouping the same articles wrote (same stream, same grouper state). Given
        committed reads only, the grouper follows without writing.
        """
        pending = await stories.originals_after(txn, self.watermark, before=before, limit=limit)
        for doc in pending:
            if isinstance(txn, WriteTxn):
                await self._assign(txn, doc.id, doc.title, doc.text, doc.published_at)
            else:
                self.engine.add(Doc(str(doc.id), doc.title, doc.text, doc.published_at))
                self.watermark = max(self.watermark, doc.id)
        return len(pending)

    async def save(self) -> None:
        """Snapshot the grouper (call after a batch; cost grows with the number of stories).

        In one write transaction: group what other processes stored meanwhile, mark quiet
        stories, store the snapshot unless a newer one (higher watermark) is there already.
        """
        if not self.store.writable:
            return
        async with self.store.write() as txn:
            await self.catch_up(txn)
            await self._sync_active(txn)
            snapshot = EngineSnapshot(
                STATE_VERSION, self.watermark, dump_state(self.engine.to_state())
            )
            await stories.save_snapshot(txn, ENGINE, snapshot, saved_at=utcnow())

    async def _sync_active(self, txn: WriteTxn) -> None:
        # a story the engine does not know (rows left by an engine rebuilt by replay after a
        # state format change) is not active either
        gone = [k for k in await stories.active_story_ids(txn) if not self._engine_active(k)]
        await stories.deactivate_stories(txn, gone)

    def _engine_active(self, key: int) -> bool:
        try:
            return self.engine.is_active(key)
        except KeyError:
            return False

    # ------------------------------------------------------------------ ingest hook
    async def assign(self, txn: WriteTxn, article: Article) -> None:
        """Ingest hook: give a stored article its story, inside the article's transaction
        (after grouping whatever other processes stored before it)."""
        if article.id is None:
            return
        if not self._loaded:
            raise RuntimeError("StoryService.load() must run before ingest starts")
        await self.catch_up(txn, before=article.id)
        if article.duplicate_of is not None:
            if article.story_id is not None:
                await stories.extend_story(txn, article.story_id, article.published_at)
            return
        # the time as stored (whole seconds), as a replay of the same article reads it
        published = from_iso(to_iso(article.published_at))
        article.story_id = await self._assign(
            txn, article.id, article.title, article.text, published
        )

    async def _assign(
        self, txn: WriteTxn, article_id: int, title: str, text: str, published: datetime
    ) -> int:
        result = self.engine.add(Doc(str(article_id), title, text, published))
        key = result.story_key
        await self._write_story(txn, key)
        for merged in result.merged:
            await stories.record_merge(txn, merged, key, now=utcnow())
            await self._write_story(txn, key)
        await stories.set_original_story(txn, article_id, key)
        self.watermark = max(self.watermark, article_id)
        return key

    async def _write_story(self, txn: WriteTxn, key: int) -> None:
        view = self.engine.story(key)
        fields = StoryFields(
            title=view.title,
            terms=view.terms[:6],
            first_seen=view.first_seen,
            last_seen=view.last_seen,
            article_count=view.n_docs,
            active=view.active,
        )
        if not await stories.update_story(txn, key, fields):
            await stories.insert_story(txn, key, fields, public_ids=candidate_public_ids(key))

    def explain(self, article: Article, story_id: int, n: int = 8) -> list[str]:
        """Terms and entities that tie ``article`` to its story (for ``story --explain``)."""
        doc = Doc(str(article.id), article.title, article.text, article.published_at)
        try:
            return self.engine.explain(doc, story_id, n)
        except KeyError:
            return []
