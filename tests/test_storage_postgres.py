"""The PostgreSQL backend's own rules: the dialect rewrite, the database URL and password,
its forward migrations (an older schema upgrades, data kept) and their parity with SQLite's."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.errors import StorageError
from bot.storage import Store
from bot.storage.backend import ID_TABLES, POSTGRESQL, SQLITE, kind_of, pg_conninfo, pg_password
from bot.storage.dialect import to_postgres
from bot.storage.migrate import MIGRATIONS, PG_LATEST, PG_MIGRATIONS, pg_migrate
from bot.storage.pg import PgConnection, PgIntegrityError

NOW = datetime(2025, 3, 1, tzinfo=UTC).isoformat()


def test_placeholders_become_psycopg_ones_outside_literals_only() -> None:
    sql = "SELECT id FROM t WHERE a = ? AND b LIKE 'x?%' AND c = ?"
    assert to_postgres(sql, frozenset()) == (
        "SELECT id FROM t WHERE a = %s AND b LIKE 'x?%%' AND c = %s"
    )


def test_null_safe_comparisons_with_a_value_become_distinct_from() -> None:
    sql = "UPDATE a SET s = ? WHERE d = ? AND s IS NOT ? AND t IS ? AND u IS NULL"
    assert to_postgres(sql, frozenset()) == (
        "UPDATE a SET s = %s WHERE d = %s AND s IS DISTINCT FROM %s "
        "AND t IS NOT DISTINCT FROM %s AND u IS NULL"
    )


def test_insert_or_ignore_and_replace_become_on_conflict() -> None:
    ignore = to_postgres(
        "INSERT OR IGNORE INTO article_sources (article_id, source_id) VALUES (?, ?)",
        ID_TABLES,
    )
    assert ignore == (
        "INSERT INTO article_sources (article_id, source_id) VALUES (%s, %s) ON CONFLICT DO NOTHING"
    )
    replace = to_postgres(
        "INSERT OR REPLACE INTO story_aliases (public_id, story_id, merged_at) VALUES (?, ?, ?)",
        ID_TABLES,
    )
    assert replace.endswith(
        "ON CONFLICT (public_id) DO UPDATE SET story_id = EXCLUDED.story_id, "
        "merged_at = EXCLUDED.merged_at"
    )
    with pytest.raises(ValueError, match="no conflict key"):
        to_postgres("INSERT OR REPLACE INTO nowhere (a) VALUES (?)", ID_TABLES)


def test_inserts_into_tables_with_an_id_return_it() -> None:
    assert {"sources", "articles", "stories", "subscriptions", "deliveries"} <= ID_TABLES
    assert "article_sources" not in ID_TABLES
    assert to_postgres("INSERT INTO stories (title) VALUES (?)", ID_TABLES).endswith("RETURNING id")
    many = to_postgres("INSERT INTO stories (title) VALUES (?)", ID_TABLES, returning=False)
    assert "RETURNING" not in many


def test_a_postgresql_url_selects_the_backend_and_never_holds_a_password() -> None:
    assert kind_of("postgresql://bot@db:5432/news") == POSTGRESQL
    assert kind_of("postgres://bot@db/news") == POSTGRESQL
    assert kind_of("data/newsbot.db") == SQLITE
    assert pg_conninfo("postgresql://bot@db:5432/news") == "postgresql://bot@db:5432/news"
    with pytest.raises(StorageError) as info:
        pg_conninfo("postgresql://bot:hunter2@db:5432/news")
    assert "hunter2" not in str(info.value)
    assert "PGPASSWORD" in str(info.value) and "***@db:5432" in str(info.value)
    with pytest.raises(StorageError, match="name the database"):
        pg_conninfo("postgresql://bot@db:5432")


def test_the_password_comes_from_the_environment_or_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n", encoding="utf-8")
    assert pg_password({"NEWSBOT_DB_PASSWORD": "abc"}) == "abc"
    assert pg_password({"NEWSBOT_DB_PASSWORD_FILE": str(secret)}) == "s3cret"
    assert pg_password({}) is None  # libpq reads PGPASSWORD / ~/.pgpass itself
    with pytest.raises(StorageError, match="NEWSBOT_DB_PASSWORD_FILE: cannot read"):
        pg_password({"NEWSBOT_DB_PASSWORD_FILE": str(tmp_path / "missing")})


def test_postgresql_migrations_are_the_sqlite_steps_in_the_same_order() -> None:
    """Each PostgreSQL step is the twin of the SQLite step of its number (same name)."""
    sqlite_steps = {m.version: m.name for m in MIGRATIONS}
    pg_steps = {m.version: m.name for m in PG_MIGRATIONS}
    assert [v for v in pg_steps if sqlite_steps.get(v) != pg_steps[v]] == []
    assert list(pg_steps) == list(range(1, PG_LATEST + 1))


async def test_an_older_postgresql_schema_upgrades_keeping_its_rows(pg_url: str) -> None:
    conn = await PgConnection.connect(pg_url, ID_TABLES)
    try:
        assert [m.version for m in await pg_migrate(conn, target=4)] == [1, 2, 3, 4]
        await conn.execute(
            "INSERT INTO sources (kind, locator, created_at) VALUES ('feed', ?, ?)",
            ("https://old.test/f", NOW),
        )
        await conn.execute(
            "INSERT INTO articles (ext_id, source_id, outlet, title, text, published_at, "
            "first_seen_at, content_hash) VALUES ('old-1', 1, 'O', 'Old news', 'Body', ?, ?, 'h')",
            (NOW, NOW),
        )
    finally:
        await conn.close()
    store = await Store.open(pg_url)  # applies 5.. on open
    try:
        versions = [r[0] for r in await store.fetchall("SELECT version FROM schema_version")]
        assert versions == list(range(1, PG_LATEST + 1))
        article = await store.article_by_ext_id("old-1")
        assert article is not None and article.dated is True  # 0006's default
        # 0009 recorded the old article's source
        assert await store.fetchall("SELECT article_id, source_id FROM article_sources") == [
            (article.id, 1)
        ]
    finally:
        await store.close()
    again = await Store.open(pg_url)  # nothing left to apply: opens as is
    await again.close()


async def test_a_newer_postgresql_schema_is_refused(pg_url: str) -> None:
    store = await Store.open(pg_url)
    async with store.transaction() as conn:
        await conn.execute(
            "INSERT INTO schema_version (version, name) VALUES (?, 'future')", (PG_LATEST + 1,)
        )
    await store.close()
    with pytest.raises(StorageError, match="newer than this newsbot knows"):
        await Store.open(pg_url)


async def test_a_taken_unique_key_is_an_integrity_error(pg_url: str) -> None:
    store = await Store.open(pg_url)
    try:
        async with store.transaction() as conn:
            await conn.execute(
                "INSERT INTO sources (kind, locator, created_at) VALUES ('feed', 'u', ?)", (NOW,)
            )
        with pytest.raises(PgIntegrityError):
            async with store.transaction() as conn:
                await conn.execute(
                    "INSERT INTO sources (kind, locator, created_at) VALUES ('feed', 'u', ?)",
                    (NOW,),
                )
    finally:
        await store.close()


async def test_an_exclusive_section_excludes_another_process_and_dies_with_it(pg_url: str) -> None:
    """Two stores are two sessions, as two workers are: a section of one name runs in one of
    them at a time, and a session that goes away (a dead worker) releases what it held."""
    import asyncio
    import contextlib

    first, second = await Store.open(pg_url), await Store.open(pg_url)
    order: list[str] = []

    async def section(store: Store, tag: str, name: str = "turn:discord:G:C") -> None:
        async with store.exclusive(name):
            order.append(f"{tag}-in")
            await asyncio.sleep(0.2)
            order.append(f"{tag}-out")

    entered = asyncio.Event()

    async def hold() -> None:
        async with first.exclusive("turn:x"):
            entered.set()
            await asyncio.sleep(3600)

    try:
        await asyncio.gather(section(first, "a"), section(second, "b"))
        assert order in (["a-in", "a-out", "b-in", "b-out"], ["b-in", "b-out", "a-in", "a-out"])
        holder = asyncio.ensure_future(hold())
        await entered.wait()
        waiter = asyncio.ensure_future(section(second, "c", "turn:x"))
        await asyncio.sleep(0.3)
        assert not waiter.done() and "c-in" not in order
        lock_conn = first._lock_conn
        assert lock_conn is not None
        await lock_conn.close()  # the holder's session ends without unlocking (it died)
        await asyncio.wait_for(waiter, timeout=5)
        holder.cancel()
        with contextlib.suppress(BaseException):
            await holder
    finally:
        first._lock_conn = None
        await first.close()
        await second.close()


async def test_a_cancelled_section_leaves_no_lock_behind(pg_url: str) -> None:
    """Cancelled while waiting for a section, or inside it: the next worker gets it at once."""
    import asyncio

    stores = [await Store.open(pg_url) for _ in range(3)]
    holder_in, waiter_started = asyncio.Event(), asyncio.Event()

    async def hold(store: Store, entered: asyncio.Event) -> None:
        async with store.exclusive("turn:c"):
            entered.set()
            await asyncio.sleep(3600)

    async def wait_for_it(store: Store) -> None:
        waiter_started.set()
        async with store.exclusive("turn:c"):
            await asyncio.sleep(3600)

    try:
        holder = asyncio.ensure_future(hold(stores[0], holder_in))
        await holder_in.wait()
        waiter = asyncio.ensure_future(wait_for_it(stores[1]))
        await waiter_started.wait()
        await asyncio.sleep(0.2)  # polling for the lock
        for task in (waiter, holder):  # cancelled waiting, then cancelled inside
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        entered = asyncio.Event()
        third = asyncio.ensure_future(hold(stores[2], entered))
        await asyncio.wait_for(entered.wait(), timeout=2)
        third.cancel()
        with pytest.raises(asyncio.CancelledError):
            await third
    finally:
        for store in stores:
            await store.close()
