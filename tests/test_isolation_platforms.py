"""Isolation of sources end to end, on both platforms with their real SDKs.

Two Discord guilds (on ``tests/fake_discord.py``) and two Slack workspaces (one app installed
org-wide, on ``tests/fake_slack.py``) each add a feed with ``/news sources add``; the feeds are
served by ``tests/feedserver.py`` and fetched by the real poller. Each workspace's scheduled
digest, search results and story autocomplete show its own feed, the operator's seed folder and
the feed the operator shares (``[sources] shared``), never the other workspace's feed.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import urllib.parse
from collections.abc import AsyncIterator, Mapping
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import aiohttp
import discord
import pytest

from bot.delivery.channel import run_subscription
from bot.delivery.gateway import ChannelRef
from bot.delivery.outbox import Outbox
from bot.delivery.subscriptions import Subscriptions
from bot.ingestion.polling import FeedPoller
from bot.models import utcnow
from bot.platforms.discord_adapter import NewsBot
from bot.platforms.slack_adapter import SlackConfig, SlackRuntime
from bot.services import Services, open_services
from bot.settings import Settings
from bot.sources.http import guarded_fetcher
from handlers.base import CommandSpec
from tests.fake_discord import FakeDiscord
from tests.fake_slack import FakeSlack
from tests.feedserver import FeedServer

# Headline word of each source's article -> (title, text). Words no other article uses.
STORIES = {
    "Zeppelin": (
        "Zeppelin regatta postponed",
        "The zeppelin regatta over the lake was postponed on Sunday after strong winds "
        "grounded the airships, the organisers said. Eleven zeppelin crews had registered.",
    ),
    "Marmot": (
        "Marmot census sets a record",
        "The marmot census in the high valleys counted more marmots than in any year since "
        "the survey began, rangers said on Monday, after a mild spring.",
    ),
    "Quokka": (
        "Quokka island reopens to visitors",
        "The quokka island reopened to visitors on Friday after the quokka colony recovered "
        "from the summer fires, the park service said, with new limits on boats.",
    ),
    "Lighthouse": (
        "Lighthouse rota agreed",
        "The lighthouse keepers of the northern coast voted on Tuesday to accept the new rota, "
        "ending a dispute that had left three lighthouses unstaffed for the winter.",
    ),
}
OWN = {"A": "Zeppelin", "B": "Marmot"}  # each workspace's own feed
SHARED, SEED = "Quokka", "Lighthouse"  # a feed of A the operator shares; the seed corpus
TOPIC = "zeppelin OR marmot OR quokka OR lighthouse"


def _rss(word: str) -> bytes:
    title, text = STORIES[word]
    now = format_datetime(utcnow())
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel>'
        f"<title>{word} wire</title><link>https://{word.lower()}.example/</link>"
        f"<item><title>{title}</title><link>https://{word.lower()}.example/1</link>"
        f"<guid>{word}-1</guid><pubDate>{now}</pubDate><description>{text}</description></item>"
        "</channel></rss>"
    ).encode()


def _settings(tmp: Path, feeds: FeedServer, shared_url: str) -> Settings:
    seeds = tmp / "seeds"
    seeds.mkdir()
    title, text = STORIES[SEED]
    (seeds / "lighthouse.txt").write_text(f"{title}\n\n{text}\n", encoding="utf-8")
    port = feeds.base_url.rsplit(":", 1)[1]
    return Settings.model_validate(
        {
            "database": {"path": str(tmp / "newsbot.db")},
            "seeds": {"folders": [str(seeds)]},
            "network": {"allow": [f"127.0.0.1:{port}"]},
            "polling": {"first_fetch_new_items": 10},  # the first fetch's items are news here
            "sources": {"shared": [shared_url]},
        }
    )


@pytest.fixture
async def feeds() -> AsyncIterator[FeedServer]:
    server = FeedServer().start()
    try:
        yield server
    finally:
        server.close()


async def _poll(sv: Services) -> None:
    poller = FeedPoller(sv.store, sv.ingestor, sv.settings.polling, guarded_fetcher(sv.settings))
    try:
        results = await poller.poll_due()
    finally:
        await poller.aclose()
    assert [r.stored for r in results] == [1, 1, 1], results


def _shows(text: str) -> set[str]:
    """The sources whose headline ``text`` (a message's JSON) shows."""
    return {word for word, (title, _) in STORIES.items() if title in text}


# ------------------------------------------------------------------------------ Discord


class _Bot(NewsBot):
    def __init__(self, services: Services, **options: Any) -> None:
        super().__init__(services, **options)
        self.finished: dict[int, asyncio.Event] = {}

    def done(self, interaction_id: int) -> asyncio.Event:
        return self.finished.setdefault(interaction_id, asyncio.Event())

    async def run_command(
        self,
        interaction: discord.Interaction,
        spec: CommandSpec,
        args: dict[str, str],
        files: Mapping[str, discord.Attachment] | None = None,
    ) -> None:
        try:
            await super().run_command(interaction, spec, args, files)
        finally:
            self.done(interaction.id).set()


async def test_two_discord_guilds_see_only_their_own_feeds(
    tmp_path: Path, feeds: FeedServer
) -> None:
    urls = {
        word: feeds.add_file(f"{word.lower()}.xml", _rss(word)) for word in (*OWN.values(), SHARED)
    }
    sv = await open_services(_settings(tmp_path, feeds, urls[SHARED]))
    fake = FakeDiscord()
    guild = {"A": fake.guild_id, "B": fake.add_guild()}
    await fake.start()
    bot = _Bot(sv, guild_ready_timeout=0.1)
    try:
        await sv.sync_seeds()
        with fake.patch_discord():
            task = asyncio.create_task(bot.start(fake.token))
            await asyncio.wait_for(bot.wait_until_ready(), 10)
            admin = fake.add_member("admin", discord.Permissions(manage_guild=True))

            async def command(who: str, sub: str, **values: str) -> str:
                names = sub.split()
                leaf = {
                    "type": 1,
                    "name": names[-1],
                    "options": [{"type": 3, "name": k, "value": v} for k, v in values.items()],
                }
                options = (
                    [leaf]
                    if len(names) == 1
                    else [{"type": 2, "name": names[0], "options": [leaf]}]
                )
                payload = await fake.interact(admin, "news", options, guild=guild[who])
                await asyncio.wait_for(bot.done(int(payload["id"])).wait(), 15)
                sent = [r.json for r in fake.requests if f"/{payload['token']}" in r.path]
                return json.dumps(sent, ensure_ascii=False)

            async def suggested(who: str, typed: str) -> set[str]:
                focused = {"type": 3, "name": "story", "value": typed, "focused": True}
                payload = await fake.interact(
                    admin,
                    "news",
                    [{"type": 1, "name": "story", "options": [focused]}],
                    autocomplete=True,
                    guild=guild[who],
                )
                (callback,) = await fake.wait_for(
                    lambda: [r for r in fake.requests if f"/{payload['token']}" in r.path] or None
                )
                return _shows(json.dumps(callback.json["data"]["choices"]))

            await command("A", "sources add", url=urls[OWN["A"]])
            await command("A", "sources add", url=urls[SHARED])
            await command("B", "sources add", url=urls[OWN["B"]])
            await _poll(sv)
            outbox = Outbox(sv.store, {"discord": bot.gateway}, min_interval=0)
            for who in ("A", "B"):
                await command(who, "subscribe", topic=TOPIC)
                ref = ChannelRef("discord", guild[who], fake.guilds[guild[who]]["news"])
                (sub,) = await Subscriptions(sv.store).for_channel(ref)
                status = await run_subscription(
                    sv.store, sv.settings.digest, outbox, sub, period=utcnow()
                )
                assert status == "sent", who
            for who, other in (("A", "B"), ("B", "A")):
                channel = fake.guilds[guild[who]]["news"]
                posts = fake.find("POST", rf"^/channels/{channel}/messages$")
                expected = {OWN[who], SHARED, SEED}
                assert _shows(json.dumps([p.json for p in posts])) == expected, who
                for word in STORIES:
                    found = _shows(await command(who, "search", query=word.lower()))
                    assert found == ({word} & expected), (who, word)
                assert await suggested(who, "") == expected, who
                assert await suggested(who, OWN[other].lower()) == set(), who
            await bot.close()
            await asyncio.wait_for(task, 5)
    finally:
        if not bot.is_closed():
            await bot.close()
        await sv.close()
        await fake.stop()


# -------------------------------------------------------------------------------- Slack

BOT_TOKEN = "xoxb-isolation-bot"
SECRET = "isolation-signing-secret"
TEAMS = {"A": "T0AAAA", "B": "T0BBBB"}
ADMINS = {"A": "U0ADMINA", "B": "U0ADMINB"}
CHANNELS = {"A": "C0NEWSA", "B": "C0NEWSB"}


async def _slash(
    session: aiohttp.ClientSession, url: str, fake: FakeSlack, who: str, text: str
) -> str:
    """A signed ``/news`` from workspace ``who``; the text of its response_url answer."""
    body = urllib.parse.urlencode(
        {
            "team_id": TEAMS[who],
            "team_domain": who.lower(),
            "channel_id": CHANNELS[who],
            "channel_name": "news",
            "user_id": ADMINS[who],
            "user_name": "admin",
            "command": "/news",
            "text": text,
            "api_app_id": "A0FAKE",
            "is_enterprise_install": "true",
            "response_url": fake.response_url(),
            "trigger_id": "1.2.3",
        }
    )
    ts = str(int(time.time()))
    signature = hmac.new(SECRET.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": "v0=" + signature.hexdigest(),
    }
    before = len(fake.responses)
    async with session.post(url, data=body, headers=headers) as response:
        assert response.status == 200, await response.text()
    responses = await fake.wait_responses(before + 1)
    return json.dumps(responses[before]["body"], ensure_ascii=False)


async def test_two_slack_workspaces_see_only_their_own_feeds(
    tmp_path: Path, feeds: FeedServer
) -> None:
    urls = {
        word: feeds.add_file(f"{word.lower()}.xml", _rss(word)) for word in (*OWN.values(), SHARED)
    }
    sv = await open_services(_settings(tmp_path, feeds, urls[SHARED]))
    fake = FakeSlack(bot_token=BOT_TOKEN, team_id=TEAMS["A"])
    fake.users = {  # users.info answers each admin with their own workspace
        ADMINS[w]: {"id": ADMINS[w], "name": w, "is_admin": True, "team_id": TEAMS[w]}
        for w in TEAMS
    }
    await fake.start()
    config = SlackConfig(bot_token=BOT_TOKEN, signing_secret=SECRET, port=0, base_url=fake.api_url)
    runtime = SlackRuntime(config, sv)
    try:
        await sv.sync_seeds()
        await runtime.start()
        url = f"http://127.0.0.1:{runtime.port}/slack/events"
        async with aiohttp.ClientSession() as session:

            async def slash(who: str, text: str) -> str:
                return await _slash(session, url, fake, who, text)

            await slash("A", f"sources add {urls[OWN['A']]}")
            await slash("A", f"sources add {urls[SHARED]}")
            await slash("B", f"sources add {urls[OWN['B']]}")
            await _poll(sv)
            outbox = Outbox(sv.store, {"slack": runtime.gateway})
            for who in ("A", "B"):
                await slash(who, f"subscribe {TOPIC}")
                ref = ChannelRef("slack", TEAMS[who], CHANNELS[who])
                (sub,) = await Subscriptions(sv.store).for_channel(ref)
                status = await run_subscription(
                    sv.store, sv.settings.digest, outbox, sub, period=utcnow()
                )
                assert status == "sent", who
            for who in ("A", "B"):
                expected = {OWN[who], SHARED, SEED}
                posts = [p for p in fake.posts if p["channel"] == CHANNELS[who]]
                assert _shows(json.dumps(posts)) == expected, who
                for word in STORIES:
                    found = _shows(await slash(who, f"search {word.lower()}"))
                    assert found == ({word} & expected), (who, word)
    finally:
        await runtime.stop()
        await sv.close()
        await fake.stop()
