"""End to end: a real slack-bolt AsyncApp and slack_sdk AsyncWebClient against a fake Slack.

Signed slash-command requests arrive over HTTP at bolt's aiohttp server (and as Socket Mode
envelopes over a websocket); replies go to the response_url and the Web API of
``tests/fake_slack.py`` on 127.0.0.1, which also answers a 429 with ``Retry-After``. The
database is a temporary SQLite file with the seed articles ingested.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import logging
import re
import time
import urllib.parse
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.delivery.channel import Target, compose_for, period_key, run_subscription, tell_channel
from bot.delivery.gateway import ChannelRef, DeliveryError
from bot.delivery.outbox import Outbox
from bot.delivery.schedules import Timing
from bot.delivery.subscriptions import Subscriptions
from bot.digest.model import ArticleRef, ConflictRef, Digest, StatementRef, StoryDigest
from bot.digest.plot import coverage_png
from bot.platforms.slack_adapter import (
    PERMANENT_ERRORS,
    SlackConfig,
    SlackGateway,
    SlackRuntime,
    create_runtime,
    make_client,
    parse_command,
)
from bot.services import Services, open_services
from bot.settings import Secrets, Settings
from bot.storage.muted import MutedStories
from handlers import COMMANDS
from handlers.base import Attachment, Reply
from tests.conftest import SEEDS, need
from tests.fake_slack import FakeSlack, signed_form
from tests.feedserver import FeedServer

BOT_TOKEN = "xoxb-canary-bot-7f3a9c"
APP_TOKEN = "xapp-1-canary-app-5e21b"
SIGNING_SECRET = "canary-signing-secret-0d94e1"
TEAM = "T0FAKE"
CHANNEL = "C0NEWS"
ADMIN, MEMBER, ALLOWED, OTHER = "U0ADMIN", "U0MEMBER", "U0ALLOWED", "U0OTHER"


# ---------------------------------------------------------------------------------- fixtures


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    need(SEEDS)
    settings = Settings.model_validate(
        {"database": {"path": str(tmp_path / "newsbot.db")}, "seeds": {"folders": [str(SEEDS)]}}
    )
    sv = await open_services(settings)
    report = await sv.sync_seeds()
    assert report.stored >= 3
    try:
        yield sv
    finally:
        await sv.close()


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    slack = FakeSlack(bot_token=BOT_TOKEN, app_token=APP_TOKEN, team_id=TEAM)
    slack.users = {
        ADMIN: {"id": ADMIN, "name": "ada", "is_admin": True, "is_owner": False},
        MEMBER: {
            "id": MEMBER,
            "name": "max",
            "is_admin": False,
            "is_owner": False,
            "tz": "Asia/Kathmandu",
        },
        ALLOWED: {"id": ALLOWED, "name": "al", "is_admin": False, "is_owner": False},
        OTHER: {"id": OTHER, "name": "oz", "is_admin": False, "is_owner": False},
    }
    await slack.start()
    try:
        yield slack
    finally:
        await slack.stop()


def _config(fake: FakeSlack, **overrides: Any) -> SlackConfig:
    values: dict[str, Any] = {
        "bot_token": BOT_TOKEN,
        "signing_secret": SIGNING_SECRET,
        "port": 0,
        "base_url": fake.api_url,
        "admin_allowlist": (ALLOWED,),
    }
    values.update(overrides)
    return SlackConfig(**values)


@pytest.fixture
async def http_bot(fake: FakeSlack, services: Services) -> AsyncIterator[SlackRuntime]:
    runtime = SlackRuntime(_config(fake), services)
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()


class Slash:
    """Sends signed ``/news`` requests to the bot's HTTP endpoint, as Slack does."""

    def __init__(self, url: str, fake: FakeSlack, session: aiohttp.ClientSession) -> None:
        self.url, self.fake, self.session = url, fake, session

    async def __call__(
        self,
        text: str,
        *,
        user: str = MEMBER,
        secret: str = SIGNING_SECRET,
        timestamp: int | None = None,
    ) -> tuple[int, str]:
        body = urllib.parse.urlencode(
            {
                "token": "deprecated-verification-token",
                "team_id": TEAM,
                "team_domain": "fake",
                "channel_id": CHANNEL,
                "channel_name": "news",
                "user_id": user,
                "user_name": "someone",
                "command": "/news",
                "text": text,
                "api_app_id": "A0FAKE",
                "is_enterprise_install": "false",
                "response_url": self.fake.response_url(),
                "trigger_id": "1.2.3",
            }
        )
        ts = str(timestamp if timestamp is not None else int(time.time()))
        digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": "v0=" + digest.hexdigest(),
        }
        async with self.session.post(self.url, data=body, headers=headers) as response:
            return response.status, await response.text()

    async def interact(
        self, payload: dict[str, Any], *, secret: str = SIGNING_SECRET
    ) -> tuple[int, str]:
        """Post an interactive payload (``view_submission``, ``block_actions``) the way Slack
        does: a signed form with one ``payload`` field of JSON."""
        body = urllib.parse.urlencode({"payload": json.dumps(payload)})
        ts = str(int(time.time()))
        digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": "v0=" + digest.hexdigest(),
        }
        async with self.session.post(self.url, data=body, headers=headers) as response:
            return response.status, await response.text()

    async def reply(self, text: str, **kwargs: Any) -> dict[str, Any]:
        """Send a command that is acked empty, and return its first response_url post."""
        before = len(self.fake.responses)
        status, body = await self(text, **kwargs)
        assert (status, body) == (200, ""), (text, status, body)
        responses = await self.fake.wait_responses(before + 1)
        return responses[before]["body"]


