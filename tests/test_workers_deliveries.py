"""Several workers on one PostgreSQL database deliver each digest once.

Two real ``newsbot run`` workers and one (fake) Discord: one is SIGKILLed while Discord holds
its post; the survivor sends the stranded digest once its lease expires, and every digest
reaches its channel exactly once (Discord's ``nonce`` with ``enforce_nonce`` answers the
repeat with the first message). The same on one (fake) Slack, which has no nonce: the
survivor finds the stranded message by its metadata in the channel's history and posts
nothing again. In one process, two services on two connections stand for two
workers: a channel's digests are composed in turn (the advisory lock of ``Outbox.turn``) and a
subscription's period is claimed once.

Skips with tests/pgtest.py's reason when ``NEWSBOT_TEST_POSTGRES_DSN`` is unset.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from datetime import timedelta
from pathlib import Path

from bot.delivery.channel import Target, manual_key, run_subscription, tell_channel
from bot.delivery.console import ConsoleGateway
from bot.delivery.gateway import ChannelRef
from bot.delivery.schedules import Timing
from bot.delivery.subscriptions import Subscriptions
from bot.models import utcnow
from bot.services import Services, open_services
from bot.settings import SECRET_NAMES, Settings
from tests.conftest import DUC, REPO, need
from tests.fake_discord import FakeDiscord
from tests.fake_slack import FakeSlack

ARTICLES = 40
SUBSCRIPTIONS = 3
LEASE_S = 3


def _settings(url: str) -> Settings:
    return Settings.model_validate({"database": {"url": url}, "seeds": {"folders": []}})


async def _ingest(sv: Services) -> None:
    lines = need(DUC).read_text(encoding="utf-8").splitlines()[:ARTICLES]
    archive = Path(os.environ.get("TMPDIR", "/tmp")) / f"nb-workers-{os.getpid()}.jsonl"
    archive.write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        await sv.ingestor.ingest(str(archive))
    finally:
        archive.unlink()


async def _prepare(url: str, channels: list[ChannelRef]) -> list[int]:
    """Articles, and one hourly story-following subscription per channel created two hours
    ago: each worker's start sends its missed digest of the last hour (the same period)."""
    sv = await open_services(_settings(url))
    try:
        await _ingest(sv)
        rows = await sv.store.fetchall(
            "SELECT id FROM stories WHERE merged_into IS NULL "
            "ORDER BY article_count DESC, id LIMIT ?",
            (SUBSCRIPTIONS,),
        )
        subs = Subscriptions(sv.store)
        ids = []
        for (story_id,), channel in zip(rows, channels, strict=False):
            sub = await subs.add(
                channel=channel,
                story_id=int(story_id),
                timing=Timing.parse("hourly", "UTC"),
                created_by="u",
                now=utcnow() - timedelta(hours=2),
            )
            ids.append(sub.id)
        return ids
    finally:
        await sv.close()


def _env(tmp_path: Path, url: str, name: str, chat: dict[str, str]) -> dict[str, str]:
    config = tmp_path / f"{name}.toml"
    config.write_text(
        f'[database]\nurl = "{url}"\n[seeds]\nfolders = []\n[health]\nenabled = false\n'
        f"[outbox]\nlease = {LEASE_S}\nflush_interval = 1\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if k not in SECRET_NAMES}
    for secret in SECRET_NAMES:
        env.pop(f"{secret}_FILE", None)
    env.update(
        {
            "NEWSBOT_CONFIG": str(config),
            "NEWSBOT_LOG_LEVEL": "INFO",
            "PYTHONPATH": str(REPO),
            **chat,  # the platform's secrets and where its fake listens
        }
    )
    return env


def _discord_env(fake: FakeDiscord, name: str) -> dict[str, str]:
    return {
        "DISCORD_TOKEN": name,  # the fake tells the workers apart by their token
        "NEWSBOT_TEST_DISCORD_URL": f"http://127.0.0.1:{fake.port}",
    }


async def _worker(
    tmp_path: Path, url: str, name: str, chat: dict[str, str]
) -> asyncio.subprocess.Process:
    log = (tmp_path / f"{name}.log").open("wb")
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(REPO / "tests" / "run_bot.py"),
        cwd=REPO,
        env=_env(tmp_path, url, name, chat),
        stdout=log,
        stderr=asyncio.subprocess.STDOUT,
    )


async def _stored(url: str) -> list[tuple[int, str, str | None, str | None]]:
    sv = await open_services(
        Settings.model_validate({"database": {"url": url}, "seeds": {"folders": []}}),
        write=False,
    )
    try:
        rows = await sv.store.fetchall(
            "SELECT subscription_id, status, message_id, lease_owner FROM deliveries ORDER BY id"
        )
        return [(int(r[0]), str(r[1]), r[2], r[3]) for r in rows]
    finally:
        await sv.close()


