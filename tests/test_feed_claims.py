"""Feed claims of workers sharing one database, one suite over both backends (SQLite always,
PostgreSQL when ``NEWSBOT_TEST_POSTGRES_DSN`` is set): each worker is its own connection (a
``Store``), as separate processes are; one test runs real processes on a SQLite file."""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.ingestion.ingest import Ingestor
from bot.ingestion.polling import FeedPoller
from bot.net.ssrf import NetworkPolicy
from bot.settings import FetchSettings, PollSettings, Settings
from bot.sources.http import Fetcher
from bot.storage import Store
from bot.storage.sources import FetchRecord, Schedule, SourceRepo
from tests.feedserver import FeedServer
from tests.ingest_procs import env_for

NOW = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)
LEASE = 60.0


@pytest.fixture
def target(db_target: str) -> str:
    return db_target


@pytest.fixture
async def workers(target: str) -> AsyncIterator[tuple[Store, Store]]:
    """Two connections to one database: worker A's and worker B's."""
    a = await Store.open(target)
    b = await Store.open(target)
    try:
        yield a, b
    finally:
        await a.close()
        await b.close()


async def _feeds(store: Store, n: int, host: str = "feeds.test") -> list[int]:
    async with store.write() as txn:
        return [
            await txn.upsert_source(kind="feed", locator=f"https://{host}/{i}.xml", now=NOW)
            for i in range(n)
        ]


async def test_two_workers_claim_disjoint_due_feeds_and_together_all_of_them(
    workers: tuple[Store, Store],
) -> None:
    a, b = SourceRepo(workers[0]), SourceRepo(workers[1])
    ids = await _feeds(workers[0], 6)
    got_a = await a.claim_due(NOW, worker="A", lease_s=LEASE, limit=4)
    got_b = await b.claim_due(NOW, worker="B", lease_s=LEASE, limit=4)
    assert [f.id for f in got_a] == ids[:4]  # soonest (never scheduled) first, by id
    assert [f.id for f in got_b] == ids[4:]
    assert await a.claim_due(NOW, worker="A", lease_s=LEASE, limit=4) == []
    claims = await a.claims()
    assert {i: w for i, (w, _) in claims.items()} == {i: "A" if i in ids[:4] else "B" for i in ids}

    # claimed at the same time, one at a time until none is left: each feed exactly once
    more = await _feeds(workers[0], 20, host="more.test")

    async def drain(repo: SourceRepo, name: str) -> list[int]:
        out: list[int] = []
        while claimed := await repo.claim_due(NOW, worker=name, lease_s=LEASE, limit=1):
            out.append(claimed[0].id)
            await asyncio.sleep(0)
        return out

    ours, theirs = await asyncio.gather(drain(a, "A"), drain(b, "B"))
    assert sorted(ours + theirs) == more
    assert not set(ours) & set(theirs)


async def test_a_claim_whose_lease_ended_is_taken_over_and_the_late_record_is_dropped(
    workers: tuple[Store, Store],
) -> None:
    a, b = SourceRepo(workers[0]), SourceRepo(workers[1])
    (sid,) = await _feeds(workers[0], 1)
    assert [f.id for f in await a.claim_due(NOW, worker="A", lease_s=LEASE, limit=5)] == [sid]
    half = NOW + timedelta(seconds=LEASE / 2)
    assert await b.claim_due(half, worker="B", lease_s=LEASE, limit=5) == []
    assert await b.claim(sid, half, worker="B", lease_s=LEASE) is None  # not even by hand
    later = NOW + timedelta(seconds=LEASE + 1)  # A died mid-poll: its lease ended
    assert [f.id for f in await b.claim_due(later, worker="B", lease_s=LEASE, limit=5)] == [sid]
    assert not await a.renew(sid, worker="A", until=later + timedelta(seconds=LEASE))
    schedule = Schedule(next_fetch_at=later + timedelta(hours=1), consecutive_failures=0,
                        first_failure_at=None)  # fmt: skip
    # A comes back late: its outcome is not stored, B's claim stays
    await a.record(sid, FetchRecord(at=later, ok=False, error="late"), schedule, worker="A")
    row = await a.feed(sid)
    assert row is not None and row.last_ok_at is None and row.consecutive_failures == 0
    assert (await a.claims())[sid][0] == "B"
    await b.record(sid, FetchRecord(at=later, ok=True), schedule, worker="B")
    row = await a.feed(sid)
    assert row is not None and row.last_ok_at == later
    assert await a.claims() == {}  # the record ended the claim
    assert await a.claim_due(later, worker="A", lease_s=LEASE, limit=5) == []  # not due yet


async def test_backoff_and_disable_recorded_by_one_worker_are_what_another_reads(
    workers: tuple[Store, Store],
) -> None:
    a, b = SourceRepo(workers[0]), SourceRepo(workers[1])
    (sid,) = await _feeds(workers[0], 1)
    await a.claim_due(NOW, worker="A", lease_s=LEASE, limit=1)
    retry = NOW + timedelta(seconds=300)
    failed = Schedule(next_fetch_at=retry, consecutive_failures=1, first_failure_at=NOW)
    await a.record(sid, FetchRecord(at=NOW, ok=False, error="HTTP 500"), failed, worker="A")
    assert await b.claim_due(retry - timedelta(seconds=1), worker="B", lease_s=LEASE, limit=1) == []
    (row,) = await b.claim_due(retry, worker="B", lease_s=LEASE, limit=1)
    assert row.consecutive_failures == 1 and row.first_failure_at == NOW  # B backs off from 1
    gone = Schedule(next_fetch_at=retry, consecutive_failures=2, first_failure_at=NOW,
                    disable_reason="HTTP 410 Gone")  # fmt: skip
    assert await b.record(sid, FetchRecord(at=retry, ok=False, error="410"), gone, worker="B")
    far = retry + timedelta(days=30)
    assert await a.claim_due(far, worker="A", lease_s=LEASE, limit=1) == []  # disabled for all


