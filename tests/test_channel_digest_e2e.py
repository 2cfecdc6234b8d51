"""A channel is told a story once, whatever asks for the digest (issue 15), end to end.

The whole bot (``bot.app.run_forever``: outbox, scheduler, platform runtime) runs in-process
against the fake Discord (real discord.py) and the fake Slack (real slack-bolt, HTTP mode), with
the seed corpus ingested: ``/news subscribe`` (its catch-up posts the story), ``/news digest``,
``/news digest`` again, a restart of the bot on the same database, ``/news digest`` again. The
story is posted in the channel exactly once and every digest answers privately that there is
nothing new since the last digest, and when that was.

Cause of the repeats: the channel's memory was written only once a post was confirmed, with
no lock from composing to enqueueing, so a digest composed while another post of the channel
was pending (a 429 being waited out, a queued retry, a scheduled run racing ``/news digest``)
composed the same news again. :func:`bot.delivery.channel.tell_channel` is now the one path.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import discord
import pytest

import bot.app as app
from bot.platforms.discord_adapter import DiscordRuntime
from bot.platforms.slack_adapter import SlackConfig, SlackRuntime
from bot.queries.topics import match_stories
from bot.services import Services, open_services
from bot.settings import Settings
from tests.conftest import SEEDS, need
from tests.fake_discord import FakeDiscord, FakeMember, Recorded
from tests.fake_slack import FakeSlack
from tests.test_slack_e2e import BOT_TOKEN, SIGNING_SECRET, TEAM, Slash

TOPIC = "trump putin ukraine"
NOTHING_NEW = re.compile(r"Nothing new since the last digest \(at \d{4}-\d\d-\d\d \d\d:\d\d UTC\)")
EPHEMERAL = 64

Factory = Callable[[Services], Any]


async def _settings(tmp_path: Path) -> tuple[Settings, str]:
    """Settings on a fresh database with the seed corpus ingested; the topic's story id."""
    need(SEEDS)
    settings = Settings.model_validate(
        {
            "database": {"path": str(tmp_path / "newsbot.db")},
            "seeds": {"folders": [str(SEEDS)]},
            "health": {"enabled": False},
        }
    )
    sv = await open_services(settings)
    try:
        assert (await sv.sync_seeds()).stored >= 3
        (match, *_) = await match_stories(sv.store, TOPIC, limit=5)
        public_id = await sv.store.scalar(
            "SELECT public_id FROM stories WHERE id = ?", (match.story_id,)
        )
    finally:
        await sv.close()
    return settings, str(public_id)


@asynccontextmanager
async def running(
    settings: Settings, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[list[Any]]:
    """``newsbot run`` in this event loop with the runtime ``factory`` builds; stops on exit."""
    made: list[Any] = []
    services: list[Services] = []

    def create(_settings: Settings, sv: Services, _secrets: object) -> list[Any]:
        made.append(factory(sv))
        services.append(sv)
        return list(made)

    monkeypatch.setattr(app, "_create_runtimes", create)
    stop = asyncio.Event()
    task = asyncio.create_task(app.run_forever(settings, stop))
    try:
        async with asyncio.timeout(15):
            while not made or not _ready(made[0]) or not _linked(made[0], services[0]):
                assert not task.done(), task.exception()
                await asyncio.sleep(0.05)
        yield made
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)


def _linked(runtime: Any, sv: Services) -> bool:
    """The runtime's gateway is in the outbox: digests and ``/news digest`` reach it."""
    return sv.outbox.gateways.get(runtime.gateway.platform) is runtime.gateway


def _ready(runtime: Any) -> bool:
    if isinstance(runtime, DiscordRuntime):
        return runtime.bot.is_ready()
    return getattr(runtime, "port", None) is not None


# ------------------------------------------------------------------------------ Discord
class DiscordUser:
    def __init__(self, fake: FakeDiscord, member: FakeMember) -> None:
        self.fake, self.member = fake, member

    async def command(self, name: str, **values: str) -> list[Recorded]:
        """``/news name ...`` in #general; the follow-ups that answered it."""
        options = [{"type": 3, "name": k, "value": v} for k, v in values.items()]
        payload = await self.fake.interact(
            self.member, "general", [{"type": 1, "name": name, "options": options}]
        )
        token = payload["token"]

        def answered() -> list[Recorded]:
            return [
                r
                for r in self.fake.requests
                if r.method == "POST" and r.path.startswith("/webhooks/") and f"/{token}" in r.path
            ]

        return list(await self.fake.wait_for(answered, within=20))

    def channel_posts(self) -> list[Recorded]:
        return [r for r in self.fake.find("POST", r"^/channels/\d+/messages$") if r.status == 200]


def _discord_factory(fake: FakeDiscord) -> Factory:
    return lambda sv: DiscordRuntime(sv, fake.token, guild_ready_timeout=0.1)


