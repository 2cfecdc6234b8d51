"""``newsbot migrate-db SRC DST``: every row copied into an empty store, in any direction.

SQLite to SQLite always runs; SQLite to PostgreSQL (and back) when NEWSBOT_TEST_POSTGRES_DSN
is set (tests/pgtest.py). The copy is judged by what users see (the seed digest from DST equals
the one from SRC) and row by row (every table, every column)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.storage.copy import copy_store, tables_of
from bot.storage.store import Store
from tests.conftest import SEEDS

runner = CliRunner()


@pytest.fixture(autouse=True)
def no_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "newsbot.toml"
    path.write_text("", encoding="utf-8")
    monkeypatch.setenv("NEWSBOT_CONFIG", str(path))
    monkeypatch.delenv("NEWSBOT_DB", raising=False)


def _cli(*args: str) -> Any:
    return runner.invoke(app, list(args))


def _digest(db: str) -> dict[str, Any]:
    result = _cli("--db", db, "digest", "--no-sync", "--format", "json")
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    data.pop("generated_at")
    return data


def _seeded(path: Path) -> str:
    db = str(path)
    assert _cli("--db", db, "ingest", str(SEEDS)).exit_code == 0
    return db


async def _dump(target: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every copied table's rows, columns by name, in key order."""
    async with await Store.open(target, writable=False) as store:
        out: dict[str, list[tuple[Any, ...]]] = {}
        for table in await tables_of(store):
            cols = ", ".join(sorted(table.columns))
            rows = await store.fetchall(
                f"SELECT {cols} FROM {table.name} ORDER BY {', '.join(sorted(table.columns))}"
            )
            out[table.name] = [tuple(r) for r in rows]
        return out


def _migrate(src: str, dst: str) -> dict[str, Any]:
    result = _cli("migrate-db", src, dst, "--format", "json")
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.stdout)
    return report


async def _merge_into_a_newer_story(db: str) -> None:
    """A row naming a later row of its own table (a story merged into a newer one): what
    PostgreSQL's immediate foreign keys would refuse in id order."""
    async with await Store.open(db) as store, store.transaction() as conn:
        first = await (await conn.execute("SELECT min(id) FROM stories")).fetchone()
        await conn.execute(
            "INSERT INTO stories (public_id, title, first_seen_at, last_seen_at) "
            "VALUES ('s-newer', 'newer', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')"
        )
        await conn.execute(
            "UPDATE stories SET merged_into = (SELECT max(id) FROM stories) WHERE id = ?",
            (first[0],),
        )


def test_a_sqlite_store_copied_to_sqlite_gives_the_same_seed_digest(tmp_path: Path) -> None:
    src = _seeded(tmp_path / "src.db")
    dst = str(tmp_path / "dst.db")
    before = _digest(src)
    assert before["stories"], "the seed digest is empty"
    report = _migrate(src, dst)
    assert report["rows"]["articles"] == 5 and report["total"] == sum(report["rows"].values())
    assert _digest(dst) == before
    assert asyncio.run(_dump(dst)) == asyncio.run(_dump(src))
    found = _cli("--db", dst, "search", '"phone call"', "--format", "json")
    assert json.loads(found.stdout)["results"], "the copy's full-text index is empty"


def test_the_copy_keeps_channel_memory(tmp_path: Path) -> None:
    src = _seeded(tmp_path / "src.db")
    assert _cli("--db", src, "digest", "--no-sync", "--commit").exit_code == 0
    dst = str(tmp_path / "dst.db")
    _migrate(src, dst)
    assert _digest(dst) == _digest(src)
    assert not _digest(dst)["stories"], "the console channel is told the seed stories again"


def test_a_non_empty_target_is_refused_in_one_line_and_left_alone(tmp_path: Path) -> None:
    src = _seeded(tmp_path / "src.db")
    dst = _seeded(tmp_path / "dst.db")
    before = asyncio.run(_dump(dst))
    result = _cli("migrate-db", src, dst)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "is not empty (" in lines[0] and "5 articles" in lines[0]
    assert asyncio.run(_dump(dst)) == before