@pytest.fixture
async def slash(http_bot: SlackRuntime, fake: FakeSlack) -> AsyncIterator[Slash]:
    url = f"http://127.0.0.1:{http_bot.port}/slack/events"
    async with aiohttp.ClientSession() as session:
        yield Slash(url, fake, session)


def _text(message: dict[str, Any]) -> str:
    parts = [str(message.get("text", ""))]
    for block in message.get("blocks", []):
        if isinstance(block.get("text"), dict):
            parts.append(block["text"]["text"])
        parts.extend(str(e.get("text", "")) for e in block.get("elements", ()))
    return "\n".join(parts).replace("\u200b", "")


def _is_error(message: dict[str, Any]) -> bool:
    return str(message["blocks"][0]["text"]["text"]).startswith(":warning:")


async def _story_id(sv: Services) -> str:
    from bot.queries.views import list_stories

    stories = (await list_stories(sv))["stories"]
    assert stories, "the seed articles form at least one story"
    return str(max(stories, key=lambda s: s["articles"])["id"])


# -------------------------------------------------------------------------------- commands


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'search "phone conversation" AND ukraine',
            ("search", {"query": '"phone conversation" AND ukraine'}),
        ),
        ("search “peace talks”", ("search", {"query": '"peace talks"'})),
        ("search Trump's call", ("search", {"query": "Trump's call"})),
        ('search "unbalanced', ("search", {"query": '"unbalanced'})),
        (
            'subscribe "ukraine election" daily 08:00 Europe/Paris',
            (
                "subscribe",
                {
                    "topic": '"ukraine election"',
                    "schedule": "daily 08:00",
                    "timezone": "Europe/Paris",
                },
            ),
        ),
        ("story s-1f2e", ("story", {"story": "s-1f2e"})),
        (
            "sources add <https://feeds.example/rss?a=1&amp;b=2|feeds.example/rss>",
            ("sources", {"action": "add", "url": "https://feeds.example/rss?a=1&b=2"}),
        ),
        ("", ("help", {})),
    ],
)
def test_slash_text_becomes_a_request_with_quoted_phrases_kept(
    text: str, expected: tuple[str, dict[str, str]]
) -> None:
    assert parse_command(text) == expected


async def test_help_and_unknown_subcommands_are_answered_in_the_ack(
    slash: Slash, fake: FakeSlack
) -> None:
    import json

    for text in ("", "help", "frobnicate the news"):
        status, body = await slash(text)
        assert status == 200
        ack = json.loads(body)
        assert ack["response_type"] == "ephemeral"
        shown = _text(ack)
        for name in COMMANDS:
            assert f"/news {name}" in shown
    assert fake.responses == []  # nothing else was sent


async def test_bad_signature_or_stale_timestamp_is_rejected_before_any_listener(
    slash: Slash, fake: FakeSlack
) -> None:
    assert (await slash("search putin", secret="not-the-secret"))[0] == 401
    assert (await slash("search putin", timestamp=int(time.time()) - 600))[0] == 401
    assert fake.calls == [] and fake.responses == []


async def test_every_subcommand_answers_with_block_kit_through_the_response_url(
    slash: Slash, fake: FakeSlack, services: Services
) -> None:
    story = await _story_id(services)
    script = [
        ("search", "search putin"),
        ("search", 'search "phone conversation" AND ukraine'),
        ("topics", "topics"),
        ("topics", "topics putin"),
        ("story", f"story {story} share=yes"),
        ("conflicts", f"conflicts {story}"),
        ("subscribe", 'subscribe "putin" daily 08:00 Europe/Paris'),
        ("follow", f"follow {story} hourly"),
        ("subscriptions", "subscriptions"),
        ("digest", "digest"),
        ("unsubscribe", "unsubscribe sub-1"),
        ("mute", f"mute {story}"),
        ("unmute", f"unmute {story}"),
        ("sources", "sources list"),
    ]
    assert {name for name, _ in script} == set(COMMANDS), "every /news subcommand is exercised"
    replies: dict[str, dict[str, Any]] = {}
    for name, text in script:
        user = ADMIN if name == "sources" else MEMBER
        reply = await slash.reply(text, user=user)
        replies[text] = reply
        assert reply["blocks"] and reply["text"], text
        assert reply["response_type"] in ("in_channel", "ephemeral")
        assert not _is_error(reply), (text, _text(reply))
    assert "putin" in _text(replies["search putin"]).lower()
    assert "would match" in _text(replies["topics putin"])  # the preview, with its count
    assert story in _text(replies[f"story {story} share=yes"])
    [chart] = fake.shared_files  # the story's coverage timeline, uploaded with files_upload_v2
    assert chart["channel"] == CHANNEL and chart["filename"] == f"{story}-coverage.png"
    assert chart["data"].startswith(b"\x89PNG")
    # The whole conversation went through the real clients: auth.test once, users.info cached.
    assert len(fake.calls_of("auth.test")) == 1
    assert len(fake.calls_of("users.info")) == 2  # MEMBER and ADMIN, each looked up once


