"""Slack posts a keyed digest once: the real slack_sdk client against ``tests/fake_slack.py``.

Slack has no nonce: each message of a keyed delivery carries message metadata (the key and its
part), and a delivery tried before (``tried_at``, set by its first lease) is looked up in the
channel's history first (``conversations.history`` / ``conversations.replies`` with
``include_all_metadata``, from shortly before that attempt); the parts already there are not
posted again. Through the outbox on a real SQLite store: a worker killed after its post (before
"sent" was marked), or between two messages of a digest, and a part that failed mid-digest.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.delivery.gateway import DIGEST_THREAD, ChannelRef, DeliveryError, Threads
from bot.delivery.outbox import Outbox
from bot.digest.compose import Composed
from bot.digest.model import ArticleRef, Digest, StatementRef, StoryDigest
from bot.platforms.slack_gateway import (
    EVENT_TYPE,
    HISTORY_PAGE,
    SlackGateway,
    make_client,
    once_metadata,
)
from bot.platforms.slack_render import render_slack
from bot.storage import Store
from bot.storage import deliveries as dsql
from tests.fake_slack import FakeSlack

CHANNEL_ID = "C0NEWS"
KEY = "sub-3:2025-03-04T09:00:00Z"
LEASE = timedelta(seconds=120)


class Killed(Exception):
    """The worker was killed here."""


@dataclass
class Slack:
    fake: FakeSlack
    gateway: SlackGateway
    channel: ChannelRef

    def shown(self) -> list[dict[str, object]]:
        return self.fake.top_level(CHANNEL_ID)

    def lookups(self) -> list[dict[str, object]]:
        return [
            c.params
            for c in self.fake.calls
            if c.method in ("conversations.history", "conversations.replies")
        ]


@pytest.fixture
async def slack() -> AsyncIterator[Slack]:
    fake = FakeSlack(bot_token="xoxb-once-token-1", team_id="T0FAKE")
    await fake.start()
    gateway = SlackGateway(make_client(fake.bot_token, base_url=fake.api_url), min_interval=0)
    try:
        yield Slack(fake, gateway, ChannelRef("slack", fake.team_id, CHANNEL_ID))
    finally:
        await fake.stop()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(tmp_path / "once.db")
    try:
        yield s
    finally:
        await s.close()


def _digest(stories: int, thread: str | None = None) -> Digest:
    now = datetime.now(UTC)
    digest = Digest(
        channel=CHANNEL_ID,
        generated_at=now,
        topic="flood",
        stories=[
            StoryDigest(
                id=f"s-{i:04x}",
                title=f"Story {i} about the flood in Riverton",
                known=False,
                articles=[ArticleRef(f"a{i}", f"Headline {i}", "https://news.example/a", "W", now)],
                summary=[
                    StatementRef(
                        f"Statement {k} of story {i} says the river rose again overnight",
                        f"a{i}",
                        "Wire",
                        now,
                    )
                    for k in range(3)
                ],
            )
            for i in range(stories)
        ],
    )
    if thread is not None:
        digest.thread = thread
    return digest


async def _pending(store: Store, slack: Slack, digest: Digest) -> int:
    outbox = Outbox(store, {"slack": slack.gateway})
    delivery_id = await outbox.enqueue(
        Composed(digest, [(1, [101], [])]), channel=slack.channel, idempotency_key=KEY
    )
    assert delivery_id is not None
    return delivery_id


async def _dead_worker_took(store: Store, delivery_id: int) -> datetime:
    """A worker took the delivery's lease (its first attempt) and was killed mid-send."""
    now = datetime.now(UTC)
    assert await dsql.claim(store, delivery_id, owner="dead", until=now + LEASE, now=now)
    return now


def _survivor(store: Store, slack: Slack, at: datetime) -> Outbox:
    async def no_wait(_: float) -> None:
        return None

    return Outbox(
        store, {"slack": slack.gateway}, min_interval=0, backoff=0, sleep=no_wait,
        now=lambda: at, worker="survivor",
    )  # fmt: skip


