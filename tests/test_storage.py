"""Storage: WAL, migrations from an older schema, atomic writes, FTS5."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import aiosqlite
import pytest

from bot.errors import StorageError
from bot.models import Article
from bot.queries.language import parse_query
from bot.storage import SCHEMA_VERSION, Store
from bot.storage.migrate import migrate

NOW = datetime(2025, 2, 13, 6, 0, tzinfo=UTC)


def _article(ext_id: str, title: str = "Title", text: str = "Body text here.") -> Article:
    return Article(
        ext_id=ext_id,
        title=title,
        text=text,
        outlet="Outlet",
        published_at=NOW,
        first_seen_at=NOW,
        content_hash=ext_id,
    )


async def test_new_database_is_wal_at_latest_schema(db_path: Path) -> None:
    store = await Store.open(db_path)
    try:
        assert await store.scalar("PRAGMA journal_mode") == "wal"
        assert await store.scalar("PRAGMA user_version") == SCHEMA_VERSION
        tables = {r[0] for r in await store.fetchall("SELECT name FROM sqlite_master")}
        for table in ("sources", "articles", "articles_fts", "stories", "article_analysis"):
            assert table in tables
        for table in ("subscriptions", "deliveries", "delivered_items", "story_aliases"):
            assert table in tables
    finally:
        await store.close()


async def test_an_older_database_is_upgraded_and_keeps_its_rows(db_path: Path) -> None:
    async with aiosqlite.connect(db_path, isolation_level=None) as conn:
        await migrate(conn, target=1)
        await conn.execute(
            "INSERT INTO articles (ext_id, outlet, title, text, published_at, first_seen_at, "
            "content_hash) VALUES ('old-1', 'Wire', 'Old headline', 'Old body about ferries', "
            "'2024-01-01T00:00:00+00:00', '2024-01-01T00:00:00+00:00', 'h')"
        )
        assert (await (await conn.execute("PRAGMA user_version")).fetchone())[0] == 1
    store = await Store.open(db_path)
    try:
        assert await store.scalar("PRAGMA user_version") == SCHEMA_VERSION
        old = await store.article_by_ext_id("old-1")
        assert old is not None and old.title == "Old headline" and old.story_id is None
        hits = await store.search(parse_query("ferries"))
        assert [h.article.ext_id for h in hits] == ["old-1"]
    finally:
        await store.close()


async def test_a_database_newer_than_the_code_is_refused(db_path: Path) -> None:
    async with aiosqlite.connect(db_path) as conn:
        await conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StorageError, match="newer than this newsbot knows"):
        await Store.open(db_path)


async def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StorageError, match="not a usable newsbot database"):
        await Store.open(path)


async def test_a_failed_transaction_leaves_nothing_behind(db_path: Path) -> None:
    store = await Store.open(db_path)
    try:
        with pytest.raises(RuntimeError):
            async with store.write() as txn:
                await txn.insert_article(_article("half"), None)
                raise RuntimeError("crash mid-ingest")
        assert await store.article_by_ext_id("half") is None
        async with store.write() as txn:
            await txn.insert_article(_article("whole"), None)
        assert await store.article_by_ext_id("whole") is not None
    finally:
        await store.close()


async def test_duplicates_are_not_indexed_for_search_but_list_their_outlets(
    db_path: Path,
) -> None:
    store = await Store.open(db_path)
    try:
        async with store.write() as txn:
            orig = await txn.insert_article(_article("o", text="volcano erupts"), None)
            copy = _article("c", text="volcano erupts")
            copy.outlet, copy.duplicate_of = "Other", orig
            await txn.insert_article(copy, None)
        hits = await store.search(parse_query("volcano"))
        assert [h.article.ext_id for h in hits] == ["o"]
        assert await store.outlets_of(orig) == ["Outlet", "Other"]
        assert await store.count_articles() == (1, 1)
    finally:
        await store.close()


async def test_search_ranks_only_the_newest_matches_when_there_are_many(db_path: Path) -> None:
    store = await Store.open(db_path)
    try:
        async with store.write() as txn:
            for i in range(5):
                text = "harbour " * (5 - i) + f"story number {i}"
                await txn.insert_article(_article(f"h{i}", text=text), None)
        best_overall = await store.search(parse_query("harbour"), limit=1)
        assert best_overall[0].article.ext_id == "h0"  # most mentions
        recent = await store.search(parse_query("harbour"), limit=5, window=3)
        assert sorted(h.article.ext_id for h in recent) == ["h2", "h3", "h4"]
        assert recent[0].article.ext_id == "h2"  # bm25 order within the window
    finally:
        await store.close()
