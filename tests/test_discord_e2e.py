"""End to end: the real discord.py client against a fake Discord (``tests/fake_discord.py``).

discord.py logs in over REST, syncs ``/news``, connects the gateway (HELLO, heartbeats,
IDENTIFY, READY, GUILD_CREATE) and answers INTERACTION_CREATE events through its own command
tree, interaction callbacks and webhook follow-ups; digests go through the outbox to
``POST /channels/{id}/messages``. The assertions are on what the fake Discord received.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import discord
import pytest
import pytest_asyncio

import handlers
from bot.delivery.channel import Target, compose_for, run_subscription, tell_channel
from bot.delivery.gateway import ChannelRef, DeliveryError
from bot.delivery.outbox import Outbox
from bot.delivery.subscriptions import Subscription, Subscriptions
from bot.digest.model import ArticleRef, ConflictRef, Digest, StatementRef, StoryDigest
from bot.errors import ConfigError
from bot.models import utcnow
from bot.net.ssrf import GuardSettings
from bot.platforms.discord_adapter import (
    DiscordRuntime,
    NewsBot,
    create_runtime,
    install_redaction,
)
from bot.services import Services, open_services
from bot.settings import Secrets, Settings
from bot.sources.opml import OpmlFeed, read_opml
from bot.storage.muted import MutedStories
from handlers.base import CommandSpec
from tests.conftest import SEEDS, need
from tests.fake_discord import FakeDiscord, FakeMember, Recorded
from tests.feedserver import FeedServer

pytestmark = pytest.mark.asyncio(loop_scope="module")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
EPHEMERAL = 64
NO_MENTIONS: dict[str, list[str]] = {"parse": []}
HOSTILE_TITLE = "@everyone Zeppelin ceasefire <@&123456789> **URGENT** [read](javascript:alert(1))"
HOSTILE_BODY = (
    "BERLIN – The zeppelin ceasefire talks resumed on Monday, officials said, after a week in "
    "which both delegations accused each other of stalling. @here the mediator said the text "
    "of the zeppelin accord was nearly ready and would be published at "
    "https://trusted.example@evil.example/accord once both sides signed it. Observers noted "
    "that the zeppelin question had divided the two capitals for more than a decade, and that "
    "earlier drafts had collapsed over the inspection clauses and the sequencing of withdrawals."
)


class RecordingBot(NewsBot):
    """The production bot, plus a signal when an interaction's handling has finished."""

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

    async def run_action(
        self, interaction: discord.Interaction, custom_id: str, values: Sequence[str]
    ) -> None:
        try:
            await super().run_action(interaction, custom_id, values)
        finally:
            self.done(interaction.id).set()


@dataclass
class Env:
    fake: FakeDiscord
    bot: RecordingBot
    services: Services
    admin: FakeMember
    user: FakeMember
    editor: FakeMember  # has the "News editors" role

    async def command(
        self,
        member: FakeMember,
        path: str,
        channel: str = "general",
        files: Mapping[str, str] | None = None,
        **values: str,
    ) -> list[Recorded]:
        """Run ``/news <path> key=value...`` (``files``: option -> an attachment id of
        ``fake.upload``); the requests the bot made for this interaction."""
        names = path.split()
        leaf: dict[str, Any] = {
            "type": 1,
            "name": names[-1],
            "options": [{"type": 3, "name": k, "value": v} for k, v in values.items()]
            + [{"type": 11, "name": k, "value": v} for k, v in (files or {}).items()],
        }
        options = [leaf] if len(names) == 1 else [{"type": 2, "name": names[0], "options": [leaf]}]
        payload = await self.fake.interact(
            member, channel, options, attachments=tuple((files or {}).values())
        )
        await asyncio.wait_for(self.bot.done(int(payload["id"])).wait(), 15)
        return self.for_token(payload["token"])

    async def autocomplete(
        self, command: str, option: str, typed: str, channel: str = "general"
    ) -> list[dict[str, Any]]:
        """Type ``typed`` into ``/news <command> <option>``; the choices the bot offered."""
        focused = {"type": 3, "name": option, "value": typed, "focused": True}
        payload = await self.fake.interact(
            self.user,
            channel,
            [{"type": 1, "name": command, "options": [focused]}],
            autocomplete=True,
        )
        (callback,) = await self.fake.wait_for(
            lambda: self.for_token(payload["token"]) or None, within=5
        )
        assert callback.json["type"] == 8  # APPLICATION_COMMAND_AUTOCOMPLETE_RESULT
        choices: list[dict[str, Any]] = callback.json["data"]["choices"]
        return choices

    async def click(
        self,
        member: FakeMember,
        message_id: str,
        custom_id: str,
        values: list[str] | None = None,
        **kwargs: Any,
    ) -> list[Recorded]:
        """Click a component of a message the bot posted; the requests it made in answer."""
        payload = await self.fake.click(member, message_id, custom_id, values=values, **kwargs)
        await asyncio.wait_for(self.bot.done(int(payload["id"])).wait(), 15)
        return self.for_token(payload["token"])

    def for_token(self, token: str) -> list[Recorded]:
        return [r for r in self.fake.requests if f"/{token}" in r.path]


