"""Crash safety: a process SIGKILLed at random moments during ingest and digest delivery, then
restarted, loses nothing, stores and posts nothing twice, and leaves a sound database.

The jobs (``tests/crash_worker.py``) run in child processes of a forkserver that imported
newsbot once; each round kills the job at seeded random delays (fractions of the time an
uninterrupted run takes, so the kills land inside the work on any machine), restarts it until
it finishes, then checks the invariants against an uninterrupted reference run.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sqlite3
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from multiprocessing.context import ForkServerContext
from pathlib import Path
from typing import Any

import pytest

from bot.delivery.channel import period_key
from bot.delivery.gateway import ChannelRef
from bot.delivery.schedules import Timing
from bot.delivery.subscriptions import Subscriptions
from bot.operations.backup import backup_database
from bot.services import open_services
from bot.storage.store import from_iso, to_iso
from tests.conftest import DUC, need
from tests.crash_worker import CRASH_EXIT, deliver_job, forkserver, ingest_job, settings_for

ARTICLES = 150
SEEDS = (101, 202, 303)
KILLS_PER_ROUND = 3
STORY_SUBSCRIPTIONS = 20  # the 150 articles form ~30 stories at the default grouping
CHANNELS = 4

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork (POSIX)")


@pytest.fixture(scope="module")
def ctx() -> ForkServerContext:
    return forkserver()


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    lines = need(DUC).read_text(encoding="utf-8").splitlines()[:ARTICLES]
    path = tmp_path_factory.mktemp("archive") / "articles.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_child(
    ctx: ForkServerContext,
    target: Callable[..., None],
    args: tuple[Any, ...],
    kill_after: float | None,
) -> int | None:
    """Run ``target(*args)`` in a child; SIGKILL it after ``kill_after`` seconds. Exit code."""
    proc = ctx.Process(target=target, args=args)
    proc.start()
    proc.join(kill_after)
    if proc.is_alive():
        assert proc.pid is not None
        os.kill(proc.pid, signal.SIGKILL)
    proc.join(30)
    return proc.exitcode


def timed_child(
    ctx: ForkServerContext, target: Callable[..., None], args: tuple[Any, ...]
) -> float:
    started = time.monotonic()
    assert run_child(ctx, target, args, None) == 0
    return time.monotonic() - started


def crash_rounds(
    ctx: ForkServerContext,
    target: Callable[..., None],
    args: tuple[Any, ...],
    *,
    seed: int,
    duration: float,
) -> int:
    """Kill the job ``KILLS_PER_ROUND`` times at seeded delays, then let it finish. Kills."""
    rng = random.Random(seed)
    kills = 0
    for _ in range(KILLS_PER_ROUND):
        code = run_child(ctx, target, args, rng.uniform(0.05, 1.0) * duration)
        assert code in (0, -signal.SIGKILL), code
        kills += code == -signal.SIGKILL
    assert run_child(ctx, target, args, None) == 0
    return kills


def check_database(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    conn.execute("INSERT INTO articles_fts(articles_fts) VALUES ('integrity-check')")
    return conn


# ------------------------------------------------------------------------------------ ingest
def ingest_state(db: Path) -> dict[str, object]:
    """What an ingest must end with, independent of row ids."""
    conn = check_database(db)
    try:
        ext = dict(conn.execute("SELECT id, ext_id FROM articles"))
        rows = conn.execute("SELECT ext_id, duplicate_of, story_id FROM articles").fetchall()
        stories: dict[int, set[str]] = {}
        for ext_id, _dup, story_id in rows:
            if story_id is not None:
                stories.setdefault(story_id, set()).add(ext_id)
        originals = conn.execute(
            "SELECT count(*) FROM articles WHERE duplicate_of IS NULL"
        ).fetchone()[0]
        indexed = conn.execute("SELECT count(*) FROM articles_fts_docsize").fetchone()[0]
        return {
            "articles": sorted((e, ext.get(d) or "") for e, d, _s in rows),
            "distinct": conn.execute("SELECT count(DISTINCT ext_id) FROM articles").fetchone()[0],
            "fts": indexed == originals,
            "stories": sorted(sorted(group) for group in stories.values()),
        }
    finally:
        conn.close()


def test_sigkill_during_ingest_loses_no_article_and_stores_none_twice(
    ctx: ForkServerContext, archive: Path, tmp_path: Path
) -> None:
    reference_db = tmp_path / "reference.db"
    duration = timed_child(ctx, ingest_job, (str(reference_db), str(archive)))
    reference = ingest_state(reference_db)
    assert reference["distinct"] == ARTICLES and reference["fts"] is True
    kills = 0
    for seed in SEEDS:
        db = tmp_path / f"crash-{seed}.db"
        kills += crash_rounds(
            ctx, ingest_job, (str(db), str(archive)), seed=seed, duration=duration
        )
        assert ingest_state(db) == reference, f"seed {seed}"
    assert kills >= len(SEEDS)  # most kills land mid-job; a run that finished first proves nothing


# ---------------------------------------------------------------------------------- delivery
@pytest.fixture(scope="module")
def delivery_base(
    ctx: ForkServerContext, archive: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, datetime]:
    """Articles ingested and one story-following subscription per big story, four channels."""
    db = tmp_path_factory.mktemp("delivery") / "base.db"
    assert run_child(ctx, ingest_job, (str(db), str(archive)), None) == 0

    async def subscribe() -> datetime:
        sv = await open_services(settings_for(str(db)))
        try:
            last = from_iso(await sv.store.scalar("SELECT max(published_at) FROM articles"))
            rows = await sv.store.fetchall(
                "SELECT id FROM stories WHERE merged_into IS NULL "
                "ORDER BY article_count DESC, id LIMIT ?",
                (STORY_SUBSCRIPTIONS,),
            )
            subs = Subscriptions(sv.store)
            for i, (story_id,) in enumerate(rows):
                await subs.add(
                    channel=ChannelRef("sink", "W", f"c{i % CHANNELS}"),
                    story_id=int(story_id),
                    timing=Timing.parse("daily 08:00", "UTC"),
                    created_by="u",
                    now=last,
                )
            return last + timedelta(days=1)
        finally:
            await sv.close()

    return db, asyncio.run(subscribe())


def sink_messages(sink: Path) -> list[dict[str, Any]]:
    if not sink.exists():
        return []
    return [json.loads(line) for line in sink.read_text(encoding="utf-8").splitlines()]


def check_deliveries(db: Path, sink: Path, period: datetime) -> None:
    """Every subscription's digest for the period posted exactly once and marked sent once."""
    conn = check_database(db)
    try:
        subs = conn.execute("SELECT id, last_digest_at FROM subscriptions").fetchall()
        rows = conn.execute(
            "SELECT subscription_id, idempotency_key, status, channel_key, payload, message_id "
            "FROM deliveries"
        ).fetchall()
        items = conn.execute(
            "SELECT delivery_id, article_id, count(*) FROM delivered_items "
            "WHERE article_id IS NOT NULL GROUP BY delivery_id, article_id HAVING count(*) > 1"
        ).fetchall()
    finally:
        conn.close()
    assert len(rows) == len(subs) == STORY_SUBSCRIPTIONS
    assert {r[1] for r in rows} == {period_key(s[0], period) for s in subs}
    assert {r[2] for r in rows} == {"sent"}
    assert {s[1] for s in subs} == {to_iso(period)}  # each period marked done
    assert items == []  # each delivery's memory written once
    expected = Counter(
        (r[3], tuple(sorted(s["id"] for s in json.loads(r[4])["digest"]["stories"]))) for r in rows
    )
    messages = [m for m in sink_messages(sink) if not m.get("replayed")]
    posted = Counter((m["channel"], tuple(m["stories"])) for m in messages)
    assert posted == expected, "a digest was lost or posted twice"
    assert {r[5] for r in rows} == {m["id"] for m in messages}  # sent rows name the real post