async def test_a_worker_killed_mid_delivery_loses_nothing_and_the_survivor_sends_it_once(
    pg_url: str, tmp_path: Path
) -> None:
    fake = FakeDiscord()
    await fake.start()
    procs: dict[str, asyncio.subprocess.Process] = {}
    try:
        channels = [ChannelRef("discord", fake.guild_id, c) for c in fake.channels.values()]
        sub_ids = await _prepare(pg_url, channels)
        assert len(sub_ids) == SUBSCRIPTIONS
        release = fake.hold_posts(1)  # the first digest post is stored but never answered
        for name in ("worker-a", "worker-b"):
            procs[name] = await _worker(tmp_path, pg_url, name, _discord_env(fake, name))
        await fake.wait_for(lambda: fake.held, within=20)
        held = fake.held[0]
        victim = held.headers["Authorization"].removeprefix("Bot ")
        survivor = next(n for n in procs if n != victim)
        procs[victim].send_signal(signal.SIGKILL)
        await procs[victim].wait()
        killed_at = time.monotonic()
        release.set()
        nonce = held.json["nonce"]

        def resent() -> list[object]:
            return [
                r
                for r in fake.find("POST", r"^/channels/\d+/messages$")
                if r is not held and isinstance(r.json, dict) and r.json.get("nonce") == nonce
            ]

        await fake.wait_for(resent, within=15)
        again = resent()[0]
        assert again.headers["Authorization"] == f"Bot {survivor}"  # type: ignore[attr-defined]
        resend_after = again.at - killed_at  # type: ignore[attr-defined]
        claimed_to_resend = again.at - held.at  # type: ignore[attr-defined]
        # the lease (whole seconds) had to run out first: not taken over at the next flush
        assert claimed_to_resend >= LEASE_S - 1.5

        rows = await asyncio.wait_for(_all_sent(pg_url), timeout=15)
        await asyncio.sleep(1.5)  # a flush or two more: nothing more may be posted
        rows = await _stored(pg_url)
        # one digest per subscription and period, each sent, no lease left behind
        assert sorted(r[0] for r in rows) == sorted(sub_ids)
        assert all(r[1] == "sent" and r[3] is None for r in rows), rows
        posts = fake.find("POST", r"^/channels/\d+/messages$")
        nonces = [r.json.get("nonce") for r in posts if isinstance(r.json, dict)]
        created = [m for m in fake.messages.values() if m["channel_id"] in fake.channels.values()]
        # every message exactly once: as many messages as distinct nonces, one per nonce
        assert len(created) == len(set(nonces)) and all(nonces)
        assert {r[2] for r in rows} <= {m["id"] for m in created}
        assert held.response["id"] in {r[2] for r in rows}  # type: ignore[index]
        print(
            f"\nkilled {victim}; {survivor} resent the stranded digest {resend_after:.2f}s "
            f"after the kill ({claimed_to_resend:.2f}s after the dead worker's post, lease "
            f"{LEASE_S}s); {len(rows)} digests, {len(created)} messages, {len(posts)} posts"
        )
    finally:
        await _stop(procs)
        await fake.stop()


async def _stop(procs: dict[str, asyncio.subprocess.Process]) -> None:
    for proc in procs.values():
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs.values():
        with contextlib.suppress(Exception):
            await asyncio.wait_for(proc.wait(), timeout=15)
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def _all_sent(url: str) -> list[tuple[int, str, str | None, str | None]]:
    while True:
        rows = await _stored(url)
        if len(rows) >= SUBSCRIPTIONS and all(r[1] == "sent" for r in rows):
            return rows
        await asyncio.sleep(0.2)


async def _lease_holder(url: str, key: str) -> str:
    sv = await open_services(_settings(url), write=False)
    try:
        owner = await sv.store.scalar(
            "SELECT lease_owner FROM deliveries WHERE idempotency_key = ?", (key,)
        )
        return str(owner)
    finally:
        await sv.close()