def _write_hostile_article(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "hostile.txt").write_text(f"{HOSTILE_TITLE}\n\n{HOSTILE_BODY}\n", encoding="utf-8")
    meta = {
        "outlet": "@everyone Daily",
        "url": "https://trusted.example@evil.example/accord",
        "published": "2025-02-14T09:00:00Z",
    }
    (folder / "hostile.txt.meta.json").write_text(json.dumps(meta), encoding="utf-8")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def env(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Env]:
    need(SEEDS)
    tmp = tmp_path_factory.mktemp("discord")
    _write_hostile_article(tmp / "extra")
    settings = Settings.model_validate(
        {
            "database": {"path": str(tmp / "newsbot.db")},
            "seeds": {"folders": [str(SEEDS), str(tmp / "extra")]},
        }
    )
    fake = FakeDiscord(
        channels=("general", "news", "alerts", "digests", "buttons", "more", "picks")
    )
    fake.add_role("News editors")
    await fake.start()
    services = await open_services(settings)
    report = await services.sync_seeds()
    assert report.stored >= 6, report
    with fake.patch_discord():
        bot = RecordingBot(services, guild_ready_timeout=0.1)
        task = asyncio.create_task(bot.start(fake.token))
        await asyncio.wait_for(bot.wait_until_ready(), 10)
        admin = fake.add_member("admin", discord.Permissions(manage_guild=True))
        reader = discord.Permissions(
            view_channel=True, send_messages=True, use_application_commands=True
        )
        user = fake.add_member("reader", reader)
        editor = fake.add_member("editor", reader, roles=("News editors",))
        try:
            yield Env(fake, bot, services, admin, user, editor)
        finally:
            await bot.close()
            await asyncio.wait_for(task, 5)
            await services.close()
            await fake.stop()


async def _story_ids(env: Env) -> list[str]:
    rows = await env.services.store.fetchall(
        "SELECT s.public_id FROM stories s WHERE s.merged_into IS NULL "
        "ORDER BY (SELECT count(*) FROM articles a WHERE a.story_id = s.id) DESC, s.id"
    )
    return [str(r[0]) for r in rows]


def _followups(requests: list[Recorded]) -> list[Recorded]:
    return [r for r in requests if r.method == "POST" and r.path.startswith("/webhooks/")]


def _callback(requests: list[Recorded]) -> dict[str, Any]:
    callbacks = [r for r in requests if r.path.endswith("/callback")]
    assert len(callbacks) == 1, [r.path for r in requests]
    assert requests[0] is callbacks[0], "the interaction callback must be the first response"
    body = callbacks[0].json
    assert isinstance(body, dict)
    return body


def _text(requests: list[Recorded]) -> str:
    """What the requests' messages show (JSON, markdown escapes removed)."""
    raw = json.dumps([r.json for r in requests], ensure_ascii=False)
    return re.sub(r"\\\\(.)", r"\1", raw)


def _flags(record: Recorded) -> int:
    return int(record.json.get("flags", 0) or 0)


def _assert_answered(requests: list[Recorded]) -> list[Recorded]:
    """Deferred first (type 5: an ephemeral "thinking" message), then follow-ups that ping
    nobody and that Discord shows as the bot meant (a first follow-up after a deferral
    replaces the ephemeral "thinking" message, so a public reply must resolve it first)."""
    body = _callback(requests)
    assert body["type"] == 5 and body["data"]["flags"] & EPHEMERAL
    followups = _followups(requests)
    assert followups, "no follow-up after the defer"
    for f in followups:
        assert f.status == 200
        assert f.json["allowed_mentions"] == NO_MENTIONS
        meant = _flags(f) & EPHEMERAL
        assert f.response["flags"] & EPHEMERAL == meant, "shown with the wrong visibility"
    return followups


def _assert_ephemeral_error(requests: list[Recorded]) -> str:
    followups = _assert_answered(requests)
    assert len(followups) == 1
    assert _flags(followups[0]) & EPHEMERAL
    assert not followups[0].json.get("embeds")
    return str(followups[0].json.get("content", ""))


# ------------------------------------------------------------------------ connection, sync


async def test_bot_logs_in_identifies_and_heartbeats_over_the_gateway(env: Env) -> None:
    first = [(r.method, r.path) for r in env.fake.requests[:2]]
    assert first == [("GET", "/users/@me"), ("GET", "/oauth2/applications/@me")]
    assert env.fake.gateway_ops[:2] == [1, 2]  # HEARTBEAT right after HELLO, then IDENTIFY
    assert env.bot.get_guild(int(env.fake.guild_id)) is not None  # GUILD_CREATE was parsed
    assert env.bot.user is not None and env.bot.user.id == int(env.fake.bot_user_id)


async def test_every_command_spec_is_synced_as_a_news_subcommand(env: Env) -> None:
    (news,) = [c for c in env.fake.commands if c["name"] == handlers.ROOT_COMMAND]
    synced = {o["name"]: o for o in news["options"]}
    for spec in handlers.ALL_COMMANDS:
        assert spec.name in synced, f"/news {spec.name} has no Discord command"
        option = synced[spec.name]
        if option["type"] == 2:  # a subcommand group: one subcommand per action
            assert {o["name"] for o in option["options"]} == set(handlers.SOURCE_ACTIONS)
            continue
        assert option["type"] == 1
        got = {o["name"]: o for o in option["options"]}
        for opt in spec.options:
            assert got[opt.name]["required"] is opt.required
            assert bool(got[opt.name].get("autocomplete")) is bool(opt.autocomplete)
            offered = [c["value"] for c in got[opt.name].get("choices") or []]
            assert offered == list(opt.choices)  # thread: off, digest, story
    assert news["dm_permission"] is False


# ----------------------------------------------------------------------------- commands


async def test_search_is_deferred_then_answered_with_escaped_results(env: Env) -> None:
    requests = await env.command(env.user, "search", query="Putin")
    followups = _assert_answered(requests)
    assert "Putin" in _text(followups)

    requests = await env.command(env.user, "search", query="zeppelin")
    followups = _assert_answered(requests)
    text, raw = _text(followups), json.dumps([f.json for f in followups], ensure_ascii=False)
    assert "Zeppelin" in text
    assert "@everyone" not in text and "@here" not in text  # a zero-width space breaks them
    assert "<@&123456789>" not in raw and "](javascript" not in raw  # escaped markup
    assert "trusted.example@" not in raw  # a link shows its real host


async def test_story_reply_attaches_the_coverage_timeline_png(env: Env) -> None:
    story = (await _story_ids(env))[0]
    requests = await env.command(env.user, "story", story=story)
    followups = _assert_answered(requests)
    files = {name: data for f in followups for name, data in f.files.items()}
    assert files, "the story reply has no timeline attachment"
    (name, data), *_ = files.items()
    assert name.endswith(".png") and data.startswith(PNG_MAGIC)
    embeds = followups[0].json["embeds"]
    assert embeds[0]["image"]["url"] == f"attachment://{name}"
    assert story in _text(followups)