def test_a_failed_copy_leaves_the_target_empty(tmp_path: Path) -> None:
    src = _seeded(tmp_path / "src.db")
    dst = str(tmp_path / "dst.db")

    def fail_midway(table: str, advance: int, total: int | None) -> None:
        if table == "articles":
            raise RuntimeError("disk gone")

    async def attempt() -> None:
        async with await Store.open(src, writable=False) as s, await Store.open(dst) as d:
            with pytest.raises(RuntimeError):
                await copy_store(s, d, progress=fail_midway)

    asyncio.run(attempt())
    assert not any(asyncio.run(_dump(dst)).values())
    _migrate(src, dst)  # and it can be tried again


def test_a_row_naming_a_later_row_of_its_table_is_copied(tmp_path: Path) -> None:
    src = _seeded(tmp_path / "src.db")
    asyncio.run(_merge_into_a_newer_story(src))
    dst = str(tmp_path / "dst.db")
    _migrate(src, dst)
    assert asyncio.run(_dump(dst)) == asyncio.run(_dump(src))


def test_the_same_database_as_both_ends_is_refused(tmp_path: Path) -> None:
    src = _seeded(tmp_path / "src.db")
    result = _cli("migrate-db", src, str(tmp_path / "." / "src.db"))
    assert result.exit_code == 2 and "the same database" in result.stderr


def test_a_missing_source_file_is_refused_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "typo.db"
    result = _cli("migrate-db", str(missing), str(tmp_path / "dst.db"))
    assert result.exit_code == 2 and "no database there" in result.stderr
    assert not missing.exists() and not (tmp_path / "dst.db").exists()


# ----------------------------------------------------------------- PostgreSQL
def test_sqlite_to_postgresql_gives_the_same_seed_digest_and_back(
    tmp_path: Path, pg_url: str
) -> None:
    src = _seeded(tmp_path / "src.db")
    asyncio.run(_merge_into_a_newer_story(src))
    before = _digest(src)
    report = _migrate(src, pg_url)
    assert report["target"].startswith("postgresql://") and report["rows"]["articles"] == 5
    assert _digest(pg_url) == before
    on_pg = asyncio.run(_dump(pg_url))
    assert on_pg == asyncio.run(_dump(src))
    back = str(tmp_path / "back.db")
    _migrate(pg_url, back)  # any direction
    assert asyncio.run(_dump(back)) == on_pg
    assert _digest(back) == before


async def _indexes(url: str) -> list[tuple[str, str]]:
    async with await Store.open(url, writable=False) as store:
        rows = await store.fetchall(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "ORDER BY indexname"
        )
        return [(str(r[0]), str(r[1])) for r in rows]


def test_new_rows_on_postgresql_get_fresh_ids_after_the_copy(tmp_path: Path, pg_url: str) -> None:
    src = _seeded(tmp_path / "src.db")
    schema = asyncio.run(_indexes(pg_url))  # the empty, migrated database's
    assert "articles_fts" in {name for name, _ in schema}, schema
    _migrate(src, pg_url)
    assert asyncio.run(_indexes(pg_url)) == schema, "an index dropped for the copy is missing"
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "late.txt").write_text(
        "Harbour reopens after storm\n\nThe port authority reopened the harbour on Friday "
        "after a week of repairs to the breakwater, officials said.\n",
        encoding="utf-8",
    )
    result = _cli("--db", pg_url, "ingest", str(extra))
    assert result.exit_code == 0, result.output  # a reused id would be a duplicate key
    assert "1 stored" in result.stdout


def test_the_password_is_not_in_what_migrate_db_prints(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSBOT_DB_PASSWORD", "s3cret-pw")  # trust auth ignores it
    src = _seeded(tmp_path / "src.db")
    result = _cli("migrate-db", src, pg_url)
    assert result.exit_code == 0, result.output
    assert "s3cret-pw" not in result.output
    parts = urlsplit(pg_url)
    with_password = urlunsplit(parts._replace(netloc=f"bot:s3cret-pw@{parts.hostname}"))
    refused = _cli("migrate-db", src, with_password)
    assert refused.exit_code != 0 and "s3cret-pw" not in refused.output
