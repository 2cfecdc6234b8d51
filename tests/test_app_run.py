"""`newsbot run`: starts without chat credentials (console), stops cleanly on SIGTERM keeping the
outbox, registers one digest job per subscription, and sends a missed digest once on start."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from bot.app import DigestJobs, Jobs
from bot.delivery.console import ConsoleGateway
from bot.delivery.gateway import ChannelRef
from bot.delivery.outbox import Outbox
from bot.delivery.schedules import Timing
from bot.delivery.subscriptions import Subscriptions
from bot.digest.compose import Composed
from bot.digest.model import Digest, StoryDigest
from bot.models import utcnow
from bot.operations.jobs import job_ids, make_scheduler
from bot.services import open_services
from bot.settings import SECRET_NAMES, Settings
from bot.storage.store import to_iso
from tests.conftest import REPO, SEEDS, need


def digest_of(title: str) -> Composed:
    story = StoryDigest(id="s-0001", title=title, known=False, outlets=["AP"])
    return Composed(Digest(channel="c", generated_at=utcnow(), stories=[story]), [])


async def seed_outbox(db: Path) -> None:
    sv = await open_services(Settings.model_validate({"database": {"path": str(db)}}))
    outbox = Outbox(sv.store)
    await outbox.enqueue(
        digest_of("for discord"), channel=ChannelRef("discord", "G", "C"), idempotency_key="d"
    )
    await outbox.enqueue(
        digest_of("for the console"),
        channel=ChannelRef("console", "", "console"),
        idempotency_key="c",
    )
    await sv.close()


def test_sigterm_stops_the_bot_cleanly_and_keeps_what_it_could_not_send(tmp_path: Path) -> None:
    db = tmp_path / "run.db"
    asyncio.run(seed_outbox(db))
    config = tmp_path / "newsbot.toml"
    config.write_text(f'[database]\npath = "{db}"\n[seeds]\nfolders = []\n')
    env = {k: v for k, v in os.environ.items() if k not in SECRET_NAMES}
    env.update({"NEWSBOT_CONFIG": str(config), "NEWSBOT_LOG_LEVEL": "INFO"})
    for name in SECRET_NAMES:
        env.pop(f"{name}_FILE", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "newsbot running" in line:
            break
    assert any("newsbot running" in line for line in lines), "".join(lines)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    log = "".join(lines) + out
    assert proc.returncode == 0, log
    assert "stopped" in log and "Traceback" not in log
    assert "for the console" in log  # the console channel logged the pending console digest

    async def statuses() -> dict[str, str]:
        sv = await open_services(Settings.model_validate({"database": {"path": str(db)}}))
        rows = await sv.store.fetchall("SELECT idempotency_key, status FROM deliveries")
        await sv.close()
        return {r[0]: r[1] for r in rows}

    assert asyncio.run(statuses()) == {"d": "pending", "c": "sent"}


async def test_one_digest_job_per_enabled_subscription_follows_changes(tmp_path: Path) -> None:
    sv = await open_services(
        Settings.model_validate({"database": {"path": str(tmp_path / "j.db")}})
    )
    subs = Subscriptions(sv.store)
    scheduler = make_scheduler()
    jobs = DigestJobs(sv, Outbox(sv.store), scheduler, Jobs())
    channel = ChannelRef("slack", "T", "C")
    a = await subs.add(
        channel=channel,
        topic_query="quake",
        timing=Timing.parse("hourly", "UTC"),
        created_by="u",
        now=utcnow(),
    )
    b = await subs.add(
        channel=channel,
        topic_query="flood",
        timing=Timing.parse("daily 08:00", "Asia/Tokyo"),
        created_by="u",
        now=utcnow(),
    )
    await jobs.reconcile()
    assert job_ids(scheduler, "digest-") == {f"digest-{a.id}", f"digest-{b.id}"}
    await subs.remove(a)
    await subs.disable_channel(ChannelRef("slack", "T", "other"))
    await jobs.reconcile()
    assert job_ids(scheduler, "digest-") == {f"digest-{b.id}"}
    await sv.close()


async def test_a_digest_missed_while_down_is_sent_once_on_start(tmp_path: Path) -> None:
    need(SEEDS)
    settings = Settings.model_validate(
        {"database": {"path": str(tmp_path / "m.db")}, "seeds": {"folders": [str(SEEDS)]}}
    )
    sv = await open_services(settings)
    await sv.sync_seeds()
    story = await sv.store.scalar("SELECT id FROM stories ORDER BY id LIMIT 1")
    channel = ChannelRef("console", "", "console")
    subs = Subscriptions(sv.store)
    created = utcnow() - timedelta(hours=5)
    sub = await subs.add(
        channel=channel,
        story_id=int(story),
        created_by="u",
        now=created,
        timing=Timing.parse("hourly", "UTC"),
    )
    # The bot ran until 3 hours ago, then was down for three hourly digests.
    due_before = Timing.parse("hourly", "UTC").last_fire(utcnow() - timedelta(hours=3))
    assert due_before is not None
    await subs.mark_digest(sub.id, due_before)

    gateway = ConsoleGateway(sink=lambda text: None)
    for _start in range(2):  # two starts in a row: the second finds nothing missed
        outbox = Outbox(sv.store, {"console": gateway}, min_interval=0)
        await DigestJobs(sv, outbox, make_scheduler(), Jobs()).send_missed()
    assert len(gateway.posted) == 1
    keys = [r[0] for r in await sv.store.fetchall("SELECT idempotency_key FROM deliveries")]
    latest = Timing.parse("hourly", "UTC").last_fire(utcnow())
    assert latest is not None and keys == [f"sub-{sub.id}:{to_iso(latest)}"]
    # The scheduled job firing for the same period again changes nothing.
    jobs = DigestJobs(sv, Outbox(sv.store, {"console": gateway}), make_scheduler(), Jobs())
    assert await jobs.run(sub.id) in ("duplicate", "empty")
    assert len(gateway.posted) == 1
    await sv.close()