@pytest.mark.parametrize("path", ["topics", "digest"])
async def test_channel_wide_commands_are_answered(env: Env, path: str) -> None:
    _assert_answered(await env.command(env.user, path))


async def test_topics_previews_what_a_topic_would_get(env: Env) -> None:
    requests = await env.command(env.user, "topics", topic="Putin")
    _assert_answered(requests)
    assert "would match" in _text(_followups(requests))


async def test_conflicts_answers_for_a_story(env: Env) -> None:
    story = (await _story_ids(env))[0]
    _assert_answered(await env.command(env.user, "conflicts", story=story))


async def test_unknown_story_is_an_ephemeral_error(env: Env) -> None:
    content = _assert_ephemeral_error(await env.command(env.user, "story", story="s-nope"))
    assert "s-nope" in content or "no story" in content


async def test_subscribe_list_and_unsubscribe_in_a_channel(env: Env) -> None:
    requests = await env.command(
        env.user, "subscribe", channel="alerts", topic="Putin", schedule="daily 08:00"
    )
    _assert_answered(requests)
    ref = ChannelRef("discord", env.fake.guild_id, env.fake.channels["alerts"])
    subs = await Subscriptions(env.services.store).for_channel(ref)
    assert [s.topic_query for s in subs] == ["Putin"]

    listing = await env.command(env.user, "subscriptions", channel="alerts")
    assert _callback(listing)["type"] == 5
    assert subs[0].public_id in _text(_followups(listing))

    choices = await env.autocomplete("unsubscribe", "subscription", "", channel="alerts")
    assert subs[0].public_id in {c["value"] for c in choices}

    _assert_answered(
        await env.command(env.user, "unsubscribe", channel="alerts", subscription=subs[0].public_id)
    )
    assert await Subscriptions(env.services.store).for_channel(ref) == []


async def test_subscribe_with_the_thread_option_stores_and_shows_the_mode(env: Env) -> None:
    requests = await env.command(
        env.user, "subscribe", channel="alerts", topic="Putin", thread="story"
    )
    _assert_answered(requests)
    assert "a thread per story" in _text(_followups(requests))
    ref = ChannelRef("discord", env.fake.guild_id, env.fake.channels["alerts"])
    (sub,) = await Subscriptions(env.services.store).for_channel(ref)
    assert sub.thread == "story"


def _undo_button(followups: list[Recorded]) -> tuple[str, str]:
    """The message id and custom_id of the one Undo button among a reply's follow-ups."""
    found = [
        (str(f.response["id"]), button)
        for f in followups
        for row in f.json.get("components") or []
        for button in row["components"]
    ]
    assert len(found) == 1, found
    message_id, button = found[0]
    assert button["type"] == 2 and button["label"] == "Undo"
    return message_id, str(button["custom_id"])


async def test_undo_under_a_subscription_reverses_it_privately_for_its_author(env: Env) -> None:
    ref = ChannelRef("discord", env.fake.guild_id, env.fake.channels["alerts"])
    before = await Subscriptions(env.services.store).for_channel(ref)
    followups = _assert_answered(
        await env.command(env.user, "subscribe", channel="alerts", topic="zeppelin accord")
    )
    message_id, custom_id = _undo_button(followups)
    assert re.fullmatch(r"newsbot:undo:\d+", custom_id)
    subs = await Subscriptions(env.services.store).for_channel(ref)
    assert [s.topic_query for s in subs] == [*(s.topic_query for s in before), "zeppelin accord"]
    # Another member may not undo it: one private line, nothing changes.
    stranger = _assert_ephemeral_error(await env.click(env.editor, message_id, custom_id))
    assert "only the member who made this change" in stranger
    assert len(await Subscriptions(env.services.store).for_channel(ref)) == len(subs)
    # Its author may: deferred privately, answered privately, the subscription is gone.
    answer = _assert_answered(await env.click(env.user, message_id, custom_id))
    assert all(_flags(f) & EPHEMERAL for f in answer)
    assert "removed: this channel no longer gets it" in _text(answer)
    assert await Subscriptions(env.services.store).for_channel(ref) == before
    # Unsubscribing has its Undo too: the subscription comes back.
    followups = _assert_answered(
        await env.command(env.user, "subscribe", channel="alerts", topic="zeppelin accord")
    )
    (sub,) = [
        s
        for s in await Subscriptions(env.services.store).for_channel(ref)
        if s.topic_query == "zeppelin accord"
    ]
    removed = _assert_answered(
        await env.command(env.user, "unsubscribe", channel="alerts", subscription=sub.public_id)
    )
    message_id, custom_id = _undo_button(removed)
    answer = _assert_answered(await env.click(env.user, message_id, custom_id))
    assert "restored" in _text(answer)
    topics = [s.topic_query for s in await Subscriptions(env.services.store).for_channel(ref)]
    assert topics.count("zeppelin accord") == 1
    for s in await Subscriptions(env.services.store).for_channel(ref):
        if s.topic_query == "zeppelin accord":
            await Subscriptions(env.services.store).remove(s)


