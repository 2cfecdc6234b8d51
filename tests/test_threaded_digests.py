"""Threaded digests end to end, on Discord (the real discord.py client against
``tests/fake_discord.py``) and Slack (the real slack_sdk client against ``tests/fake_slack.py``),
through the one delivery path (``run_subscription`` -> ``tell_channel`` -> outbox -> gateway).

- ``thread:story``: a story told over two digests (seed articles 000-001, then 002-003) opens
  one thread the first time and its update lands in that same thread; each digest's message in
  the channel links the thread. On a Discord forum channel each story is one forum post.
- ``thread:digest``: a short parent message in the channel, every message of the digest in its
  thread.
- A post that fails after its thread was opened is retried into that thread: no second one.
- ``off``: the digest is posted in the channel as before, no thread opened.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.delivery.channel import compose_for, period_key, run_subscription, target_of
from bot.delivery.gateway import DIGEST_THREAD, ChannelRef, ChatGateway, Threads
from bot.delivery.outbox import Delivery, OnceGateway, Outbox
from bot.delivery.schedules import Timing
from bot.delivery.subscriptions import Subscription, Subscriptions
from bot.platforms.discord_adapter import NewsBot
from bot.platforms.slack_gateway import SlackGateway, make_client
from bot.services import Services, open_services
from bot.settings import Settings
from tests.conftest import SEEDS, need
from tests.fake_discord import FakeDiscord
from tests.fake_slack import FakeSlack

TOPIC = "trump putin ukraine"
NOW = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)
DAILY = Timing.parse("daily 09:00", "UTC")


def _text(payload: Any) -> str:
    raw = json.dumps(payload, ensure_ascii=False)
    return re.sub(r"\\\\(.)", r"\1", raw)  # markdown escapes are not what a reader sees


@dataclass
class Chat:
    """One platform's channel as a reader sees it."""

    gateway: ChatGateway
    channel: ChannelRef
    threads: Callable[[], list[str]]  # ids of the threads opened in the channel, in order
    in_thread: Callable[[str], list[str]]  # each message posted in a thread, as text
    top_level: Callable[[], list[str]]  # each message in the channel itself, as text
    links: Callable[[str], str]  # how the channel's message points at a thread
    fail_next_in_thread: Callable[[], None]  # the next post in a thread fails (transiently)
    fake: Any = None


async def _discord(tmp_path: Path, forum: bool = False) -> AsyncIterator[Chat]:
    fake = FakeDiscord(forums=("stories",))
    await fake.start()
    # The client's own services (it answers commands from them; none are run here).
    sv = await open_services(
        Settings.model_validate(
            {"database": {"path": str(tmp_path / "client.db")}, "seeds": {"folders": []}}
        )
    )
    with fake.patch_discord():
        bot = NewsBot(sv, sync_commands=False, guild_ready_timeout=0.1)
        task = asyncio.create_task(bot.start(fake.token))
        try:
            await asyncio.wait_for(bot.wait_until_ready(), 10)
            channel_id = fake.channels["stories" if forum else "news"]

            def threads() -> list[str]:
                found = fake.find("POST", rf"^/channels/{channel_id}/(messages/\d+/)?threads$")
                return [str(r.response["id"]) for r in found if r.status == 200]

            def fail() -> None:
                fake.inject(
                    "POST",
                    rf"^/channels/(?!{channel_id}/)\d+/messages$",
                    status=400,
                    body={"message": "Something went wrong", "code": 0},
                )

            yield Chat(
                bot.gateway,
                ChannelRef("discord", fake.guild_id, channel_id),
                threads=threads,
                in_thread=lambda t: [_text(m) for m in fake.in_channel(t)],
                top_level=lambda: [_text(m) for m in fake.in_channel(channel_id)],
                links=lambda t: f"<#{t}>",
                fail_next_in_thread=fail,
                fake=fake,
            )
        finally:
            await bot.close()
            await asyncio.wait_for(task, 5)
            await sv.close()
            await fake.stop()


async def _slack() -> AsyncIterator[Chat]:
    fake = FakeSlack(bot_token="xoxb-threads-token-1", team_id="T0FAKE")
    await fake.start()
    gateway = SlackGateway(make_client(fake.bot_token, base_url=fake.api_url), min_interval=0)
    channel = "C0NEWS"

    def threads() -> list[str]:
        return list(dict.fromkeys(str(p["thread_ts"]) for p in fake.posts if p.get("thread_ts")))

    async def replies(ts: str) -> list[str]:
        # What a Slack client shows of the thread (conversations.replies, parent first).
        answer = await gateway.client.conversations_replies(channel=channel, ts=ts)
        return [_text(m) for m in answer["messages"][1:]]

    try:
        yield Chat(
            gateway,
            ChannelRef("slack", fake.team_id, channel),
            threads=threads,
            in_thread=lambda ts: [_text(p) for p in fake.replies(channel, ts)],
            top_level=lambda: [_text(p) for p in fake.top_level(channel)],
            links=lambda ts: f"/archives/{channel}/p{ts.replace('.', '')}",
            fail_next_in_thread=lambda: fake.reply_errors.append("internal_error"),
            fake=fake,
        )
        # The replies the fake recorded are the ones Slack's API shows.
        for ts in threads():
            assert await replies(ts) == [_text(p) for p in fake.replies(channel, ts)]
    finally:
        await fake.stop()


