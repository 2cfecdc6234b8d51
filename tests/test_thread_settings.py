"""The ``thread`` setting of a subscription (off, digest, story) and the threads it opens, on
both backends: set from chat (``thread:story`` on Slack, Discord's option, the subscribe form),
kept when a subscription is updated without it, shown by ``/news subscriptions``; a story's
thread found again by the story's id (or an id it was merged from), the first one kept."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

import handlers
from bot.delivery.channel import Target, thread_mode
from bot.delivery.gateway import ChannelRef
from bot.delivery.schedules import Timing
from bot.delivery.subscriptions import Subscriptions, parse_thread_mode
from bot.errors import UserError
from bot.platforms.slack_adapter import submitted_subscription, subscribe_modal
from bot.services import open_services
from bot.settings import Settings
from bot.storage import Store, deliveries, stories
from bot.storage.stories import StoryFields
from bot.storage.threads import ThreadRepo
from handlers.base import CommandRequest

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
DAILY = Timing.parse("daily 08:00", "UTC")
CHANNEL = ChannelRef("slack", "T1", "C1")


@pytest.fixture
async def store(db_target: str) -> AsyncIterator[Store]:
    s = await Store.open(db_target)
    try:
        yield s
    finally:
        await s.close()


def _fields(title: str) -> StoryFields:
    return StoryFields(
        title=title, terms=[title.lower()], first_seen=NOW, last_seen=NOW, article_count=1,
        active=True,
    )  # fmt: skip


async def test_a_subscription_is_unthreaded_unless_asked_and_keeps_its_mode_when_updated(
    store: Store,
) -> None:
    subs = Subscriptions(store)
    plain = await subs.add(
        channel=CHANNEL, topic_query="quake", timing=DAILY, created_by="u", now=NOW
    )
    assert plain.thread == "off"
    story = await subs.add(
        channel=CHANNEL, topic_query="flood", timing=DAILY, created_by="u", now=NOW,
        thread="story",
    )  # fmt: skip
    assert story.thread == "story"
    hourly = Timing.parse("hourly", "UTC")
    again = await subs.add(
        channel=CHANNEL, topic_query="flood", timing=hourly, created_by="u", now=NOW
    )
    assert (again.id, again.thread, again.schedule) == (story.id, "story", "hourly")
    changed = await subs.add(
        channel=CHANNEL, topic_query="flood", timing=hourly, created_by="u", now=NOW,
        thread="digest",
    )  # fmt: skip
    assert (changed.id, changed.thread) == (story.id, "digest")
    assert thread_mode([Target(thread="off"), Target(thread="digest")]) == "digest"
    assert thread_mode([Target(thread="digest"), Target(thread="story")]) == "story"
    assert thread_mode([Target()]) == "off"


async def test_a_story_thread_is_found_by_its_id_or_a_merged_id_and_the_first_one_stays(
    store: Store,
) -> None:
    async with store.write() as txn:
        for key, title in ((1, "Alpha"), (2, "Beta")):
            await stories.insert_story(txn, key, _fields(title), public_ids=[f"s-{key}"])
    repo = ThreadRepo(store)
    key = CHANNEL.key
    assert await repo.story_threads(key, ["s-1", "s-2"]) == {}
    assert await repo.open_story_thread(key, "s-1", "1700000000.000999", now=NOW)
    assert await repo.open_story_thread(key, "s-1", "1700000000.000100", now=NOW)  # replaced
    assert not await repo.open_story_thread(key, "s-unknown", "x", now=NOW)
    assert await repo.story_threads(key, ["s-1", "s-2"]) == {"s-1": "1700000000.000100"}
    assert await repo.story_threads("slack:T1:OTHER", ["s-1"]) == {}
    async with store.write() as txn:
        await stories.record_merge(txn, 1, 2, now=NOW)  # s-1 joined s-2
    assert await repo.story_threads(key, ["s-2"]) == {"s-2": "1700000000.000100"}

    delivery = await deliveries.insert_pending(
        store, channel_key=key, idempotency_key="k", payload="{}", shown=[],
        subscription_id=None, now=NOW,
    )  # fmt: skip
    assert delivery is not None
    assert await repo.delivery_thread(delivery) is None
    await repo.open_delivery_thread(delivery, "1700000000.000200")
    await repo.open_delivery_thread(delivery, "1700000000.000300")
    assert await repo.delivery_thread(delivery) == "1700000000.000200"


def test_slack_text_sets_the_thread_mode_as_thread_colon_or_name_equals() -> None:
    command, args = handlers.parse_text("subscribe ukraine daily 08:00 thread:story")
    assert (command, args) == (
        "subscribe",
        {"topic": "ukraine", "schedule": "daily 08:00", "thread": "story"},
    )
    assert handlers.parse_text("follow s-4f2a thread=digest")[1] == {
        "story": "s-4f2a",
        "thread": "digest",
    }
    assert handlers.parse_text("search thread:story")[1] == {"query": "thread:story"}


def test_the_slack_subscribe_form_offers_the_thread_modes_and_submits_the_choice() -> None:
    view = subscribe_modal("C1", "daily 08:00", "UTC")
    (block,) = [b for b in view["blocks"] if b["block_id"] == "thread"]
    assert [o["value"] for o in block["element"]["options"]] == ["off", "digest", "story"]
    state = {
        "values": {
            "topic": {"value": {"type": "plain_text_input", "value": "flood"}},
            "thread": {"value": {"selected_option": {"value": "story"}}},
        }
    }
    assert submitted_subscription({"state": state}) == {"topic": "flood", "thread": "story"}


def _request(command: str, **args: str) -> CommandRequest:
    return CommandRequest(
        platform="slack", workspace="T1", channel="C1", user="U1", is_admin=False,
        command=command, args=args,
    )  # fmt: skip


async def test_subscribe_with_a_thread_mode_shows_it_and_refuses_an_unknown_one(
    tmp_path: Path,
) -> None:
    settings = Settings.model_validate(
        {"database": {"path": str(tmp_path / "h.db")}, "seeds": {"folders": []}}
    )
    sv = await open_services(settings)
    try:
        reply = await handlers.dispatch(_request("subscribe", topic="flood", thread="story"), sv)
        assert not reply.error and "a thread per story" in reply.lines[0], reply
        listed = await handlers.dispatch(_request("subscriptions"), sv)
        assert "a thread per story" in listed.lines[0]
        plain = await handlers.dispatch(_request("subscribe", topic="quake"), sv)
        assert "thread" not in plain.lines[0]
        bad = await handlers.dispatch(_request("subscribe", topic="fire", thread="yes"), sv)
        assert bad.error and "thread must be off, digest, story" in " ".join(bad.lines)
        with pytest.raises(UserError):
            parse_thread_mode("sometimes")
    finally:
        await sv.close()