async def test_manage_role_lets_only_its_members_and_admins_subscribe(env: Env) -> None:
    from bot.settings import PermissionSettings

    ref = ChannelRef("discord", env.fake.guild_id, env.fake.channels["news"])
    subscriptions = Subscriptions(env.services.store)
    before = {s.id for s in await subscriptions.for_channel(ref)}
    original = env.services.settings
    env.services.settings = original.model_copy(
        update={"permissions": PermissionSettings(manage_role="News editors")}
    )
    try:
        refused = _assert_ephemeral_error(
            await env.command(env.user, "subscribe", channel="news", topic="grain deal")
        )
        assert refused.endswith(
            " only members with the News editors role or Manage Server may change this "
            "channel's subscriptions"
        )
        assert {s.id for s in await subscriptions.for_channel(ref)} == before
        _assert_answered(await env.command(env.editor, "subscribe", channel="news", topic="grain"))
        _assert_answered(await env.command(env.admin, "subscribe", channel="news", topic="wheat"))
        added = [s for s in await subscriptions.for_channel(ref) if s.id not in before]
        assert sorted(s.topic_query or "" for s in added) == ["grain", "wheat"]
        listed = await env.command(env.user, "subscriptions", channel="news")
        assert "grain" in _text(_followups(listed))  # reading stays open to everyone
    finally:
        env.services.settings = original
        for s in await subscriptions.for_channel(ref):
            if s.id not in before:
                await subscriptions.remove(s)


async def test_follow_subscribes_the_channel_to_one_story(env: Env) -> None:
    story = (await _story_ids(env))[0]
    _assert_answered(await env.command(env.user, "follow", channel="alerts", story=story))
    ref = ChannelRef("discord", env.fake.guild_id, env.fake.channels["alerts"])
    subs = await Subscriptions(env.services.store).for_channel(ref)
    assert any(s.story_id is not None for s in subs)


async def test_sources_subcommands_run_for_server_managers(env: Env) -> None:
    url = "https://feeds.example.org/world.xml"
    for path, values in (
        ("sources add", {"url": url}),
        ("sources list", {}),
        ("sources status", {"url": url}),
        ("sources remove", {"url": url}),
    ):
        requests = await env.command(env.admin, path, **values)
        assert _callback(requests)["type"] == 5, path
        assert _followups(requests), path


async def test_sources_add_checks_the_feed_and_stores_its_name_and_filter(
    env: Env, feed_server: FeedServer
) -> None:
    port = feed_server.base_url.rsplit(":", 1)[1]
    saved = env.services.settings
    network = GuardSettings(allow=[f"127.0.0.1:{port}"])
    env.services.settings = saved.model_copy(update={"network": network})
    url = feed_server.file_url("node-feedparser/rss2sample.xml")
    try:
        requests = await env.command(
            env.admin, "sources add", url=url, name="Liftoff", filter="space OR shuttle"
        )
        shown = _text(_followups(requests))
        assert "Liftoff News" in shown and "Star City" in shown and "space OR shuttle" in shown
        rows = await env.services.store.feed_sources(f"discord:{env.fake.guild_id}")
        assert [(r["locator"], r["name"], r["item_filter"]) for r in rows] == [
            (url, "Liftoff", "space OR shuttle")
        ]
        _assert_answered(await env.command(env.admin, "sources remove", url=url))
    finally:
        env.services.settings = saved


def _opml(*urls: str) -> bytes:
    outlines = "".join(
        f'<outline type="rss" text="Feed {i}" xmlUrl="{u}"/>' for i, u in enumerate(urls)
    )
    return f'<?xml version="1.0"?><opml version="2.0"><body>{outlines}</body></opml>'.encode()


async def test_sources_import_checks_each_feed_of_an_attached_opml_and_export_answers_a_file(
    env: Env, feed_server: FeedServer
) -> None:
    port = feed_server.base_url.rsplit(":", 1)[1]
    saved = env.services.settings
    network = GuardSettings(allow=[f"127.0.0.1:{port}"])
    env.services.settings = saved.model_copy(update={"network": network})
    good = feed_server.file_url("node-feedparser/rss2sample.xml")
    missing = feed_server.file_url("no-such-feed.xml")
    workspace = f"discord:{env.fake.guild_id}"
    try:
        attached = env.fake.upload("feeds.opml", _opml(good, missing, "http://10.0.0.1/feed"))
        requests = await env.command(env.admin, "sources import", files={"file": attached})
        [followup] = _assert_answered(requests)
        assert _flags(followup) & EPHEMERAL
        shown = followup.json["embeds"][0]["description"].replace("\\", "")
        lines = shown.splitlines()
        assert lines[0].startswith("added: <" + good) and "(Feed 0)" in lines[0], lines
        assert lines[1].startswith("skipped: <" + missing) and "404" in lines[1], lines
        assert lines[2].startswith("skipped: <http://10.0.0.1/feed>: refusing"), lines
        assert lines[-1] == "1 added, 2 skipped"
        rows = await env.services.store.feed_sources(workspace)
        assert [(r["locator"], r["name"]) for r in rows] == [(good, "Feed 0")]
        # Export: the same feeds as an OPML file, privately; it imports back as they were.
        requests = await env.command(env.admin, "sources export")
        [followup] = _assert_answered(requests)
        assert _flags(followup) & EPHEMERAL
        [(name, data)] = followup.files.items()
        assert name == "newsbot-feeds.opml"
        assert read_opml(data, origin=name)[0] == [OpmlFeed(good, "Feed 0")]
        # From a member without Manage Server: refused at once (the file option is required:
        # Discord never sends the command without it).
        refused = _callback(await env.command(env.user, "sources export"))
        assert refused["type"] == 4 and "Manage Server" in refused["data"]["content"]
        _assert_answered(await env.command(env.admin, "sources remove", url=good))
    finally:
        env.services.settings = saved


async def test_admin_commands_are_refused_server_side_before_any_work(env: Env) -> None:
    requests = await env.command(env.user, "sources list")
    body = _callback(requests)
    assert body["type"] == 4  # answered at once: no defer, no handler run
    assert int(body["data"]["flags"]) & EPHEMERAL
    assert "Manage Server" in body["data"]["content"]
    assert body["data"]["allowed_mentions"] == NO_MENTIONS
    assert _followups(requests) == []


async def test_story_ids_are_autocompleted(env: Env) -> None:
    stories = await _story_ids(env)
    choices = await env.autocomplete("story", "story", "")
    assert 0 < len(choices) <= 25
    assert {c["value"] for c in choices} & set(stories)
    assert all(len(c["name"]) <= 100 for c in choices)
    typed = stories[0][:4]
    assert all(
        c["value"].startswith(typed) for c in await env.autocomplete("follow", "story", typed)
    )


