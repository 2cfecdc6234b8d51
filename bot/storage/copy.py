"""``newsbot migrate-db SRC DST``: every row of one store copied into another, in any direction
(SQLite to PostgreSQL mainly; PostgreSQL to SQLite, or file to file, the same way).

Both stores are opened as every command opens them, so each is at the current schema (SRC's
pending migrations are applied first, DST is created and migrated). DST must hold no rows.
The tables are read from DST's catalog and copied parents first (the order of their foreign
keys), each in its primary key's order, in batches, inside ONE write transaction on DST (an
error leaves DST empty) while SRC is read from one snapshot (``BEGIN`` on SQLite's WAL,
``REPEATABLE READ`` on PostgreSQL), so the copy is SRC as of one commit even if a bot still
writes to it. Row ids are kept: stories, memory, the grouper's snapshot and its watermark
refer to them.

What each target needs besides the rows:

- SQLite checks foreign keys at commit (``defer_foreign_keys``), so a row may name a later row
  of its own table (a story merged into a newer one); the FTS5 index fills from its trigger.
- PostgreSQL checks them at once, so a column naming its own table is written ``NULL`` first
  and set after the table is copied; its ``tsvector`` column is generated; the indexes that
  back no constraint (the GIN full-text index, lookups) are dropped in the transaction and
  built again once the rows are in (one build is far faster than a row-by-row update: 100,000
  articles); each identity sequence is moved past the highest id copied, so the next insert
  gets a fresh id.

Before committing, every table's row count on DST is compared with SRC's.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiosqlite

from bot.errors import StorageError, UserError
from bot.storage.backend import SQLITE, kind_of, shown
from bot.storage.store import Store

BATCH_ROWS = 2000
# (table, rows just copied, the table's rows), for tables with rows; then ("indexes", 1, n)
# for each PostgreSQL index built again
Progress = Callable[[str, int, int | None], None]
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_NOT_COPIED = frozenset({"schema_version"})  # each store keeps its own migration record


@dataclass(frozen=True, slots=True)
class Table:
    """One table as the copy sees it: the columns written, the key rows are read in order of
    (``rowid`` for a SQLite table without one), its foreign-key parents and the columns that
    name its own rows."""

    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    parents: frozenset[str]
    self_refs: tuple[str, ...]
    identity: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CopyReport:
    source: str  # as shown (never a password)
    target: str
    rows: dict[str, int] = field(default_factory=dict)  # per table, in copy order
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.rows.values())

    def to_json(self) -> dict[str, object]:
        return {
            "source": self.source,
            "target": self.target,
            "rows": self.rows,
            "total": self.total,
            "seconds": round(self.seconds, 3),
        }


def _checked(name: str) -> str:
    if not _NAME.match(name):
        raise StorageError(f"unexpected table or column name {name!r}")
    return name


# ----------------------------------------------------------------- catalogs
async def _rows(conn: aiosqlite.Connection, sql: str, params: Sequence[Any] = ()) -> list[Any]:
    async with conn.execute(sql, tuple(params)) as cur:
        return list(await cur.fetchall())


async def _sqlite_tables(conn: aiosqlite.Connection) -> list[Table]:
    found = await _rows(
        conn, "SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name"
    )
    virtual = [n for n, sql in found if (sql or "").upper().startswith("CREATE VIRTUAL")]
    tables = []
    for name, _sql in found:
        if name.startswith("sqlite_") or name in _NOT_COPIED:
            continue
        if any(name == v or name.startswith(v + "_") for v in virtual):
            continue  # full-text index and its shadow tables: rebuilt from the rows
        info = await _rows(conn, f"PRAGMA table_info({_checked(name)})")
        columns = tuple(_checked(r[1]) for r in info)
        key = tuple(r[1] for r in sorted((r for r in info if r[5]), key=lambda r: r[5]))
        fks = await _rows(conn, f"PRAGMA foreign_key_list({name})")
        parents = frozenset(r[2] for r in fks if r[2] != name)
        self_refs = tuple(r[3] for r in fks if r[2] == name)
        tables.append(Table(name, columns, key or ("rowid",), parents, self_refs))
    return tables


async def _pg_tables(conn: aiosqlite.Connection) -> list[Table]:
    names = [
        r[0]
        for r in await _rows(
            conn,
            "SELECT table_name FROM information_schema.tables WHERE table_schema = "
            "current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name",
        )
    ]
    tables = []
    for name in names:
        if name in _NOT_COPIED:
            continue
        cols = await _rows(
            conn,
            "SELECT column_name, is_generated, identity_generation, is_identity "
            "FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = ? ORDER BY ordinal_position",
            (name,),
        )
        # generated columns (the tsvector) and ALWAYS identities are the database's to fill
        columns = tuple(_checked(c[0]) for c in cols if c[1] != "ALWAYS" and c[2] != "ALWAYS")
        identity = tuple(c[0] for c in cols if c[3] == "YES")
        key = tuple(
            r[0]
            for r in await _rows(
                conn,
                "SELECT k.column_name FROM information_schema.table_constraints t "
                "JOIN information_schema.key_column_usage k ON k.constraint_name = "
                "t.constraint_name AND k.table_schema = t.table_schema "
                "WHERE t.table_schema = current_schema() AND t.table_name = ? "
                "AND t.constraint_type = 'PRIMARY KEY' ORDER BY k.ordinal_position",
                (name,),
            )
        )
        fks = await _rows(
            conn,
            "SELECT c.confrelid::regclass::text, a.attname FROM pg_constraint c "
            "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
            "WHERE c.contype = 'f' AND c.conrelid = ?::regclass",
            (name,),
        )
        parents = frozenset(r[0] for r in fks if r[0] != name)
        self_refs = tuple(r[1] for r in fks if r[0] == name)
        if not key:
            raise StorageError(f"table {name} has no primary key to copy it in order")
        tables.append(Table(name, columns, key, parents, self_refs, identity))
    return tables


async def tables_of(store: Store) -> list[Table]:
    """The store's tables parents first (foreign keys), ties by name."""
    found = await (_pg_tables(store.conn) if store.postgres else _sqlite_tables(store.conn))
    by_name = {t.name: t for t in found}
    ordered: list[Table] = []
    done: set[str] = set()
    pending = sorted(by_name)
    while pending:
        ready = [n for n in pending if by_name[n].parents & by_name.keys() <= done]
        if not ready:
            raise StorageError(f"foreign keys form a cycle among {', '.join(pending)}")
        for n in ready:
            ordered.append(by_name[n])
            done.add(n)
        pending = [n for n in pending if n not in done]
    return ordered