async def test_a_digest_posted_just_before_a_crash_is_not_posted_again_at_the_next_start(
    store: Store, slack: Slack
) -> None:
    digest = _digest(2)
    delivery_id = await _pending(store, slack, digest)
    await _dead_worker_took(store, delivery_id)
    # the dead worker's post went out; it died before marking the delivery sent
    first = await slack.gateway.post_digest_once(slack.channel, digest, KEY)
    shown = len(slack.shown())
    assert shown >= 1 and not slack.lookups()  # a first attempt reads no history
    restart = _survivor(store, slack, datetime.now(UTC))
    assert await restart.recover() == 1  # SQLite: the crashed run's lease is cleared
    assert await restart.flush() == {"sent": 1}
    assert len(slack.shown()) == shown  # nothing posted twice
    delivery = await restart.get(delivery_id)
    assert delivery is not None and delivery.message_id == first
    [lookup] = slack.lookups()
    assert lookup["include_all_metadata"] in ("1", "true", True) and float(str(lookup["oldest"]))


async def test_a_lease_taken_over_after_the_first_of_several_messages_posts_only_the_rest(
    store: Store, slack: Slack
) -> None:
    digest = _digest(40)  # several Slack messages
    messages = render_slack(digest)
    assert len(messages) > 2
    delivery_id = await _pending(store, slack, digest)
    took = await _dead_worker_took(store, delivery_id)
    # killed between the first and the second message of the digest
    first = await slack.gateway.post_message(
        CHANNEL_ID, messages[0], metadata=once_metadata(KEY, "0")
    )
    survivor = _survivor(store, slack, took + LEASE + timedelta(seconds=1))  # lease ran out
    assert await survivor.flush() == {"sent": 1}
    shown = slack.shown()
    assert [m["text"] for m in shown] == [m["text"] for m in messages]  # each part once, in order
    assert [m["metadata"] for m in shown] == [
        {"event_type": EVENT_TYPE, "event_payload": {"key": KEY, "part": str(i)}}
        for i in range(len(messages))
    ]
    delivery = await survivor.get(delivery_id)
    assert delivery is not None and delivery.status == "sent" and delivery.message_id == first


async def test_a_part_that_failed_mid_digest_is_retried_without_reposting_the_parts_before(
    store: Store, slack: Slack
) -> None:
    digest = _digest(40)
    messages = render_slack(digest)
    delivery_id = await _pending(store, slack, digest)
    slack.fake.errors["chat.postMessage"] = ["", "internal_error"]  # the second message fails
    outbox = _survivor(store, slack, datetime.now(UTC))
    assert await outbox.flush() == {"sent": 1}  # the second attempt, in the same flush
    assert [m["text"] for m in slack.shown()] == [m["text"] for m in messages]
    assert len(slack.lookups()) == 1  # only the retry looked
    delivery = await outbox.get(delivery_id)
    assert delivery is not None and delivery.attempts == 2


async def test_a_post_whose_answer_was_lost_is_not_resent_blindly(
    store: Store, slack: Slack
) -> None:
    digest = _digest(1)
    delivery_id = await _pending(store, slack, digest)
    slack.fake.lost["chat.postMessage"] = 1  # stored by Slack, answered 500
    outbox = _survivor(store, slack, datetime.now(UTC))
    assert await outbox.flush() == {"sent": 1}  # the outbox's retry looked and found it
    [message] = slack.shown()
    assert [c.status for c in slack.fake.calls_of("chat.postMessage")] == [500]
    delivery = await outbox.get(delivery_id)
    assert delivery is not None and delivery.message_id == message["ts"]


async def test_a_repeat_pages_through_the_history_since_the_first_attempt(slack: Slack) -> None:
    tried = datetime.now(UTC)
    digest = _digest(1)
    first = await slack.gateway.post_digest_once(slack.channel, digest, KEY, tried=tried)
    for i in range(HISTORY_PAGE + 30):  # the channel moved on meanwhile
        await slack.gateway.client.chat_postMessage(channel=CHANNEL_ID, text=f"chatter {i}")
    shown = len(slack.shown())
    assert await slack.gateway.post_digest_once(slack.channel, digest, KEY, tried=tried) == first
    assert len(slack.shown()) == shown
    assert len(slack.lookups()) >= 2  # more than one page


