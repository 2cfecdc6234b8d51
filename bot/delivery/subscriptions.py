"""Channel subscriptions: a topic query or one followed story, on a schedule, per channel.

Every read and write is scoped by (platform, workspace): a Discord guild never sees a Slack
team's subscriptions, nor another guild's. Users refer to a subscription by its short id
``sub-<n>``. Every change is emitted as ``Event.SUBSCRIPTIONS_CHANGED`` on the
:class:`~bot.events.Events` the repository was given (the running app re-registers its digest
jobs). The rows are read and written by
:class:`bot.storage.subscriptions.SubscriptionRepo`, which defines :class:`Subscription`.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from bot.delivery.gateway import ChannelRef
from bot.delivery.schedules import Timing
from bot.errors import UserError
from bot.events import Event, Events
from bot.storage import Store
from bot.storage.subscriptions import THREAD_MODES, Subscription, SubscriptionRepo
from bot.storage.undo import Change, UndoRepo

MAX_PER_CHANNEL = 25
MAX_TOPIC_CHARS = 300
_ID_RE = re.compile(r"^\s*(?:sub-?)?(\d{1,12})\s*$", re.IGNORECASE)


def parse_thread_mode(text: str | None) -> str | None:
    """``thread:`` as given (``off``, ``digest``, ``story``; ``None`` when not given)."""
    if text is None or not text.strip():
        return None
    mode = text.strip().casefold()
    if mode not in THREAD_MODES:
        raise UserError(f"thread must be {', '.join(THREAD_MODES)} (not {text.strip()!r})")
    return mode


def parse_subscription_id(text: str) -> int:
    m = _ID_RE.match(text or "")
    if not m:
        raise UserError(f"{text!r} is not a subscription id such as sub-12")
    return int(m.group(1))


UNDO_SECONDS = 900.0  # how long a change may be undone


class UndoLog:
    """The chat changes of one database that may still be undone, by number (stored by
    :class:`~bot.storage.undo.UndoRepo`: they survive a restart and are shared by workers).
    A change is undone once, within :data:`UNDO_SECONDS`, in its own workspace, by the member
    who made it or an admin."""

    def __init__(self, store: Store) -> None:
        self.repo = UndoRepo(store)

    async def record(self, change: Change) -> int:
        return await self.repo.record(
            change, expires_at=change.at + timedelta(seconds=UNDO_SECONDS)
        )

    async def take(
        self, number: int, *, platform: str, workspace: str, user: str, admin: bool, now: datetime
    ) -> Change:
        """The change numbered ``number``, removed from the log for ``user`` to reverse; a
        one-line :class:`UserError` when it cannot be (gone, another workspace's, expired,
        someone else's)."""
        found = await self.repo.get(number)
        if found is None or (found[0].platform, found[0].workspace) != (platform, workspace):
            raise UserError("this change can no longer be undone")
        change, expires_at = found
        if now > expires_at:
            await self.repo.take(number)
            raise UserError(
                f"this change can no longer be undone (undo lasts {UNDO_SECONDS / 60:.0f} minutes)"
            )
        if change.user != user and not admin:
            raise UserError("only the member who made this change, or an admin, can undo it")
        if not await self.repo.take(number):  # pressed twice, or in another process
            raise UserError("this change can no longer be undone")
        return change


class Subscriptions:
    """Subscription rows of one database; workspace-scoped unless a method says otherwise.

    Changes are emitted on ``events``; without it (read-only uses) nobody is told.
    """

    def __init__(self, store: Store, events: Events | None = None) -> None:
        self.store = store
        self.rows = SubscriptionRepo(store)
        self.events = events

    async def _changed(self) -> None:
        if self.events is not None:
            await self.events.emit(Event.SUBSCRIPTIONS_CHANGED)

    async def add(
        self,
        *,
        channel: ChannelRef,
        topic_query: str | None = None,
        story_id: int | None = None,
        timing: Timing,
        created_by: str | None,
        now: datetime,
        thread: str | None = None,
    ) -> Subscription:
        """A new subscription, or the channel's one to the same topic or story updated
        (``thread`` ``None``: a new one's is ``off``, an updated one keeps its own)."""
        if thread is not None and thread not in THREAD_MODES:
            raise ValueError(f"unknown thread mode {thread!r}")
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
            thread=thread,
        )
        if sub_id is None:
            raise UserError(
                f"this channel has {MAX_PER_CHANNEL} subscriptions already: "
                "unsubscribe from one first"
            )
        await self._changed()
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
        await self._changed()

    async def disable_channel(self, channel: ChannelRef) -> list[Subscription]:
        """Disable every enabled subscription of a channel; returns those it disabled (so the
        caller tells the admins once: a second call returns nothing)."""
        subs = await self.for_channel(channel, enabled_only=True)
        if not subs:
            return []
        await self.rows.disable_channel(channel)
        await self._changed()
        return subs

    async def mark_digest(self, sub_id: int, period: datetime) -> None:
        await self.rows.mark_digest(sub_id, period)