async def _count(store: Store, table: str) -> int:
    return int(await store.scalar(f"SELECT count(*) FROM {_checked(table)}"))


# ----------------------------------------------------------------- the copy
async def copy_store(
    src: Store, dst: Store, *, progress: Progress | None = None, batch: int = BATCH_ROWS
) -> dict[str, int]:
    """Copy every row of ``src`` into the empty ``dst`` (both open, at the current schema);
    returns the rows copied per table. Raises :class:`UserError` when ``dst`` holds rows or
    the schemas differ, :class:`StorageError` when a count differs after the copy."""
    src_tables = {t.name: t for t in await tables_of(src)}
    dst_tables = await tables_of(dst)
    missing = sorted(src_tables.keys() - {t.name for t in dst_tables})
    if missing:
        raise UserError(f"{shown(dst.path)} has no table {', '.join(missing)}: upgrade newsbot")
    holding = [(t.name, n) for t in dst_tables if (n := await _count(dst, t.name))]
    if holding:
        what = ", ".join(f"{n} {name}" for name, n in holding)
        raise UserError(
            f"{shown(dst.path)} is not empty ({what}); migrate-db copies into an empty database"
        )
    await _begin_snapshot(src)
    try:
        totals = {t.name: await _count(src, t.name) for t in dst_tables if t.name in src_tables}
        copied: dict[str, int] = {}
        async with dst.transaction() as conn:
            rebuilt: list[str] = []
            if dst.postgres:
                rebuilt = await _drop_plain_indexes(conn)
            else:
                await conn.execute("PRAGMA defer_foreign_keys = ON")
            for table in dst_tables:
                if table.name not in src_tables:
                    continue
                copied[table.name] = await _copy_table(
                    src,
                    conn,
                    src_tables[table.name],
                    table,
                    dst.postgres,
                    totals[table.name],
                    batch,
                    progress,
                )
                if dst.postgres:
                    await _fix_sequences(conn, table)
            for definition in rebuilt:  # built once over all the rows: far faster
                await conn.execute(definition)
                if progress is not None:
                    progress("indexes", 1, len(rebuilt))
            for name, expected in totals.items():
                async with conn.execute(f"SELECT count(*) FROM {name}") as cur:
                    row = await cur.fetchone()
                got = int(row[0]) if row else 0
                if got != expected or copied[name] != expected:
                    raise StorageError(
                        f"{name}: {got} rows in {shown(dst.path)} after the copy, "
                        f"{expected} in {shown(src.path)}; nothing was kept"
                    )
    finally:
        await src.conn.rollback()
    return copied


async def _begin_snapshot(src: Store) -> None:
    if src.postgres:
        await src.conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    else:
        await src.conn.execute("BEGIN")
        await src.conn.execute("SELECT count(*) FROM sqlite_master")  # takes the snapshot


