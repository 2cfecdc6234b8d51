"""The outbox: stored before sent, retried as the platform asks, sent once after a crash, and a
channel that is gone disables its subscriptions and tells the admins once."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.delivery.gateway import ChannelRef, DeliveryError
from bot.delivery.outbox import Outbox
from bot.delivery.schedules import Timing
from bot.delivery.subscriptions import Subscriptions
from bot.digest.codec import decode_digest, encode_digest
from bot.digest.compose import Composed
from bot.digest.model import ArticleRef, ConflictRef, Digest, StatementRef, StoryDigest
from bot.storage import Store
from bot.storage import deliveries as dsql

NOW = datetime(2024, 5, 6, 8, 0, tzinfo=UTC)
CHANNEL = ChannelRef("slack", "T1", "C1")


class FakeGateway:
    platform = "slack"

    def __init__(self, errors: list[DeliveryError | None] | None = None) -> None:
        self.errors = list(errors or [])
        self.posts: list[tuple[ChannelRef, Digest, float]] = []
        self.notices: list[tuple[str, str]] = []
        self.clock: FakeClock | None = None

    async def post_digest(self, channel: ChannelRef, digest: Digest) -> str:
        if self.errors:
            error = self.errors.pop(0)
            if error is not None:
                raise error
        self.posts.append((channel, digest, self.clock.t if self.clock else 0.0))
        return f"msg-{len(self.posts)}"

    async def notify_admins(self, workspace: str, text: str) -> None:
        self.notices.append((workspace, text))


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


def composed(title: str = "Quake hits the coast", story_id: int = 1) -> Composed:
    when = NOW - timedelta(hours=3)
    stmt = StatementRef("At least 12 people died.", "a1", "Reuters", when, "https://r.example/1")
    other = StatementRef("At least 15 people died.", "a2", "AP", when + timedelta(hours=1))
    story = StoryDigest(
        id=f"s-{story_id:04x}",
        title=title,
        known=False,
        articles=[ArticleRef("a1", title, "https://r.example/1", "Reuters", when)],
        summary=[stmt],
        conflicts=[ConflictRef("contradiction", "death toll", [stmt, other])],
        outlets=["Reuters"],
    )
    digest = Digest(channel="C1", generated_at=NOW, stories=[story], topic="quake")
    return Composed(digest, [(story_id, [101, 102], ["At least 12 people died."])])


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(tmp_path / "o.db")
    yield s
    await s.close()


def make_outbox(store: Store, gateway: FakeGateway, clock: FakeClock) -> Outbox:
    gateway.clock = clock
    return Outbox(store, {"slack": gateway}, clock=clock, sleep=clock.sleep, now=lambda: NOW)


async def delivered_articles(store: Store) -> list[int]:
    rows = await store.fetchall(
        "SELECT article_id FROM delivered_items WHERE article_id IS NOT NULL ORDER BY 1"
    )
    return [r[0] for r in rows]


def test_the_payload_codec_round_trips_a_digest() -> None:
    digest = composed().digest
    assert decode_digest(encode_digest(digest)) == digest


async def test_a_queued_digest_is_the_channels_memory_while_it_waits(store: Store) -> None:
    clock, gateway = FakeClock(), FakeGateway([DeliveryError("503", retry_after=None)] * 4)
    outbox = make_outbox(store, gateway, clock)
    delivery_id = await outbox.enqueue(composed(), channel=CHANNEL, idempotency_key="k1")
    assert delivery_id is not None
    # Remembered from the moment it is queued: a digest composed meanwhile does not repeat it.
    assert await delivered_articles(store) == [101, 102]
    assert await outbox.send(delivery_id) == "pending"  # 4 transient failures: kept
    assert await delivered_articles(store) == [101, 102]
    item = await outbox.get(delivery_id)
    assert item is not None and item.status == "pending" and item.attempts == 4
    assert clock.sleeps == [1.0, 2.0, 4.0]  # exponential backoff between attempts
    assert await outbox.flush() == {"sent": 1}
    item = await outbox.get(delivery_id)
    assert item is not None and item.status == "sent" and item.message_id == "msg-1"
    assert await delivered_articles(store) == [101, 102]


async def test_retry_after_from_a_rate_limit_is_honoured(store: Store) -> None:
    clock, gateway = FakeClock(), FakeGateway([DeliveryError("429", retry_after=7.5)])
    outbox = make_outbox(store, gateway, clock)
    _delivery_id, status = await outbox.deliver(composed(), channel=CHANNEL, idempotency_key="k")
    assert status == "sent"
    assert clock.sleeps == [7.5]
    assert gateway.posts[0][2] >= 1000.0 + 7.5


async def test_a_huge_retry_after_leaves_the_delivery_for_a_later_flush(store: Store) -> None:
    clock, gateway = FakeClock(), FakeGateway([DeliveryError("429", retry_after=1336.0)])
    outbox = make_outbox(store, gateway, clock)
    _delivery_id, status = await outbox.deliver(composed(), channel=CHANNEL, idempotency_key="k")
    assert status == "pending" and clock.sleeps == []  # the scheduler is never held
    assert await outbox.flush() == {"pending": 1}  # still inside the platform's window
    clock.t += 1400
    assert await outbox.flush() == {"sent": 1}


async def test_posts_to_one_channel_are_paced_about_one_per_second(store: Store) -> None:
    clock, gateway = FakeClock(), FakeGateway()
    outbox = make_outbox(store, gateway, clock)
    for i in range(3):
        await outbox.enqueue(composed(), channel=CHANNEL, idempotency_key=f"k{i}")
    assert await outbox.flush() == {"sent": 3}
    times = [t for _, _, t in gateway.posts]
    assert all(b - a >= 1.0 for a, b in itertools.pairwise(times))


async def test_after_a_crash_a_pending_digest_is_sent_exactly_once(store: Store) -> None:
    clock = FakeClock()
    before_crash = make_outbox(store, FakeGateway(), clock)
    await before_crash.enqueue(composed(), channel=CHANNEL, idempotency_key="sub-1:2024-05-06")
    # The process dies before sending; a new process (new outbox) starts on the same database.
    gateway = FakeGateway()
    after = make_outbox(store, gateway, clock)
    assert (
        await after.enqueue(composed(), channel=CHANNEL, idempotency_key="sub-1:2024-05-06") is None
    )
    assert await after.flush() == {"sent": 1}
    assert await after.flush() == {}
    assert len(gateway.posts) == 1


async def test_a_gone_channel_disables_its_subscriptions_and_tells_the_admins_once(
    store: Store,
) -> None:
    subs = Subscriptions(store)
    timing = Timing.parse("daily 08:00", "UTC")
    for topic in ("quake", "election"):
        await subs.add(channel=CHANNEL, topic_query=topic, timing=timing, created_by="U", now=NOW)
    other = await subs.add(
        channel=ChannelRef("slack", "T1", "C2"),
        topic_query="x",
        timing=timing,
        created_by="U",
        now=NOW,
    )
    gone = DeliveryError("channel_not_found", permanent=True)
    clock, gateway = FakeClock(), FakeGateway([gone, gone, gone])
    outbox = make_outbox(store, gateway, clock)
    first = await outbox.enqueue(composed(), channel=CHANNEL, idempotency_key="a")
    second = await outbox.enqueue(composed(), channel=CHANNEL, idempotency_key="b")
    assert first and second
    assert await outbox.send(first) == "failed"
    assert await outbox.send(second) == "failed"  # failed with its channel, never posted
    later = await outbox.enqueue(composed(), channel=CHANNEL, idempotency_key="c")
    assert later and await outbox.send(later) == "failed"
    assert len(gateway.notices) == 1
    workspace, text = gateway.notices[0]
    assert workspace == "T1" and "sub-1" in text and "sub-2" in text
    assert [s.enabled for s in await subs.for_channel(CHANNEL)] == [False, False]
    still = await subs.by_id(other.id)
    assert still is not None and still.enabled
    assert await delivered_articles(store) == []


async def test_pending_digests_older_than_a_day_expire_instead_of_flooding(store: Store) -> None:
    clock, gateway = FakeClock(), FakeGateway()
    outbox = make_outbox(store, gateway, clock)
    await outbox.enqueue(composed(), channel=CHANNEL, idempotency_key="old")
    assert await delivered_articles(store) == [101, 102]
    outbox.now = lambda: NOW + timedelta(days=2)
    assert await outbox.flush() == {"expired": 1}
    assert gateway.posts == []
    assert await delivered_articles(store) == []  # never shown: the channel was not told


async def test_a_delivery_another_worker_holds_is_sent_by_this_one_once_its_lease_expires(
    store: Store,
) -> None:
    clock, gateway = FakeClock(), FakeGateway()
    now = [NOW]
    gateway.clock = clock
    survivor = Outbox(
        store, {"slack": gateway}, clock=clock, sleep=clock.sleep, now=lambda: now[0],
        worker="survivor", lease=120,
    )  # fmt: skip
    delivery_id = await survivor.enqueue(composed(), channel=CHANNEL, idempotency_key="k")
    assert delivery_id is not None
    # a worker took it and died mid-send: its lease runs two minutes
    until = NOW + timedelta(seconds=120)
    assert await dsql.claim(store, delivery_id, owner="dead", until=until, now=NOW)
    assert await survivor.send(delivery_id) == "busy"
    assert await survivor.flush() == {} and gateway.posts == []
    now[0] = NOW + timedelta(seconds=119)
    assert await survivor.flush() == {} and gateway.posts == []
    now[0] = until
    assert await survivor.flush() == {"sent": 1} and len(gateway.posts) == 1
    assert await dsql.lease_of(store, delivery_id) == (None, None)
    assert await survivor.flush() == {}


async def test_a_delivery_left_pending_gives_its_lease_back(store: Store) -> None:
    clock, gateway = FakeClock(), FakeGateway([DeliveryError("503", retry_after=None)] * 4)
    outbox = make_outbox(store, gateway, clock)
    delivery_id, status = await outbox.deliver(composed(), channel=CHANNEL, idempotency_key="k")
    assert status == "pending" and delivery_id is not None
    assert await dsql.lease_of(store, delivery_id) == (None, None)  # any worker retries it
    other = make_outbox(store, FakeGateway(), clock)
    assert await other.flush() == {"sent": 1}


async def test_on_sqlite_a_crashed_runs_leases_are_cleared_at_start(store: Store) -> None:
    clock, gateway = FakeClock(), FakeGateway()
    outbox = make_outbox(store, gateway, clock)
    delivery_id = await outbox.enqueue(composed(), channel=CHANNEL, idempotency_key="k")
    assert delivery_id is not None
    until = NOW + timedelta(seconds=120)
    assert await dsql.claim(store, delivery_id, owner="crashed", until=until, now=NOW)
    assert await outbox.flush() == {}
    assert await outbox.recover() == 1
    assert await outbox.flush() == {"sent": 1}


async def test_a_worker_that_waited_past_its_lease_leaves_the_delivery_to_the_one_that_took_it(
    store: Store,
) -> None:
    clock, gateway = FakeClock(), FakeGateway([DeliveryError("429", retry_after=10.0)])
    gateway.clock = clock
    now = [NOW]

    async def sleep(seconds: float) -> None:  # meanwhile the lease ends and "other" takes it
        await clock.sleep(seconds)
        now[0] += timedelta(seconds=seconds)
        until = now[0] + timedelta(seconds=5)
        assert await dsql.claim(store, delivery_id, owner="other", until=until, now=now[0])

    outbox = Outbox(
        store, {"slack": gateway}, clock=clock, sleep=sleep, now=lambda: now[0],
        worker="slow", lease=5,
    )  # fmt: skip
    delivery_id = await outbox.enqueue(composed(), channel=CHANNEL, idempotency_key="k")
    assert delivery_id is not None
    assert await outbox.send(delivery_id) == "busy"
    assert gateway.posts == []  # the first attempt failed; the retry was not this worker's
    assert (await dsql.lease_of(store, delivery_id))[0] == "other"
