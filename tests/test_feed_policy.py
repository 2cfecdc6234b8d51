"""Feed poll policy (reliability bar F1-F3, F8, F10-F12, F15, F17, F18, P1, P4, P5).

Pure rules are checked with a seeded RNG and a fixed clock; the poller runs against the local
feed server, a real SQLite file and the real Ingestor.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from bot.app import make_poller, register_configured_feeds
from bot.delivery.outbox import Outbox
from bot.ingestion.ingest import Ingestor
from bot.ingestion.polling import (
    FeedPoller,
    FeedState,
    OutcomeKind,
    PollOutcome,
    PollSettings,
    SourceInfo,
    backoff_delay,
    clamp_interval,
    decide,
    jittered,
)
from bot.net.ssrf import BlockedAddress, NetworkPolicy
from bot.services import open_services
from bot.settings import FetchSettings, Settings
from bot.sources.http import Fetcher
from bot.storage import Store
from bot.storage.sources import SourceRepo
from bot.storage.store import from_iso
from tests.feedserver import FeedRequestHandler, FeedServer

NOW = datetime(2026, 8, 22, 9, 0, tzinfo=UTC)
NO_JITTER = PollSettings(jitter=0)
FETCH = FetchSettings(connect_timeout=1.0, read_timeout=0.5, max_redirects=3)


# --- pure rules ------------------------------------------------------------------------------


def test_backoff_doubles_from_five_minutes_and_caps_at_a_day() -> None:
    rng = random.Random(1)
    delays = [backoff_delay(n, NO_JITTER, rng) for n in range(1, 12)]
    assert delays[:5] == [300, 600, 1200, 2400, 4800]
    assert delays[-1] == 86400 and max(delays) == 86400


def test_jitter_spreads_feeds_within_ten_percent() -> None:
    rng = random.Random(7)
    times = [jittered(1800, 0.1, rng) for _ in range(100)]
    assert all(1620 <= t <= 1980 for t in times)
    bins = [0] * 6  # 60-second buckets across the ±180 s window: spread out, not one burst
    for t in times:
        bins[min(int((t - 1620) // 60), 5)] += 1
    assert min(bins) >= 5


def test_intervals_are_clamped_to_fifteen_minutes_and_a_day() -> None:
    assert clamp_interval(60, PollSettings()) == 900
    assert clamp_interval(7 * 86400, PollSettings()) == 86400
    assert clamp_interval(3600, PollSettings()) == 3600


def test_durations_accept_units() -> None:
    settings = PollSettings(disable_after="3d", min_interval="15m", backoff_base=300)
    assert settings.disable_after == 3 * 86400 and settings.min_interval == 900


@pytest.mark.parametrize(("asked", "expected"), [(120, 900), (5000, 5000), (99999999, 86400)])
def test_retry_after_is_honoured_clamped_and_not_a_failure(asked: float, expected: float) -> None:
    state = FeedState(900, consecutive_failures=2, first_failure_at=NOW - timedelta(hours=1))
    outcome = PollOutcome("throttled", "HTTP 429", 429, asked)
    d = decide(state, outcome, now=NOW, settings=NO_JITTER, rng=random.Random(0))
    assert d.next_fetch_at == NOW + timedelta(seconds=expected)
    assert d.next_fetch_at >= NOW + timedelta(seconds=min(asked, 86400))
    assert d.consecutive_failures == 2 and not d.disable


def test_success_resets_the_failure_count() -> None:
    state = FeedState(1800, consecutive_failures=5, first_failure_at=NOW - timedelta(days=1))
    kinds: tuple[OutcomeKind, ...] = ("ok", "not_modified", "unchanged")
    for kind in kinds:
        d = decide(state, PollOutcome(kind), now=NOW, settings=NO_JITTER, rng=random.Random(0))
        assert d.consecutive_failures == 0 and d.first_failure_at is None
        assert d.next_fetch_at == NOW + timedelta(seconds=1800)


def test_disable_needs_both_ten_failures_and_three_days() -> None:
    settings, rng = NO_JITTER, random.Random(0)
    state, now, history = FeedState(900), NOW, []
    while True:
        d = decide(state, PollOutcome("failed", "HTTP 500"), now=now, settings=settings, rng=rng)
        history.append(d)
        if d.disable:
            break
        state = FeedState(900, d.consecutive_failures, d.first_failure_at)
        now = d.next_fetch_at
    assert len(history) >= 10
    assert (now - NOW) >= timedelta(days=3)
    assert not any(h.disable for h in history[:-1])
    assert history[-1].reason == "HTTP 500"
    # ten failures inside one day are not enough
    quick = FeedState(900, 20, NOW - timedelta(hours=20))
    assert not decide(quick, PollOutcome("failed"), now=NOW, settings=settings, rng=rng).disable


def test_gone_disables_at_once() -> None:
    d = decide(
        FeedState(900),
        PollOutcome("gone", "HTTP 410 Gone", 410),
        now=NOW,
        settings=PollSettings(),
        rng=random.Random(0),
    )
    assert d.disable and d.consecutive_failures == 1


# --- the poller against the local server -------------------------------------------------------


async def open_store(path: Path) -> Store:
    return await Store.open(path)


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now


def rss(items: list[tuple[str, str, datetime]], title: str = "Test Wire") -> bytes:
    """Items as (guid, title, published); each has a link derived from its title."""
    body = "".join(
        f"<item><guid>{g}</guid><title>{t}</title>"
        f"<link>https://news.example/{t.replace(' ', '-').lower()}</link>"
        f"<pubDate>{format_datetime(p)}</pubDate>"
        f"<description>{t}. {' '.join(t.split()[::-1])} reported on {p:%A}.</description>"
        "</item>"
        for g, t, p in items
    )
    return (
        f"<?xml version='1.0'?><rss version='2.0'><channel><title>{title}</title>"
        f"<link>https://news.example/</link>{body}</channel></rss>"
    ).encode()


ITEMS = [
    (f"g{i}", f"Harbour bridge story number {i} {word}", NOW - timedelta(hours=i))
    for i, word in enumerate(["opens", "closes", "floods", "reopens", "sways", "shines"])
]


@dataclass
class Rig:
    store: Store
    poller: FeedPoller
    server: FeedServer
    clock: Clock
    notices: list[tuple[SourceInfo, str]]

    async def add(self, url: str, *, workspace: str = "g1", interval: float = 900) -> int:
        async with self.store.transaction() as conn:
            return await self.store.upsert_source(
                conn,
                kind="feed",
                locator=url,
                workspace=workspace,
                interval_s=interval,
                now=self.clock(),
            )

    async def state(self, source_id: int) -> dict[str, object]:
        rows = await self.store.fetch_dicts("SELECT * FROM sources WHERE id = ?", (source_id,))
        return rows[0]

    async def backfill_flags(self, source_id: int) -> list[int]:
        rows = await self.store.fetchall(
            "SELECT backfill FROM articles WHERE source_id = ? ORDER BY id", (source_id,)
        )
        return [r[0] for r in rows]


@pytest.fixture
def server() -> Iterator[FeedServer]:
    s = FeedServer().start()
    yield s
    s.close()


@pytest.fixture
async def rig(tmp_path: Path, server: FeedServer) -> AsyncIterator[Rig]:
    store = await open_store(tmp_path / "poll.db")
    clock = Clock()
    notices: list[tuple[SourceInfo, str]] = []

    async def notify(source: SourceInfo, message: str) -> None:
        notices.append((source, message))

    port = server.base_url.rsplit(":", 1)[1]
    poller = FeedPoller(
        store,
        Ingestor(store, Settings(), clock=clock),
        PollSettings(),
        Fetcher(FETCH, policy=NetworkPolicy([f"127.0.0.1:{port}"]), clock=clock),
        notify=notify,
        clock=clock,
        rng=random.Random(3),
    )
    yield Rig(store, poller, server, clock, notices)
    await poller.aclose()
    await store.close()


async def test_first_fetch_stores_everything_and_marks_it_backfill(rig: Rig) -> None:
    sid = await rig.add(rig.server.add_file("wire.xml", rss(ITEMS)))
    result = (await rig.poller.poll_due())[0]
    assert result.outcome.kind == "ok" and result.stored == len(ITEMS)
    assert await rig.backfill_flags(sid) == [1] * len(ITEMS)


async def test_first_fetch_can_let_the_newest_items_through(rig: Rig) -> None:
    rig.poller.settings = PollSettings(first_fetch_new_items=2)
    sid = await rig.add(rig.server.add_file("wire.xml", rss(ITEMS)))
    await rig.poller.poll_due()
    assert await rig.backfill_flags(sid) == [0, 0, 1, 1, 1, 1]  # ITEMS are newest first


async def test_rewritten_guids_new_dates_and_republished_items_store_nothing_new(rig: Rig) -> None:
    sid = await rig.add(rig.server.add_file("wire.xml", rss(ITEMS)))
    await rig.poller.poll_due()
    rig.clock.now += timedelta(hours=1)
    rotated = [(f"new-{g}", t, p + timedelta(days=1)) for g, t, p in ITEMS]
    fresh = ("g-fresh", "Ferry service resumes after the harbour storm", rig.clock.now)
    old = ("g-old", "Archive piece about lighthouse keepers", NOW - timedelta(days=30))
    rig.server.add_file("wire.xml", rss([*rotated, fresh, old]))
    await rig.poller.poll_source_id(sid)
    flags = await rig.backfill_flags(sid)
    assert len(flags) == len(ITEMS) + 2  # only the two genuinely new items were stored
    assert flags[-2:] == [0, 1]  # the fresh one may be digested; the 30-day-old one not


async def test_conditional_get_sends_validators_and_304_skips_parsing(rig: Rig) -> None:
    sid = await rig.add(rig.server.add_file("wire.xml", rss(ITEMS)))
    await rig.poller.poll_due()
    rig.clock.now += timedelta(minutes=20)
    result = (await rig.poller.poll_due())[0]
    headers = rig.server.requests[-1].headers
    assert "if-none-match" in headers and "if-modified-since" in headers
    assert result.outcome.kind == "not_modified" and result.stored == 0
    state = await rig.state(sid)
    assert state["consecutive_failures"] == 0 and state["last_error"] is None


async def test_identical_body_without_validators_is_not_parsed_again(rig: Rig) -> None:
    data = rss(ITEMS)
    url = rig.server.route(
        "/plain", lambda req: req.reply(200, data, {"Content-Type": "application/rss+xml"})
    )
    await rig.add(url)
    assert (await rig.poller.poll_due())[0].outcome.kind == "ok"
    rig.clock.now += timedelta(minutes=20)
    assert (await rig.poller.poll_due())[0].outcome.kind == "unchanged"


async def test_a_full_fetch_is_forced_every_twelve_hours(rig: Rig) -> None:
    sid = await rig.add(rig.server.add_file("wire.xml", rss(ITEMS)))
    await rig.poller.poll_due()
    rig.clock.now += timedelta(hours=13)
    await rig.poller.poll_source_id(sid)
    assert "if-none-match" not in rig.server.requests[-1].headers


@pytest.mark.parametrize(
    "retry_after", ["120", format_datetime(NOW + timedelta(seconds=7200), usegmt=True)]
)
async def test_429_waits_as_asked_does_not_count_and_holds_the_whole_host(
    rig: Rig, retry_after: str
) -> None:
    throttled = await rig.add(rig.server.url(f"/status/429?retry_after={retry_after}"))
    sibling = await rig.add(rig.server.add_file("wire.xml", rss(ITEMS)))
    results = {r.source_id: r for r in await rig.poller.poll_due()}
    state = await rig.state(throttled)
    assert results[throttled].outcome.kind == "throttled"
    assert state["consecutive_failures"] == 0
    wait = (from_iso(str(state["next_fetch_at"])) - NOW).total_seconds()
    assert wait >= 900 if retry_after == "120" else wait >= 7100
    assert results[sibling].outcome.kind in ("ok", "throttled")
    rig.clock.now += timedelta(seconds=1000)
    before = len(rig.server.requests)
    # the sibling is due again while the host is still throttled (date form): it waits
    again = await rig.poller.poll_source_id(sibling)
    if retry_after != "120":
        assert again.skipped and len(rig.server.requests) == before


async def test_a_broken_feed_backs_off_then_is_disabled_once_and_can_be_re_enabled(
    rig: Rig,
) -> None:
    sid = await rig.add(rig.server.url("/status/500"))
    waits = []
    for _ in range(40):
        results = await rig.poller.poll_due()
        if not results:
            break
        state = await rig.state(sid)
        if not state["enabled"]:
            break
        nxt = from_iso(str(state["next_fetch_at"]))
        waits.append((nxt - rig.clock.now).total_seconds())
        rig.clock.now = nxt
    state = await rig.state(sid)
    assert state["enabled"] == 0 and "HTTP 500" in str(state["last_error"])
    assert int(str(state["consecutive_failures"])) >= 10
    assert rig.clock.now - NOW >= timedelta(days=3)
    assert waits[0] <= 330 and waits[1] > waits[0] and max(waits) <= 86400
    assert len(rig.notices) == 1 and rig.notices[0][0].id == sid
    assert "disabled" in rig.notices[0][1] and "HTTP 500" in rig.notices[0][1]
    rig.clock.now += timedelta(days=2)
    assert await rig.poller.poll_due() == []  # disabled feeds are not polled
    assert len(rig.notices) == 1
    assert await SourceRepo(rig.store).enable(sid, now=rig.clock.now)
    state = await rig.state(sid)
    assert state["enabled"] == 1 and state["consecutive_failures"] == 0
    assert [r.source_id for r in await rig.poller.poll_due()] == [sid]


async def test_410_disables_at_once_and_notifies_once(rig: Rig) -> None:
    sid = await rig.add(rig.server.url("/status/410"))
    await rig.poller.poll_due()
    await rig.poller.poll_source_id(sid)  # even if polled again by hand: no second notice
    assert (await rig.state(sid))["enabled"] == 0
    assert len(rig.notices) == 1 and "410" in rig.notices[0][1]


@pytest.mark.parametrize(
    ("route", "reply"),
    [
        ("/empty", (200, b"", {"Content-Type": "application/rss+xml"})),
        (
            "/html",
            (200, b"<!doctype html><html><body>hi</body></html>", {"Content-Type": "text/html"}),
        ),
        ("/challenge", (403, b"<html>checking</html>", {"cf-mitigated": "challenge"})),
    ],
)
async def test_non_feeds_are_failures_that_store_nothing(
    rig: Rig, route: str, reply: tuple[int, bytes, dict[str, str]]
) -> None:
    def handler(req: FeedRequestHandler) -> None:
        req.reply(*reply)

    sid = await rig.add(rig.server.route(route, handler))
    result = (await rig.poller.poll_due())[0]
    assert result.outcome.kind == "failed" and result.stored == 0
    state = await rig.state(sid)
    assert state["consecutive_failures"] == 1 and state["last_error"]
    assert state["body_hash"] is None  # seen-state untouched


async def test_one_hanging_and_one_failing_feed_do_not_hold_up_the_others(rig: Rig) -> None:
    await rig.add(rig.server.url("/slow/3"))
    await rig.add(rig.server.url("/status/500"))
    for i in range(6):
        await rig.add(rig.server.add_file(f"ok{i}.xml", rss(ITEMS[i : i + 1], title=f"W{i}")))
    results = await rig.poller.poll_due()
    kinds = sorted(r.outcome.kind for r in results)
    assert kinds == ["failed", "failed"] + ["ok"] * 6


async def test_a_user_feed_pointing_at_a_private_address_is_refused(rig: Rig) -> None:
    canary = FeedServer().start()
    try:
        sid = await rig.add(canary.add_file("f.xml", rss(ITEMS)))
        result = (await rig.poller.poll_due())[0]
    finally:
        canary.close()
    assert result.outcome.kind == "failed" and "refusing" in str(result.outcome.error)
    assert canary.requests == []
    assert (await rig.state(sid))["consecutive_failures"] == 1


async def test_a_configured_feed_on_loopback_is_refused_by_runs_poller_with_the_same_line(
    tmp_path: Path, server: FeedServer
) -> None:
    """``[[feeds]]`` polled by ``run`` meet the policy of ``newsbot ingest`` and ``sources add``."""
    url = server.add_file("wire.xml", rss(ITEMS)).replace("127.0.0.1", "2130706433", 1)
    settings = Settings.model_validate(
        {
            "database": {"path": str(tmp_path / "n.db")},
            "seeds": {"folders": []},
            "feeds": [{"url": url}],
        }
    )
    with pytest.raises(BlockedAddress) as refused:
        NetworkPolicy(settings.network.allow).check_url(url)  # what `/news sources add` says
    sv = await open_services(settings)
    await register_configured_feeds(sv)
    poller = make_poller(sv, Outbox(sv.store))
    try:
        (result,) = await poller.poll_due()
    finally:
        await poller.aclose()
        await sv.close()
    assert result.outcome.kind == "failed"
    assert result.outcome.error == f"{url}: {refused.value}"
    assert "refusing to connect to 127.0.0.1: loopback address" in str(result.outcome.error)
    assert server.requests == []