async def _copy_table(
    src: Store,
    conn: aiosqlite.Connection,
    source: Table,
    target: Table,
    to_postgres: bool,
    total: int,
    batch: int,
    progress: Progress | None,
) -> int:
    columns = [c for c in target.columns if c in source.columns]
    key = list(source.key)
    # PostgreSQL checks a foreign key per statement: a column naming this table's own rows is
    # set once all of them are in.
    later = [c for c in target.self_refs if c in columns] if to_postgres else []
    later_at = [columns.index(c) for c in later]
    key_at = [columns.index(k) if k in columns else None for k in target.key]
    if later and None in key_at:
        raise StorageError(f"{target.name}: its key is not copied, cannot set {later} after")
    extra = [k for k in key if k not in columns]
    select = ", ".join(columns + extra)
    cols = len(columns)
    where = ""
    if len(key) == 1:
        where = f"{key[0]} > ?"
    elif key:
        where = f"({', '.join(key)}) > ({', '.join('?' * len(key))})"
    src_key_at = [(columns + extra).index(k) for k in key]
    insert = (
        f"INSERT INTO {target.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    )
    fixes: list[tuple[Any, ...]] = []
    done = 0
    last: tuple[Any, ...] | None = None
    order = ", ".join(key)
    while True:
        if last is None:
            sql = f"SELECT {select} FROM {source.name} ORDER BY {order} LIMIT {int(batch)}"
            rows = await src.fetchall(sql)
        else:
            sql = (
                f"SELECT {select} FROM {source.name} WHERE {where} "
                f"ORDER BY {order} LIMIT {int(batch)}"
            )
            rows = await src.fetchall(sql, last)
        if not rows:
            break
        last = tuple(rows[-1][i] for i in src_key_at)
        values = [tuple(r[:cols]) for r in rows]
        if later_at:
            for r in values:
                if any(r[i] is not None for i in later_at):
                    fixes.append(
                        tuple(r[i] for i in later_at) + tuple(r[i] for i in key_at if i is not None)
                    )
            values = [tuple(None if i in later_at else v for i, v in enumerate(r)) for r in values]
        await conn.executemany(insert, values)
        done += len(values)
        if progress is not None:
            progress(target.name, len(values), total)
        if len(rows) < batch:
            break
    if fixes:
        sets = ", ".join(f"{c} = ?" for c in later)
        match = " AND ".join(f"{k} = ?" for k in target.key)
        await conn.executemany(f"UPDATE {target.name} SET {sets} WHERE {match}", fixes)
    return done


async def _drop_plain_indexes(conn: aiosqlite.Connection) -> list[str]:
    """Drop DST's indexes that back no constraint (the GIN full-text index, lookups) inside
    the copy's transaction; returns their definitions to build them again after the rows are
    in. Keys and unique constraints stay: foreign keys need them."""
    found = await _rows(
        conn,
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
        "AND indexname NOT IN (SELECT conname FROM pg_constraint "
        "WHERE connamespace = current_schema()::regnamespace)",
    )
    for name, _definition in found:
        await conn.execute(f"DROP INDEX {_checked(name)}")
    return [str(definition) for _name, definition in found]


async def _fix_sequences(conn: aiosqlite.Connection, table: Table) -> None:
    """Each identity of ``table`` continues after the highest value copied."""
    for column in table.identity:
        await conn.execute(
            f"SELECT setval(pg_get_serial_sequence(?, ?), "
            f"coalesce((SELECT max({column}) FROM {table.name}), 0) + 1, false)",
            (table.name, column),
        )


def _same(a: str, b: str) -> bool:
    if kind_of(a) == kind_of(b) == SQLITE:
        return Path(a).resolve() == Path(b).resolve()
    return a == b


async def migrate_database(
    source: str, target: str, *, progress: Progress | None = None, batch: int = BATCH_ROWS
) -> CopyReport:
    """Open ``source`` and ``target`` (each migrated to the current schema), copy, close.
    A SQLite ``source`` must exist (a mistyped path would otherwise become a new, empty
    database)."""
    if _same(source, target):
        raise UserError(f"{shown(source)}: SRC and DST are the same database")
    if kind_of(source) == SQLITE and not Path(source).is_file():
        raise UserError(f"{source}: no database there")
    started = time.monotonic()
    src = await Store.open(source, writable=False)
    try:
        dst = await Store.open(target)
        try:
            rows = await copy_store(src, dst, progress=progress, batch=batch)
        except sqlite3.Error as exc:
            raise StorageError(f"{shown(target)}: copy failed: {exc}") from None
        finally:
            await dst.close()
    finally:
        await src.close()
    return CopyReport(shown(source), shown(target), rows, time.monotonic() - started)
