"""The Store: one database connection, a write lock, typed queries.

The connection is aiosqlite's (a SQLite file in WAL mode, the default) or, for a
``postgresql://`` target, :class:`bot.storage.pg.PgConnection`, which offers the same calls and
rewrites the few statements PostgreSQL spells differently (:mod:`bot.storage.dialect`).

Writes go through :meth:`Store.transaction`, which takes the store's asyncio lock and runs
``BEGIN IMMEDIATE`` ... ``COMMIT`` (on PostgreSQL ``BEGIN`` plus a transaction-scoped advisory
lock: one writer at a time across processes, as SQLite has), rollback on any error, so one
article's ingest is atomic and writers never interleave; :meth:`Store.write` is the same
transaction as a typed handle (``bot.storage.txn``), the one code outside ``bot.storage``
uses. Reads may run at any time.

:meth:`Store.exclusive` is a named section one task at a time runs, across every process
sharing the database: on PostgreSQL a session advisory lock on a connection of its own, on
SQLite (one process) an asyncio lock.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import aiosqlite

from bot.errors import StorageError
from bot.models import Article
from bot.net.credentials import masked
from bot.queries.language import Query, to_fts5
from bot.storage import fulltext
from bot.storage.backend import ID_TABLES, POSTGRESQL, SQLITE, kind_of, pg_conninfo, pg_password
from bot.storage.migrate import LATEST, PG_LATEST, migrate, pg_migrate
from bot.storage.pg import PgConnection
from bot.storage.scope import EVERYTHING, REMOVED, Scope, record_arrival
from bot.storage.stories import live_sql
from bot.storage.times import from_iso, to_iso
from bot.storage.txn import ReadTxn, WriteTxn

SCHEMA_VERSION = LATEST
BUSY_RETRIES = 3  # extra waits for the write lock beyond the busy timeout
SECTION_POLL_S = 0.05  # how often a wait for another process's exclusive section retries
SECTION_LOCK_SPACE = 0x6E627378  # first key of Store.exclusive's advisory locks ("nbsx")
_TRY_LOCK = "SELECT pg_try_advisory_lock(?, hashtext(?))"
_UNLOCK = "SELECT pg_advisory_unlock(?, hashtext(?))"
SEARCH_RANK_WINDOW = 5000  # newest matches ranked by bm25 (keeps common-word queries fast)
# PostgreSQL reads each ranked article's tsvector out of line (FTS5's bm25 reads its own
# index), so it ranks fewer: with 5,000 a common word over 100,000 articles took ~140 ms.
PG_SEARCH_RANK_WINDOW = 1000


_ARTICLE_COLS = (
    "id, ext_id, source_id, guid, url, canonical_url, outlet, title, text, summary_raw, "
    "published_at, first_seen_at, content_hash, duplicate_of, origin, story_id, dated"
)


_A_COLS = ", ".join("a." + c.strip() for c in _ARTICLE_COLS.split(","))


def _article_from_row(row: Sequence[Any]) -> Article:
    return Article(
        id=row[0],
        ext_id=row[1],
        source_id=row[2],
        guid=row[3],
        url=row[4],
        canonical_url=row[5],
        outlet=row[6],
        title=row[7],
        text=row[8],
        summary_raw=row[9],
        published_at=from_iso(row[10]),
        first_seen_at=from_iso(row[11]),
        content_hash=row[12],
        duplicate_of=row[13],
        origin=row[14],
        story_id=row[15],
        dated=bool(row[16]),
    )


@dataclass(slots=True)
class SearchHit:
    article: Article
    snippet: str
    score: float


class Store:
    """Async facade over the newsbot database (SQLite file or PostgreSQL)."""

    def __init__(
        self,
        conn: aiosqlite.Connection,
        path: str,
        *,
        writable: bool = True,
        backend: str = SQLITE,
    ) -> None:
        self.conn = conn
        self.path = path
        self.writable = writable
        self.backend = backend
        self._write_lock = asyncio.Lock()
        self._sections: dict[str, asyncio.Lock] = {}  # Store.exclusive, by name
        self._lock_conn: PgConnection | None = None  # holds the advisory locks (PostgreSQL)
        self._lock_conn_guard = asyncio.Lock()
        self._pg_connect: tuple[str, str | None] | None = None  # (conninfo, password)
        # What readers derive from this database and keep while it is open (e.g. the term
        # statistics of ``bot.queries.relevance``), by the deriving module's name.
        self.derived: dict[str, object] = {}

    @property
    def postgres(self) -> bool:
        return self.backend == POSTGRESQL

    @classmethod
    async def open(
        cls, path: str | Path, *, busy_timeout_ms: int = 5000, writable: bool = True
    ) -> Store:
        """Open (creating and migrating as needed). ``writable=False``: after any pending
        migration the connection is ``query_only``, so a read command cannot write at all."""
        path = str(path)
        if kind_of(path) == POSTGRESQL:
            return await cls._open_postgres(path, writable=writable)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = await aiosqlite.connect(path, isolation_level=None)
        except sqlite3.Error as exc:
            raise StorageError(f"{path}: cannot open database: {exc}") from None
        try:
            await conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute("PRAGMA synchronous = NORMAL")
            await conn.execute("PRAGMA foreign_keys = ON")
            await migrate(conn)
            if not writable:
                await conn.execute("PRAGMA query_only = ON")
        except sqlite3.DatabaseError as exc:
            await conn.close()
            raise StorageError(f"{path}: not a usable newsbot database: {exc}") from None
        except BaseException:
            await conn.close()
            raise
        return cls(conn, path, writable=writable)

    @classmethod
    async def _open_postgres(cls, url: str, *, writable: bool) -> Store:
        password = pg_password()
        conninfo = pg_conninfo(url)
        try:
            pg = await PgConnection.connect(conninfo, ID_TABLES, password)
        except sqlite3.Error as exc:
            raise StorageError(f"{masked(url)}: cannot open database: {exc}") from None
        try:
            await pg_migrate(pg)
            if not writable:
                await pg.execute("SET default_transaction_read_only = on")
        except sqlite3.DatabaseError as exc:
            await pg.close()
            raise StorageError(f"{masked(url)}: not a usable newsbot database: {exc}") from None
        except BaseException:
            await pg.close()
            raise
        # The repositories are typed against aiosqlite's connection; PgConnection offers the
        # calls they make (execute, executemany, fetchone/fetchall, rowcount, lastrowid).
        store = cls(cast(aiosqlite.Connection, pg), url, writable=writable, backend=POSTGRESQL)
        store._pg_connect = (conninfo, password)
        return store

    async def close(self) -> None:
        if self._lock_conn is not None:
            await self._lock_conn.close()  # the server drops its advisory locks with it
            self._lock_conn = None
        await self.conn.close()

    @asynccontextmanager
    async def exclusive(self, name: str) -> AsyncIterator[None]:
        """Run the block while no other task, in this process or any other sharing the
        database, runs a block of the same ``name``.

        PostgreSQL: a session advisory lock keyed by ``hashtext(name)``, taken (polled with
        ``pg_try_advisory_lock``, so a wait never blocks a connection) on a connection used
        for nothing else; a process that dies loses its connection and so its locks. SQLite
        is one process: the asyncio lock alone."""
        lock = self._sections.setdefault(name, asyncio.Lock())
        async with lock:
            if not self.postgres:
                yield
                return
            # Another process holds it: nothing in this one can signal its release, so poll.
            while not await self._advisory_shielded(_TRY_LOCK, name):  # noqa: ASYNC110
                await asyncio.sleep(SECTION_POLL_S)
            try:
                yield
            finally:
                await self._advisory_shielded(_UNLOCK, name)

    async def _advisory_shielded(self, sql: str, name: str) -> bool:
        """:meth:`_advisory`, run to its end even if the caller is cancelled meanwhile (a
        lock taken by a cancelled try is given back; an unlock is never cut short), so no
        cancellation leaves this session holding a section another worker waits for."""
        call = asyncio.ensure_future(self._advisory(sql, name))
        try:
            return await asyncio.shield(call)
        except asyncio.CancelledError:
            if sql == _TRY_LOCK and await call:
                await asyncio.shield(self._advisory(_UNLOCK, name))
            raise

    async def _advisory(self, sql: str, name: str) -> bool:
        async with self._lock_conn_guard:
            if self._lock_conn is None:
                assert self._pg_connect is not None
                conninfo, password = self._pg_connect
                self._lock_conn = await PgConnection.connect(conninfo, ID_TABLES, password)
            async with self._lock_conn.execute(sql, (SECTION_LOCK_SPACE, name)) as cur:
                row = await cur.fetchone()
        return bool(row and row[0])

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``), serialized by the store's lock."""
        async with self._write_lock:
            await self._begin_immediate()
            try:
                yield self.conn
            except BaseException:
                await self.conn.rollback()
                raise
            else:
                await self.conn.commit()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[WriteTxn]:
        """One write transaction as a typed handle (:class:`WriteTxn`): the form code outside
        ``bot.storage`` uses (ingest and its hooks); :meth:`transaction` is its connection."""
        async with self.transaction() as conn:
            yield WriteTxn(conn)

    @asynccontextmanager
    async def committed(self) -> AsyncIterator[ReadTxn]:
        """Reads that see only committed rows: waits for this process's open write
        transaction (which shares the connection) to end, and keeps others from starting."""
        async with self._write_lock:
            yield ReadTxn(self.conn)

    async def _begin_immediate(self) -> None:
        """Take the database's write lock; another process holding it longer than the busy
        timeout is waited for a few more times before the error reaches the caller."""
        if self.postgres:
            await cast(PgConnection, self.conn).begin()  # waits for the advisory lock
            return
        for attempt in range(BUSY_RETRIES + 1):
            try:
                await self.conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                busy = "locked" in str(exc) or "busy" in str(exc)
                if not busy or attempt == BUSY_RETRIES:
                    raise
                await asyncio.sleep(0.05 * (attempt + 1))

    async def schema_state(self) -> tuple[int, int, str]:
        """(schema version, the version this newsbot knows, integrity): SQLite's
        ``quick_check``; PostgreSQL checks its own pages, so ``ok`` once it answers."""
        if self.postgres:
            version = await self.scalar("SELECT coalesce(max(version), 0) FROM schema_version")
            return int(version or 0), PG_LATEST, str(await self.scalar("SELECT 'ok'"))
        version = await self.scalar("PRAGMA user_version")
        return int(version or 0), LATEST, str(await self.scalar("PRAGMA quick_check"))

    async def story_consistency(self) -> tuple[int, int]:
        """(live stories holding originals, those whose ``article_count`` differs from the
        number of originals assigned to them): a check for concurrent-writer runs."""
        row = await self.fetchone(
            "SELECT count(*), count(*) FILTER (WHERE s.article_count != c.n) FROM stories s "
            "JOIN (SELECT story_id, count(*) AS n FROM articles WHERE duplicate_of IS NULL "
            f"GROUP BY story_id) c ON c.story_id = s.id WHERE {live_sql('s')}"
        )
        return (int(row[0]), int(row[1])) if row else (0, 0)

    # ----------------------------------------------------------------- helpers
    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Any:
        async with self.conn.execute(sql, tuple(params)) as cur:
            return await cur.fetchone()

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        async with self.conn.execute(sql, tuple(params)) as cur:
            return list(await cur.fetchall())

    async def fetch_dicts(self, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        async with self.conn.execute(sql, tuple(params)) as cur:
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in await cur.fetchall()]

    async def scalar(self, sql: str, params: Iterable[Any] = ()) -> Any:
        row = await self.fetchone(sql, params)
        return row[0] if row else None

    # ----------------------------------------------------------------- sources
    async def upsert_source(
        self,
        conn: aiosqlite.Connection,
        *,
        kind: str,
        locator: str,
        name: str | None = None,
        interval_s: float | None = None,
        workspace: str = "",
        item_filter: str | None = None,
        now: datetime,
    ) -> int:
        """:meth:`WriteTxn.upsert_source` inside the transaction of ``conn`` (for callers that
        still hold :meth:`transaction`'s connection)."""
        return await WriteTxn(conn).upsert_source(
            kind=kind,
            locator=locator,
            name=name,
            interval_s=interval_s,
            workspace=workspace,
            item_filter=item_filter,
            now=now,
        )

    async def add_feed_source(
        self,
        *,
        locator: str,
        workspace: str,
        name: str | None,
        item_filter: str | None,
        interval_s: float,
        now: datetime,
    ) -> int | None:
        """Insert a feed source; ``None`` when ``workspace`` has ``locator`` already."""
        try:
            async with self.transaction() as conn:
                cur = await conn.execute(
                    "INSERT INTO sources (kind, locator, workspace, name, item_filter, "
                    "interval_s, created_at) VALUES ('feed', ?, ?, ?, ?, ?, ?)",
                    (locator, workspace, name, item_filter, interval_s, to_iso(now)),
                )
                return int(cur.lastrowid or 0)
        except sqlite3.IntegrityError:
            return None

    async def remove_source(self, source_id: int, *, now: datetime) -> None:
        """Remove a source. One that stored articles stays as a disabled row owned by no
        workspace (``removed:ID``): its articles keep their source, and no workspace sees them
        through it any more (bot.storage.scope)."""
        async with self.transaction() as conn:
            async with conn.execute(
                "SELECT 1 FROM articles WHERE source_id = ? LIMIT 1", (source_id,)
            ) as cur:
                referenced = await cur.fetchone() is not None
            if not referenced:
                await conn.execute("DELETE FROM sources WHERE id = ?", (source_id,))
                return
            await conn.execute(
                f"UPDATE sources SET workspace = '{REMOVED}' || id, enabled = 0, shared = 0, "
                "disabled_at = ?, disabled_reason = 'removed' WHERE id = ?",
                (to_iso(now), source_id),
            )

    async def feed_sources(self, workspace: str = "") -> list[dict[str, Any]]:
        """A workspace's feeds (``''``: the operator's), oldest first: locator, name, filter."""
        return await self.fetch_dicts(
            "SELECT id, locator, name, item_filter, enabled FROM sources "
            "WHERE workspace = ? AND kind = 'feed' ORDER BY id",
            (workspace,),
        )

    async def list_sources(self, workspace: str = "") -> list[dict[str, Any]]:
        return await self.fetch_dicts(
            "SELECT s.id, s.kind, s.locator, s.name, s.enabled, s.last_fetch_at, s.last_ok_at, "
            "s.last_error, s.consecutive_failures, "
            "(SELECT count(*) FROM articles a WHERE a.source_id = s.id) AS articles "
            "FROM sources s WHERE s.workspace = ? ORDER BY s.id",
            (workspace,),
        )

    # ---------------------------------------------------------------- articles
    async def link_source(self, article: Article, source_id: int | None) -> None:
        """``article`` (already stored) arrived again through ``source_id``: visible to that
        source's owner too (no write when it is known already)."""
        if source_id is None or article.id is None:
            return
        ids = [i for i in (article.id, article.duplicate_of) if i is not None]
        known = await self.scalar(
            f"SELECT count(*) FROM article_sources WHERE source_id = ? "
            f"AND article_id IN ({','.join('?' * len(ids))})",
            (source_id, *ids),
        )
        if int(known or 0) == len(ids):
            return
        async with self.transaction() as conn:
            await record_arrival(
                conn, article_id=article.id, source_id=source_id, original_id=article.duplicate_of
            )

    async def article_by_ext_id(self, ext_id: str) -> Article | None:
        row = await self.fetchone(
            f"SELECT {_ARTICLE_COLS} FROM articles WHERE ext_id = ?", (ext_id,)
        )
        return _article_from_row(row) if row else None

    async def article(self, article_id: int) -> Article | None:
        row = await self.fetchone(
            f"SELECT {_ARTICLE_COLS} FROM articles WHERE id = ?", (article_id,)
        )
        return _article_from_row(row) if row else None

    async def find_exact(
        self,
        *,
        source_id: int | None,
        guid: str | None,
        canonical_url: str | None,
        content_hash: str,
    ) -> tuple[str, Article] | None:
        """The first stored article matching by GUID (same source), canonical URL or content.

        Returns ``(how, article)`` where ``how`` is ``guid``, ``url`` or ``content``.
        """
        if guid and source_id is not None:
            row = await self.fetchone(
                f"SELECT {_ARTICLE_COLS} FROM articles WHERE source_id = ? AND guid = ? LIMIT 1",
                (source_id, guid),
            )
            if row:
                return "guid", _article_from_row(row)
        if canonical_url:
            row = await self.fetchone(
                f"SELECT {_ARTICLE_COLS} FROM articles WHERE canonical_url = ? ORDER BY id LIMIT 1",
                (canonical_url,),
            )
            if row:
                return "url", _article_from_row(row)
        row = await self.fetchone(
            f"SELECT {_ARTICLE_COLS} FROM articles WHERE content_hash = ? ORDER BY id LIMIT 1",
            (content_hash,),
        )
        if row:
            return "content", _article_from_row(row)
        return None

    async def list_articles(
        self, *, include_duplicates: bool = True, limit: int | None = None
    ) -> list[Article]:
        where = "" if include_duplicates else "WHERE duplicate_of IS NULL"
        lim = f"LIMIT {int(limit)}" if limit else ""
        rows = await self.fetchall(
            f"SELECT {_ARTICLE_COLS} FROM articles {where} ORDER BY published_at, id {lim}"
        )
        return [_article_from_row(r) for r in rows]

    async def outlets_of(self, article_id: int, *, scope: Scope = EVERYTHING) -> list[str]:
        """Every outlet that ran the article: the original's first, then its copies' (those
        ``scope`` sees)."""
        visible, params = scope.articles("a")
        rows = await self.fetchall(
            "SELECT outlet FROM articles a WHERE a.id = ? UNION ALL "
            f"SELECT outlet FROM articles a WHERE a.duplicate_of = ? AND {visible}",
            (article_id, article_id, *params),
        )
        seen: dict[str, None] = {}
        for (outlet,) in rows:
            seen.setdefault(outlet, None)
        return list(seen)

    async def story_articles(
        self, story_id: int, *, copies: bool = False, scope: Scope = EVERYTHING
    ) -> list[Article]:
        """A story's originals ``scope`` sees, oldest first; with ``copies``, its copies
        instead (articles stored as duplicates of one of its originals)."""
        which = "IS NOT NULL" if copies else "IS NULL"
        visible, params = scope.articles("a")
        rows = await self.fetchall(
            f"SELECT {_A_COLS} FROM articles a WHERE a.story_id = ? "
            f"AND a.duplicate_of {which} AND {visible} ORDER BY a.published_at, a.id",
            (story_id, *params),
        )
        return [_article_from_row(r) for r in rows]

    async def backfill_ids(self, story_id: int) -> set[int]:
        """Ids of the story's backfill articles (a feed's first fetch, republished items):
        never news to a channel."""
        rows = await self.fetchall(
            "SELECT id FROM articles WHERE story_id = ? AND backfill = 1", (story_id,)
        )
        return {int(r[0]) for r in rows}

    async def story_outlets(
        self, story_id: int, *, scope: Scope = EVERYTHING
    ) -> dict[int, list[str]]:
        """For each original of a story, every outlet that ran it (the original's first), of
        the articles ``scope`` sees."""
        visible, params = scope.articles("a")
        rows = await self.fetchall(
            "SELECT coalesce(a.duplicate_of, a.id), a.outlet FROM articles a "
            f"WHERE a.story_id = ? AND {visible} ORDER BY a.duplicate_of IS NOT NULL, a.id",
            (story_id, *params),
        )
        out: dict[int, dict[str, None]] = {}
        for original, outlet in rows:
            out.setdefault(int(original), {}).setdefault(outlet, None)
        return {k: list(v) for k, v in out.items()}

    async def iter_minhashes(self, *, after: int = 0) -> list[tuple[int, bytes]]:
        """Signatures of the originals with an id above ``after``, in id order."""
        return await self.fetchall(
            "SELECT id, minhash FROM articles WHERE duplicate_of IS NULL AND minhash IS NOT NULL "
            "AND id > ? ORDER BY id",
            (after,),
        )

    async def count_articles(self) -> tuple[int, int]:
        """(originals, duplicates)."""
        row = await self.fetchone(
            "SELECT count(*) FILTER (WHERE duplicate_of IS NULL), "
            "count(*) FILTER (WHERE duplicate_of IS NOT NULL) FROM articles"
        )
        return (int(row[0]), int(row[1])) if row else (0, 0)

    async def search(
        self,
        query: Query,
        *,
        limit: int = 10,
        window: int | None = None,
        scope: Scope = EVERYTHING,
    ) -> list[SearchHit]:
        """Full-text search ranked with the headline weighted, over the articles ``scope``
        sees (FTS5's bm25 on SQLite, ``ts_rank`` on PostgreSQL: :mod:`bot.storage.fulltext`).

        Ranking scores every match, so a common word over a large store would be slow: only
        the ``window`` newest matching articles are ranked. For news, the newest matches are
        the ones people look for. ``window`` defaults to ``SEARCH_RANK_WINDOW`` on SQLite and
        ``PG_SEARCH_RANK_WINDOW`` on PostgreSQL.
        """
        if self.postgres:
            window = window or PG_SEARCH_RANK_WINDOW
            return await self._search_postgres(query, limit=limit, window=window, scope=scope)
        window = window or SEARCH_RANK_WINDOW
        fts_query = to_fts5(query)
        # On the index's rowid, so an article's row (with its text) is read only if visible.
        visible, params = scope.articles("articles_fts", "rowid")
        cutoff = await self.scalar(  # the window counts the matches ``scope`` sees
            f"SELECT rowid FROM articles_fts WHERE articles_fts MATCH ? AND {visible} "
            "ORDER BY rowid DESC LIMIT 1 OFFSET ?",
            (fts_query, *params, window - 1),
        )
        rows = await self.fetchall(
            f"SELECT {_A_COLS}, "
            "snippet(articles_fts, 1, '**', '**', ' … ', 24), bm25(articles_fts, 4.0, 1.0) AS r "
            "FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid "
            f"WHERE articles_fts MATCH ? AND articles_fts.rowid >= ? AND {visible} "
            "ORDER BY r LIMIT ?",
            (fts_query, cutoff or 0, *params, limit),
        )
        return [SearchHit(_article_from_row(r[:17]), r[17], -float(r[18])) for r in rows]

    async def _search_postgres(
        self, query: Query, *, limit: int, window: int, scope: Scope
    ) -> list[SearchHit]:
        tsq, qparams = fulltext.pg_tsquery(query)
        visible, params = scope.articles("s")
        # Every ``@@`` or ``ts_rank`` on a row reads its tsvector (kilobytes, out of line):
        # the matches are found through the GIN index alone (the query is a materialised
        # value, so the planner cannot pick a filtered scan it misjudges as cheap), newest
        # first, the scope checked on that stream only until the window is full (OFFSET 0
        # keeps the check out of the sorted subquery), and only the window's rows are ranked.
        rows = await self.fetchall(
            f"WITH q AS MATERIALIZED (SELECT {tsq} AS q), "
            "m AS MATERIALIZED (SELECT s.id FROM (SELECT a.id FROM articles a, q "
            "WHERE a.fts @@ q.q ORDER BY a.id DESC OFFSET 0) s "
            f"WHERE {visible} LIMIT ?), "
            f"top AS (SELECT a.id, ts_rank({fulltext.SEARCH_WEIGHTS}, a.fts, q.q) AS r "
            "FROM m JOIN articles a ON a.id = m.id CROSS JOIN q ORDER BY r DESC, a.id DESC "
            "LIMIT ?) "
            f"SELECT {_A_COLS}, ts_headline({fulltext.CONFIG}, a.text, q.q, "
            f"{fulltext.HEADLINE_OPTIONS}), top.r "
            "FROM top JOIN articles a ON a.id = top.id CROSS JOIN q "
            "ORDER BY top.r DESC, top.id DESC",
            (*qparams, *params, window, limit),
        )
        return [SearchHit(_article_from_row(r[:17]), r[17], float(r[18])) for r in rows]

    # ------------------------------------------------------------- stories, scoped
    def _title_sql(self, scope: Scope, story: str = "st") -> tuple[str, tuple[Any, ...]]:
        """A story's title as ``scope`` may see it: the story's own headline when one of the
        articles it sees carries it, else the newest headline it sees (a headline of a feed
        of another workspace is never shown)."""
        if scope.everything:
            return f"{story}.title", ()
        visible, params = scope.articles("ta")
        return (
            f"CASE WHEN EXISTS (SELECT 1 FROM articles ta WHERE ta.story_id = {story}.id "
            f"AND ta.title = {story}.title AND {visible}) THEN {story}.title ELSE "
            f"coalesce((SELECT ta.title FROM articles ta WHERE ta.story_id = {story}.id "
            f"AND {visible} ORDER BY ta.published_at DESC, ta.id DESC LIMIT 1), '') END",
            (*params, *params),
        )

    def _story_visible_sql(self, scope: Scope, story: str = "st") -> tuple[str, tuple[Any, ...]]:
        if scope.everything:
            return "TRUE", ()
        visible, params = scope.articles("sa")
        return (
            f"EXISTS (SELECT 1 FROM articles sa WHERE sa.story_id = {story}.id AND {visible})",
            params,
        )

    async def story_visible(self, story_id: int, scope: Scope = EVERYTHING) -> bool:
        """Whether ``scope`` sees at least one article of the story."""
        visible, params = self._story_visible_sql(scope)
        row = await self.fetchone(
            f"SELECT 1 FROM stories st WHERE st.id = ? AND {visible}", (story_id, *params)
        )
        return row is not None

    async def visible_story_ids(self, story_ids: Sequence[int], scope: Scope) -> set[int]:
        """Those of ``story_ids`` of which ``scope`` sees at least one article."""
        if scope.everything:
            return set(story_ids)
        visible, params = scope.articles("a")
        out: set[int] = set()
        ids = list(story_ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = await self.fetchall(
                f"SELECT DISTINCT a.story_id FROM articles a WHERE a.story_id IN ({marks}) "
                f"AND {visible}",
                (*chunk, *params),
            )
            out.update(int(r[0]) for r in rows)
        return out

    async def story_heading(
        self, story_id: int, scope: Scope = EVERYTHING
    ) -> tuple[str, str] | None:
        """(public id, title as ``scope`` sees it) of a story."""
        title, params = self._title_sql(scope)
        row = await self.fetchone(
            f"SELECT st.public_id, {title} FROM stories st WHERE st.id = ?", (*params, story_id)
        )
        return (str(row[0]), str(row[1])) if row else None

    async def live_story_ids(
        self,
        scope: Scope = EVERYTHING,
        *,
        include_inactive: bool = True,
        limit: int | None = None,
    ) -> list[int]:
        """Unmerged stories ``scope`` sees, most recently updated first."""
        visible, params = self._story_visible_sql(scope)
        active = "" if include_inactive else " AND st.active = 1"
        lim = f" LIMIT {int(limit)}" if limit else ""
        rows = await self.fetchall(
            f"SELECT st.id FROM stories st WHERE {live_sql()}{active} AND {visible} "
            f"ORDER BY st.last_seen_at DESC, st.id{lim}",
            params,
        )
        return [int(r[0]) for r in rows]

    async def story_suggestions(
        self, prefix: str, scope: Scope = EVERYTHING, *, limit: int = 25
    ) -> list[tuple[str, str]]:
        """(public id, title) of unmerged stories ``scope`` sees whose id starts with or whose
        title (as it sees it) contains ``prefix``; active and recent first."""
        p = prefix.strip().lower().replace("\\", "").replace("%", "").replace("_", "")
        title, tparams = self._title_sql(scope)
        visible, vparams = self._story_visible_sql(scope)
        rows = await self.fetchall(
            f"SELECT public_id, shown FROM (SELECT st.public_id, {title} AS shown, st.active, "
            f"st.last_seen_at FROM stories st WHERE {live_sql()} AND {visible}) AS t "
            "WHERE (? = '' OR public_id LIKE ? OR lower(shown) LIKE ?) "
            "ORDER BY active DESC, last_seen_at DESC LIMIT ?",
            (*tparams, *vparams, p, f"{p}%", f"%{p}%", limit),
        )
        return [(str(r[0]), str(r[1])) for r in rows]

    async def story_overview(
        self, story_id: int, scope: Scope = EVERYTHING
    ) -> dict[str, Any] | None:
        """A story's row with the counts and outlets of the articles ``scope`` sees."""
        title, tparams = self._title_sql(scope)
        rows = await self.fetch_dicts(
            f"SELECT st.public_id, {title} AS title, st.terms, st.first_seen_at, "
            "st.last_seen_at, st.active FROM stories st WHERE st.id = ?",
            (*tparams, story_id),
        )
        if not rows:
            return None
        visible, params = scope.articles("a")
        counts = await self.fetchone(
            "SELECT count(*) FILTER (WHERE a.duplicate_of IS NULL), count(*) FROM articles a "
            f"WHERE a.story_id = ? AND {visible}",
            (story_id, *params),
        )
        outlets = await self.fetchall(
            f"SELECT a.outlet FROM articles a WHERE a.story_id = ? AND {visible} "
            "GROUP BY a.outlet ORDER BY min(a.published_at), a.outlet",
            (story_id, *params),
        )
        out = rows[0]
        if not scope.everything:
            total = await self.scalar(
                "SELECT count(*) FROM articles WHERE story_id = ?", (story_id,)
            )
            if counts is None or int(total or 0) != int(counts[1]):
                out["terms"] = "[]"  # the story's key terms come from articles it cannot see too
        out["originals"] = int(counts[0]) if counts else 0
        out["copies"] = int(counts[1]) - out["originals"] if counts else 0
        out["outlets"] = [str(r[0]) for r in outlets]
        return out

    async def story_coverage(
        self, story_id: int, scope: Scope = EVERYTHING
    ) -> list[tuple[str, str]]:
        """(published, outlet) of every article of the story ``scope`` sees, in time order."""
        visible, params = scope.articles("a")
        rows = await self.fetchall(
            f"SELECT a.published_at, a.outlet FROM articles a WHERE a.story_id = ? AND {visible} "
            "ORDER BY a.published_at",
            (story_id, *params),
        )
        return [(str(r[0]), str(r[1])) for r in rows]
