"""The one path by which a digest reaches a channel: :func:`tell_channel`.

Every trigger goes through it: a subscription's catch-up at creation, its scheduled run, the
run it missed while the bot was down (sent once at start), ``/news digest`` and the console
channel's schedule. Under the channel's lock (:meth:`Outbox.turn`) it sends what the channel
still has queued, composes from the channel's memory, and enqueues the digest together with
what it shows. The memory (``delivered_items`` of the channel's pending and sent deliveries) is
the one record of what a channel was told: a queued, rate-limited or in-flight post counts, so
no second trigger composes the same news again.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.delivery.gateway import ChannelRef
from bot.delivery.outbox import Outbox
from bot.delivery.subscriptions import Subscription, Subscriptions
from bot.digest.compose import Composed, compose_digest, merge_composed
from bot.settings import DigestSettings
from bot.storage import Store
from bot.storage import deliveries as dsql
from bot.storage.scope import Scope
from bot.storage.store import to_iso
from bot.storage.stories import live_story_id

log = logging.getLogger("newsbot.digest")


@dataclass(frozen=True, slots=True)
class Target:
    """What a digest covers: a topic query, one followed story, or (both ``None``) everything."""

    topic: str | None = None
    story_id: int | None = None
    subscription: str | None = None  # its subscription's public id (the digest's Unsubscribe)
    thread: str = "off"  # its subscription's thread mode

    @property
    def label(self) -> str:
        return self.topic or (f"story #{self.story_id}" if self.story_id is not None else "")


@dataclass(frozen=True, slots=True)
class Told:
    """What :func:`tell_channel` did: ``status`` is ``empty`` (nothing new), ``duplicate``
    (this idempotency key was handled before) or the outbox status of the new delivery
    (``sent``, ``pending``, ``failed``)."""

    status: str
    stories: int = 0
    last_at: datetime | None = None  # the channel's previous digest (for "nothing new")


def thread_mode(targets: Sequence[Target]) -> str:
    """How a digest for ``targets`` is posted: the most threaded of their modes (a story of a
    ``story`` subscription keeps to its thread in a digest merged with others)."""
    modes = {t.thread for t in targets}
    return next((m for m in ("story", "digest") if m in modes), "off")


async def compose_for(
    store: Store,
    settings: DigestSettings,
    channel: ChannelRef,
    targets: Sequence[Target],
    *,
    now: datetime,
) -> Composed:
    """The channel's digest for ``targets`` (merged, each story once), from its memory, over
    the sources the channel's workspace sees."""
    parts = []
    for target in targets or [Target()]:
        story_id = await live_story_id(store, target.story_id) if target.story_id else None
        parts.append(
            await compose_digest(
                store,
                settings,
                key=channel.key,
                channel=channel.channel,
                now=now,
                topic=target.topic,
                story_id=story_id,
                scope=Scope.of(channel.platform, channel.workspace),
            )
        )
    merged = parts[0] if len(parts) == 1 else merge_composed(parts, settings.max_stories)
    merged.digest.subscriptions = [t.subscription for t in targets if t.subscription]
    merged.digest.thread = thread_mode(targets)
    if len(targets) > 1:
        merged.digest.topic = ", ".join(t.label for t in targets)[:200]
    elif targets and targets[0].story_id is not None and merged.digest.stories:
        merged.digest.topic = merged.digest.topic or merged.digest.stories[0].title
    return merged