async def test_story_timeline_png_is_uploaded_to_the_channel(
    http_bot: SlackRuntime, fake: FakeSlack
) -> None:
    png = coverage_png("Talks", [(datetime(2025, 2, 12, 9, tzinfo=UTC), "Outlet A")])
    reply = Reply(title="s-1 Talks", lines=["summary"], attachments=[Attachment("s-1.png", png)])
    command = {"channel_id": CHANNEL, "user_id": MEMBER, "response_url": fake.response_url()}
    await http_bot.listener.send_reply(command, reply)
    assert fake.responses and fake.responses[0]["body"]["response_type"] == "in_channel"
    [shared] = fake.shared_files
    assert shared["channel"] == CHANNEL and shared["filename"] == "s-1.png"
    assert shared["data"] == png and png.startswith(b"\x89PNG")
    # Without the bot in the channel the upload fails and the user is told, privately.
    fake.channels_without_bot.add(CHANNEL)
    await http_bot.listener.send_reply({**command, "response_url": fake.response_url()}, reply)
    hint = fake.responses[-1]["body"]
    assert hint["response_type"] == "ephemeral" and "invite the bot" in _text(hint)


async def test_admin_only_commands_check_users_info_or_the_allow_list(
    slash: Slash, fake: FakeSlack
) -> None:
    denied = await slash.reply("sources list", user=MEMBER)
    assert denied["response_type"] == "ephemeral" and "admin" in _text(denied).lower()
    allowed = await slash.reply("sources list", user=ALLOWED)
    assert not _is_error(allowed)
    assert [c.params["user"] for c in fake.calls_of("users.info")] == [MEMBER]
    admin = await slash.reply("sources list", user=ADMIN)
    assert not _is_error(admin)


async def test_socket_mode_envelopes_are_acked_over_the_websocket(
    fake: FakeSlack, services: Services
) -> None:
    runtime = SlackRuntime(_config(fake, app_token=APP_TOKEN, signing_secret=None), services)
    await runtime.start()
    try:
        assert runtime.mode == "socket"
        await fake.wait_socket()
        payload = {
            "team_id": TEAM,
            "channel_id": CHANNEL,
            "user_id": MEMBER,
            "command": "/news",
            "text": "help",
            "response_url": fake.response_url(),
        }
        ack = await fake.send_slash_command(payload)
        assert "/news search" in _text(ack["payload"])
        ack = await fake.send_slash_command(
            {**payload, "text": "search putin", "response_url": fake.response_url()}
        )
        assert not ack.get("payload")  # an empty ack, then the reply
        [reply] = await fake.wait_responses(1)
        assert "putin" in _text(reply["body"]).lower()
        assert fake.calls_of("apps.connections.open")[0].auth == f"Bearer {APP_TOKEN}"
    finally:
        await runtime.stop()


# -------------------------------------------------------------------------------- delivery


def _big_digest(stories: int) -> Digest:
    when = datetime(2025, 2, 13, 6, 14, tzinfo=UTC)
    sentence = StatementRef("Leaders spoke by phone about ending the war. " * 8, "a", "Wire", when)
    return Digest(
        channel=CHANNEL,
        generated_at=when,
        stories=[
            StoryDigest(
                id=f"s-{i:04x}",
                title=f"<!channel> Story {i}",
                known=False,
                articles=[ArticleRef("a", "<@U123> headline", "https://news.example/a", "W", when)],
                summary=[sentence, sentence, sentence],
            )
            for i in range(stories)
        ],
    )


async def test_scheduled_digest_of_a_subscription_is_posted_through_a_429(
    slash: Slash, http_bot: SlackRuntime, fake: FakeSlack, services: Services
) -> None:
    """Subscribe with /news, then the digest job's path: run_subscription -> outbox -> gateway."""
    await slash.reply('subscribe "putin" daily 08:00')
    [sub] = await Subscriptions(services.store).all_enabled()
    assert sub.ref == ChannelRef("slack", TEAM, CHANNEL)
    outbox = Outbox(services.store, {"slack": http_bot.gateway})
    fake.ratelimit["chat.postMessage"] = 1
    period = datetime.now(UTC).replace(microsecond=0)
    status = await run_subscription(
        services.store, services.settings.digest, outbox, sub, period=period
    )
    assert status == "sent"
    calls = fake.calls_of("chat.postMessage")
    assert [c.status for c in calls] == [429, 200]
    assert calls[1].at - calls[0].at >= fake.retry_after  # Retry-After was honoured
    assert calls[0].auth == f"Bearer {BOT_TOKEN}"
    [post] = fake.posts
    delivery = await outbox.by_key(period_key(sub.id, period))
    assert delivery is not None and delivery.status == "sent" and delivery.message_id == post["ts"]
    assert post["channel"] == CHANNEL and "putin" in _text(post).lower()
    again = await run_subscription(
        services.store, services.settings.digest, outbox, sub, period=period
    )
    assert again == "duplicate" and len(fake.posts) == 1


async def test_a_channel_the_bot_left_disables_its_subscription_and_tells_admins(
    slash: Slash, http_bot: SlackRuntime, fake: FakeSlack, services: Services
) -> None:
    await slash.reply('subscribe "ukraine"')
    [sub] = await Subscriptions(services.store).all_enabled()
    fake.channels_without_bot.add(CHANNEL)
    outbox = Outbox(services.store, {"slack": http_bot.gateway})
    status = await run_subscription(
        services.store, services.settings.digest, outbox, sub, period=datetime.now(UTC)
    )
    assert status == "failed"
    assert await Subscriptions(services.store).all_enabled() == []
    # One failed post (no retry storm), then a DM to the admin and to the allow-listed user.
    assert len(fake.calls_of("chat.postMessage")) == 3
    assert [p["channel"] for p in fake.posts] == ["D0ADMIN", "D0ALLOWED"]
    assert all(sub.public_id in p["text"] for p in fake.posts)