async def test_a_rate_limited_follow_up_is_retried_after_retry_after(env: Env) -> None:
    env.fake.rate_limit("POST", r"^/webhooks/\d+/[^/]+$", retry_after=0.2)
    requests = await env.command(env.user, "search", query="Putin")
    posts = _followups(requests)
    assert [p.status for p in posts] == [429, 200]
    assert posts[1].at - posts[0].at >= 0.2 * 0.9
    _assert_answered(requests[:1] + posts[1:])


# ------------------------------------------------------------------------------ delivery


def _digest(channel: str, title: str) -> Digest:
    when = utcnow()
    statement = StatementRef("Talks resumed, @everyone.", "a1", "Wire <@1>", when)
    story = StoryDigest(
        id="s-test",
        title=title,
        known=False,
        articles=[ArticleRef("a1", title, "https://news.example/a1", "Wire", when)],
        summary=[statement],
        outlets=["Wire"],
    )
    return Digest(channel=channel, generated_at=when, stories=[story])


async def test_scheduled_digest_lands_after_a_429_with_retry_after(env: Env) -> None:
    channel_id = env.fake.channels["news"]
    requests = await env.command(env.user, "subscribe", channel="news", topic="Putin")
    _assert_answered(requests)
    ref = ChannelRef("discord", env.fake.guild_id, channel_id)
    (sub,) = await Subscriptions(env.services.store).for_channel(ref)

    retry_after = 0.3
    env.fake.rate_limit("POST", rf"^/channels/{channel_id}/messages$", retry_after=retry_after)
    outbox = Outbox(env.services.store, {"discord": env.bot.gateway}, min_interval=0)
    status = await run_subscription(
        env.services.store, env.services.settings.digest, outbox, sub, period=utcnow()
    )
    assert status == "sent"

    posts = env.fake.find("POST", rf"^/channels/{channel_id}/messages$")
    assert [p.status for p in posts][:2] == [429, 200]
    assert posts[1].at - posts[0].at >= retry_after * 0.9  # the body's retry_after was honoured
    for post in posts[1:]:
        assert post.headers["Authorization"] == f"Bot {env.fake.token}"
        assert post.json["allowed_mentions"] == NO_MENTIONS
        assert "@everyone" not in json.dumps(post.json)
    assert posts[1].json["embeds"], "the digest has no story embeds"
    sent = await env.services.store.fetchone(
        "SELECT status, message_id FROM deliveries WHERE subscription_id = ?", (sub.id,)
    )
    assert sent is not None and sent[0] == "sent"
    assert sent[1] in env.fake.messages


async def test_the_seed_digest_is_one_message_of_one_embed_per_story(env: Env) -> None:
    """A channel's first digest of everything (the seed corpus and one hostile article), by
    the digest path (tell_channel -> outbox -> discord.py -> Discord): one message, within
    Discord's limits (the fake refuses more than 10 embeds or 6,000 characters)."""
    channel_id = env.fake.channels["digests"]
    ref = ChannelRef("discord", env.fake.guild_id, channel_id)
    outbox = Outbox(env.services.store, {"discord": env.bot.gateway}, min_interval=0)
    told = await tell_channel(
        env.services.store, env.services.settings.digest, outbox, ref, [Target()],
        key="e2e:seed-digest", now=utcnow(),
    )  # fmt: skip
    assert told.status == "sent" and told.stories >= 2
    (post,) = env.fake.find("POST", rf"^/channels/{channel_id}/messages$")
    assert post.status == 200
    embeds = post.json["embeds"]
    assert len(embeds) == told.stories
    assert post.json["content"].startswith("**Catching up: the latest news**")  # its first
    putin = next(e for e in embeds if "Putin" in e["title"])
    assert "**Sources (5)**" in putin["description"]
    assert putin["description"].endswith("Full story: /news story " + _escaped_id(putin))


def _escaped_id(embed: dict[str, Any]) -> str:
    return str(embed["footer"]["text"].split(" · ")[0]).replace("-", "\\-")


async def test_discord_refuses_a_message_over_its_embed_limits(env: Env) -> None:
    """The fake holds the bot to Discord's limits: two embeds of 3,500 characters (each
    within the 4,096 of a description, 7,000 together) are a 400 Invalid Form Body."""
    channel_id = env.fake.channels["digests"]
    ref = ChannelRef("discord", env.fake.guild_id, channel_id)
    with pytest.raises(DeliveryError):
        await env.bot.gateway.send_payloads(
            ref, [{"content": None, "embeds": [{"description": "x" * 3500}] * 2}]
        )
    refused = env.fake.find("POST", rf"^/channels/{channel_id}/messages$")[-1]
    assert refused.status == 400 and "6000" in refused.response["message"]


async def test_gateway_posts_a_digest_without_pinging(env: Env) -> None:
    channel_id = env.fake.channels["general"]
    ref = ChannelRef("discord", env.fake.guild_id, channel_id)
    message_id = await env.bot.gateway.post_digest(ref, _digest(channel_id, "@here Talks"))
    message = env.fake.messages[message_id]
    text = json.dumps(message)
    assert "@everyone" not in text and "@here" not in text and "<@1>" not in text
    post = env.fake.find("POST", rf"^/channels/{channel_id}/messages$")[-1]
    assert post.json["allowed_mentions"] == NO_MENTIONS


async def test_gone_or_forbidden_channels_are_permanent_delivery_errors(env: Env) -> None:
    digest = _digest("x", "Talks")
    missing = ChannelRef("discord", env.fake.guild_id, "123456789012345678")
    with pytest.raises(DeliveryError) as gone:
        await env.bot.gateway.post_digest(missing, digest)
    assert gone.value.permanent

    channel_id = env.fake.channels["alerts"]
    env.fake.forbidden.add(channel_id)
    try:
        with pytest.raises(DeliveryError) as denied:
            await env.bot.gateway.post_digest(
                ChannelRef("discord", env.fake.guild_id, channel_id), digest
            )
    finally:
        env.fake.forbidden.discard(channel_id)
    assert denied.value.permanent


