"""Subscriptions are per channel and isolated per workspace (and per platform)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.delivery.gateway import ChannelRef
from bot.delivery.schedules import Timing
from bot.delivery.subscriptions import MAX_PER_CHANNEL, Subscriptions, parse_subscription_id
from bot.errors import UserError
from bot.events import Event, Events
from bot.storage import Store

NOW = datetime(2024, 5, 6, 8, 0, tzinfo=UTC)
DAILY = Timing.parse("daily 08:00", "UTC")


@pytest.fixture
async def subs(tmp_path: Path) -> AsyncIterator[Subscriptions]:
    store = await Store.open(tmp_path / "s.db")
    yield Subscriptions(store, Events())
    await store.close()


async def test_a_workspace_never_sees_or_reaches_another_workspaces_subscriptions(
    subs: Subscriptions,
) -> None:
    mine = await subs.add(
        channel=ChannelRef("discord", "G1", "C1"),
        topic_query="quake",
        timing=DAILY,
        created_by="u",
        now=NOW,
    )
    theirs = await subs.add(
        channel=ChannelRef("discord", "G2", "C1"),
        topic_query="quake",
        timing=DAILY,
        created_by="u",
        now=NOW,
    )
    # Same team id on another platform is another workspace too.
    await subs.add(
        channel=ChannelRef("slack", "G1", "C1"),
        topic_query="quake",
        timing=DAILY,
        created_by="u",
        now=NOW,
    )
    assert [s.id for s in await subs.for_workspace("discord", "G1")] == [mine.id]
    assert [s.id for s in await subs.for_channel(ChannelRef("discord", "G1", "C1"))] == [mine.id]
    assert (await subs.get(mine.public_id, platform="discord", workspace="G1")).id == mine.id
    with pytest.raises(UserError, match="no subscription"):
        await subs.get(theirs.public_id, platform="discord", workspace="G1")
    found = await subs.search_ids("", platform="discord", workspace="G2")
    assert [s.id for s in found] == [theirs.id]


async def test_subscribing_twice_to_the_same_topic_updates_the_schedule(
    subs: Subscriptions,
) -> None:
    channel = ChannelRef("slack", "T", "C")
    first = await subs.add(
        channel=channel, topic_query="  grain   deal ", timing=DAILY, created_by="u", now=NOW
    )
    again = await subs.add(
        channel=channel,
        topic_query="grain deal",
        timing=Timing.parse("hourly", "Europe/Kyiv"),
        created_by="u",
        now=NOW,
    )
    assert again.id == first.id and again.schedule == "hourly" and again.timezone == "Europe/Kyiv"
    assert len(await subs.for_channel(channel)) == 1


async def test_disabling_a_channel_reports_its_subscriptions_only_the_first_time(
    subs: Subscriptions,
) -> None:
    channel = ChannelRef("slack", "T", "C")
    await subs.add(channel=channel, topic_query="a", timing=DAILY, created_by="u", now=NOW)
    assert [s.public_id for s in await subs.disable_channel(channel)] == ["sub-1"]
    assert await subs.disable_channel(channel) == []
    assert await subs.all_enabled() == []


async def test_changes_reach_the_listeners_of_its_event_registry(subs: Subscriptions) -> None:
    calls: list[str] = []

    async def listener() -> None:
        calls.append("told")

    async def failing() -> None:
        raise RuntimeError("a listener's failure never undoes the change")

    async def elsewhere() -> None:
        calls.append("another registry was told")

    assert subs.events is not None
    subs.events.subscribe(Event.SUBSCRIPTIONS_CHANGED, failing)
    subs.events.subscribe(Event.SUBSCRIPTIONS_CHANGED, listener)
    subs.events.subscribe(Event.SOURCES_CHANGED, elsewhere)
    Events().subscribe(Event.SUBSCRIPTIONS_CHANGED, elsewhere)  # a second Services' registry
    sub = await subs.add(
        channel=ChannelRef("slack", "T", "C"),
        story_id=None,
        topic_query="a",
        timing=DAILY,
        created_by="u",
        now=NOW,
    )
    await subs.remove(sub)
    assert calls == ["told", "told"]
    assert len(await subs.all_enabled()) == 0


async def test_a_full_channel_refuses_another_subscription_and_stores_nothing(
    subs: Subscriptions,
) -> None:
    full, other = ChannelRef("slack", "T", "C"), ChannelRef("slack", "T", "D")
    for n in range(MAX_PER_CHANNEL):
        await subs.add(channel=full, topic_query=f"t{n}", timing=DAILY, created_by="u", now=NOW)
    with pytest.raises(UserError, match=f"has {MAX_PER_CHANNEL} subscriptions already"):
        await subs.add(channel=full, topic_query="one more", timing=DAILY, created_by="u", now=NOW)
    assert len(await subs.for_channel(full)) == MAX_PER_CHANNEL
    await subs.add(channel=other, topic_query="one more", timing=DAILY, created_by="u", now=NOW)
    assert len(await subs.all_enabled()) == MAX_PER_CHANNEL + 1


async def test_the_last_digest_time_never_moves_back(subs: Subscriptions) -> None:
    channel = ChannelRef("slack", "T", "C")
    sub = await subs.add(channel=channel, topic_query="a", timing=DAILY, created_by="u", now=NOW)
    later = NOW.replace(day=7)
    await subs.mark_digest(sub.id, later)
    await subs.mark_digest(sub.id, NOW)
    stored = await subs.by_id(sub.id)
    assert stored is not None and stored.last_digest_at == later


@pytest.mark.parametrize("text", ["sub-12", "SUB-12", "12", " sub12 "])
def test_users_type_short_subscription_ids(text: str) -> None:
    assert parse_subscription_id(text) == 12


def test_a_malformed_id_is_a_user_error() -> None:
    with pytest.raises(UserError):
        parse_subscription_id("sub-x")
