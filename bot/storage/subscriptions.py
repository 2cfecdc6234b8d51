"""The SQL of channel subscriptions (table ``subscriptions``): rows in, :class:`Subscription` out.

The rules (validation, the workspace check of a user's request, telling listeners about a
change) live in :mod:`bot.delivery.subscriptions`; this repository only stores and reads. Its
methods
take and return plain values and :class:`Subscription`, never a connection or a row, so a
second database backend implements the same methods.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.delivery.gateway import ChannelRef
from bot.delivery.schedules import Timing
from bot.storage.store import Store, from_iso, to_iso

_COLS = (
    "id, platform, workspace, channel, topic_query, story_id, schedule, timezone, quiet_hours, "
    "enabled, created_by, created_at, last_digest_at, thread"
)
THREAD_MODES = ("off", "digest", "story")  # how digests are posted (README "Subscribing")


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
    thread: str = "off"  # one of THREAD_MODES

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


def _from_row(row: Sequence[Any]) -> Subscription:
    return Subscription(
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
        thread=str(row[13] or "off"),
    )


def _timing_cols(timing: Timing) -> tuple[str, str, str | None]:
    """(schedule, timezone, quiet_hours) as stored."""
    return timing.schedule.text, timing.tz.key, str(timing.quiet) if timing.quiet else None


class SubscriptionRepo:
    """Subscription rows of one database."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def save(
        self,
        *,
        channel: ChannelRef,
        topic_query: str | None,
        story_id: int | None,
        timing: Timing,
        created_by: str | None,
        created_at: datetime,
        max_enabled: int,
        thread: str | None = None,
    ) -> int | None:
        """In one write transaction: the channel's enabled subscription to the same topic or
        story gets ``timing`` (and ``thread``, unless ``None``), else a new one is stored
        (``thread`` ``None``: ``off``). Returns its id, or ``None`` (nothing written) when the
        channel has ``max_enabled`` enabled subscriptions already."""
        schedule, timezone, quiet = _timing_cols(timing)
        where = (channel.platform, channel.workspace, channel.channel)
        async with self.store.transaction() as conn:
            async with conn.execute(
                "SELECT count(*) FROM subscriptions WHERE platform = ? AND workspace = ? "
                "AND channel = ? AND enabled = 1",
                where,
            ) as cur:
                row = await cur.fetchone()
            if row and int(row[0]) >= max_enabled:
                return None
            async with conn.execute(
                "SELECT id FROM subscriptions WHERE platform = ? AND workspace = ? "
                "AND channel = ? AND enabled = 1 AND topic_query IS ? AND story_id IS ?",
                (*where, topic_query, story_id),
            ) as cur:
                dup = await cur.fetchone()
            if dup:
                await conn.execute(
                    "UPDATE subscriptions SET schedule = ?, timezone = ?, quiet_hours = ?, "
                    "thread = coalesce(?, thread) WHERE id = ?",
                    (schedule, timezone, quiet, thread, dup[0]),
                )
                return int(dup[0])
            cur2 = await conn.execute(
                "INSERT INTO subscriptions (platform, workspace, channel, topic_query, "
                "story_id, schedule, timezone, quiet_hours, enabled, created_by, created_at, "
                "thread) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)",
                (
                    *where,
                    topic_query,
                    story_id,
                    schedule,
                    timezone,
                    quiet,
                    created_by,
                    to_iso(created_at),
                    thread or "off",
                ),
            )
            return int(cur2.lastrowid or 0)

    async def by_id(self, sub_id: int) -> Subscription | None:
        row = await self.store.fetchone(
            f"SELECT {_COLS} FROM subscriptions WHERE id = ?", (sub_id,)
        )
        return _from_row(row) if row else None

    async def in_workspace(
        self, sub_id: int, *, platform: str, workspace: str
    ) -> Subscription | None:
        """The subscription ``sub_id`` only if it belongs to that workspace."""
        row = await self.store.fetchone(
            f"SELECT {_COLS} FROM subscriptions WHERE id = ? AND platform = ? AND workspace = ?",
            (sub_id, platform, workspace),
        )
        return _from_row(row) if row else None

    async def for_channel(
        self, channel: ChannelRef, *, enabled_only: bool = False
    ) -> list[Subscription]:
        """A channel's subscriptions, oldest first."""
        extra = " AND enabled = 1" if enabled_only else ""
        rows = await self.store.fetchall(
            f"SELECT {_COLS} FROM subscriptions WHERE platform = ? AND workspace = ? "
            f"AND channel = ?{extra} ORDER BY id",
            (channel.platform, channel.workspace, channel.channel),
        )
        return [_from_row(r) for r in rows]

    async def for_workspace(self, platform: str, workspace: str) -> list[Subscription]:
        """A workspace's subscriptions, oldest first."""
        rows = await self.store.fetchall(
            f"SELECT {_COLS} FROM subscriptions WHERE platform = ? AND workspace = ? ORDER BY id",
            (platform, workspace),
        )
        return [_from_row(r) for r in rows]

    async def all_enabled(self) -> list[Subscription]:
        """Every enabled subscription of every workspace, oldest first."""
        rows = await self.store.fetchall(
            f"SELECT {_COLS} FROM subscriptions WHERE enabled = 1 ORDER BY id"
        )
        return [_from_row(r) for r in rows]

    async def delete(self, sub: Subscription) -> None:
        """Delete the subscription; its deliveries stay, detached from it."""
        async with self.store.transaction() as conn:
            await conn.execute(
                "UPDATE deliveries SET subscription_id = NULL WHERE subscription_id = ?",
                (sub.id,),
            )
            await conn.execute(
                "DELETE FROM subscriptions WHERE id = ? AND platform = ? AND workspace = ?",
                (sub.id, sub.platform, sub.workspace),
            )

    async def disable_channel(self, channel: ChannelRef) -> None:
        """Disable every enabled subscription of the channel."""
        async with self.store.transaction() as conn:
            await conn.execute(
                "UPDATE subscriptions SET enabled = 0 WHERE platform = ? AND workspace = ? "
                "AND channel = ? AND enabled = 1",
                (channel.platform, channel.workspace, channel.channel),
            )

    async def mark_digest(self, sub_id: int, period: datetime) -> None:
        """Record ``period`` as the subscription's last digest unless a later one is stored."""
        async with self.store.transaction() as conn:
            await conn.execute(
                "UPDATE subscriptions SET last_digest_at = ? WHERE id = ? "
                "AND (last_digest_at IS NULL OR last_digest_at < ?)",
                (to_iso(period), sub_id, to_iso(period)),
            )
