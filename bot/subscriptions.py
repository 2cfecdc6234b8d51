"""Channel subscriptions: a topic query or one followed story, on a schedule, per channel.

Every read and write is scoped by (platform, workspace): a Discord guild never sees a Slack
team's subscriptions, nor another guild's. Users refer to a subscription by its short id
``sub-<n>``. Listeners registered with :func:`watch` hear about every change (the running app
re-registers its digest jobs). The rows are read and written by
:class:`bot.storage.subscriptions.SubscriptionRepo`, which defines :class:`Subscription`.
"""

from __future__ import annotations

import logging
import re
import weakref
from collections.abc import Awaitable, Callable
from datetime import datetime

from bot.delivery import ChannelRef
from bot.errors import UserError
from bot.schedules import Timing
from bot.storage import Store
from bot.storage.subscriptions import Subscription, SubscriptionRepo

log = logging.getLogger("newsbot.subscriptions")

MAX_PER_CHANNEL = 25
MAX_TOPIC_CHARS = 300
_ID_RE = re.compile(r"^\s*(?:sub-?)?(\d{1,12})\s*$", re.IGNORECASE)

Listener = Callable[[], Awaitable[None]]
_LISTENERS: weakref.WeakKeyDictionary[Store, list[Listener]] = weakref.WeakKeyDictionary()


def parse_subscription_id(text: str) -> int:
    m = _ID_RE.match(text or "")
    if not m:
        raise UserError(f"{text!r} is not a subscription id such as sub-12")
    return int(m.group(1))


def watch(store: Store, listener: Listener) -> None:
    """Call ``listener`` after every subscription change made through ``store``."""
    _LISTENERS.setdefault(store, []).append(listener)


def unwatch(store: Store, listener: Listener) -> None:
    listeners = _LISTENERS.get(store, [])
    if listener in listeners:
        listeners.remove(listener)


async def notify_changed(store: Store) -> None:
    """Tell the listeners that subscriptions or chat-added sources changed."""
    for listener in list(_LISTENERS.get(store, [])):
        try:
            await listener()
        except Exception:  # a listener's failure never undoes the user's change
            log.exception("subscription listener failed")


class Subscriptions:
    """Subscriptions of one database; workspace-scoped unless a method says otherwise."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.rows = SubscriptionRepo(store)

    async def add(
        self,
        *,
        channel: ChannelRef,
        topic_query: str | None = None,
        story_id: int | None = None,
        timing: Timing,
        created_by: str | None,
        now: datetime,
    ) -> Subscription:
        if (topic_query is None) == (story_id is None):
            raise ValueError("a subscription has a topic query or a story, not both")
        if topic_query is not None:
            topic_query = " ".join(topic_query.split())
            if not topic_query:
                raise UserError("the topic query is empty")
            if len(topic_query) > MAX_TOPIC_CHARS:
                raise UserError(f"the topic query is too long (max {MAX_TOPIC_CHARS} characters)")
        sub_id = await self.rows.save(
            channel=channel,
            topic_query=topic_query,
            story_id=story_id,
            timing=timing,
            created_by=created_by,
            created_at=now,
            max_enabled=MAX_PER_CHANNEL,
        )
        if sub_id is None:
            raise UserError(
                f"this channel has {MAX_PER_CHANNEL} subscriptions already: "
                "unsubscribe from one first"
            )
        await notify_changed(self.store)
        sub = await self.by_id(sub_id)
        assert sub is not None
        return sub

    async def by_id(self, sub_id: int) -> Subscription | None:
        """Unscoped lookup, for the scheduler and the outbox (never for a user's request)."""
        return await self.rows.by_id(sub_id)

    async def get(self, ref: str, *, platform: str, workspace: str) -> Subscription:
        """The subscription a user named, only if it belongs to their workspace."""
        sub_id = parse_subscription_id(ref)
        sub = await self.rows.in_workspace(sub_id, platform=platform, workspace=workspace)
        if sub is None:
            raise UserError(f"no subscription sub-{sub_id} here: /news subscriptions lists them")
        return sub

    async def for_channel(
        self, channel: ChannelRef, *, enabled_only: bool = False
    ) -> list[Subscription]:
        return await self.rows.for_channel(channel, enabled_only=enabled_only)

    async def for_workspace(self, platform: str, workspace: str) -> list[Subscription]:
        return await self.rows.for_workspace(platform, workspace)

    async def search_ids(
        self, prefix: str, *, platform: str, workspace: str, limit: int = 25
    ) -> list[Subscription]:
        """Enabled subscriptions of a workspace whose id or topic starts with/contains prefix."""
        subs = [s for s in await self.for_workspace(platform, workspace) if s.enabled]
        p = prefix.strip().lower()
        if p:
            subs = [
                s
                for s in subs
                if s.public_id.startswith(p)
                or str(s.id).startswith(p)
                or p in (s.topic_query or "").lower()
            ]
        return subs[:limit]

    async def all_enabled(self) -> list[Subscription]:
        """Every enabled subscription, all workspaces: only for the scheduler."""
        return await self.rows.all_enabled()

    async def remove(self, sub: Subscription) -> None:
        """Delete a subscription (its delivery history stays, detached)."""
        await self.rows.delete(sub)
        await notify_changed(self.store)

    async def disable_channel(self, channel: ChannelRef) -> list[Subscription]:
        """Disable every enabled subscription of a channel; returns those it disabled (so the
        caller tells the admins once: a second call returns nothing)."""
        subs = await self.for_channel(channel, enabled_only=True)
        if not subs:
            return []
        await self.rows.disable_channel(channel)
        await notify_changed(self.store)
        return subs

    async def mark_digest(self, sub_id: int, period: datetime) -> None:
        await self.rows.mark_digest(sub_id, period)