async def test_a_429_discord_py_does_not_retry_is_a_retryable_delivery_error(env: Env) -> None:
    channel_id = env.fake.channels["general"]
    # Without ``Via`` discord.py takes a 429 for a Cloudflare ban and raises at once.
    env.fake.rate_limit("POST", rf"^/channels/{channel_id}/messages$", retry_after=2, via=False)
    with pytest.raises(DeliveryError) as err:
        await env.bot.gateway.post_digest(
            ChannelRef("discord", env.fake.guild_id, channel_id), _digest("x", "Talks")
        )
    assert not err.value.permanent
    assert err.value.retry_after == 2.0


async def test_admins_are_told_in_the_system_channel_without_pings(env: Env) -> None:
    channel_id = env.fake.channels["general"]  # the fake guild's system channel
    before = len(env.fake.find("POST", rf"^/channels/{channel_id}/messages$"))
    await env.bot.gateway.notify_admins(env.fake.guild_id, "@everyone subscriptions disabled")
    posts = env.fake.find("POST", rf"^/channels/{channel_id}/messages$")[before:]
    assert len(posts) == 1
    assert posts[0].json["allowed_mentions"] == NO_MENTIONS
    assert "@everyone" not in posts[0].json["content"]


async def test_interaction_and_bot_tokens_never_reach_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    install_redaction("bot-token-123456")
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("discord.webhook.async_").debug(
            "POST %s", "http://h/api/v10/webhooks/1/aW50ZXJhY3Rpb24.tok?wait=1"
        )
        logging.getLogger("discord.gateway").debug("event %s", {"d": {"token": "aW50.tok"}})
        logging.getLogger("discord.http").debug("token bot-token-123456")
    text = caplog.text
    assert "aW50ZXJhY3Rpb24.tok" not in text and "aW50.tok" not in text
    assert "bot-token-123456" not in text and text.count("***") == 3


# ------------------------------------------------------------------------------- runtime


async def test_runtime_factory_needs_a_token_and_reports_a_rejected_one(env: Env) -> None:
    settings = env.services.settings
    assert create_runtime(settings, env.services, Secrets({})) is None
    runtime = create_runtime(settings, env.services, Secrets({"DISCORD_TOKEN": "bad-token"}))
    assert isinstance(runtime, DiscordRuntime)
    env.fake.inject("GET", r"^/users/@me$", status=401, body={"message": "401: Unauthorized"})
    started = time.monotonic()
    with pytest.raises(ConfigError, match="DISCORD_TOKEN"):
        await runtime.start()
    assert time.monotonic() - started < 5


# ------------------------------------------------------------------------------- buttons


def _private(requests: list[Recorded]) -> str:
    """Answered like a command (deferred first, within Discord's 3 s) and only to the clicker."""
    followups = _assert_answered(requests)
    assert all(_flags(f) & EPHEMERAL for f in followups), "a button's answer is private"
    return _text(followups)


def _button_digest(channel_id: str, stories: list[str], subs: list[str], more: int) -> Digest:
    when = utcnow()
    items = []
    for i, sid in enumerate(stories):
        said = StatementRef(f"Statement {i} of the story.", "a1", "Wire", when)
        other = StatementRef(f"Statement {i}, revised.", "a2", "Agency", when)
        conflicts = [ConflictRef("revision", "the toll", [said, other])] if i == 0 else []
        items.append(
            StoryDigest(
                id=sid,
                title=f"Story {i}",
                known=False,
                summary=[said],
                conflicts=conflicts,
                outlets=["Wire"],
            )
        )
    return Digest(
        channel=channel_id,
        generated_at=when,
        stories=items,
        more_stories=more,
        subscriptions=subs,
    )


async def _subscribe(env: Env, channel: str, topic: str) -> Subscription:
    _assert_answered(await env.command(env.user, "subscribe", channel=channel, topic=topic))
    ref = ChannelRef("discord", env.fake.guild_id, env.fake.channels[channel])
    (sub,) = [
        s
        for s in await Subscriptions(env.services.store).for_channel(ref)
        if s.topic_query == topic
    ]
    return sub


async def _post(env: Env, channel: str, digest: Digest) -> str:
    ref = ChannelRef("discord", env.fake.guild_id, env.fake.channels[channel])
    return await env.bot.gateway.post_digest(ref, digest)


async def test_digest_buttons_follow_show_conflicts_and_mute_privately(env: Env) -> None:
    stories = await _story_ids(env)
    channel_id = env.fake.channels["buttons"]
    ref = ChannelRef("discord", env.fake.guild_id, channel_id)
    sub = await _subscribe(env, "buttons", "Putin")
    message_id = await _post(
        env, "buttons", _button_digest(channel_id, stories, [sub.public_id], 2)
    )
    ids = [c["custom_id"] for c in env.fake.components_of(message_id)]
    first = stories[0]
    assert ids == [
        f"newsbot:follow:{first}",
        f"newsbot:mute:{first}",
        f"newsbot:conflicts:{first}",
        f"newsbot:story:{first}",
        f"newsbot:follow:{stories[1]}",
        f"newsbot:mute:{stories[1]}",  # no conflicts, no Show conflicts
        f"newsbot:story:{stories[1]}",
        "newsbot:more:",
        f"newsbot:unsubscribe:{sub.public_id}",
    ]
    assert env.bot.persistent_views == []  # nothing registered: clicks are parsed statelessly

    shown = _private(await env.click(env.user, message_id, f"newsbot:follow:{first}"))
    assert "Following" in shown and first in shown
    full = _private(await env.click(env.user, message_id, f"newsbot:story:{first}"))
    assert first in full and f"newsbot:share:{first}" in full  # /news story, with its Share
    subs = await Subscriptions(env.services.store).for_channel(ref)
    followed = await env.services.store.fetchone(
        "SELECT public_id FROM stories WHERE id = ?",
        (next(s.story_id for s in subs if s.story_id),),
    )
    assert followed[0] == first

    shown = _private(await env.click(env.user, message_id, f"newsbot:conflicts:{first}"))
    assert f"Conflicts · {first}" in shown

    shown = _private(await env.click(env.user, message_id, f"newsbot:mute:{first}"))
    assert "will not appear in this channel's digests again" in shown
    muted = await MutedStories(env.services.store).story_ids(ref.key)
    story_row = await env.services.store.scalar(
        "SELECT id FROM stories WHERE public_id = ?", (first,)
    )
    assert muted == {story_row}
    composed = await compose_for(
        env.services.store, env.services.settings.digest, ref, [Target()], now=utcnow()
    )
    assert first not in [s.id for s in composed.digest.stories]
    other = ChannelRef("discord", env.fake.guild_id, env.fake.channels["picks"])
    elsewhere = await compose_for(
        env.services.store, env.services.settings.digest, other, [Target()], now=utcnow()
    )
    assert first in [s.id for s in elsewhere.digest.stories]  # muted in one channel only


