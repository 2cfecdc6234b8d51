"""Buttons as platform-neutral actions (``handlers.actions``) and muted stories: the parser, the
command each button runs, its visibility, and a muted story left out of the channel's digests."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.delivery.channel import Target, compose_for, target_of
from bot.delivery.gateway import ChannelRef
from bot.delivery.schedules import Timing
from bot.delivery.subscriptions import Subscriptions
from bot.digest.model import ConflictRef, Digest, StatementRef, StoryDigest
from bot.errors import UserError
from bot.services import Services
from bot.storage.muted import MutedStories
from handlers import command_spec, dispatch, run_action
from handlers.actions import (
    ACTIONS,
    Action,
    command_request,
    digest_actions,
    is_action,
    parse_action,
    story_actions,
)
from handlers.base import CommandRequest
from tests.test_handlers import biggest_story, req, sv, template_db  # noqa: F401 (fixtures)

WHEN = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
CHANNEL = ChannelRef("slack", "T1", "C1")


def _request(action: Action, *, channel: str = "C1", admin: bool = False) -> CommandRequest:
    base = CommandRequest(
        platform="slack", workspace="T1", channel=channel, user="U1", is_admin=admin, command=""
    )
    return command_request(action, base)


# ------------------------------------------------------------------------------ the encoding


@pytest.mark.parametrize(
    ("custom_id", "values", "expected"),
    [
        ("newsbot:follow:s-4f2a", (), Action("follow", "s-4f2a")),
        ("newsbot:mute:S-4F2A", (), Action("mute", "s-4f2a")),
        ("newsbot:conflicts:", ("s-0001",), Action("conflicts", "s-0001")),
        ("newsbot:more:", (), Action("more")),
        ("newsbot:unsubscribe:sub-12", (), Action("unsubscribe", "sub-12")),
        ("newsbot:share:s-4f2a", (), Action("share", "s-4f2a")),
    ],
)
def test_a_component_id_parses_back_to_its_action(
    custom_id: str, values: tuple[str, ...], expected: Action
) -> None:
    assert parse_action(custom_id, values) == expected
    assert parse_action(expected.custom_id) == expected


@pytest.mark.parametrize(
    "custom_id",
    [
        "newsbot:frobnicate:s-1",
        "otherbot:follow:s-1",
        "newsbot:follow:",
        "newsbot:follow:<@&1>",
        "newsbot:follow:" + "a" * 41,
        "newsbot:more:s-1",
    ],
)
def test_anything_else_is_one_clear_user_error(custom_id: str) -> None:
    with pytest.raises(UserError) as err:
        parse_action(custom_id)
    assert "\n" not in str(err.value) and "button" in str(err.value)


def test_only_newsbot_ids_are_claimed() -> None:
    assert is_action("newsbot:follow:s-1") and not is_action("poll:vote:1")


def test_every_action_runs_an_existing_non_admin_command() -> None:
    for spec in ACTIONS.values():
        command = command_spec(spec.command)
        assert command is not None, spec.verb
        assert not command.admin_only, spec.verb
        names = {o.name for o in command.options}
        assert spec.arg is None or spec.arg in names
        assert set(spec.fixed) <= names


def test_stories_get_follow_and_mute_and_conflicts_only_when_they_have_some() -> None:
    said = StatementRef("x", "a1", "Wire", WHEN)
    plain = StoryDigest(id="s-0001", title="t", known=False)
    disputed = StoryDigest(
        id="s-0002", title="t", known=False, conflicts=[ConflictRef("revision", "f", [said])]
    )
    hidden = StoryDigest(id="s-0003", title="t", known=False, more_conflicts=2)
    assert [a.verb for a in story_actions(plain)] == ["follow", "mute", "story"]
    assert [a.verb for a in story_actions(disputed)] == ["follow", "mute", "conflicts", "story"]
    assert [a.verb for a in story_actions(hidden)] == ["follow", "mute", "conflicts", "story"]


def test_a_digest_offers_more_with_left_out_stories_and_one_unsubscribe_per_subscription() -> None:
    digest = Digest(channel="c", generated_at=WHEN, subscriptions=["sub-1", "sub-2", "sub-1"])
    assert digest_actions(digest) == [
        Action("unsubscribe", "sub-1"),
        Action("unsubscribe", "sub-2"),
    ]
    digest.more_stories = 3
    assert digest_actions(digest)[0] == Action("more")
    assert digest_actions(Digest(channel="c", generated_at=WHEN)) == []


# ----------------------------------------------------------------------- through dispatch


async def test_a_button_runs_its_command_and_answers_privately(sv: Services) -> None:  # noqa: F811
    story = await biggest_story(sv)
    reply = await run_action(Action("conflicts", story), _request(Action("conflicts", story)), sv)
    typed = await dispatch(req(f"conflicts {story}"), sv)
    assert reply.title == typed.title and reply.lines == typed.lines  # the same handler
    assert reply.ephemeral and not typed.ephemeral  # a click answers only the clicker

    follow = Action("follow", story)
    reply = await run_action(follow, _request(follow), sv)
    assert reply.title == "Following" and reply.ephemeral
    [sub] = await Subscriptions(sv.store).for_channel(CHANNEL)
    assert sub.story_id is not None


async def test_story_is_private_with_share_and_shared_publicly(sv: Services) -> None:  # noqa: F811
    story = await biggest_story(sv)
    private = await dispatch(req(f"story {story}"), sv)
    assert private.ephemeral and private.actions == [Action("share", story)]
    share = Action("share", story)
    shared = await run_action(share, _request(share), sv)
    assert not shared.ephemeral and shared.actions == [] and shared.attachments


async def test_unsubscribe_from_another_channel_is_refused_unless_admin(sv: Services) -> None:  # noqa: F811
    sub = await Subscriptions(sv.store).add(
        channel=ChannelRef("slack", "T1", "C2"),
        topic_query="quake",
        timing=Timing.parse("daily 08:00", "UTC", None),
        created_by="U2",
        now=WHEN,
    )
    action = Action("unsubscribe", sub.public_id)
    denied = await run_action(action, _request(action), sv)
    assert denied.error and denied.ephemeral and "another channel" in denied.lines[0]
    allowed = await run_action(action, _request(action, admin=True), sv)
    assert not allowed.error and allowed.ephemeral


# --------------------------------------------------------------------------------- muting


async def _story_row(services: Services, public_id: str) -> int:
    return int(
        await services.store.scalar("SELECT id FROM stories WHERE public_id = ?", (public_id,))
    )


async def _shown(services: Services, channel: ChannelRef, targets: list[Target]) -> list[str]:
    store, settings = services.store, services.settings.digest
    composed = await compose_for(store, settings, channel, targets, now=WHEN)
    return [s.id for s in composed.digest.stories]


async def test_a_muted_story_never_reaches_that_channels_digests(sv: Services) -> None:  # noqa: F811
    story = await biggest_story(sv)
    other = ChannelRef("slack", "T1", "C2")
    assert story in await _shown(sv, CHANNEL, [Target()])
    reply = await dispatch(req(f"mute {story}"), sv)
    assert reply.ephemeral and "will not appear" in reply.lines[0]
    assert f"/news unmute {story}" in reply.lines[1]
    row = await _story_row(sv, story)
    assert story not in await _shown(sv, CHANNEL, [Target()])  # every story
    assert story not in await _shown(sv, CHANNEL, [Target(story_id=row)])  # even followed
    assert story in await _shown(sv, other, [Target()])  # another channel still gets it
    again = await dispatch(req(f"mute {story}"), sv)
    assert "already muted" in again.lines[0]

    assert not (await dispatch(req(f"unmute {story}"), sv)).error
    assert story in await _shown(sv, CHANNEL, [Target()])
    missing = await dispatch(req(f"unmute {story}"), sv)
    assert missing.error and "not muted" in missing.lines[0]


async def test_a_muted_story_that_merges_mutes_the_story_it_joined(sv: Services) -> None:  # noqa: F811
    rows = await sv.store.fetchall(
        "SELECT id FROM stories WHERE merged_into IS NULL ORDER BY id LIMIT 2"
    )
    muted, into = int(rows[0][0]), int(rows[1][0])
    await MutedStories(sv.store).mute(CHANNEL.key, muted, by="U1", now=WHEN)
    async with sv.store.transaction() as conn:
        await conn.execute("UPDATE stories SET merged_into = ? WHERE id = ?", (into, muted))
    assert await MutedStories(sv.store).story_ids(CHANNEL.key) == {into}
    assert await MutedStories(sv.store).unmute(CHANNEL.key, into)
    assert await MutedStories(sv.store).for_channel(CHANNEL.key) == []


async def test_a_digest_names_the_subscriptions_it_is_for(sv: Services) -> None:  # noqa: F811
    subs = Subscriptions(sv.store)
    timing = Timing.parse("daily 08:00", "UTC", None)
    first = await subs.add(
        channel=CHANNEL, topic_query="quake", timing=timing, created_by="U1", now=WHEN
    )
    second = await subs.add(
        channel=CHANNEL, topic_query="election", timing=timing, created_by="U1", now=WHEN
    )
    targets = [target_of(first), target_of(second)]
    composed = await compose_for(sv.store, sv.settings.digest, CHANNEL, targets, now=WHEN)
    assert composed.digest.subscriptions == [first.public_id, second.public_id]