def _shown(records: list[Recorded]) -> str:
    return re.sub(r"\\\\(.)", r"\1", json.dumps([r.json for r in records], ensure_ascii=False))


def _assert_nothing_new(followups: list[Recorded]) -> None:
    assert len(followups) == 1
    assert int(followups[0].json.get("flags", 0)) & EPHEMERAL, "a 'nothing new' must be private"
    assert NOTHING_NEW.search(_shown(followups)), _shown(followups)


@pytest.fixture
async def discord_fake() -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord()
    await fake.start()
    try:
        with fake.patch_discord():
            yield fake
    finally:
        await fake.stop()


def _reader(fake: FakeDiscord) -> DiscordUser:
    perms = discord.Permissions(
        view_channel=True, send_messages=True, use_application_commands=True
    )
    return DiscordUser(fake, fake.add_member("reader", perms))


async def test_discord_subscribe_digest_restart_digest_posts_the_story_once(
    tmp_path: Path, discord_fake: FakeDiscord, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, story = await _settings(tmp_path)
    user = _reader(discord_fake)
    async with running(settings, _discord_factory(discord_fake), monkeypatch):
        subscribed = await user.command("subscribe", topic=TOPIC)
        assert "Catch-up: 1 story posted" in _shown(subscribed)
        _assert_nothing_new(await user.command("digest"))
        _assert_nothing_new(await user.command("digest"))
    async with running(settings, _discord_factory(discord_fake), monkeypatch):
        _assert_nothing_new(await user.command("digest"))
    posts = user.channel_posts()
    assert len(posts) == 1 and story in _shown(posts)
    assert posts[0].json["content"].startswith(f"**Catching up: the latest on {TOPIC}** · ")


async def test_discord_a_digest_asked_while_a_post_waits_out_a_429_repeats_nothing(
    tmp_path: Path, discord_fake: FakeDiscord, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reproduction of issue 15: the first post is rate limited (discord.py waits the
    body's retry_after and posts again); a second ``/news digest`` meanwhile is "nothing new"."""
    settings, story = await _settings(tmp_path)
    user = _reader(discord_fake)
    async with running(settings, _discord_factory(discord_fake), monkeypatch):
        discord_fake.rate_limit("POST", r"^/channels/\d+/messages$", retry_after=1.5)
        first = asyncio.create_task(user.command("digest"))
        await discord_fake.wait_for(
            lambda: [r for r in discord_fake.requests if r.status == 429], within=10
        )
        _assert_nothing_new(await user.command("digest"))
        assert "Posted 1 story" in _shown(await first)
    posts = user.channel_posts()
    assert len(posts) == 1 and story in _shown(posts)


# -------------------------------------------------------------------------------- Slack
def _slack_factory(fake: FakeSlack) -> Factory:
    config = SlackConfig(
        bot_token=BOT_TOKEN, signing_secret=SIGNING_SECRET, port=0, base_url=fake.api_url
    )
    return lambda sv: SlackRuntime(config, sv)


@pytest.fixture
async def slack_fake() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack(bot_token=BOT_TOKEN, team_id=TEAM)
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


def _slack_visible(fake: FakeSlack) -> str:
    """Everything the channel shows: posts and in-channel replies, without the buttons (whose
    values name stories too)."""
    public = [r["body"] for r in fake.responses if r["body"].get("response_type") != "ephemeral"]
    shown = [
        {**m, "blocks": [b for b in m.get("blocks", []) if b.get("type") != "actions"]}
        for m in [*fake.posts, *public]
    ]
    return json.dumps(shown, ensure_ascii=False)


async def test_slack_subscribe_digest_restart_digest_posts_the_story_once(
    tmp_path: Path, slack_fake: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, story = await _settings(tmp_path)
    replies: list[dict[str, Any]] = []
    for round_ in (("subscribe " + TOPIC, "digest", "digest"), ("digest",)):
        async with (
            running(settings, _slack_factory(slack_fake), monkeypatch) as runtimes,
            aiohttp.ClientSession() as session,
        ):
            slash = Slash(f"http://127.0.0.1:{runtimes[0].port}/slack/events", slack_fake, session)
            for text in round_:
                replies.append(await slash.reply(text))
    subscribed, *digests = replies
    assert "Catch-up: 1 story posted" in json.dumps(subscribed)
    for reply in digests:
        assert reply["response_type"] == "ephemeral"
        assert NOTHING_NEW.search(json.dumps(reply, ensure_ascii=False)), reply
    posts = slack_fake.calls_of("chat.postMessage")
    assert len(posts) == 1
    header = posts[0].params["blocks"][0]
    assert header["type"] == "header"
    assert header["text"]["text"].startswith(f"Catching up: the latest on {TOPIC} · ")
    assert _slack_visible(slack_fake).count(story) == 1