async def test_more_stories_answers_privately_and_unsubscribe_removes_it(env: Env) -> None:
    stories = await _story_ids(env)
    channel_id = env.fake.channels["more"]
    ref = ChannelRef("discord", env.fake.guild_id, channel_id)
    sub = await _subscribe(env, "more", "Putin")
    message_id = await _post(env, "more", _button_digest(channel_id, stories, [sub.public_id], 3))
    env.services.outbox.gateways["discord"] = env.bot.gateway
    try:
        before = len(env.fake.find("POST", rf"^/channels/{channel_id}/messages$"))
        requests = await env.click(env.user, message_id, "newsbot:more:")
        shown = _private(requests)
        assert "More stories (page 1)" in shown and "Only you see these" in shown
        # The stories come with their own buttons (Follow, Mute), on the private answer.
        buttons = [
            c["custom_id"]
            for f in _followups(requests)
            for row in f.json.get("components") or []
            for c in row["components"]
        ]
        assert [b for b in buttons if b.startswith("newsbot:follow:s-")], buttons
        assert not [b for b in buttons if b.startswith("newsbot:unsubscribe:")]
        posted = env.fake.find("POST", rf"^/channels/{channel_id}/messages$")[before:]
        assert posted == []  # nothing for the channel
    finally:
        env.services.outbox.gateways.pop("discord", None)
    shown = _private(await env.click(env.user, message_id, f"newsbot:unsubscribe:{sub.public_id}"))
    assert f"{sub.public_id} removed" in shown
    assert await Subscriptions(env.services.store).for_channel(ref) == []


async def test_a_digest_of_many_stories_offers_select_menus(env: Env) -> None:
    stories = await _story_ids(env)
    channel_id = env.fake.channels["picks"]
    extra = [f"s-00{i}a" for i in range(4)]
    message_id = await _post(env, "picks", _button_digest(channel_id, stories + extra, [], 0))
    rows = env.fake.messages[message_id]["components"]
    assert [r["components"][0]["type"] for r in rows] == [3, 3, 3, 3]  # follow, mute, ...
    follow = rows[0]["components"][0]
    assert follow["custom_id"] == "newsbot:follow:"
    assert [o["value"] for o in follow["options"]] == stories + extra
    shown = _private(await env.click(env.user, message_id, "newsbot:follow:", values=[stories[-1]]))
    assert "Following" in shown and stories[-1] in shown


async def test_buttons_are_checked_like_the_commands(env: Env) -> None:
    admin_channel = env.fake.channels["alerts"]
    _assert_answered(await env.command(env.admin, "subscribe", channel="alerts", topic="ukraine"))
    ref = ChannelRef("discord", env.fake.guild_id, admin_channel)
    (sub,) = [
        s
        for s in await Subscriptions(env.services.store).for_channel(ref)
        if s.topic_query == "ukraine"
    ]
    # An Unsubscribe of another channel's subscription (a digest seen elsewhere, or a forged id).
    channel_id = env.fake.channels["general"]
    stories = (await _story_ids(env))[:1]
    digest = _button_digest(channel_id, stories, [sub.public_id], 0)
    message_id = await _post(env, "general", digest)
    custom_id = f"newsbot:unsubscribe:{sub.public_id}"
    content = _assert_ephemeral_error(await env.click(env.user, message_id, custom_id))
    assert "belongs to another channel" in content
    assert sub in await Subscriptions(env.services.store).for_channel(ref)
    body = _callback(await env.click(env.user, message_id, custom_id, dm_user=env.user))
    assert body["type"] == 4 and int(body["data"]["flags"]) & EPHEMERAL  # refused at once
    assert "server channel" in body["data"]["content"]
    _private(await env.click(env.admin, message_id, custom_id))  # Manage Server: allowed
    assert sub not in await Subscriptions(env.services.store).for_channel(ref)

    env.fake.messages[message_id]["components"] = [
        {
            "type": 1,
            "components": [
                {"type": 2, "style": 2, "label": "x", "custom_id": "newsbot:frobnicate:s-1"},
                {"type": 2, "style": 2, "label": "y", "custom_id": "newsbot:follow:<@&1>"},
                {"type": 2, "style": 2, "label": "z", "custom_id": "otherbot:thing"},
            ],
        },
    ]
    for forged in ("newsbot:frobnicate:s-1", "newsbot:follow:<@&1>"):
        requests = await env.click(env.user, message_id, forged)
        body = _callback(requests)
        assert body["type"] == 4 and int(body["data"]["flags"]) & EPHEMERAL  # refused at once
        assert body["data"]["allowed_mentions"] == NO_MENTIONS
        assert "<@&1>" not in json.dumps(body)
    payload = await env.fake.click(env.user, message_id, "otherbot:thing")
    await asyncio.sleep(0.3)
    assert env.for_token(payload["token"]) == []  # not newsbot's: left alone