@pytest.fixture(params=["discord", "slack"])
async def chat(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Chat]:
    builder = _discord(tmp_path) if request.param == "discord" else _slack()
    yield await anext(builder)
    await builder.aclose()


def _folder(tmp_path: Path, name: str, prefixes: tuple[str, ...]) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    for path in sorted(SEEDS.glob("*.txt")):
        if path.name[:3] in prefixes:
            shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    need(SEEDS)
    settings = Settings.model_validate(
        {"database": {"path": str(tmp_path / "news.db")}, "seeds": {"folders": []}}
    )
    sv = await open_services(settings)
    await sv.ingestor.ingest(str(_folder(tmp_path, "first", ("000", "001"))))
    try:
        yield sv
    finally:
        await sv.close()


async def _subscribe(sv: Services, chat: Chat, thread: str) -> Subscription:
    return await Subscriptions(sv.store).add(
        channel=chat.channel, topic_query=TOPIC, timing=DAILY, created_by="U1", now=NOW,
        thread=thread,
    )  # fmt: skip


def _outbox(sv: Services, chat: Chat) -> Outbox:
    async def no_wait(_: float) -> None:
        return None

    return Outbox(
        sv.store, {chat.gateway.platform: chat.gateway}, min_interval=0, backoff=0,
        sleep=no_wait, now=lambda: NOW,
    )  # fmt: skip


async def _digest(sv: Services, outbox: Outbox, sub: Subscription, day: int) -> Delivery:
    period = NOW + timedelta(days=day)
    status = await run_subscription(sv.store, sv.settings.digest, outbox, sub, period=period)
    delivery = await outbox.by_key(period_key(sub.id, period))
    assert status == "sent" and delivery is not None, (status, delivery)
    return delivery


async def test_a_story_followed_over_two_digests_lands_in_one_thread(
    services: Services, chat: Chat, tmp_path: Path
) -> None:
    sub = await _subscribe(services, chat, "story")
    outbox = _outbox(services, chat)
    first = await _digest(services, outbox, sub, 0)
    titles = [s.title for s in first.digest.stories]
    ids = [s.id for s in first.digest.stories]
    opened = chat.threads()
    assert titles and len(opened) == len(titles)  # one thread per story
    for title, thread in zip(titles, opened, strict=True):
        assert any(title in m for m in chat.in_thread(thread))
    index = chat.top_level()[-1]
    assert all(chat.links(t) in index for t in opened) and "New: " in index

    await services.ingestor.ingest(str(_folder(tmp_path, "second", ("002", "003"))))
    told = {len(chat.in_thread(t)) for t in opened}
    second = await _digest(services, outbox, sub, 1)
    updated = [s for s in second.digest.stories if s.id in ids]
    assert updated and all(s.known for s in updated)  # the same story, with news
    assert chat.threads()[: len(opened)] == opened  # no second thread for a known story
    story = opened[ids.index(updated[0].id)]
    later = chat.in_thread(story)
    assert len(later) > min(told)
    news = [s.text for s in updated[0].new + updated[0].summary]
    assert any(text[:60] in later[-1] for text in news), later[-1]  # its update, in its thread
    index = chat.top_level()[-1]
    assert chat.links(story) in index and "Update: " in index


async def test_a_digest_in_digest_mode_is_one_parent_message_and_its_thread(
    services: Services, chat: Chat
) -> None:
    sub = await _subscribe(services, chat, "digest")
    delivery = await _digest(services, _outbox(services, chat), sub, 0)
    (thread,) = chat.threads()
    (parent,) = chat.top_level()
    count = len(delivery.digest.stories)
    assert f"Digest: {TOPIC} — {count} stor" in parent
    inside = "\n".join(chat.in_thread(thread))
    assert all(s.title in inside for s in delivery.digest.stories)
    assert delivery.message_id == thread  # the delivery is marked with the parent's id


