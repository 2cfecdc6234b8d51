"""The PostgreSQL backend: a psycopg 3 async connection behind the connection API the
repositories use (the subset of aiosqlite's they call).

psycopg 3 rather than asyncpg: its ``%s`` placeholders are a one-to-one rewrite of ``?``, its
client-side binding (``AsyncClientCursor``) gives untyped parameters the loose typing SQLite
has (``? IS NULL`` needs no cast), and it is the maintained successor of psycopg2.

Errors keep the SQLite exception classes the repositories already catch:
:class:`PgIntegrityError` is an ``sqlite3.IntegrityError`` (a unique key taken),
:class:`PgDatabaseError` an ``sqlite3.OperationalError``. Messages never carry the password:
it is not in the URL (:func:`bot.storage.backend.connect_info` refuses one there).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Generator, Iterable, Sequence
from types import TracebackType
from typing import Any

import psycopg
import psycopg.conninfo

from bot.storage.dialect import to_postgres

WRITE_LOCK_KEY = 0x6E657773  # pg_advisory_xact_lock key: one writer at a time, as in SQLite


class PgIntegrityError(sqlite3.IntegrityError):
    """A constraint PostgreSQL enforced (unique, foreign key, check)."""


class PgDatabaseError(sqlite3.OperationalError):
    """Any other error PostgreSQL reported."""


def _mapped(exc: psycopg.Error) -> sqlite3.Error:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, psycopg.IntegrityError):
        return PgIntegrityError(text)
    return PgDatabaseError(text)


def _param(value: Any) -> Any:
    # SQLite takes a boolean as 0/1 anywhere. An untyped literal '1'/'0' does the same here:
    # PostgreSQL reads it as 1/0 beside an INTEGER flag and as true/false in a condition.
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, memoryview):
        return bytes(value)
    return value


def _params(params: Iterable[Any] | None) -> tuple[Any, ...]:
    return tuple(_param(v) for v in (params or ()))


class PgCursor:
    """The rows of one statement, read eagerly (``fetchone``/``fetchall``, ``rowcount``,
    ``lastrowid``, ``description``)."""

    def __init__(
        self,
        rows: list[tuple[Any, ...]],
        description: Sequence[tuple[Any, ...]] | None,
        rowcount: int,
        lastrowid: int | None,
    ) -> None:
        self._rows = rows
        self._pos = 0
        self.description = description
        self.rowcount = rowcount
        self.lastrowid = lastrowid

    async def fetchone(self) -> tuple[Any, ...] | None:
        if self._pos >= len(self._rows):
            return None
        row = self._rows[self._pos]
        self._pos += 1
        return row

    async def fetchall(self) -> list[tuple[Any, ...]]:
        rows = self._rows[self._pos :]
        self._pos = len(self._rows)
        return rows

    async def close(self) -> None:
        return None

    async def __aenter__(self) -> PgCursor:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None


class _Pending:
    """``conn.execute(...)``: awaitable, or an async context manager, as in aiosqlite."""

    def __init__(self, conn: PgConnection, sql: str, params: Iterable[Any] | None) -> None:
        self._conn, self._sql, self._params = conn, sql, params

    def __await__(self) -> Generator[Any, None, PgCursor]:
        return self._conn._run(self._sql, self._params).__await__()

    async def __aenter__(self) -> PgCursor:
        return await self._conn._run(self._sql, self._params)

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None


class PgConnection:
    """One autocommit psycopg connection; :meth:`begin` opens an explicit transaction."""

    def __init__(self, conn: psycopg.AsyncConnection[Any], id_tables: frozenset[str]) -> None:
        self.raw = conn
        self.id_tables = id_tables

    @classmethod
    async def connect(
        cls, conninfo: str, id_tables: frozenset[str] = frozenset(), password: str | None = None
    ) -> PgConnection:
        if password:  # a keyword libpq adds to the URL's parameters, never shown
            conninfo = psycopg.conninfo.make_conninfo(conninfo, password=password)
        try:
            raw = await psycopg.AsyncConnection.connect(
                conninfo, autocommit=True, cursor_factory=psycopg.AsyncClientCursor
            )
        except psycopg.Error as exc:
            raise _mapped(exc) from None
        return cls(raw, id_tables)

    def execute(self, sql: str, params: Iterable[Any] | None = None) -> _Pending:
        return _Pending(self, sql, params)

    async def _run(self, sql: str, params: Iterable[Any] | None) -> PgCursor:
        text = to_postgres(sql, self.id_tables)
        try:
            async with self.raw.cursor() as cur:
                await cur.execute(text.encode("utf-8"), _params(params))
                rows = [tuple(r) for r in await cur.fetchall()] if cur.description else []
                description = (
                    [(c.name, None, None, None, None, None, None) for c in cur.description]
                    if cur.description
                    else None
                )
                lastrowid = None
                if text.endswith("RETURNING id") and rows:
                    lastrowid = int(rows[0][0])
                    description, rows = None, []
                return PgCursor(rows, description, cur.rowcount, lastrowid)
        except psycopg.Error as exc:
            raise _mapped(exc) from None

    async def executemany(self, sql: str, seq: Iterable[Iterable[Any]]) -> PgCursor:
        text = to_postgres(sql, self.id_tables, returning=False)
        batch = [_params(p) for p in seq]
        if not batch:
            return PgCursor([], None, 0, None)
        try:
            async with self.raw.cursor() as cur:
                await cur.executemany(text.encode("utf-8"), batch)
                return PgCursor([], None, cur.rowcount, None)
        except psycopg.Error as exc:
            raise _mapped(exc) from None

    async def execute_script(self, sql: str) -> None:
        """Several statements as written (a migration): no placeholder rewriting."""
        try:
            async with self.raw.cursor() as cur:
                await cur.execute(sql.encode("utf-8"))
        except psycopg.Error as exc:
            raise _mapped(exc) from None

    async def begin(self) -> None:
        """A write transaction holding the database-wide writer lock until it ends."""
        await self._run("BEGIN", ())
        await self._run(f"SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})", ())

    async def commit(self) -> None:
        await self._run("COMMIT", ())

    async def rollback(self) -> None:
        await self._run("ROLLBACK", ())

    async def close(self) -> None:
        await self.raw.close()