async def test_the_seed_digest_is_one_message(
    http_bot: SlackRuntime, fake: FakeSlack, services: Services
) -> None:
    """A channel's first digest of everything in the seed corpus, by the digest path
    (tell_channel -> outbox -> slack_sdk -> Slack): one chat.postMessage within Slack's
    limits (the fake refuses more than 50 blocks or 12,000 characters)."""
    outbox = Outbox(services.store, {"slack": http_bot.gateway})
    ref = ChannelRef("slack", TEAM, CHANNEL)
    told = await tell_channel(
        services.store, services.settings.digest, outbox, ref, [Target()],
        key="e2e:seed-digest", now=datetime.now(UTC),
    )  # fmt: skip
    assert told.status == "sent" and told.stories >= 1
    (call,) = fake.calls_of("chat.postMessage")
    assert call.status == 200
    (post,) = fake.posts
    kinds = [b["type"] for b in post["blocks"]]
    assert kinds[0] == "header" and kinds.count("divider") == told.stories
    text = _text(post)
    assert "Sources (5)" in text and "Full story: /news story s-" in text


async def test_a_long_digest_is_split_and_paced_one_message_per_second(fake: FakeSlack) -> None:
    gateway = SlackGateway(make_client(BOT_TOKEN, base_url=fake.api_url))
    ts = await gateway.post_digest(ChannelRef("slack", TEAM, CHANNEL), _big_digest(14))
    parts = fake.posts
    assert len(parts) >= 2 and parts[0]["ts"] == ts
    assert all(len(p["blocks"]) <= 50 for p in parts)
    gaps = [b["at"] - a["at"] for a, b in itertools.pairwise(parts)]
    assert min(gaps) >= 0.95
    everything = "\n".join(_text(p) for p in parts)
    assert "<!channel>" not in everything and "<@U123>" not in everything
    assert "&lt;!channel&gt; Story 13" in everything


@pytest.mark.parametrize("error", sorted({"channel_not_found", "not_in_channel", "is_archived"}))
async def test_channel_errors_are_permanent_delivery_errors(fake: FakeSlack, error: str) -> None:
    gateway = SlackGateway(make_client(BOT_TOKEN, base_url=fake.api_url))
    fake.errors["chat.postMessage"] = [error]
    with pytest.raises(DeliveryError) as info:
        await gateway.post_digest(ChannelRef("slack", TEAM, CHANNEL), _big_digest(1))
    assert info.value.permanent and error in str(info.value)
    assert len(fake.calls_of("chat.postMessage")) == 1  # no retry storm


async def test_other_failures_are_retryable_and_name_no_secret(fake: FakeSlack) -> None:
    assert "account_inactive" in PERMANENT_ERRORS
    client = make_client(BOT_TOKEN, base_url=fake.api_url, rate_limit_retries=0)
    gateway = SlackGateway(client, min_interval=0)
    ref = ChannelRef("slack", TEAM, CHANNEL)
    fake.errors["chat.postMessage"] = ["internal_error"]
    with pytest.raises(DeliveryError) as info:
        await gateway.post_digest(ref, _big_digest(1))
    assert not info.value.permanent
    fake.ratelimit["chat.postMessage"] = 1
    with pytest.raises(DeliveryError) as info:
        await gateway.post_digest(ref, _big_digest(1))
    assert not info.value.permanent and info.value.retry_after == fake.retry_after
    assert BOT_TOKEN not in repr(info.value) and BOT_TOKEN not in str(info.value)


async def test_admins_are_told_by_direct_message(fake: FakeSlack) -> None:
    gateway = SlackGateway(make_client(BOT_TOKEN, base_url=fake.api_url), min_interval=0)
    await gateway.notify_admins(TEAM, "Subscription sub-3 disabled: <!channel> gone")
    dms = [p for p in fake.posts if p["channel"].startswith("D")]
    assert [p["channel"] for p in dms] == ["D0ADMIN"]
    assert "&lt;!channel&gt;" in dms[0]["text"]


# --------------------------------------------------------------------------------- secrets