@pytest.mark.parametrize("mode", ["digest", "story"])
async def test_a_post_retried_after_its_thread_opened_opens_no_second_thread(
    services: Services, chat: Chat, mode: str
) -> None:
    sub = await _subscribe(services, chat, mode)
    chat.fail_next_in_thread()  # the thread opens, the first message in it fails
    delivery = await _digest(services, _outbox(services, chat), sub, 0)
    assert delivery.attempts >= 2  # it failed once, then went out
    opened = chat.threads()
    assert len(opened) == (1 if mode == "digest" else len(delivery.digest.stories))
    parents = [m for m in chat.top_level() if "Digest:" in m or mode == "story"]
    assert len(parents) == (1 if mode == "digest" else len(opened) + 1)
    for thread in opened:
        assert chat.in_thread(thread)


async def test_off_mode_posts_the_digest_in_the_channel_and_opens_no_thread(
    services: Services, chat: Chat
) -> None:
    sub = await _subscribe(services, chat, "off")
    delivery = await _digest(services, _outbox(services, chat), sub, 0)
    assert chat.threads() == []
    posted = "\n".join(chat.top_level())
    assert all(s.title in posted for s in delivery.digest.stories)
    assert "Digest:" not in posted


async def test_a_forum_channel_gets_one_post_per_story_across_digests(
    services: Services, tmp_path: Path
) -> None:
    builder = _discord(tmp_path, forum=True)
    chat = await anext(builder)
    try:
        sub = await _subscribe(services, chat, "story")
        outbox = _outbox(services, chat)
        first = await _digest(services, outbox, sub, 0)
        opened = chat.threads()
        assert len(opened) == len(first.digest.stories) and chat.top_level() == []
        await services.ingestor.ingest(str(_folder(tmp_path, "second", ("002", "003"))))
        await _digest(services, outbox, sub, 1)
        assert chat.threads()[: len(opened)] == opened
        assert chat.top_level() == []  # a forum holds posts only
        assert max(len(chat.in_thread(t)) for t in opened) >= 3  # title, story, its update
    finally:
        await builder.aclose()


async def test_a_deleted_story_thread_is_replaced_and_the_subscription_stays(
    services: Services, tmp_path: Path
) -> None:
    builder = _discord(tmp_path)
    chat = await anext(builder)
    try:
        sub = await _subscribe(services, chat, "story")
        outbox = _outbox(services, chat)
        first = await _digest(services, outbox, sub, 0)
        opened = chat.threads()
        for thread in opened:
            chat.fake.delete_thread(thread)  # a moderator deleted the story's thread
        await services.ingestor.ingest(str(_folder(tmp_path, "second", ("002", "003"))))
        second = await _digest(services, outbox, sub, 1)
        again = [s for s in second.digest.stories if s.id in {s.id for s in first.digest.stories}]
        assert again
        now_open = chat.threads()
        assert len(now_open) == len(opened) + len(second.digest.stories)
        assert all(chat.in_thread(t) for t in now_open[len(opened) :])
        current = await Subscriptions(services.store).by_id(sub.id)
        assert current is not None and current.enabled
    finally:
        await builder.aclose()


async def test_a_discord_post_stopped_before_its_thread_was_recorded_reuses_it(
    services: Services, tmp_path: Path
) -> None:
    """A worker killed between opening a thread and recording it: the next attempt (same
    idempotency key) gets the same parent message back (its nonce) and finds the thread
    started from it, so the digest still has one parent and one thread."""
    builder = _discord(tmp_path)
    chat = await anext(builder)
    try:
        sub = await _subscribe(services, chat, "digest")
        composed = await compose_for(
            services.store, services.settings.digest, chat.channel, [target_of(sub)], now=NOW
        )

        async def killed(key: str, thread_id: str) -> None:
            raise RuntimeError("killed before the thread was recorded")

        gateway = chat.gateway
        assert isinstance(gateway, OnceGateway)
        with pytest.raises(RuntimeError):
            await gateway.post_digest_once(
                chat.channel, composed.digest, "sub-1:period", Threads("digest", record=killed)
            )
        again = Threads("digest")
        parent = await gateway.post_digest_once(
            chat.channel, composed.digest, "sub-1:period", again
        )
        assert chat.threads() == [parent] == [again.open[DIGEST_THREAD]]
        assert len(chat.top_level()) == 1  # one parent message
        assert chat.in_thread(parent)
    finally:
        await builder.aclose()


async def test_a_digest_in_digest_mode_on_a_forum_channel_is_one_forum_post(
    services: Services, tmp_path: Path
) -> None:
    builder = _discord(tmp_path, forum=True)
    chat = await anext(builder)
    try:
        sub = await _subscribe(services, chat, "digest")
        delivery = await _digest(services, _outbox(services, chat), sub, 0)
        (post,) = chat.threads()
        assert chat.top_level() == []
        (made,) = chat.fake.find("POST", rf"^/channels/{chat.channel.channel}/threads$")
        assert made.json["name"].startswith(f"Digest: {TOPIC} — ")
        inside = "\n".join(chat.in_thread(post))
        assert all(s.title in inside for s in delivery.digest.stories)
    finally:
        await builder.aclose()
