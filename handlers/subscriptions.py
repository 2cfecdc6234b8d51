"""`/news subscribe|follow|unsubscribe|subscriptions|mute|unmute`: a channel's digests."""

from __future__ import annotations

from datetime import datetime

from bot.delivery.channel import catch_up
from bot.delivery.gateway import ChannelRef
from bot.delivery.schedules import Timing
from bot.delivery.subscriptions import Subscription, Subscriptions, parse_thread_mode
from bot.errors import UserError
from bot.queries.language import parse_query
from bot.queries.relevance import subscription_matches
from bot.queries.views import resolve_story
from bot.services import Services
from bot.storage.muted import MutedStories
from handlers.base import CommandRequest, Reply
from handlers.undo import undo_button


def stories(count: int) -> str:
    return f"{count} story" if count == 1 else f"{count} stories"


def channel_of(request: CommandRequest) -> ChannelRef:
    return ChannelRef(request.platform, request.workspace, request.channel)


def _timing(request: CommandRequest, services: Services) -> Timing:
    defaults = services.settings.digest
    return Timing.parse(
        request.args.get("schedule") or defaults.schedule,
        request.args.get("timezone") or defaults.timezone,
        request.args.get("quiet"),
    )


THREAD_WORDS = {"digest": "each digest in a thread", "story": "a thread per story"}


def _local(dt: datetime, timing: Timing) -> str:
    return dt.astimezone(timing.tz).strftime("%a %d %b %H:%M")


async def describe(services: Services, sub: Subscription, now: datetime) -> str:
    if sub.topic_query is not None:
        what = f"topic “{sub.topic_query}”"
    else:
        assert sub.story_id is not None
        heading = await services.store.story_heading(sub.story_id)
        what = f"story {heading[0]} “{heading[1]}”" if heading else f"story #{sub.story_id}"
    timing = sub.timing
    state = ""
    if not sub.enabled:
        state = " · disabled"
    else:
        nxt = timing.next_fire(now)
        if nxt is not None:
            state = f" · next {_local(nxt, timing)}"
    thread = f" · {THREAD_WORDS[sub.thread]}" if sub.thread in THREAD_WORDS else ""
    return f"{sub.public_id} · {what} · {timing.describe()}{thread}{state}"


async def subscribe(request: CommandRequest, services: Services) -> Reply:
    topic = " ".join(request.args["topic"].split())
    parse_query(topic)  # a malformed query is the user's to fix now, not at digest time
    timing = _timing(request, services)
    thread = parse_thread_mode(request.args.get("thread"))
    subs = Subscriptions(services.store, services.events)
    before = await _existing(subs, request, topic_query=topic)
    sub = await subs.add(
        channel=channel_of(request),
        topic_query=topic,
        timing=timing,
        created_by=request.user,
        now=services.clock(),
        thread=thread,
    )
    undo = await undo_button(
        request, services, "updated" if before else "added", after=sub, before=before
    )
    matches = await subscription_matches(
        services.store, services.settings.digest, topic, scope=request.scope
    )
    now = services.clock()
    lines = [await describe(services, sub, now)]
    caught_up = await _catch_up(services, sub)
    if caught_up is not None:
        lines.append(caught_up)
    elif matches:
        lines.append(f"{len(matches)} current stories match; the first digest brings them.")
    else:
        lines.append("No stored story matches yet; digests start when coverage arrives.")
    return Reply(title="Subscribed", lines=lines, actions=[undo])


async def _existing(
    subs: Subscriptions,
    request: CommandRequest,
    *,
    topic_query: str | None = None,
    story_id: int | None = None,
) -> Subscription | None:
    """The channel's enabled subscription that subscribing again would update, if any."""
    for sub in await subs.for_channel(channel_of(request), enabled_only=True):
        if sub.topic_query == topic_query and sub.story_id == story_id:
            return sub
    return None


async def _catch_up(services: Services, sub: Subscription) -> str | None:
    """A new subscription's catch-up digest, posted now by the running bot (README:
    "Digests and subscriptions"); ``None`` outside it (nothing posted)."""
    outbox = services.outbox
    if sub.platform not in outbox.gateways:
        return None
    told = await catch_up(
        services.store, services.settings.digest, outbox, sub, now=services.clock()
    )
    if told.status == "sent":
        return f"Catch-up: {stories(told.stories)} posted in this channel; then on schedule."
    if told.status == "pending":
        return f"Catch-up: {stories(told.stories)} queued for this channel; then on schedule."
    if told.status == "failed":
        return "Catch-up failed: newsbot cannot post in this channel (check its permissions)."
    return "Nothing new for it now: the channel already has this coverage, or there is none yet."


