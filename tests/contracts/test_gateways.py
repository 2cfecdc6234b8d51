"""Contract of a ``ChatGateway``, run over every implementation: the console, Discord (the
real discord.py client against ``tests/fake_discord.py``) and Slack (the real slack_sdk client
against ``tests/fake_slack.py``).

The outbox relies on exactly this: ``post_digest`` delivers every story of a digest however
big it is (split as the platform's limits need) and returns the first message's id, a new
id per post; ``notify_admins`` reaches the workspace's admins; a channel the platform refuses
is a permanent :class:`DeliveryError`. A gateway that is also an ``OnceGateway`` (Discord: a
nonce; Slack: message metadata looked up) posts a digest once per idempotency key: a repeat (a
crash, another worker; told when the first attempt began, as the outbox tells it) gets the
first message back and shows nothing new. A new platform adds one case (a fixture builder).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.delivery.console import ConsoleGateway
from bot.delivery.gateway import DIGEST_THREAD, ChannelRef, ChatGateway, DeliveryError, Threads
from bot.delivery.outbox import OnceGateway
from bot.digest.model import ArticleRef, Digest, StatementRef, StoryDigest
from bot.platforms.discord_adapter import NewsBot
from bot.platforms.registry import platform_names
from bot.platforms.slack_gateway import SlackGateway, make_client
from bot.services import open_services
from bot.settings import Settings
from tests.fake_discord import FakeDiscord
from tests.fake_slack import FakeSlack


@dataclass
class Case:
    gateway: ChatGateway
    channel: ChannelRef
    received: Callable[[], str]  # every message posted to ``channel``, as text
    notices: Callable[[], str]  # everything the workspace's admins were sent
    refused: Callable[[], ChannelRef] | None  # a channel the platform refuses (None: cannot)
    shown: Callable[[], int] | None = None  # how many messages ``channel`` holds (once-posters)


def _text(payloads: Any) -> str:
    raw = json.dumps(payloads, ensure_ascii=False)
    return re.sub(r"\\\\(.)", r"\1", raw)  # markdown escapes are not what a reader sees


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


async def _console(tmp_path: Path) -> AsyncGenerator[Case]:
    sink: list[str] = []
    notices = _Lines()
    logger = logging.getLogger("newsbot.console")
    logger.addHandler(notices)
    try:
        yield Case(
            ConsoleGateway(sink=sink.append),
            ChannelRef("console", "", "console"),
            received=lambda: "\n".join(sink),
            notices=lambda: "\n".join(notices.lines),
            refused=None,
        )
    finally:
        logger.removeHandler(notices)


async def _discord(tmp_path: Path) -> AsyncGenerator[Case]:
    fake = FakeDiscord()
    await fake.start()
    settings = Settings.model_validate(
        {"database": {"path": str(tmp_path / "d.db")}, "seeds": {"folders": []}}
    )
    services = await open_services(settings)
    with fake.patch_discord():
        bot = NewsBot(services, sync_commands=False, guild_ready_timeout=0.1)
        task = asyncio.create_task(bot.start(fake.token))
        try:
            await asyncio.wait_for(bot.wait_until_ready(), 10)
            news, system = fake.channels["news"], fake.channels["general"]

            def posted(channel_id: str) -> str:
                # The channel's messages and those of its threads.
                ids = [
                    channel_id,
                    *(t for t, v in fake.threads.items() if v["parent_id"] == channel_id),
                ]
                found = [r for i in ids for r in fake.find("POST", rf"^/channels/{i}/")]
                return _text([r.json for r in found])

            yield Case(
                bot.gateway,
                ChannelRef("discord", fake.guild_id, news),
                received=lambda: posted(news),
                notices=lambda: posted(system),  # the guild's system channel
                refused=lambda: ChannelRef("discord", fake.guild_id, "123456789012345678"),
                shown=lambda: sum(m["channel_id"] == news for m in fake.messages.values()),
            )
        finally:
            await bot.close()
            await asyncio.wait_for(task, 5)
            await services.close()
            await fake.stop()


async def _slack(tmp_path: Path) -> AsyncGenerator[Case]:
    fake = FakeSlack(bot_token="xoxb-contract-token-1", team_id="T0FAKE")
    fake.users = {"U0ADMIN": {"id": "U0ADMIN", "name": "ada", "is_admin": True, "is_owner": False}}
    await fake.start()
    gateway = SlackGateway(make_client(fake.bot_token, base_url=fake.api_url), min_interval=0)
    channel = ChannelRef("slack", fake.team_id, "C0NEWS")

    def posted(prefix: str) -> str:
        return _text([p for p in fake.posts if str(p.get("channel", "")).startswith(prefix)])

    def refused() -> ChannelRef:
        fake.errors["chat.postMessage"] = ["channel_not_found"]
        return channel

    try:
        yield Case(
            gateway,
            channel,
            received=lambda: posted("C0NEWS"),
            notices=lambda: posted("D"),  # direct messages to the admins
            refused=refused,
            shown=lambda: len(fake.top_level("C0NEWS")),
        )
    finally:
        await fake.stop()


BUILDERS: dict[str, Callable[[Path], AsyncGenerator[Case]]] = {
    "console": _console,
    "discord": _discord,
    "slack": _slack,
}


@pytest.fixture(params=sorted(BUILDERS))
async def case(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Case]:
    builder = BUILDERS[request.param](tmp_path)
    yield await anext(builder)
    await builder.aclose()


NOW = datetime(2025, 3, 4, 9, 30, tzinfo=UTC)


def _digest(stories: int, channel: str = "C1") -> Digest:
    def statement(i: int, k: int) -> StatementRef:
        return StatementRef(
            f"Statement {k} of story {i} says the river rose again overnight in the valley",
            f"a{i}",
            "Wire",
            NOW,
        )

    return Digest(
        channel=channel,
        generated_at=NOW,
        stories=[
            StoryDigest(
                id=f"s-{i:04x}",
                title=f"Story {i} about the flood in Riverton",
                known=False,
                articles=[ArticleRef(f"a{i}", f"Headline {i}", "https://news.example/a", "W", NOW)],
                summary=[statement(i, k) for k in range(3)],
            )
            for i in range(stories)
        ],
    )


async def _post(case: Case, digest: Digest) -> str:
    message_id = await case.gateway.post_digest(case.channel, digest)
    assert isinstance(message_id, str) and message_id
    return message_id


async def test_a_gateway_names_a_registered_platform(case: Case) -> None:
    assert case.gateway.platform == case.channel.platform
    assert case.gateway.platform in (*platform_names(), "console")


async def test_a_posted_digest_arrives_with_every_story(case: Case) -> None:
    digest = _digest(3)
    await _post(case, digest)
    received = case.received()
    for story in digest.stories:
        assert story.title in received and story.summary[0].text in received


async def test_each_post_returns_its_own_first_message_id(case: Case) -> None:
    first = await _post(case, _digest(1))
    second = await _post(case, _digest(1))
    assert first != second


async def test_a_digest_too_big_for_one_message_arrives_whole(case: Case) -> None:
    digest = _digest(40)
    await _post(case, digest)
    received = case.received()
    positions = [received.find(story.title) for story in digest.stories]
    assert -1 not in positions, "a story did not arrive"
    assert positions == sorted(positions), "stories arrived out of order"


async def test_admins_are_told_without_raising(case: Case) -> None:
    await case.gateway.notify_admins(case.channel.workspace, "Feed Riverton Daily was disabled")
    assert "Feed Riverton Daily was disabled" in case.notices()


async def test_a_refused_channel_is_a_permanent_delivery_error(case: Case) -> None:
    if case.refused is None:
        pytest.skip(f"{case.gateway.platform} has no channel it can refuse")
    channel = case.refused()
    with pytest.raises(DeliveryError) as err:
        await case.gateway.post_digest(channel, _digest(1))
    assert err.value.permanent


def _once(case: Case) -> OnceGateway:
    if not isinstance(case.gateway, OnceGateway):
        pytest.skip(f"{case.gateway.platform} posts at least once (no idempotency key)")
    return case.gateway


async def test_a_repeated_idempotency_key_gets_the_first_message_and_shows_nothing_twice(
    case: Case,
) -> None:
    gateway = _once(case)
    digest = _digest(40)  # several messages: each is posted once
    assert case.shown is not None, "a once-poster's case says how many messages it shows"
    tried = datetime.now(UTC)  # when the first attempt began (the outbox's tried_at)
    first = await gateway.post_digest_once(case.channel, digest, "sub-7:2025-03-04T09:00:00Z")
    shown = case.shown()
    assert shown > 1
    again = await gateway.post_digest_once(
        case.channel, digest, "sub-7:2025-03-04T09:00:00Z", tried=tried
    )
    assert again == first and case.shown() == shown
    other = await gateway.post_digest_once(
        case.channel, digest, "sub-7:2025-03-04T10:00:00Z", tried=tried
    )
    assert other != first  # another key is another digest


async def test_a_refused_channel_is_permanent_for_a_post_once_too(case: Case) -> None:
    gateway = _once(case)
    if case.refused is None:
        pytest.skip(f"{case.gateway.platform} has no channel it can refuse")
    with pytest.raises(DeliveryError) as err:
        await gateway.post_digest_once(case.refused(), _digest(1), "k")
    assert err.value.permanent


@pytest.mark.parametrize("mode", ["digest", "story"])
async def test_a_threaded_digest_opens_each_thread_once_and_a_retry_posts_in_it(
    case: Case, mode: str
) -> None:
    digest = _digest(2)
    digest.thread = mode
    recorded: list[tuple[str, str]] = []

    async def record(key: str, thread_id: str) -> None:
        recorded.append((key, thread_id))

    threads = Threads(mode, record=record)
    await _post_threaded(case, digest, threads)
    keys = [DIGEST_THREAD] if mode == "digest" else [s.id for s in digest.stories]
    assert [k for k, _ in recorded] == keys and sorted(threads.open) == sorted(keys)
    assert len({t for _, t in recorded}) == len(keys)  # a thread each, each its own
    await _post_threaded(case, digest, threads)  # the same post again (a retry)
    assert len(recorded) == len(keys)  # no second thread
    received = case.received()
    for story in digest.stories:
        assert story.title in received and story.summary[0].text in received


async def _post_threaded(case: Case, digest: Digest, threads: Threads) -> str:
    message_id = await case.gateway.post_digest(case.channel, digest, threads)
    assert isinstance(message_id, str) and message_id
    return message_id