def fresh_copy(base: Path, dest: Path) -> Path:
    backup_database(base, dest)
    return dest


def test_sigkill_during_delivery_loses_no_digest_and_posts_none_twice(
    ctx: ForkServerContext, delivery_base: tuple[Path, datetime], tmp_path: Path
) -> None:
    base, period = delivery_base
    ref_db, ref_sink = fresh_copy(base, tmp_path / "ref.db"), tmp_path / "ref.sink"
    duration = timed_child(ctx, deliver_job, (str(ref_db), str(ref_sink), period, period))
    check_deliveries(ref_db, ref_sink, period)
    kills = 0
    for seed in SEEDS:
        db, sink = fresh_copy(base, tmp_path / f"crash-{seed}.db"), tmp_path / f"{seed}.sink"
        args = (str(db), str(sink), period, period)
        kills += crash_rounds(ctx, deliver_job, args, seed=seed, duration=duration)
        check_deliveries(db, sink, period)
    assert kills >= len(SEEDS)


@pytest.mark.parametrize("crash_after", [1, 7, STORY_SUBSCRIPTIONS])
def test_a_crash_between_post_and_sent_mark_does_not_post_twice(
    ctx: ForkServerContext, delivery_base: tuple[Path, datetime], tmp_path: Path, crash_after: int
) -> None:
    """The ambiguous window: the platform has the message, the outbox row is still pending.
    On restart the outbox posts again with the same idempotency key and the platform answers
    with the first message instead of posting a second one."""
    base, period = delivery_base
    db, sink = fresh_copy(base, tmp_path / "w.db"), tmp_path / "w.sink"
    code = run_child(ctx, deliver_job, (str(db), str(sink), period, period, crash_after), None)
    assert code == CRASH_EXIT
    assert run_child(ctx, deliver_job, (str(db), str(sink), period, period), None) == 0
    check_deliveries(db, sink, period)
    assert sum(1 for m in sink_messages(sink) if m.get("replayed")) == 1