async def test_a_throttled_host_defers_its_feeds_for_every_worker(
    workers: tuple[Store, Store],
) -> None:
    a, b = SourceRepo(workers[0]), SourceRepo(workers[1])
    slow = await _feeds(workers[0], 3, host="slow.test")
    other = await _feeds(workers[0], 1, host="fine.test")
    until = NOW + timedelta(hours=1)
    assert sorted(await a.defer_host("slow.test", until, except_id=slow[0])) == slow[1:]
    due = await b.claim_due(NOW, worker="B", lease_s=LEASE, limit=10)
    assert sorted(f.id for f in due) == [slow[0], *other]


async def test_at_start_sqlite_ends_a_crashed_runs_claims_and_postgresql_keeps_others(
    workers: tuple[Store, Store],
) -> None:
    (sid,) = await _feeds(workers[0], 1)
    assert await SourceRepo(workers[0]).claim_due(NOW, worker="A", lease_s=LEASE, limit=1)
    settings = PollSettings()
    poller = FeedPoller(workers[1], Ingestor(workers[1], Settings()), settings,
                        Fetcher(FetchSettings()), clock=lambda: NOW, worker="B")  # fmt: skip
    try:
        ended = await poller.recover()
    finally:
        await poller.aclose()
    claims = await SourceRepo(workers[1]).claims()
    if workers[1].postgres:  # A may be another worker, alive
        assert ended == 0 and claims[sid][0] == "A"
    else:  # one process: A was this run before a crash
        assert ended == 1 and claims == {}


# --- the poller: two workers polling one database's feeds ----------------------------------


def _rss(n: int, tag: str) -> bytes:
    items = "".join(
        f"<item><guid>{tag}-{i}</guid><title>{tag} harbour report {i}</title>"
        f"<link>https://news.example/{tag}/{i}</link>"
        f"<description>The {tag} harbour report number {i} about tides.</description></item>"
        for i in range(n)
    )
    return (
        "<?xml version='1.0'?><rss version='2.0'><channel><title>T</title>"
        f"<link>https://news.example/</link>{items}</channel></rss>"
    ).encode()


async def test_two_pollers_on_one_database_fetch_each_due_feed_once(
    workers: tuple[Store, Store],
) -> None:
    server = FeedServer().start()
    try:
        urls = [server.add_file(f"f{i}.xml", _rss(3, f"f{i}")) for i in range(8)]
        async with workers[0].write() as txn:
            for url in urls:
                await txn.upsert_source(kind="feed", locator=url, now=NOW)
        port = server.base_url.rsplit(":", 1)[1]
        settings = PollSettings(max_concurrent=3)
        fetch = FetchSettings(connect_timeout=2.0, read_timeout=2.0)
        pollers = [
            FeedPoller(
                store,
                Ingestor(store, Settings()),
                settings,
                Fetcher(fetch, policy=NetworkPolicy([f"127.0.0.1:{port}"])),
                clock=lambda: NOW,
                rng=random.Random(i),
                worker=name,
            )
            for i, (name, store) in enumerate(zip("AB", workers, strict=True))
        ]
        try:
            first, second = await asyncio.gather(*(p.poll_due() for p in pollers))
            again = await asyncio.gather(*(p.poll_due() for p in pollers))
        finally:
            for p in pollers:
                await p.aclose()
        polled = Counter(r.source_id for r in [*first, *second])
        assert len(polled) == len(urls) and set(polled.values()) == {1}
        assert again == [[], []]  # not due again within the interval
        fetched = Counter(r.path for r in server.requests)
        assert len(fetched) == len(urls) and set(fetched.values()) == {1}
        store = workers[0]
        assert await store.scalar("SELECT count(*) FROM articles") == 3 * len(urls)
        assert await SourceRepo(store).claims() == {}
    finally:
        server.close()


# --- SQLite across real processes ------------------------------------------------------------

_CLAIMER = """
import asyncio, json, os, sys, time
from datetime import datetime
from bot.storage import Store
from bot.storage.sources import SourceRepo

async def main(db, name, go, now):
    store = await Store.open(db)
    repo, got = SourceRepo(store), []
    while not os.path.exists(go):
        time.sleep(0.005)
    while claimed := await repo.claim_due(now, worker=name, lease_s=60, limit=1):
        got.append(claimed[0].id)
    await store.close()
    print(json.dumps(got))

asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], datetime.fromisoformat(sys.argv[4])))
"""


def test_sqlite_claims_across_processes_give_each_feed_to_one_process(tmp_path: Path) -> None:
    db = tmp_path / "procs.db"

    async def setup() -> list[int]:
        async with await Store.open(db) as store:
            return await _feeds(store, 60)

    ids = asyncio.run(setup())
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _CLAIMER, str(db), name, str(go), NOW.isoformat()],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env_for(),
        )
        for name in ("P1", "P2", "P3")
    ]
    time.sleep(0.5)  # let them import and open the database
    go.touch()
    claimed: list[list[int]] = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        claimed.append(json.loads(out))
    assert sorted(i for got in claimed for i in got) == ids  # each feed once, none lost