async def test_tokens_secret_and_response_urls_never_reach_logs(
    fake: FakeSlack, services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # root and every library logger at DEBUG
    for name in ("slack_bolt", "slack_sdk", "aiohttp", "newsbot"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    runtime = SlackRuntime(_config(fake), services)
    socket = SlackRuntime(_config(fake, app_token=APP_TOKEN, signing_secret=None), services)
    await runtime.start()
    await socket.start()
    try:
        async with aiohttp.ClientSession() as session:
            slash = Slash(f"http://127.0.0.1:{runtime.port}/slack/events", fake, session)
            await slash.reply("search putin")
            await slash("topics", secret="wrong")
        await fake.wait_socket()
        await fake.send_slash_command(
            {
                "team_id": TEAM,
                "channel_id": CHANNEL,
                "user_id": MEMBER,
                "command": "/news",
                "text": "topics",
                "response_url": fake.response_url(),
            }
        )
        await fake.wait_responses(2)
        fake.errors["chat.postMessage"] = ["invalid_auth"]
        with pytest.raises(DeliveryError):
            await runtime.gateway.post_digest(ChannelRef("slack", TEAM, CHANNEL), _big_digest(1))
    finally:
        await socket.stop()
        await runtime.stop()
    response_paths = [r["path"] for r in fake.responses]
    assert len(caplog.records) > 20, "DEBUG logging was on"
    logged = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    for secret in (BOT_TOKEN, APP_TOKEN, SIGNING_SECRET, *response_paths):
        assert secret not in logged
    assert not re.search(r"xox[bp]-|xapp-", logged)


async def test_factory_reads_secrets_and_http_settings(services: Services) -> None:
    assert create_runtime(services.settings, services, Secrets({})) is None
    secrets = Secrets({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET})
    env = {"SLACK_HTTP_PORT": "0", "SLACK_ADMIN_USERS": f"{ALLOWED}, U0OTHER"}
    runtime = create_runtime(services.settings, services, secrets, env)
    assert runtime is not None and runtime.mode == "http"
    assert runtime.config.admin_allowlist == (ALLOWED, "U0OTHER")
    assert SIGNING_SECRET not in repr(runtime.config) and BOT_TOKEN not in repr(runtime.config)


# --------------------------------------------------------------------- modal, undo, permissions


def _submission(view: dict[str, Any], topic: str, schedule: str, zone: str) -> dict[str, Any]:
    """The ``view_submission`` Slack sends when the subscribe form is submitted."""
    values = {
        "topic": {"value": {"type": "plain_text_input", "value": topic}},
        "schedule": {"value": {"type": "static_select", "selected_option": {"value": schedule}}},
        "timezone": {"value": {"type": "static_select", "selected_option": {"value": zone}}},
    }
    return {
        "type": "view_submission",
        "team": {"id": TEAM, "domain": "fake"},
        "user": {"id": MEMBER, "team_id": TEAM, "name": "max"},
        "api_app_id": "A0FAKE",
        "token": "deprecated-verification-token",
        "trigger_id": "4.5.6",
        "view": {
            **view,
            "id": "V1",
            "team_id": TEAM,
            "app_id": "A0FAKE",
            "state": {"values": values},
            "hash": "1.abc",
        },
    }


def _press(button: dict[str, Any], fake: FakeSlack, user: str = MEMBER) -> dict[str, Any]:
    """The ``block_actions`` Slack sends when ``user`` presses ``button`` in the channel."""
    message = {"text": "Subscribed", "blocks": [{"type": "actions", "elements": [button]}]}
    return fake.block_actions(message, button["action_id"], user=user, channel=CHANNEL)


def _buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


async def _topics(services: Services) -> list[tuple[str | None, str, str]]:
    subs = await Subscriptions(services.store).for_channel(ChannelRef("slack", TEAM, CHANNEL))
    return [(s.topic_query, s.schedule, s.timezone) for s in subs]


async def test_subscribe_alone_opens_a_form_whose_submission_subscribes_the_channel(
    slash: Slash, fake: FakeSlack, services: Services
) -> None:
    status, body = await slash("subscribe")
    assert (status, body) == (200, "")
    await fake.wait_for(lambda: fake.views)
    [opened] = fake.views
    assert opened["trigger_id"] == "1.2.3"  # the slash command's trigger
    view = opened["view"]
    assert [b["block_id"] for b in view["blocks"]] == ["topic", "schedule", "timezone", "thread"]
    zones = [o["value"] for o in view["blocks"][2]["element"]["options"]]
    assert {"UTC", "Europe/Paris", "Asia/Kathmandu"} <= set(zones) and len(zones) <= 100
    # The user's own zone (users.info "tz") is preselected, even one not in the usual list.
    assert view["blocks"][2]["element"]["initial_option"]["value"] == "Asia/Kathmandu"
    assert view["blocks"][1]["element"]["initial_option"]["value"] == "daily 08:00"
    assert fake.responses == [] and await _topics(services) == []
    # A topic that is no query: the form says so, next to the field; nothing is stored.
    status, body = await slash.interact(_submission(view, "ukraine AND", "daily 08:00", "UTC"))
    assert status == 200
    answer = json.loads(body)
    assert answer["response_action"] == "errors" and "topic" in answer["errors"]
    assert await _topics(services) == []
    # Submitted: the same handler as /news subscribe, answered in the channel with an Undo.
    form = _submission(view, "putin", "weekdays 09:00", "Europe/Paris")
    assert await slash.interact(form) == (200, "")
    await fake.wait_for(lambda: any("Subscribed" in _text(p) for p in fake.posts))
    assert await _topics(services) == [("putin", "weekdays 09:00", "Europe/Paris")]
    [post] = [p for p in fake.posts if "Subscribed" in _text(p)]
    assert post["channel"] == CHANNEL and not post.get("ephemeral")
    [undo] = _buttons(post)
    assert undo["text"]["text"] == "Undo" and undo["action_id"].startswith("newsbot:undo:")


async def test_undo_button_reverses_a_subscription_and_answers_privately(
    slash: Slash, fake: FakeSlack, services: Services
) -> None:
    reply = await slash.reply("subscribe putin daily 07:00")
    [undo] = _buttons(reply)
    before = len(fake.responses)
    # Someone else pressing it is told privately, and nothing changes.
    status, _ = await slash.interact(_press(undo, fake, user=OTHER))
    assert status == 200
    [refusal] = [r["body"] for r in await fake.wait_responses(before + 1)][before:]
    assert refusal["response_type"] == "ephemeral" and refusal["replace_original"] is False
    assert "only the member who made this change" in _text(refusal)
    assert await _topics(services) == [("putin", "daily 07:00", "UTC")]
    status, _ = await slash.interact(_press(undo, fake))
    assert status == 200
    [done] = [r["body"] for r in await fake.wait_responses(before + 2)][before + 1 :]
    assert done["response_type"] == "ephemeral" and "removed" in _text(done)
    assert await _topics(services) == []
    # Unsubscribe's Undo brings it back.
    await slash.reply("subscribe putin daily 07:00")
    [sub] = await Subscriptions(services.store).for_channel(ChannelRef("slack", TEAM, CHANNEL))
    removed = await slash.reply(f"unsubscribe {sub.public_id}")
    count = len(fake.responses)
    await slash.interact(_press(_buttons(removed)[0], fake))
    restored = (await fake.wait_responses(count + 1))[count]["body"]
    assert "restored" in _text(restored)
    assert await _topics(services) == [("putin", "daily 07:00", "UTC")]


def _import_submission(view: dict[str, Any], files: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``view_submission`` Slack sends when the import form is submitted with ``files``."""
    values = {"file": {"value": {"type": "file_input", "files": files}}}
    return {
        "type": "view_submission",
        "team": {"id": TEAM, "domain": "fake"},
        "user": {"id": ADMIN, "team_id": TEAM, "name": "ada"},
        "api_app_id": "A0FAKE",
        "token": "deprecated-verification-token",
        "trigger_id": "4.5.7",
        "view": {**view, "id": "V2", "team_id": TEAM, "state": {"values": values}},
    }


async def test_sources_import_opens_a_file_form_and_export_uploads_the_opml_to_the_user(
    slash: Slash, fake: FakeSlack, services: Services, feed_server: FeedServer
) -> None:
    from bot.net.ssrf import GuardSettings
    from bot.platforms.slack_adapter import unslack
    from bot.sources.opml import OpmlFeed, read_opml

    port = feed_server.base_url.rsplit(":", 1)[1]
    network = GuardSettings(allow=[f"127.0.0.1:{port}"])
    services.settings = services.settings.model_copy(update={"network": network})
    good = feed_server.file_url("node-feedparser/rss2sample.xml")
    page = feed_server.file_url("no-such-page.html")
    # A member who is no admin gets the refusal, not the form.
    refusal = await slash.reply("sources import", user=MEMBER)
    assert _is_error(refusal) and "admins" in _text(refusal) and fake.views == []
    assert await slash("sources import", user=ADMIN) == (200, "")
    await fake.wait_for(lambda: fake.views)
    [opened] = fake.views
    [block] = opened["view"]["blocks"]
    assert block["element"]["type"] == "file_input"
    opml = (
        '<?xml version="1.0"?><opml version="2.0"><body>'
        f'<outline type="rss" text="Liftoff" xmlUrl="{good}"/>'
        f'<outline type="rss" text="Gone" xmlUrl="{page}"/>'
        '<outline type="rss" text="Gopher" xmlUrl="gopher://old.example/feed"/>'
        "</body></opml>"
    ).encode()
    upload = fake.add_file("feedly.opml", opml)
    assert await slash.interact(_import_submission(opened["view"], [upload])) == (200, "")
    await fake.wait_for(lambda: any("added" in _text(p) for p in fake.posts))
    [answer] = [p for p in fake.posts if "added" in _text(p)]
    assert answer["ephemeral"] and answer["user"] == ADMIN and answer["channel"] == CHANNEL
    shown = unslack(_text(answer))
    assert f"added: {good} (Liftoff)" in shown
    assert "404" in shown and "gopher://old.example/feed: not an http(s) feed URL" in shown
    assert "1 added, 2 skipped" in shown
    assert fake.downloads == [(upload["id"], f"Bearer {BOT_TOKEN}")]
    rows = await services.store.feed_sources(f"slack:{TEAM}")
    assert [(r["locator"], r["name"]) for r in rows] == [(good, "Liftoff")]
    # Export: the OPML file is uploaded to the admin's direct message with the bot.
    exported = await slash.reply("sources export", user=ADMIN)
    assert exported["response_type"] == "ephemeral" and "newsbot-feeds.opml" in _text(exported)
    await fake.wait_for(lambda: fake.shared_files)
    [shared] = fake.shared_files
    assert shared["channel"] == "D0ADMIN" and shared["filename"] == "newsbot-feeds.opml"
    assert read_opml(shared["data"], origin="x")[0] == [OpmlFeed(good, "Liftoff")]
    # A form's answer in a channel the bot is not in comes by direct message instead.
    fake.channels_without_bot.add(CHANNEL)
    again = fake.add_file("again.opml", opml)
    assert await slash.interact(_import_submission(opened["view"], [again])) == (200, "")
    await fake.wait_for(lambda: any(p["channel"] == "D0ADMIN" for p in fake.posts))
    [direct] = [p for p in fake.posts if p["channel"] == "D0ADMIN"]
    assert "0 added, 3 skipped" in _text(direct) and "already a source" in _text(direct)


async def test_trailing_words_that_are_no_schedule_get_discords_error_on_slack(
    slash: Slash, services: Services
) -> None:
    from bot.delivery.schedules import parse_schedule
    from bot.errors import UserError

    reply = await slash.reply("subscribe ukraine every tuesday")
    assert reply["response_type"] == "ephemeral" and _is_error(reply)
    with pytest.raises(UserError) as discord_error:  # what Discord's schedule option gets
        parse_schedule("every tuesday")
    assert str(discord_error.value) in _text(reply)
    assert await _topics(services) == []  # never the topic "ukraine every tuesday"


async def test_thread_word_on_slack_sets_the_subscriptions_thread_mode(
    slash: Slash, services: Services
) -> None:
    reply = await slash.reply("subscribe ukraine daily 08:00 thread:digest")
    assert not _is_error(reply) and "each digest in a thread" in _text(reply)
    subs = await Subscriptions(services.store).for_workspace("slack", TEAM)
    assert [(s.topic_query, s.schedule, s.thread) for s in subs] == [
        ("ukraine", "daily 08:00", "digest")
    ]
    bad = await slash.reply("subscribe quake thread:sometimes")
    assert _is_error(bad) and "thread must be off, digest, story" in _text(bad)


async def test_manage_users_limits_who_subscribes_with_a_one_line_refusal(
    slash: Slash, fake: FakeSlack, services: Services
) -> None:
    from bot.settings import PermissionSettings

    services.settings = services.settings.model_copy(
        update={"permissions": PermissionSettings(manage_users=[ALLOWED])}
    )
    refused = await slash.reply("subscribe putin", user=MEMBER)
    assert _is_error(refused) and refused["response_type"] == "ephemeral"
    assert "only the members listed in [permissions] manage_users and workspace admins" in _text(
        refused
    )
    alone = await slash.reply("subscribe", user=MEMBER)  # no form for who may not use it
    assert _is_error(alone) and fake.views == []
    assert not _is_error(await slash.reply("subscribe putin", user=ALLOWED))
    assert not _is_error(await slash.reply("subscribe kyiv", user=ADMIN))
    assert [t for t, _, _ in await _topics(services)] == ["putin", "kyiv"]
    assert not _is_error(await slash.reply("subscriptions", user=MEMBER))


# --------------------------------------------------------------------------------- buttons


class Click:
    """Sends signed ``block_actions`` requests (a user clicking a button) to the bot's HTTP
    endpoint, as Slack does: ``payload=<json>``, form-encoded, signed like commands."""

    def __init__(self, url: str, fake: FakeSlack, session: aiohttp.ClientSession) -> None:
        self.url, self.fake, self.session = url, fake, session

    async def __call__(
        self,
        message: dict[str, Any],
        action_id: str,
        *,
        user: str = MEMBER,
        channel: str = CHANNEL,
        secret: str = SIGNING_SECRET,
    ) -> tuple[int, float]:
        payload = self.fake.block_actions(message, action_id, user=user, channel=channel)
        body, headers = signed_form({"payload": json.dumps(payload)}, secret)
        started = time.monotonic()
        async with self.session.post(self.url, data=body, headers=headers) as response:
            await response.read()
            return response.status, time.monotonic() - started

    async def reply(self, message: dict[str, Any], action_id: str, **kwargs: Any) -> dict:
        """Click, check the ack came at once (empty 200), return the private answer."""
        before = len(self.fake.responses)
        status, elapsed = await self(message, action_id, **kwargs)
        assert status == 200 and elapsed < 3.0  # acked within Slack's 3 s
        responses = await self.fake.wait_responses(before + 1)
        body: dict[str, Any] = responses[before]["body"]
        return body


@pytest.fixture
async def click(http_bot: SlackRuntime, fake: FakeSlack) -> AsyncIterator[Click]:
    url = f"http://127.0.0.1:{http_bot.port}/slack/events"
    async with aiohttp.ClientSession() as session:
        yield Click(url, fake, session)


def _button_digest(story: str, subs: list[str], more: int) -> Digest:
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
    return Digest(
        channel=CHANNEL, generated_at=when, stories=[item], more_stories=more, subscriptions=subs
    )


def _action_ids(message: dict[str, Any]) -> list[str]:
    return [
        e["action_id"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]


def _private(answer: dict[str, Any]) -> str:
    assert answer["response_type"] == "ephemeral" and answer["replace_original"] is False
    return _text(answer)


async def test_digest_buttons_run_their_commands_and_answer_privately(
    slash: Slash, click: Click, http_bot: SlackRuntime, fake: FakeSlack, services: Services
) -> None:
    story = await _story_id(services)
    await slash.reply('subscribe "putin"')
    [sub] = await Subscriptions(services.store).all_enabled()
    ref = ChannelRef("slack", TEAM, CHANNEL)
    await http_bot.gateway.post_digest(ref, _button_digest(story, [sub.public_id], 2))
    digest = fake.posts[-1]
    assert _action_ids(digest) == [
        f"newsbot:follow:{story}",
        f"newsbot:mute:{story}",
        f"newsbot:conflicts:{story}",
        f"newsbot:story:{story}",
        "newsbot:more:",
        f"newsbot:unsubscribe:{sub.public_id}",
    ]
    more_line = [b for b in digest["blocks"] if b["type"] == "context"][-1]
    assert "+2 more stories" in _text({"blocks": [more_line]})

    shown = _private(await click.reply(digest, f"newsbot:follow:{story}"))
    assert "Following" in shown and story in shown
    assert any(s.story_id for s in await Subscriptions(services.store).for_channel(ref))

    shown = _private(await click.reply(digest, f"newsbot:conflicts:{story}"))
    assert f"Conflicts · {story}" in shown

    full = await click.reply(digest, f"newsbot:story:{story}")  # /news story, privately
    assert story in _private(full) and _action_ids(full)[0] == f"newsbot:share:{story}"

    # More stories: privately, a page of what the channel was not told, each story with its
    # own buttons (the seed corpus is one story: no next page); nothing is posted in the
    # channel and nothing recorded (tests/test_handlers.py pages through more stories).
    posts = len(fake.posts)
    page1 = await click.reply(digest, "newsbot:more:")
    shown = _private(page1)
    assert "More stories (page 1)" in shown and "Only you see these" in shown
    assert _action_ids(page1) == [
        f"newsbot:follow:{story}",
        f"newsbot:mute:{story}",
        f"newsbot:conflicts:{story}",
        f"newsbot:story:{story}",
    ]
    assert len(fake.posts) == posts
    again = _private(await click.reply(digest, "newsbot:more:"))
    assert story in again  # still not told to the channel: shown again

    shown = _private(await click.reply(digest, f"newsbot:mute:{story}"))
    assert "will not appear in this channel's digests again" in shown
    composed = await compose_for(
        services.store, services.settings.digest, ref, [Target()], now=datetime.now(UTC)
    )
    assert story not in [s.id for s in composed.digest.stories]
    assert len(await MutedStories(services.store).for_channel(ref.key)) == 1

    shown = _private(await click.reply(digest, f"newsbot:unsubscribe:{sub.public_id}"))
    assert f"{sub.public_id} removed" in shown
    assert sub not in await Subscriptions(services.store).for_channel(ref)


async def test_button_clicks_are_verified_and_checked_like_the_commands(
    click: Click, http_bot: SlackRuntime, fake: FakeSlack, services: Services
) -> None:
    story = await _story_id(services)
    other = ChannelRef("slack", TEAM, "C0OTHER")
    sub = await Subscriptions(services.store).add(
        channel=other,
        topic_query="putin",
        timing=Timing.parse("daily 08:00", "UTC", None),
        created_by=ADMIN,
        now=datetime.now(UTC),
    )
    await http_bot.gateway.post_digest(
        ChannelRef("slack", TEAM, CHANNEL), _button_digest(story, [sub.public_id], 0)
    )
    digest = fake.posts[-1]
    action = f"newsbot:unsubscribe:{sub.public_id}"
    calls = len(fake.calls)
    status, _ = await click(digest, action, secret="not-the-secret")
    assert status == 401 and len(fake.calls) == calls and fake.responses == []

    denied = await click.reply(digest, action, user=MEMBER)
    assert denied["response_type"] == "ephemeral" and _is_error(denied)
    assert "belongs to another channel" in _text(denied)
    assert sub in await Subscriptions(services.store).for_channel(other)

    forged = {
        "blocks": [
            {
                "type": "actions",
                "block_id": "x",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "newsbot:follow:<!channel>",
                        "text": {"type": "plain_text", "text": "x"},
                    }
                ],
            }
        ]
    }
    answer = await click.reply(forged, "newsbot:follow:<!channel>")
    assert _is_error(answer) and "<!channel>" not in json.dumps(answer)

    allowed = await click.reply(digest, action, user=ADMIN)
    assert not _is_error(allowed) and "removed" in _text(allowed)
    assert sub not in await Subscriptions(services.store).for_channel(other)


async def test_story_is_private_with_a_share_to_channel_button(
    slash: Slash, click: Click, fake: FakeSlack, services: Services
) -> None:
    story = await _story_id(services)
    private = await slash.reply(f"story {story}")
    assert private["response_type"] == "ephemeral"
    assert _action_ids(private)[0] == f"newsbot:share:{story}"
    assert fake.shared_files == []  # a private answer uploads nothing to the channel
    before = len(fake.responses)
    status, _ = await click(private, f"newsbot:share:{story}")
    assert status == 200
    await fake.wait_responses(before + 1)
    shared = fake.responses[before]["body"]
    assert shared["response_type"] == "in_channel" and story in _text(shared)
    assert f"newsbot:share:{story}" not in _action_ids(shared)
    await fake.wait_for(lambda: len(fake.shared_files) == 1)
    assert fake.shared_files[0]["filename"] == f"{story}-coverage.png"


async def test_socket_mode_button_clicks_are_acked_over_the_websocket(
    fake: FakeSlack, services: Services
) -> None:
    story = await _story_id(services)
    runtime = SlackRuntime(_config(fake, app_token=APP_TOKEN, signing_secret=None), services)
    await runtime.start()
    try:
        await fake.wait_socket()
        await runtime.gateway.post_digest(
            ChannelRef("slack", TEAM, CHANNEL), _button_digest(story, [], 0)
        )
        payload = fake.block_actions(
            fake.posts[-1], f"newsbot:follow:{story}", user=MEMBER, channel=CHANNEL
        )
        ack = await fake.send_interactive(payload)
        assert not ack.get("payload")  # acked at once, empty
        [reply] = await fake.wait_responses(1)
        assert "*Following*" in _private(reply["body"]) and story in _text(reply["body"])
    finally:
        await runtime.stop()
