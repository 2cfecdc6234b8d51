"""Forward-only schema migrations: SQLite's tracked in ``PRAGMA user_version``, PostgreSQL's
in a ``schema_version`` table.

Each ``migrations/NNNN_name.sql`` file (``migrations_pg/`` for PostgreSQL: the same steps in
its dialect) moves the schema from version NNNN-1 to NNNN and runs in one transaction together
with the version bump, so a crash leaves the old or the new schema.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import aiosqlite

from bot.errors import StorageError
from bot.storage.pg import PgConnection


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations(folder: str = "migrations") -> list[Migration]:
    found: list[Migration] = []
    for entry in resources.files("bot.storage").joinpath(folder).iterdir():
        m = re.fullmatch(r"(\d{4})_(\w+)\.sql", entry.name)
        if m:
            found.append(Migration(int(m.group(1)), m.group(2), entry.read_text("utf-8")))
    found.sort(key=lambda mig: mig.version)
    for expected, mig in enumerate(found, start=1):
        if mig.version != expected:
            raise StorageError(f"migration numbering gap before {mig.version:04d}_{mig.name}")
    return found


MIGRATIONS = load_migrations()
LATEST = MIGRATIONS[-1].version
PG_MIGRATIONS = load_migrations("migrations_pg")
PG_LATEST = PG_MIGRATIONS[-1].version


async def schema_version(conn: aiosqlite.Connection) -> int:
    async with conn.execute("PRAGMA user_version") as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def migrate(conn: aiosqlite.Connection, target: int = LATEST) -> list[Migration]:
    """Apply the migrations above the database's version up to ``target``; returns those applied."""
    current = await schema_version(conn)
    if current >= target and current <= LATEST:
        return []
    if current > LATEST:
        raise StorageError(
            f"database schema version {current} is newer than this newsbot knows ({LATEST}); "
            "upgrade newsbot"
        )
    applied = []
    for mig in MIGRATIONS:
        if current < mig.version <= target:
            statements = _split_sql(mig.sql)
            await conn.execute("BEGIN IMMEDIATE")
            try:
                if await schema_version(conn) >= mig.version:
                    # another process applied it while this one waited for the write lock
                    await conn.commit()
                    continue
                for statement in statements:
                    await conn.execute(statement)
                await conn.execute(f"PRAGMA user_version = {mig.version}")
                await conn.commit()
            except BaseException:
                await conn.rollback()
                raise
            applied.append(mig)
    return applied


def _too_new(current: int, latest: int) -> StorageError:
    return StorageError(
        f"database schema version {current} is newer than this newsbot knows ({latest}); "
        "upgrade newsbot"
    )


PG_VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
    "name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
)


async def pg_schema_version(conn: PgConnection) -> int:
    row = await (await conn.execute("SELECT to_regclass('schema_version') IS NOT NULL")).fetchone()
    if not row or not row[0]:
        return 0
    row = await (
        await conn.execute("SELECT coalesce(max(version), 0) FROM schema_version")
    ).fetchone()
    return int(row[0]) if row else 0


async def pg_migrate(conn: PgConnection, target: int = PG_LATEST) -> list[Migration]:
    """PostgreSQL's :func:`migrate`: each step and its ``schema_version`` row in one
    transaction under the writer lock, so concurrent workers apply each step once."""
    current = await pg_schema_version(conn)
    if current > PG_LATEST:
        raise _too_new(current, PG_LATEST)
    applied = []
    for mig in PG_MIGRATIONS:
        if current < mig.version <= target:
            await conn.begin()
            try:
                await conn.execute(PG_VERSION_TABLE)
                if await pg_schema_version(conn) >= mig.version:
                    await conn.commit()
                    continue
                # the whole file at once: PostgreSQL runs several statements in one call
                await conn.execute_script(mig.sql)
                await conn.execute(
                    "INSERT INTO schema_version (version, name) VALUES (?, ?)",
                    (mig.version, mig.name),
                )
                await conn.commit()
            except BaseException:
                await conn.rollback()
                raise
            applied.append(mig)
    return applied


def _split_sql(sql: str) -> list[str]:
    """Split a migration into statements (``sqlite3.complete_statement`` keeps triggers whole)."""
    import sqlite3

    statements: list[str] = []
    buf = ""
    for line in sql.splitlines(keepends=True):
        if not buf and line.strip().startswith("--"):
            continue
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                statements.append(buf.strip())
            buf = ""
    if buf.strip():
        statements.append(buf.strip())
    return statements
