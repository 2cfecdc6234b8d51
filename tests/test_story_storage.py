"""The stories repository (bot.storage.stories): merges keep old ids working, the live story
is the one unmerged row a chain of merges ends at, public ids never collide, and a snapshot
never goes back to an older watermark."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.models import Article
from bot.storage import Store, stories
from bot.storage.stories import EngineSnapshot, StoryFields

NOW = datetime(2025, 2, 13, 6, 0, tzinfo=UTC)


def _fields(title: str, n: int = 1, *, active: bool = True) -> StoryFields:
    return StoryFields(
        title=title,
        terms=["quokka", title.lower()],
        first_seen=NOW,
        last_seen=NOW,
        article_count=n,
        active=active,
    )


def _article(ext_id: str, *, duplicate_of: int | None = None) -> Article:
    return Article(
        ext_id=ext_id, title=f"Title {ext_id}", text=f"Text of {ext_id}.", outlet="Outlet",
        published_at=NOW, first_seen_at=NOW, content_hash=ext_id, duplicate_of=duplicate_of,
    )  # fmt: skip


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(db_path)
    try:
        yield s
    finally:
        await s.close()


async def test_a_chain_of_merges_resolves_every_old_id_to_the_live_story(store: Store) -> None:
    async with store.write() as txn:
        for key, title in ((1, "Alpha"), (2, "Beta"), (3, "Gamma")):
            await stories.insert_story(txn, key, _fields(title), public_ids=[f"s-{key}"])
        original = await txn.insert_article(_article("a1"), None)
        assert original is not None
        copy = await txn.insert_article(_article("a1-copy", duplicate_of=original), None)
        assert copy is not None
        await stories.set_original_story(txn, original, 1)
        await stories.record_merge(txn, 1, 2, now=NOW)
        await stories.record_merge(txn, 2, 3, now=NOW)

    for public_id in ("s-1", "s-2", "s-3"):
        assert await stories.resolve_public_id(store, public_id) == 3
    assert await stories.resolve_public_id(store, "s-404") is None
    assert await stories.live_story_id(store, 1) == 3
    assert await store.live_story_ids() == [3]
    assert await stories.count_live(store) == 1
    moved = [await store.article(i) for i in (original, copy)]
    assert [a.story_id for a in moved if a] == [3, 3]


async def test_count_live_counts_active_unmerged_stories_only(store: Store) -> None:
    async with store.write() as txn:
        await stories.insert_story(txn, 1, _fields("Alpha"), public_ids=["s-1"])
        await stories.insert_story(txn, 2, _fields("Beta"), public_ids=["s-2"])
        await stories.insert_story(txn, 3, _fields("Quiet", active=False), public_ids=["s-3"])
        await stories.record_merge(txn, 1, 2, now=NOW)
    assert await stories.count_live(store) == 2
    assert await stories.count_live(store, active_only=True) == 1


async def test_a_new_story_takes_the_first_public_id_no_story_or_alias_holds(
    store: Store,
) -> None:
    async with store.write() as txn:
        assert await stories.insert_story(txn, 1, _fields("A"), public_ids=["s-aa"]) == "s-aa"
        assert await stories.insert_story(txn, 2, _fields("B"), public_ids=["s-bb"]) == "s-bb"
        await stories.record_merge(txn, 1, 2, now=NOW)  # s-aa is now an alias of story 2
        got = await stories.insert_story(txn, 3, _fields("C"), public_ids=["s-aa", "s-bb", "s-3"])
    assert got == "s-3"


async def test_updating_a_story_that_is_not_stored_says_so(store: Store) -> None:
    later = _fields("Renamed", 4)
    async with store.write() as txn:
        assert not await stories.update_story(txn, 9, later)
        await stories.insert_story(txn, 9, _fields("First"), public_ids=["s-9"])
        assert await stories.update_story(txn, 9, later)
        await stories.extend_story(txn, 9, NOW + timedelta(hours=2))
        await stories.extend_story(txn, 9, NOW - timedelta(hours=2))  # never moves back
    row = await store.story_overview(9)
    assert row is not None
    assert (row["title"], row["last_seen_at"]) == ("Renamed", "2025-02-13T08:00:00+00:00")


async def test_a_snapshot_never_replaces_a_newer_one_of_its_version(store: Store) -> None:
    async with store.write() as txn:
        await stories.save_snapshot(txn, "stories", EngineSnapshot(1, 10, b"ten"), saved_at=NOW)
        await stories.save_snapshot(txn, "stories", EngineSnapshot(1, 5, b"five"), saved_at=NOW)
    assert await stories.load_snapshot(store, "stories") == EngineSnapshot(1, 10, b"ten")
    async with store.write() as txn:  # another format replaces it whatever its watermark
        await stories.save_snapshot(txn, "stories", EngineSnapshot(2, 3, b"v2"), saved_at=NOW)
    assert await stories.load_snapshot(store, "stories") == EngineSnapshot(2, 3, b"v2")
    assert await stories.load_snapshot(store, "other") is None


async def test_grouping_input_is_the_originals_above_the_watermark_in_id_order(
    store: Store,
) -> None:
    async with store.write() as txn:
        ids = [await txn.insert_article(_article(f"o{i}"), None) for i in range(4)]
        await txn.insert_article(_article("copy", duplicate_of=ids[0]), None)
    async with store.committed() as reader:
        pending = await stories.originals_after(reader, ids[0] or 0, before=ids[3])
        limited = await stories.originals_after(reader, 0, limit=2)
    assert [p.id for p in pending] == ids[1:3]
    assert pending[0].published_at == NOW and pending[0].title == "Title o1"
    assert [p.id for p in limited] == ids[:2]


def test_the_live_condition_takes_only_an_identifier_alias() -> None:
    assert stories.live_sql("s") == "s.merged_into IS NULL"
    with pytest.raises(ValueError, match="not an SQL alias"):
        stories.live_sql("s; DROP TABLE stories")