async def tell_channel(
    store: Store,
    settings: DigestSettings,
    outbox: Outbox,
    channel: ChannelRef,
    targets: Sequence[Target],
    *,
    key: str,
    now: datetime,
    subscription_id: int | None = None,
    period: datetime | None = None,
) -> Told:
    """Give ``channel`` what is new to it for ``targets``, at most once per idempotency ``key``.

    ``period`` (a scheduled digest of subscription ``subscription_id``): at most one digest
    per subscription and period across all workers; the period is claimed (the
    subscription's last digest time moved to it by a conditional update) in the transaction
    that stores the digest, or alone when there is nothing new, and a period already claimed
    is ``duplicate`` without composing."""
    sub_period = period if subscription_id is not None else None
    async with outbox.turn(channel.key):
        existing = await outbox.by_key(key)
        if existing is not None:
            if existing.status == "pending":
                return Told(await outbox.send(existing.id), len(existing.digest.stories))
            return Told("duplicate", len(existing.digest.stories))
        last_at = await dsql.last_told_at(store, channel.key)
        claimed = dsql.period_claimed
        if sub_period and subscription_id and await claimed(store, subscription_id, sub_period):
            return Told("duplicate", 0, last_at)
        composed = await compose_for(store, settings, channel, targets, now=now)
        if composed.digest.empty:
            if sub_period is not None and subscription_id is not None:
                await dsql.claim_period(store, subscription_id, sub_period)
            return Told("empty", 0, last_at)
        delivery_id = await outbox.enqueue(
            composed,
            channel=channel,
            idempotency_key=key,
            subscription_id=subscription_id,
            period=sub_period,
        )
    count = len(composed.digest.stories)
    if delivery_id is None:  # another process stored this key (or claimed the period) meanwhile
        return Told("duplicate", count, last_at)
    # Sent after the turn: the memory already holds it, so a slow (rate-limited) post never
    # holds up the channel's next trigger. What was queued before goes first, in order.
    for earlier in await outbox.pending_ids(channel.key):
        if earlier < delivery_id:
            await outbox.send(earlier)
    return Told(await outbox.send(delivery_id), count, last_at)


# ------------------------------------------------------------------ subscription triggers
def period_key(sub_id: int, period: datetime) -> str:
    """The idempotency key of one subscription's digest for one schedule period."""
    return f"sub-{sub_id}:{to_iso(period)}"


def catch_up_key(sub_id: int) -> str:
    return f"sub-{sub_id}:catch-up"


def manual_key(channel: ChannelRef, now: datetime) -> str:
    return f"manual:{channel.key}:{to_iso(now)}:{uuid.uuid4().hex[:12]}"


def target_of(sub: Subscription) -> Target:
    return Target(sub.topic_query, sub.story_id, sub.public_id, sub.thread)


async def run_subscription(
    store: Store,
    settings: DigestSettings,
    outbox: Outbox,
    sub: Subscription,
    *,
    period: datetime,
    now: datetime | None = None,
) -> str:
    """One subscription's digest for a schedule ``period`` (at most once, across all
    workers), marking the period."""
    told = await tell_channel(
        store,
        settings,
        outbox,
        sub.ref,
        [target_of(sub)],
        key=period_key(sub.id, period),
        now=now or outbox.now(),
        subscription_id=sub.id,
        period=period,
    )
    await Subscriptions(store).mark_digest(sub.id, period)
    return told.status


async def catch_up(
    store: Store, settings: DigestSettings, outbox: Outbox, sub: Subscription, *, now: datetime
) -> Told:
    """A new subscription's first digest, at once: what the topic (or story) holds that the
    channel was not told. Later digests come on the schedule."""
    return await tell_channel(
        store,
        settings,
        outbox,
        sub.ref,
        [target_of(sub)],
        key=catch_up_key(sub.id),
        now=now,
        subscription_id=sub.id,
    )


async def missed_periods(store: Store, *, now: datetime) -> list[tuple[Subscription, datetime]]:
    """Enabled subscriptions whose latest due digest was not produced (the bot was down):
    only the latest period of each, so a long outage yields one digest, not a backlog."""
    out: list[tuple[Subscription, datetime]] = []
    for sub in await Subscriptions(store).all_enabled():
        try:
            timing = sub.timing
        except Exception:
            log.warning("%s has an unusable schedule %r", sub.public_id, sub.schedule)
            continue
        since = max(sub.created_at, sub.last_digest_at or sub.created_at)
        due = timing.last_fire(now, not_before=since)
        if due is not None:
            out.append((sub, due))
    return out


def describe_last(last_at: datetime | None) -> str:
    """``(at 2026-12-02 13:50 UTC)`` for a "nothing new" answer."""
    if last_at is None:
        return "(this channel has had no digest yet)"
    return f"(at {last_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC)"
