"""The store's core, one suite run against every backend: SQLite always, PostgreSQL when
``NEWSBOT_TEST_POSTGRES_DSN`` is set (tests/pgtest.py; it skips with one reason otherwise)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.delivery.gateway import ChannelRef
from bot.delivery.schedules import Timing
from bot.errors import UserError
from bot.models import Article
from bot.queries.language import parse_query
from bot.storage import Store, deliveries
from bot.storage.sources import FetchRecord, SourceRepo
from bot.storage.subscriptions import SubscriptionRepo

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def store(db_target: str) -> AsyncIterator[Store]:
    s = await Store.open(db_target)
    try:
        yield s
    finally:
        await s.close()


def _article(
    ext_id: str,
    title: str = "Title",
    text: str = "Body text here.",
    *,
    source_id: int | None = None,
    guid: str | None = None,
    url: str | None = None,
    duplicate_of: int | None = None,
) -> Article:
    return Article(
        ext_id=ext_id,
        title=title,
        text=text,
        outlet="Outlet",
        published_at=NOW,
        first_seen_at=NOW,
        content_hash="h-" + ext_id,
        source_id=source_id,
        guid=guid,
        canonical_url=url,
        duplicate_of=duplicate_of,
    )


async def _insert(store: Store, *articles: Article) -> list[int | None]:
    async with store.write() as txn:
        return [await txn.insert_article(a, b"\x00\x01") for a in articles]


async def test_insert_returns_ids_and_a_second_insert_of_an_ext_id_is_ignored(
    store: Store,
) -> None:
    first, second = await _insert(store, _article("a1"), _article("a2"))
    assert first is not None and second is not None and second > first
    assert await _insert(store, _article("a1", title="Other")) == [None]
    stored = await store.article_by_ext_id("a1")
    assert stored is not None and stored.title == "Title" and stored.id == first
    assert stored.published_at == NOW and stored.dated is True
    assert await store.count_articles() == (2, 0)
    assert await store.iter_minhashes() == [(first, b"\x00\x01"), (second, b"\x00\x01")]


async def test_exact_lookup_by_guid_then_url_then_content(store: Store) -> None:
    async with store.write() as txn:
        src = await txn.upsert_source(kind="feed", locator="https://a.test/f", now=NOW)
    await _insert(store, _article("g1", source_id=src, guid="G", url="https://a.test/1"))
    by_guid = await store.find_exact(
        source_id=src, guid="G", canonical_url=None, content_hash="none"
    )
    assert by_guid is not None and by_guid[0] == "guid" and by_guid[1].ext_id == "g1"
    by_url = await store.find_exact(
        source_id=None, guid=None, canonical_url="https://a.test/1", content_hash="none"
    )
    assert by_url is not None and by_url[0] == "url"
    by_hash = await store.find_exact(
        source_id=None, guid=None, canonical_url=None, content_hash="h-g1"
    )
    assert by_hash is not None and by_hash[0] == "content"
    assert (
        await store.find_exact(source_id=src, guid="X", canonical_url=None, content_hash="no")
        is None
    )


async def test_sources_upsert_once_refuse_a_second_feed_and_remove(store: Store) -> None:
    async with store.write() as txn:
        one = await txn.upsert_source(kind="feed", locator="https://b.test/f", now=NOW)
        again = await txn.upsert_source(kind="feed", locator="https://b.test/f", name="B", now=NOW)
    assert one == again
    added = await store.add_feed_source(
        locator="https://c.test/f", workspace="W", name=None, item_filter=None,
        interval_s=600.0, now=NOW,
    )  # fmt: skip
    assert added is not None and added != one
    dup = await store.add_feed_source(
        locator="https://c.test/f", workspace="W", name=None, item_filter=None,
        interval_s=600.0, now=NOW,
    )  # fmt: skip
    assert dup is None
    assert [s["name"] for s in await store.feed_sources("")] == ["B"]
    feeds = SourceRepo(store)
    await feeds.record(one, FetchRecord(at=NOW, ok=False, error="HTTP 500"))
    state = await feeds.feed(one)
    assert state is not None and state.consecutive_failures == 1
    assert [f.last_error for f in await feeds.statuses("")] == ["HTTP 500"]
    await store.remove_source(added, now=NOW)
    assert await store.feed_sources("W") == []


async def test_search_speaks_the_query_language(store: Store) -> None:
    await _insert(
        store,
        _article("s1", "Volcano erupts in Iceland", "Ferries cancelled as ash covers the harbour."),
        _article("s2", "Harbour reopens", "The ferry service resumed after the storm."),
        _article("s3", "Election results", "The harbour master was elected mayor."),
    )

    async def found(text: str) -> set[str]:
        return {h.article.ext_id for h in await store.search(parse_query(text))}

    assert await found("volcano") == {"s1"}
    assert await found("ferry") == {"s1", "s2"}  # stemmed: ferries, ferry
    assert await found('"harbour master"') == {"s3"}  # a phrase: words adjacent, in order
    assert await found('"master harbour"') == set()
    assert await found("harbour AND ferry") == {"s1", "s2"}
    assert await found("volcano OR election") == {"s1", "s3"}
    assert await found("harbour NOT ferry") == {"s3"}
    assert await found("(volcano OR storm) AND NOT iceland") == {"s2"}
    hits = await store.search(parse_query("harbour"))
    assert hits[0].article.ext_id == "s2"  # the headline hit ranks first
    assert "**" in hits[0].snippet or "**" in hits[1].snippet
    with pytest.raises(UserError):
        await store.search(parse_query("NOT harbour"))


async def test_search_skips_copies_and_ranks_only_the_newest_window(store: Store) -> None:
    (orig,) = await _insert(store, _article("o1", "Dam burst", "Flooding downstream."))
    await _insert(store, _article("c1", "Dam burst", "Flooding downstream.", duplicate_of=orig))
    assert [h.article.ext_id for h in await store.search(parse_query("flooding"))] == ["o1"]
    for i in range(5):
        await _insert(store, _article(f"w{i}", "Quarry news", "quarry " * (5 - i)))
    recent = await store.search(parse_query("quarry"), limit=10, window=2)
    assert {h.article.ext_id for h in recent} == {"w3", "w4"}


async def test_a_failed_transaction_leaves_nothing(store: Store) -> None:
    with pytest.raises(RuntimeError):
        async with store.write() as txn:
            await txn.insert_article(_article("r1"), None)
            raise RuntimeError("boom")
    assert await store.article_by_ext_id("r1") is None
    assert await _insert(store, _article("r1")) != [None]


async def test_transactions_never_interleave(store: Store) -> None:
    order: list[str] = []

    async def writer(tag: str) -> None:
        async with store.write() as txn:
            order.append(f"{tag}-begin")
            await txn.insert_article(_article(tag), None)
            await asyncio.sleep(0.01)
            order.append(f"{tag}-end")

    await asyncio.gather(writer("t1"), writer("t2"), writer("t3"))
    assert all(order[i].split("-")[0] == order[i + 1].split("-")[0] for i in (0, 2, 4))
    assert await store.count_articles() == (3, 0)


async def test_story_reads_run_on_both_backends(store: Store) -> None:
    async with store.transaction() as conn:
        cur = await conn.execute(
            "INSERT INTO stories (public_id, title, first_seen_at, last_seen_at) "
            "VALUES (?, ?, ?, ?)",
            ("s-1a2b", "Dam burst", NOW.isoformat(), NOW.isoformat()),
        )
        story = int(cur.lastrowid or 0)
    (orig,) = await _insert(store, _article("d1", "Dam burst", "Flooding."))
    async with store.transaction() as conn:
        await conn.execute("UPDATE articles SET story_id = ? WHERE id = ?", (story, orig))
    assert await store.story_heading(story) == ("s-1a2b", "Dam burst")
    assert await store.story_suggestions("dam") == [("s-1a2b", "Dam burst")]
    assert await store.live_story_ids() == [story]
    assert await store.story_consistency() == (1, 1)  # article_count was never set


async def test_subscriptions_save_once_per_topic_and_respect_the_channel_limit(
    store: Store,
) -> None:
    repo = SubscriptionRepo(store)
    chan = ChannelRef("discord", "G1", "C1")
    daily = Timing.parse("daily 08:00", "UTC", None)
    hourly = Timing.parse("hourly", "UTC", None)

    async def save(topic: str, timing: Timing) -> int | None:
        return await repo.save(
            channel=chan, topic_query=topic, story_id=None, timing=timing,
            created_by="u", created_at=NOW, max_enabled=2,
        )  # fmt: skip

    first = await save("ukraine", daily)
    again = await save("ukraine", hourly)
    other = await save("volcano", daily)
    full = await save("election", daily)
    assert first is not None and again == first and other not in (None, first) and full is None
    subs = await repo.for_channel(chan)
    assert [(s.topic_query, s.schedule) for s in subs] == [
        ("ukraine", "hourly"),
        ("volcano", "daily 08:00"),
    ]
    await repo.mark_digest(first, NOW)
    marked = await repo.by_id(first)
    assert marked is not None and marked.last_digest_at == NOW


async def test_deliveries_are_idempotent_and_remember_what_they_showed(store: Store) -> None:
    (orig,) = await _insert(store, _article("m1"))
    assert orig is not None
    shown = [(7, [orig], ["A statement."])]

    async def queue(key: str) -> int | None:
        return await deliveries.insert_pending(
            store, channel_key="discord:G1:C1", idempotency_key=key, payload="{}",
            shown=shown, subscription_id=None, now=NOW,
        )  # fmt: skip

    first = await queue("sub-1:2025-03-01")
    twice = await queue("sub-1:2025-03-01")
    assert first is not None and twice is None
    assert await deliveries.pending_ids(store, "discord:G1:C1") == [first]
    await deliveries.mark_sent(
        store, first, channel_key="discord:G1:C1", message_id="m-1", shown=shown, now=NOW
    )
    assert await deliveries.pending_ids(store) == []
    assert await deliveries.last_told_at(store, "discord:G1:C1") == NOW
    items = await store.fetchall(
        "SELECT story_id, article_id, statement FROM delivered_items ORDER BY rowid"
    )
    assert items == [(7, orig, None), (7, None, "A statement.")]


async def _pending(
    store: Store, key: str, *, sub: int | None = None, period: datetime | None = None
) -> int | None:
    return await deliveries.insert_pending(
        store, channel_key="discord:G1:C1", idempotency_key=key, payload="{}",
        shown=[], subscription_id=sub, now=NOW, period=period,
    )  # fmt: skip


async def test_a_delivery_lease_is_one_workers_until_it_expires_or_is_released(
    store: Store,
) -> None:
    delivery = await _pending(store, "lease-1")
    assert delivery is not None
    later = NOW + timedelta(seconds=120)
    assert await deliveries.claim(store, delivery, owner="a", until=later, now=NOW)
    assert await deliveries.lease_of(store, delivery) == ("a", later)
    # another worker can neither take it nor list it while the lease runs
    assert not await deliveries.claim(store, delivery, owner="b", until=later, now=NOW)
    assert await deliveries.claimable_ids(store, owner="b", now=NOW) == []
    assert await deliveries.claimable_ids(store, owner="a", now=NOW) == [delivery]
    assert await deliveries.claim(store, delivery, owner="a", until=later, now=NOW)  # renewal
    # expired: the next worker takes it over, and the old holder cannot give it back
    assert await deliveries.claimable_ids(store, owner="b", now=later) == [delivery]
    takeover = later + timedelta(seconds=60)
    assert await deliveries.claim(store, delivery, owner="b", until=takeover, now=later)
    await deliveries.release(store, delivery, owner="a")
    assert (await deliveries.lease_of(store, delivery))[0] == "b"
    await deliveries.release(store, delivery, owner="b")
    assert await deliveries.lease_of(store, delivery) == (None, None)
    assert await deliveries.claim(store, delivery, owner="c", until=later, now=NOW)
    await deliveries.mark_sent(
        store, delivery, channel_key="discord:G1:C1", message_id="m", shown=[], now=NOW
    )
    assert await deliveries.lease_of(store, delivery) == (None, None)  # sent: no lease
    assert not await deliveries.claim(store, delivery, owner="c", until=later, now=NOW)


async def test_a_channels_digests_are_claimed_in_the_order_they_were_composed(
    store: Store,
) -> None:
    older, newer = await _pending(store, "order-1"), await _pending(store, "order-2")
    elsewhere = await deliveries.insert_pending(
        store, channel_key="discord:G1:C2", idempotency_key="order-3", payload="{}",
        shown=[], subscription_id=None, now=NOW,
    )  # fmt: skip
    assert older is not None and newer is not None and elsewhere is not None
    later = NOW + timedelta(seconds=120)
    assert await deliveries.claim(store, older, owner="a", until=later, now=NOW)
    # while the older one is pending, no worker posts the newer one before it
    assert not await deliveries.claim(store, newer, owner="b", until=later, now=NOW)
    assert not await deliveries.claim(store, newer, owner="a", until=later, now=NOW)
    assert await deliveries.claim(store, elsewhere, owner="b", until=later, now=NOW)
    await deliveries.mark_sent(
        store, older, channel_key="discord:G1:C1", message_id="m", shown=[], now=NOW
    )
    assert await deliveries.claim(store, newer, owner="b", until=later, now=NOW)


async def test_releasing_every_lease_frees_what_a_crashed_run_held(store: Store) -> None:
    first, second = await _pending(store, "crash-1"), await _pending(store, "crash-2")
    assert first is not None and second is not None
    until = NOW + timedelta(seconds=120)
    assert await deliveries.claim(store, first, owner="dead", until=until, now=NOW)
    assert await deliveries.release_all(store) == 1
    assert await deliveries.claimable_ids(store, owner="new", now=NOW) == [first, second]


async def test_a_leased_delivery_does_not_expire_under_its_sender(store: Store) -> None:
    delivery = await _pending(store, "old-1")
    assert delivery is not None
    until = NOW + timedelta(seconds=120)
    assert await deliveries.claim(store, delivery, owner="a", until=until, now=NOW)
    assert await deliveries.expire_pending(store, NOW + timedelta(days=2), now=NOW) == 0
    assert await deliveries.expire_pending(store, NOW + timedelta(days=2), now=until) == 1


async def test_a_subscription_period_is_claimed_once_with_its_digest_or_alone(
    store: Store,
) -> None:
    repo = SubscriptionRepo(store)
    sub = await repo.save(
        channel=ChannelRef("discord", "G1", "C1"), topic_query="quake", story_id=None,
        timing=Timing.parse("hourly", "UTC", None), created_by="u", created_at=NOW,
        max_enabled=5,
    )  # fmt: skip
    assert sub is not None
    period, nxt = NOW + timedelta(hours=1), NOW + timedelta(hours=2)
    assert not await deliveries.period_claimed(store, sub, period)
    first = await _pending(store, "w1:period", sub=sub, period=period)
    # a second worker's digest of the same period (its own key) is not stored
    assert first is not None and await _pending(store, "w2:period", sub=sub, period=period) is None
    assert await deliveries.pending_ids(store) == [first]
    assert await deliveries.period_claimed(store, sub, period)
    assert not await deliveries.claim_period(store, sub, period)
    assert not await deliveries.claim_period(store, sub, NOW)  # an earlier period neither
    assert await deliveries.claim_period(store, sub, nxt)  # nothing new: the period alone
    assert not await deliveries.claim_period(store, sub, nxt)


async def test_an_exclusive_section_runs_one_task_at_a_time(store: Store) -> None:
    order: list[str] = []

    async def section(tag: str, name: str) -> None:
        async with store.exclusive(name):
            order.append(f"{tag}-in")
            await asyncio.sleep(0.05)
            order.append(f"{tag}-out")

    await asyncio.gather(section("a", "turn:x"), section("b", "turn:x"), section("c", "turn:y"))
    x = [o for o in order if o[0] in "ab"]
    assert x in (["a-in", "a-out", "b-in", "b-out"], ["b-in", "b-out", "a-in", "a-out"])
    assert order.index("c-in") < order.index("a-out") or order.index("c-in") < order.index("b-out")


async def test_undo_log_round_trips_a_change_and_takes_it_once(store: Store) -> None:
    from datetime import timedelta

    from bot.storage.undo import Change, UndoRepo

    ref = ChannelRef("slack", "T1", "C1")
    subs = SubscriptionRepo(store)
    saved = await subs.save(
        channel=ref, topic_query="malaria", story_id=None, timing=Timing.parse("hourly", "UTC"),
        created_by="U1", created_at=NOW, max_enabled=25,
    )  # fmt: skip
    assert saved is not None
    sub = await subs.by_id(saved)
    assert sub is not None
    repo = UndoRepo(store)
    change = Change("slack", "T1", "U1", "removed", None, sub, NOW)
    first = await repo.record(change, expires_at=NOW + timedelta(minutes=15))
    assert await repo.get(first) == (change, NOW + timedelta(minutes=15))
    assert await repo.take(first) and not await repo.take(first)  # undone once
    assert await repo.get(first) is None
    later = await repo.record(change, expires_at=NOW + timedelta(minutes=15))
    assert later > first  # numbers are never reused