async def follow(request: CommandRequest, services: Services) -> Reply:
    story_id = await resolve_story(services, request.args["story"], scope=request.scope)
    timing = _timing(request, services)
    thread = parse_thread_mode(request.args.get("thread"))
    subs = Subscriptions(services.store, services.events)
    before = await _existing(subs, request, story_id=story_id)
    sub = await subs.add(
        channel=channel_of(request),
        story_id=story_id,
        timing=timing,
        created_by=request.user,
        now=services.clock(),
        thread=thread,
    )
    undo = await undo_button(
        request, services, "updated" if before else "added", after=sub, before=before
    )
    lines = [await describe(services, sub, services.clock())]
    caught_up = await _catch_up(services, sub)
    if caught_up is not None:
        lines.append(caught_up)
    return Reply(title="Following", lines=lines, actions=[undo])


async def unsubscribe(request: CommandRequest, services: Services) -> Reply:
    subs = Subscriptions(services.store, services.events)
    sub = await subs.get(
        request.args["subscription"], platform=request.platform, workspace=request.workspace
    )
    if sub.channel != request.channel and not request.is_admin:
        raise UserError(f"{sub.public_id} belongs to another channel: unsubscribe there")
    await subs.remove(sub)
    undo = await undo_button(request, services, "removed", after=None, before=sub)
    return Reply(title="Unsubscribed", lines=[f"{sub.public_id} removed."], actions=[undo])


async def _story_heading(
    services: Services, request: CommandRequest, story_id: int
) -> tuple[str, str]:
    """(public id, "s-4f2a “Title”") of a story as the request's workspace sees it."""
    heading = await services.store.story_heading(story_id, request.scope)
    if heading is None:
        return f"#{story_id}", f"story #{story_id}"
    return heading[0], f"{heading[0]} “{heading[1]}”"


async def mute(request: CommandRequest, services: Services) -> Reply:
    """Leave a story out of this channel's digests for good (every subscription's)."""
    story_id = await resolve_story(services, request.args["story"], scope=request.scope)
    public_id, what = await _story_heading(services, request, story_id)
    added = await MutedStories(services.store).mute(
        channel_of(request).key, story_id, by=request.user, now=services.clock()
    )
    lines = [
        f"{what} will not appear in this channel's digests again."
        if added
        else f"{what} was already muted in this channel.",
        f"/news unmute {public_id} brings it back.",
    ]
    return Reply(title="Muted", lines=lines, ephemeral=True)


async def unmute(request: CommandRequest, services: Services) -> Reply:
    story_id = await resolve_story(services, request.args["story"], scope=request.scope)
    _, what = await _story_heading(services, request, story_id)
    removed = await MutedStories(services.store).unmute(channel_of(request).key, story_id)
    if not removed:
        raise UserError(f"{what} is not muted in this channel")
    return Reply(
        title="Unmuted",
        lines=[f"{what} can appear in this channel's digests again."],
        ephemeral=True,
    )


async def list_subscriptions(request: CommandRequest, services: Services) -> Reply:
    subs = await Subscriptions(services.store, services.events).for_channel(channel_of(request))
    if not subs:
        return Reply(
            title="Subscriptions",
            lines=["This channel has no subscriptions: /news subscribe <topic> adds one."],
            ephemeral=True,
        )
    now = services.clock()
    return Reply(
        title="Subscriptions",
        lines=[await describe(services, s, now) for s in subs],
        ephemeral=True,
    )


async def complete_subscription(
    prefix: str, request: CommandRequest, services: Services
) -> list[tuple[str, str]]:
    """The workspace's subscriptions (this channel's first) matching ``prefix``."""
    found = await Subscriptions(services.store, services.events).search_ids(
        prefix, platform=request.platform, workspace=request.workspace, limit=100
    )
    found.sort(key=lambda s: (s.channel != request.channel, s.id))
    out = []
    for sub in found[:25]:
        what = sub.topic_query if sub.topic_query is not None else f"story #{sub.story_id}"
        out.append((f"{sub.public_id} · {what} · {sub.schedule}"[:100], sub.public_id))
    return out