async def test_a_slack_worker_killed_mid_post_loses_nothing_and_the_survivor_posts_nothing_twice(
    pg_url: str, tmp_path: Path
) -> None:
    fake = FakeSlack(bot_token="xoxb-workers-token-1", team_id="T0FAKE")
    await fake.start()
    chat = {
        "SLACK_BOT_TOKEN": fake.bot_token,
        "SLACK_APP_TOKEN": fake.app_token,  # Socket Mode
        "SLACK_API_URL": fake.api_url,
    }
    ids = [f"C0NEWS{i}" for i in range(SUBSCRIPTIONS)]
    procs: dict[str, asyncio.subprocess.Process] = {}
    try:
        sub_ids = await _prepare(pg_url, [ChannelRef("slack", fake.team_id, c) for c in ids])
        assert len(sub_ids) == SUBSCRIPTIONS
        release = fake.hold_posts(1)  # the first message is in the channel, never answered
        for name in ("worker-a", "worker-b"):
            procs[name] = await _worker(tmp_path, pg_url, name, chat)
        await fake.wait_for(lambda: fake.held, within=20)
        held = fake.held[0]
        key = held["metadata"]["event_payload"]["key"]
        # the poster is the lease's holder, named host:pid:suffix
        pid = int((await _lease_holder(pg_url, key)).split(":")[1])
        victim = next(n for n, p in procs.items() if p.pid == pid)
        procs[victim].send_signal(signal.SIGKILL)
        await procs[victim].wait()
        killed_at = time.monotonic()
        release.set()

        def looked() -> list[object]:
            return [c for c in fake.calls_of("conversations.history") if c.at > killed_at]

        await fake.wait_for(looked, within=15)
        lookup = fake.calls_of("conversations.history")[-1]
        assert lookup.params.get("include_all_metadata") in ("1", "true")
        rows = await asyncio.wait_for(_all_sent(pg_url), timeout=15)
        await asyncio.sleep(1.5)  # a flush or two more: nothing more may be posted
        rows = await _stored(pg_url)
        assert sorted(r[0] for r in rows) == sorted(sub_ids)
        assert all(r[1] == "sent" and r[3] is None for r in rows), rows
        posts = [p for p in fake.posts if p.get("channel") in ids]
        parts = [
            (p["metadata"]["event_payload"]["key"], p["metadata"]["event_payload"]["part"])
            for p in posts
        ]
        # every message exactly once: one per key and part, the stranded one included
        assert len(parts) == len(set(parts)), parts
        assert held["ts"] in {r[2] for r in rows}
        found_after = looked()[0].at - killed_at  # type: ignore[attr-defined]
        print(
            f"\nkilled {victim}; the survivor found the stranded Slack message by its metadata "
            f"{found_after:.2f}s after the kill (lease {LEASE_S}s) and posted nothing again; "
            f"{len(rows)} digests, {len(posts)} messages"
        )
    finally:
        await _stop(procs)
        await fake.stop()


CONSOLE = ChannelRef("console", "", "console")


async def _two_workers(url: str) -> tuple[Services, Services, ConsoleGateway, ConsoleGateway]:
    first, second = await open_services(_settings(url)), await open_services(_settings(url))
    gateways = ConsoleGateway(sink=lambda _: None), ConsoleGateway(sink=lambda _: None)
    first.outbox.add_gateway(gateways[0])
    second.outbox.add_gateway(gateways[1])
    return first, second, *gateways


async def test_two_workers_telling_one_channel_at_once_compose_in_turn(pg_url: str) -> None:
    """Two ``/news digest`` in one channel at once, on two workers: the second composes from
    the memory the first left (the next stories, or nothing new); no story is told twice."""
    first, second, g1, g2 = await _two_workers(pg_url)
    try:
        await _ingest(first)
        now = utcnow()

        async def tell(sv: Services) -> str:
            told = await tell_channel(
                sv.store, sv.settings.digest, sv.outbox, CONSOLE, [Target()],
                key=manual_key(CONSOLE, now), now=now,
            )  # fmt: skip
            return told.status

        statuses = await asyncio.gather(tell(first), tell(second))
        assert "sent" in statuses
        # the second composes after the first stored its digest: from what is left
        told = [s.id for _, d in g1.posted + g2.posted for s in d.stories]
        assert told and len(told) == len(set(told)), told
    finally:
        await first.close()
        await second.close()


async def test_a_period_two_workers_fire_gives_one_digest_and_nothing_new_is_decided_once(
    pg_url: str,
) -> None:
    first, second, g1, g2 = await _two_workers(pg_url)
    try:
        await _ingest(first)
        subs = Subscriptions(first.store)
        now = utcnow()
        period = now.replace(minute=0, second=0, microsecond=0)
        story = await first.store.scalar("SELECT min(id) FROM stories WHERE merged_into IS NULL")
        news = await subs.add(
            channel=CONSOLE, story_id=int(story), timing=Timing.parse("hourly", "UTC"),
            created_by="u", now=period - timedelta(hours=1),
        )  # fmt: skip
        statuses = await asyncio.gather(
            *(
                run_subscription(sv.store, sv.settings.digest, sv.outbox, news, period=period)
                for sv in (first, second)
            )
        )
        assert "sent" in statuses and len(g1.posted) + len(g2.posted) == 1
        rows = await first.store.fetchall(
            "SELECT status FROM deliveries WHERE subscription_id = ?", (news.id,)
        )
        assert [r[0] for r in rows] == ["sent"]
        # a period with nothing new is decided by the first worker: the other does not
        # compose it again (news arriving meanwhile waits for the next period)
        quiet = await subs.add(
            channel=ChannelRef("console", "", "quiet"), topic_query="zyzzyva quokka",
            timing=Timing.parse("hourly", "UTC"), created_by="u", now=period - timedelta(hours=1),
        )  # fmt: skip
        one = await run_subscription(
            first.store, first.settings.digest, first.outbox, quiet, period=period
        )
        other = await run_subscription(
            second.store, second.settings.digest, second.outbox, quiet, period=period
        )
        assert (one, other) == ("empty", "duplicate")
    finally:
        await first.close()
        await second.close()