async def test_story_is_private_with_a_share_to_channel_button(env: Env) -> None:
    story = (await _story_ids(env))[0]
    requests = await env.command(env.user, "story", story=story)
    _private(requests)
    first = _followups(requests)[0]
    message_id = first.response["id"]
    ids = [c["custom_id"] for c in env.fake.components_of(message_id)]
    assert ids[0] == f"newsbot:share:{story}"

    requests = await env.click(env.user, message_id, f"newsbot:share:{story}")
    followups = _assert_answered(requests)
    public = [f for f in followups if not _flags(f) & EPHEMERAL]
    assert public and story in _text(public)
    assert any(name.endswith(".png") for f in public for name in f.files)
    edits = [r for r in requests if r.method == "PATCH"]
    assert edits and edits[0].json["content"] == "Posted in this channel."
    shared = [c["custom_id"] for f in public for c in env.fake.components_of(f.response["id"])]
    assert f"newsbot:share:{story}" not in shared  # shared once: no second Share button


async def test_buttons_posted_before_a_restart_work_in_the_new_process(tmp_path: Path) -> None:
    """Nothing is registered per message: a new client (after a restart) answers the buttons
    of a digest the previous one posted, from the custom_id alone."""
    settings = Settings.model_validate(
        {"database": {"path": str(tmp_path / "n.db")}, "seeds": {"folders": [str(SEEDS)]}}
    )
    fake = FakeDiscord()
    await fake.start()
    services = await open_services(settings)
    try:
        await services.sync_seeds()
        story = str(await services.store.scalar("SELECT public_id FROM stories LIMIT 1"))
        channel_id = fake.channels["news"]
        ref = ChannelRef("discord", fake.guild_id, channel_id)
        member = fake.add_member("reader")
        with fake.patch_discord():
            before = RecordingBot(services, guild_ready_timeout=0.1)
            task = asyncio.create_task(before.start(fake.token))
            await asyncio.wait_for(before.wait_until_ready(), 10)
            message_id = await before.gateway.post_digest(
                ref, _button_digest(channel_id, [story], [], 0)
            )
            await before.close()
            await asyncio.wait_for(task, 5)

            after = RecordingBot(services, guild_ready_timeout=0.1)
            task = asyncio.create_task(after.start(fake.token))
            await asyncio.wait_for(after.wait_until_ready(), 10)
            try:
                payload = await fake.click(member, message_id, f"newsbot:follow:{story}")
                await asyncio.wait_for(after.done(int(payload["id"])).wait(), 15)
                requests = [r for r in fake.requests if f"/{payload['token']}" in r.path]
                assert "Following" in _private(requests)
            finally:
                await after.close()
                await asyncio.wait_for(task, 5)
        subs = await Subscriptions(services.store).for_channel(ref)
        assert [s.story_id is not None for s in subs] == [True]
    finally:
        await services.close()
        await fake.stop()


@contextlib.asynccontextmanager
async def _process(settings: Settings, fake: FakeDiscord) -> AsyncIterator[RecordingBot]:
    """One bot process: its own services over the database, its own client, stopped after."""
    services = await open_services(settings)
    bot = RecordingBot(services, guild_ready_timeout=0.1)
    task = asyncio.create_task(bot.start(fake.token))
    try:
        await asyncio.wait_for(bot.wait_until_ready(), 10)
        yield bot
    finally:
        await bot.close()
        await asyncio.wait_for(task, 5)
        await services.close()


async def _answer(fake: FakeDiscord, bot: RecordingBot, payload: dict[str, Any]) -> list[Recorded]:
    await asyncio.wait_for(bot.done(int(payload["id"])).wait(), 15)
    return [r for r in fake.requests if f"/{payload['token']}" in r.path]


async def test_undo_pressed_after_a_restart_reverses_the_change_of_the_previous_process(
    tmp_path: Path,
) -> None:
    """The undo log is in the database: a new process (new services, new client) undoes a
    subscription the previous one made, from the button on its answer."""
    settings = Settings.model_validate(
        {"database": {"path": str(tmp_path / "n.db")}, "seeds": {"folders": [str(SEEDS)]}}
    )
    fake = FakeDiscord()
    await fake.start()
    member = fake.add_member("reader")
    ref = ChannelRef("discord", fake.guild_id, fake.channels["news"])
    topic = [{"type": 3, "name": "topic", "value": "putin"}]
    try:
        with fake.patch_discord():
            async with _process(settings, fake) as before:
                payload = await fake.interact(
                    member, "news", [{"type": 1, "name": "subscribe", "options": topic}]
                )
                answer = _assert_answered(await _answer(fake, before, payload))
                message_id, custom_id = _undo_button(answer)
                subs = Subscriptions(before.services.store)
                assert len(await subs.for_channel(ref)) == 1
            async with _process(settings, fake) as after:
                payload = await fake.click(member, message_id, custom_id)
                assert "removed" in _private(await _answer(fake, after, payload))
                assert await Subscriptions(after.services.store).for_channel(ref) == []
    finally:
        await fake.stop()


async def test_nothing_the_bot_sent_in_this_session_could_ping_anyone(env: Env) -> None:
    """Runs last: every message the bot created or edited above, hostile article included."""
    sent = [
        r
        for r in env.fake.requests
        if r.method in ("POST", "PATCH")
        and ("/messages" in r.path or r.path.startswith(("/webhooks/", "/interactions/")))
        and isinstance(r.json, dict)
    ]
    assert len(sent) > 20
    for record in sent:
        body = record.json.get("data", record.json)  # interaction callbacks wrap the message
        if record.path.endswith("/callback") and record.json["type"] in (5, 8):
            continue  # a deferral or autocomplete choices: no message content
        assert body.get("allowed_mentions") == NO_MENTIONS, record.path
        text = json.dumps(body, ensure_ascii=False)
        assert "@everyone" not in text and "@here" not in text, record.path
