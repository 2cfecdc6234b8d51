"""Button acknowledgement latency: a click to the bot's first answer, on both platforms.

A real discord.py bot (``NewsBot``) and a real bolt app (HTTP mode) run against the fakes of
``tests/fake_discord.py`` and ``tests/fake_slack.py`` on 127.0.0.1, over the seed corpus. A
digest with buttons is posted; then each of Show conflicts, Mute story and Follow story is
clicked ``--rounds`` times: on Discord, the time from the fake sending INTERACTION_CREATE (type
3) to receiving the ``defer()`` callback (Discord's 3-second deadline); on Slack, the time of
the signed ``block_actions`` POST until bolt's HTTP ack (Slack's 3 seconds). The platforms' own
network round trips are not included (no internet here).

Run: .venv/bin/python benchmarks/bench_button_ack.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import aiohttp  # noqa: E402
import discord  # noqa: E402

from bot.delivery.gateway import ChannelRef  # noqa: E402
from bot.digest.model import ConflictRef, Digest, StatementRef, StoryDigest  # noqa: E402
from bot.platforms.discord_adapter import NewsBot  # noqa: E402
from bot.platforms.slack_adapter import SlackConfig, SlackRuntime  # noqa: E402
from bot.services import Services, open_services  # noqa: E402
from bot.settings import Settings  # noqa: E402
from tests.fake_discord import FakeDiscord, Recorded  # noqa: E402
from tests.fake_slack import FakeSlack, signed_form  # noqa: E402

VERBS = ("conflicts", "mute", "follow")


def digest(channel: str, story: str) -> Digest:
    when = datetime.now(UTC)
    said = StatementRef("The toll rose to 12.", "a1", "Wire", when)
    other = StatementRef("The toll rose to 15.", "a2", "Agency", when)
    item = StoryDigest(
        id=story,
        title="Talks",
        known=False,
        summary=[said],
        conflicts=[ConflictRef("contradiction", "the toll", [said, other])],
    )
    return Digest(channel=channel, generated_at=when, stories=[item])


def line(name: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return f"{name}: median {statistics.median(ms):.1f} ms, max {max(ms):.1f} ms (n={len(ms)})"


def answered(fake: FakeDiscord, token: str, seen: int) -> list[Recorded]:
    return [r for r in fake.requests[seen:] if r.path.endswith("/callback") and token in r.path]


async def discord_acks(sv: Services, story: str, rounds: int) -> list[float]:
    fake = FakeDiscord()
    await fake.start()
    out: list[float] = []
    with fake.patch_discord():
        bot = NewsBot(sv, guild_ready_timeout=0.1)
        task = asyncio.create_task(bot.start(fake.token))
        await asyncio.wait_for(bot.wait_until_ready(), 10)
        member = fake.add_member("reader", discord.Permissions(view_channel=True))
        channel = fake.channels["general"]
        ref = ChannelRef("discord", fake.guild_id, channel)
        message = await bot.gateway.post_digest(ref, digest(channel, story))
        for verb in VERBS * rounds:
            seen = len(fake.requests)
            started = time.monotonic()
            payload = await fake.click(member, message, f"newsbot:{verb}:{story}")
            token = payload["token"]
            (callback, *_) = await fake.wait_for(lambda t=token, n=seen: answered(fake, t, n))
            out.append(callback.at - started)
            await asyncio.sleep(0.3)  # let the follow-ups finish
        await bot.close()
        await task
    await fake.stop()
    return out


async def slack_acks(sv: Services, story: str, rounds: int) -> list[float]:
    fake = FakeSlack(bot_token="xoxb-bench", team_id="T0BENCH")
    fake.users = {"U1": {"id": "U1", "is_admin": False}}
    await fake.start()
    config = SlackConfig(
        bot_token="xoxb-bench", signing_secret="bench-secret", port=0, base_url=fake.api_url
    )
    runtime = SlackRuntime(config, sv)
    await runtime.start()
    await runtime.gateway.post_digest(ChannelRef("slack", "T0BENCH", "C1"), digest("C1", story))
    message = fake.posts[-1]
    url = f"http://127.0.0.1:{runtime.port}/slack/events"
    out: list[float] = []
    async with aiohttp.ClientSession() as session:
        for verb in VERBS * rounds:
            payload = fake.block_actions(
                message, f"newsbot:{verb}:{story}", user="U1", channel="C1"
            )
            body, headers = signed_form({"payload": json.dumps(payload)}, "bench-secret")
            started = time.monotonic()
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                assert response.status == 200, response.status
            out.append(time.monotonic() - started)
            await asyncio.sleep(0.3)
    await runtime.stop()
    await fake.stop()
    return out


async def main(rounds: int) -> None:
    logging.basicConfig(level=logging.ERROR)
    tmp = Path(tempfile.mkdtemp())
    settings = Settings.model_validate(
        {"database": {"path": str(tmp / "n.db")}, "seeds": {"folders": [str(REPO / "seeds")]}}
    )
    sv = await open_services(settings)
    try:
        await sv.sync_seeds()
        story = str(await sv.store.scalar("SELECT public_id FROM stories ORDER BY id LIMIT 1"))
        print(line("discord click -> defer callback", await discord_acks(sv, story, rounds)))
        print(line("slack block_actions -> HTTP ack", await slack_acks(sv, story, rounds)))
    finally:
        await sv.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="clicks per button")
    asyncio.run(main(parser.parse_args().rounds))
