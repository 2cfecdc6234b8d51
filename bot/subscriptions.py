"""Channel subscriptions: a topic query or one followed story, on a schedule, per channel.

Every read and write is scoped by (platform, workspace): a Discord guild never sees a Slack
team's subscriptions, nor another guild's. Users refer to a subscription by its short id
``sub-<n>``. Every change is emitted as ``Event.SUBSCRIPTIONS_CHANGED`` on the
:class:`~bot.events.Events` the repository was given (the running app re-registers its digest
jobs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.delivery import ChannelRef
from bot.errors import UserError
from bot.events import Event, Events
from bot.schedules import Timing
from bot.storage import Store
from bot.storage.store import from_iso, to_iso

MAX_PER_CHANNEL = 25
MAX_TOPIC_CHARS = 300
_ID_RE = re.compile(r"^\s*(?:sub-?)?(\d{1,12})\s*$", re.IGNORECASE)
_COLS = (
    "id, platform, workspace, channel, topic_query, story_id, schedule, timezone, quiet_hours, "
    "enabled, created_by, created_at, last_digest_at"
)


@dataclass(frozen=True, slots=True)
class Subscription:
    id: int
    platform: str
    workspace: str
    channel: str
    topic_query: str | None
    story_id: int | None
    schedule: str
    timezone: str
    quiet_hours: str | None
    enabled: bool
    created_by: str | None
    created_at: datetime
    last_digest_at: datetime | None

    @property
    def public_id(self) -> str:
        return f"sub-{self.id}"

    @property
    def ref(self) -> ChannelRef:
        return ChannelRef(self.platform, self.workspace, self.channel)

    @property
    def channel_key(self) -> str:
        return self.ref.key

    @property
    def timing(self) -> Timing:
        return Timing.parse(self.schedule, self.timezone, self.quiet_hours)

    @classmethod
    def from_row(cls, row: Any) -> Subscription:
        return cls(
            id=int(row[0]),
            platform=row[1],
            workspace=row[2],
            channel=row[3],
            topic_query=row[4],
            story_id=int(row[5]) if row[5] is not None else None,
            schedule=row[6],
            timezone=row[7],
            quiet_hours=row[8],
            enabled=bool(row[9]),
            created_by=row[10],
            created_at=from_iso(row[11]),
            last_digest_at=from_iso(row[12]) if row[12] else None,
        )


def parse_subscription_id(text: str) -> int:
    m = _ID_RE.match(text or "")
    if not m:
        raise UserError(f"{text!r} is not a subscription id such as sub-12")
    return int(m.group(1))


class Subscriptions:
    """Subscription rows of one database; workspace-scoped unless a method says otherwise.

    Changes are emitted on ``events``; without it (read-only uses) nobody is told.
    """

    def __init__(self, store: Store, events: Events | None = None) -> None:
        self.store = store
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
    ) -> Subscription:
        if (topic_query is None) == (story_id is None):
            raise ValueError("a subscription has a topic query or a story, not both")
        if topic_query is not None:
            topic_query = " ".join(topic_query.split())
            if not topic_query:
                raise UserError("the topic query is empty")
            if len(topic_query) > MAX_TOPIC_CHARS:
                raise UserError(f"the topic query is too long (max {MAX_TOPIC_CHARS} characters)")
        async with self.store.transaction() as conn:
            async with conn.execute(
                "SELECT count(*) FROM subscriptions WHERE platform = ? AND workspace = ? "
                "AND channel = ? AND enabled = 1",
                (channel.platform, channel.workspace, channel.channel),
            ) as cur:
                row = await cur.fetchone()
            if row and int(row[0]) >= MAX_PER_CHANNEL:
                raise UserError(
                    f"this channel has {MAX_PER_CHANNEL} subscriptions already: "
                    "unsubscribe from one first"
                )
            async with conn.execute(
                "SELECT id FROM subscriptions WHERE platform = ? AND workspace = ? "
                "AND channel = ? AND enabled = 1 AND topic_query IS ? AND story_id IS ?",
                (channel.platform, channel.workspace, channel.channel, topic_query, story_id),
            ) as cur:
                dup = await cur.fetchone()
            if dup:
                await conn.execute(
                    "UPDATE subscriptions SET schedule = ?, timezone = ?, quiet_hours = ? "
                    "WHERE id = ?",
                    (
                        timing.schedule.text,
                        timing.tz.key,
                        str(timing.quiet) if timing.quiet else None,
                        dup[0],
                    ),
                )
                sub_id = int(dup[0])
            else:
                cur2 = await conn.execute(
                    "INSERT INTO subscriptions (platform, workspace, channel, topic_query, "
                    "story_id, schedule, timezone, quiet_hours, enabled, created_by, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)",
                    (
                        channel.platform,
                        channel.workspace,
                        channel.channel,
                        topic_query,
                        story_id,
                        timing.schedule.text,
                        timing.tz.key,
                        str(timing.quiet) if timing.quiet else None,
                        created_by,
                        to_iso(now),
                    ),
                )
                sub_id = int(cur2.lastrowid or 0)
        await self._changed()
        sub = await self.by_id(sub_id)
        assert sub is not None
        return sub

    async def by_id(self, sub_id: int) -> Subscription | None:
        """Unscoped lookup, for the scheduler and the outbox (never for a user's request)."""
        row = await self.store.fetchone(
            f"SELECT {_COLS} FROM subscriptions WHERE id = ?", (sub_id,)
        )
        return Subscription.from_row(row) if row else None

    async def get(self, ref: str, *, platform: str, workspace: str) -> Subscription:
        """The subscription a user named, only if it belongs to their workspace."""
        sub_id = parse_subscription_id(ref)
        row = await self.store.fetchone(
            f"SELECT {_COLS} FROM subscriptions WHERE id = ? AND platform = ? AND workspace = ?",
            (sub_id, platform, workspace),
        )
        if row is None:
            raise UserError(f"no subscription sub-{sub_id} here: /news subscriptions lists them")
        return Subscription.from_row(row)

    async def for_channel(
        self, channel: ChannelRef, *, enabled_only: bool = False
    ) -> list[Subscription]:
        extra = " AND enabled = 1" if enabled_only else ""
        rows = await self.store.fetchall(
            f"SELECT {_COLS} FROM subscriptions WHERE platform = ? AND workspace = ? "
            f"AND channel = ?{extra} ORDER BY id",
            (channel.platform, channel.workspace, channel.channel),
        )
        return [Subscription.from_row(r) for r in rows]

    async def for_workspace(self, platform: str, workspace: str) -> list[Subscription]:
        rows = await self.store.fetchall(
            f"SELECT {_COLS} FROM subscriptions WHERE platform = ? AND workspace = ? ORDER BY id",
            (platform, workspace),
        )
        return [Subscription.from_row(r) for r in rows]

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
        rows = await self.store.fetchall(
            f"SELECT {_COLS} FROM subscriptions WHERE enabled = 1 ORDER BY id"
        )
        return [Subscription.from_row(r) for r in rows]

    async def remove(self, sub: Subscription) -> None:
        """Delete a subscription (its delivery history stays, detached)."""
        async with self.store.transaction() as conn:
            await conn.execute(
                "UPDATE deliveries SET subscription_id = NULL WHERE subscription_id = ?",
                (sub.id,),
            )
            await conn.execute(
                "DELETE FROM subscriptions WHERE id = ? AND platform = ? AND workspace = ?",
                (sub.id, sub.platform, sub.workspace),
            )
        await self._changed()

    async def disable_channel(self, channel: ChannelRef) -> list[Subscription]:
        """Disable every enabled subscription of a channel; returns those it disabled (so the
        caller tells the admins once: a second call returns nothing)."""
        subs = await self.for_channel(channel, enabled_only=True)
        if not subs:
            return []
        async with self.store.transaction() as conn:
            await conn.execute(
                "UPDATE subscriptions SET enabled = 0 WHERE platform = ? AND workspace = ? "
                "AND channel = ? AND enabled = 1",
                (channel.platform, channel.workspace, channel.channel),
            )
        await self._changed()
        return subs

    async def mark_digest(self, sub_id: int, period: datetime) -> None:
        async with self.store.transaction() as conn:
            await conn.execute(
                "UPDATE subscriptions SET last_digest_at = ? WHERE id = ? "
                "AND (last_digest_at IS NULL OR last_digest_at < ?)",
                (to_iso(period), sub_id, to_iso(period)),
            )