async def test_a_message_older_than_the_first_attempt_is_not_taken_for_it(slack: Slack) -> None:
    digest = _digest(1)
    await slack.gateway.post_digest_once(slack.channel, digest, KEY)
    later = datetime.now(UTC) + timedelta(hours=1)  # a first attempt well after that post
    again = await slack.gateway.post_digest_once(slack.channel, digest, KEY, tried=later)
    assert len(slack.shown()) == 2 and again == slack.shown()[1]["ts"]
    assert [c["oldest"] for c in slack.lookups()] == [
        f"{(later - timedelta(minutes=5)).timestamp():.6f}"
    ]


async def test_a_thread_parent_posted_before_a_crash_is_found_and_not_posted_twice(
    slack: Slack,
) -> None:
    digest = _digest(2, thread="digest")
    recorded: list[str] = []

    async def killed(key: str, ts: str) -> None:
        raise Killed  # the worker dies after the parent, before recording it

    tried = datetime.now(UTC)
    with pytest.raises(Killed):
        await slack.gateway.post_digest_once(
            slack.channel, digest, KEY, Threads("digest", record=killed)
        )
    [parent] = slack.shown()

    async def record(key: str, ts: str) -> None:
        recorded.append(ts)

    first = await slack.gateway.post_digest_once(
        slack.channel, digest, KEY, Threads("digest", record=record), tried=tried
    )
    assert first == parent["ts"] and recorded == [first] and slack.shown() == [parent]
    replies = slack.fake.replies(CHANNEL_ID, first)
    assert [r["text"] for r in replies] == [m["text"] for m in render_slack(digest)]
    assert {r["metadata"]["event_payload"]["part"] for r in replies} == {  # type: ignore[index]
        f"{DIGEST_THREAD}:{i}" for i in range(len(replies))
    }


async def test_a_story_thread_retry_skips_the_replies_already_in_it(slack: Slack) -> None:
    digest = _digest(2, thread="story")
    threads = Threads("story")
    tried = datetime.now(UTC)

    async def fail_second_story(key: str, ts: str) -> None:
        if key == digest.stories[1].id:
            slack.fake.errors["chat.postMessage"] = ["internal_error"]

    threads.record = fail_second_story
    with pytest.raises(DeliveryError):
        await slack.gateway.post_digest_once(slack.channel, digest, KEY, threads)
    threads.record = None
    index = await slack.gateway.post_digest_once(slack.channel, digest, KEY, threads, tried=tried)
    parents = [threads.open[s.id] for s in digest.stories]
    assert [m["ts"] for m in slack.shown()] == [*parents, index]  # two parents, one index
    for story, parent in zip(digest.stories, parents, strict=True):
        texts = [json.dumps(r["blocks"]) for r in slack.fake.replies(CHANNEL_ID, parent)]
        assert len(texts) == 1 and story.title in texts[0]  # each story's reply once


async def test_a_history_the_bot_may_not_read_is_posted_anyway(slack: Slack) -> None:
    slack.fake.errors["conversations.history"] = ["missing_scope"]
    await slack.gateway.post_digest_once(slack.channel, _digest(1), KEY, tried=datetime.now(UTC))
    assert len(slack.shown()) == 1  # at least once, as without a key


async def test_a_history_look_up_that_fails_posts_nothing_and_is_retried_later(
    slack: Slack,
) -> None:
    slack.fake.errors["conversations.history"] = ["internal_error"]
    with pytest.raises(DeliveryError) as err:
        await slack.gateway.post_digest_once(
            slack.channel, _digest(1), KEY, tried=datetime.now(UTC)
        )
    assert not err.value.permanent and not slack.shown()
