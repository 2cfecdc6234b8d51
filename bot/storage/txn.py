"""Typed transaction handles: what code outside ``bot.storage`` holds while the store's write
lock (or its committed-read lock) is held.

:meth:`Store.write` yields a :class:`WriteTxn`, :meth:`Store.committed` a :class:`ReadTxn`.
Their methods take and return plain values and ``bot.models`` objects, never a database type,
so an ingest hook (story grouping, analysis, backfill marks) reads the same over any backend.
The repositories of ``bot.storage`` (``bot.storage.stories``...) take these handles for their
in-transaction reads and writes; the connection behind them is theirs alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from bot.models import Article
from bot.storage.scope import record_arrival
from bot.storage.times import to_iso


@dataclass(frozen=True, slots=True)
class StoredAnalysis:
    """One ``article_analysis`` row: an article's analysis in its stored form."""

    article_id: int
    version: int
    term_ids: bytes
    term_lens: bytes
    vocab: bytes
    detail: bytes


_UPSERT_ANALYSIS = (
    "INSERT OR REPLACE INTO article_analysis (article_id, version, term_ids, term_lens, vocab, "
    "detail) VALUES (?, ?, ?, ?, ?, ?)"
)


class ReadTxn:
    """Reads that see only committed rows (see :meth:`Store.committed`)."""

    __slots__ = ("_conn",)

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn  # bot.storage's repositories only


class WriteTxn(ReadTxn):
    """One open write transaction (see :meth:`Store.write`): everything written through it
    commits together, or not at all."""

    __slots__ = ()

    # ------------------------------------------------------------------ sources
    async def upsert_source(
        self,
        *,
        kind: str,
        locator: str,
        name: str | None = None,
        interval_s: float | None = None,
        workspace: str = "",
        item_filter: str | None = None,
        now: datetime,
    ) -> int:
        """The id of the source at ``locator``, created if needed.

        ``name``, ``interval_s`` and ``item_filter`` update an existing row when given
        (``item_filter=""`` clears the filter).
        """
        async with self._conn.execute(
            "SELECT id FROM sources WHERE workspace = ? AND locator = ?", (workspace, locator)
        ) as cur:
            row = await cur.fetchone()
        if row:
            if name is not None or interval_s is not None or item_filter is not None:
                await self._conn.execute(
                    "UPDATE sources SET name = COALESCE(?, name), "
                    "interval_s = COALESCE(?, interval_s), "
                    "item_filter = CASE WHEN ? IS NULL THEN item_filter ELSE NULLIF(?, '') END "
                    "WHERE id = ?",
                    (name, interval_s, item_filter, item_filter, row[0]),
                )
            return int(row[0])
        cur2 = await self._conn.execute(
            "INSERT INTO sources (kind, locator, workspace, name, interval_s, item_filter, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (kind, locator, workspace, name, interval_s or 900.0, item_filter or None, to_iso(now)),
        )
        return int(cur2.lastrowid or 0)

    # ----------------------------------------------------------------- articles
    async def insert_article(self, article: Article, minhash: bytes | None) -> int | None:
        """Insert one article (``story_id`` is not stored: see :meth:`set_article_story`);
        returns its row id, also set on ``article``, or ``None`` when an article with its
        ``ext_id`` exists (the conflict clause: never an error)."""
        cur = await self._conn.execute(
            "INSERT INTO articles (ext_id, source_id, guid, url, canonical_url, outlet, title, "
            "text, summary_raw, published_at, first_seen_at, content_hash, minhash, "
            "duplicate_of, origin, dated, backfill) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (ext_id) DO NOTHING",
            (
                article.ext_id,
                article.source_id,
                article.guid,
                article.url,
                article.canonical_url,
                article.outlet,
                article.title,
                article.text,
                article.summary_raw,
                to_iso(article.published_at),
                to_iso(article.first_seen_at),
                article.content_hash,
                minhash,
                article.duplicate_of,
                article.origin,
                int(article.dated),
                int(article.backfill),
            ),
        )
        if cur.rowcount != 1:
            return None
        article.id = int(cur.lastrowid or 0)
        if article.source_id is not None:
            await record_arrival(
                self._conn,
                article_id=article.id,
                source_id=article.source_id,
                original_id=article.duplicate_of,
            )
        return article.id

    async def set_article_story(self, article_id: int, story_id: int) -> None:
        await self._conn.execute(
            "UPDATE articles SET story_id = ? WHERE id = ?", (story_id, article_id)
        )

    async def content_hash(self, article_id: int) -> str | None:
        async with self._conn.execute(
            "SELECT content_hash FROM articles WHERE id = ?", (article_id,)
        ) as cur:
            row = await cur.fetchone()
        return str(row[0]) if row is not None else None

    # ---------------------------------------------------------------- analyses
    async def save_analyses(self, analyses: Sequence[StoredAnalysis]) -> None:
        """Store (or replace) articles' analyses."""
        await self._conn.executemany(
            _UPSERT_ANALYSIS,
            [
                (a.article_id, a.version, a.term_ids, a.term_lens, a.vocab, a.detail)
                for a in analyses
            ],
        )
