"""The SQL of the delivery outbox and of the channels' memory (tables ``deliveries`` and
``delivered_items``).

A channel's memory is the set of ``delivered_items`` rows of its deliveries that are pending or
sent: the rows are written in the same transaction as the pending delivery, so a digest that
is queued (rate-limited, platform down) already counts as told and a second digest composed
meanwhile does not repeat it. A delivery that ends ``failed`` (channel gone, expired unsent)
takes its rows with it: the channel was never told.

Leases: several workers may share the outbox. A worker sends a pending delivery only while it
holds its lease (``lease_owner``, ``lease_until``), taken by a conditional ``UPDATE``
(:func:`claim`: free, expired or already its own), renewed before each attempt and cleared when
the delivery ends or is given back (:func:`release`); the first claim records ``tried_at``.
A worker killed mid-send leaves its lease to expire; then another worker takes the delivery
over (the idempotency key lets the platform answer the repeat with the first message). Every
write runs in the store's write transaction, which on PostgreSQL holds the database-wide
writer lock, so two claims never interleave.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.storage.store import Store, from_iso, to_iso

Shown = Sequence[tuple[int, Sequence[int], Sequence[str]]]

DELIVERY_COLS = (
    "id, subscription_id, channel_key, idempotency_key, status, payload, attempts, message_id, "
    "last_error, tried_at"
)


def _item_rows(key: str, delivery_id: int, shown: Shown, at: str) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    for story_id, article_ids, statements in shown:
        rows.extend((key, delivery_id, story_id, a, None, at) for a in article_ids)
        rows.extend((key, delivery_id, story_id, None, t, at) for t in statements)
    return rows


_INSERT_ITEMS = (
    "INSERT INTO delivered_items (channel_key, delivery_id, story_id, article_id, statement, "
    "delivered_at) VALUES (?, ?, ?, ?, ?, ?)"
)


async def insert_pending(
    store: Store,
    *,
    channel_key: str,
    idempotency_key: str,
    payload: str,
    shown: Shown,
    subscription_id: int | None,
    now: datetime,
    period: datetime | None = None,
) -> int | None:
    """A pending delivery and the memory rows of what it shows, in one transaction; ``None``
    when the idempotency key is already stored (or ``period`` was claimed: see
    :func:`insert_delivery`)."""
    return await insert_delivery(
        store,
        channel_key=channel_key,
        idempotency_key=idempotency_key,
        payload=payload,
        shown=shown,
        subscription_id=subscription_id,
        status="pending",
        now=now,
        period=period,
    )


async def insert_delivery(
    store: Store,
    *,
    channel_key: str,
    idempotency_key: str,
    payload: str,
    shown: Shown,
    subscription_id: int | None,
    status: str,
    now: datetime,
    period: datetime | None = None,
) -> int | None:
    """A delivery of ``status`` (``sent``: also its send time, e.g. a console digest) and the
    memory rows of what it shows, in one transaction; ``None`` when the idempotency key is
    already stored. With ``period`` (a scheduled digest) the same transaction first claims
    that period of subscription ``subscription_id`` (:func:`claim_period`); ``None``, and
    nothing stored, when it was claimed already."""
    async with store.transaction() as conn:
        if period and subscription_id and not await _claim_period(conn, subscription_id, period):
            return None
        cur = await conn.execute(
            "INSERT INTO deliveries (subscription_id, channel_key, idempotency_key, status, "
            "payload, created_at, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (idempotency_key) DO NOTHING",
            (
                subscription_id,
                channel_key,
                idempotency_key,
                status,
                payload,
                to_iso(now),
                to_iso(now) if status == "sent" else None,
            ),
        )
        if cur.rowcount == 0:
            return None
        delivery_id = int(cur.lastrowid or 0)
        await conn.executemany(
            _INSERT_ITEMS, _item_rows(channel_key, delivery_id, shown, to_iso(now))
        )
        return delivery_id


async def _claim_period(conn: Any, sub_id: int, period: datetime) -> bool:
    cur = await conn.execute(
        "UPDATE subscriptions SET last_digest_at = ? WHERE id = ? "
        "AND (last_digest_at IS NULL OR last_digest_at < ?)",
        (to_iso(period), sub_id, to_iso(period)),
    )
    return int(cur.rowcount) == 1


async def claim_period(store: Store, sub_id: int, period: datetime) -> bool:
    """Record ``period`` as the subscription's last digest if no digest of it (or of a later
    period) was recorded: ``True`` for the one caller, of all workers, that claims it."""
    async with store.transaction() as conn:
        return await _claim_period(conn, sub_id, period)


async def period_claimed(store: Store, sub_id: int, period: datetime) -> bool:
    """Whether the subscription's digest of ``period`` (or of a later one) is recorded."""
    value = await store.scalar(
        "SELECT 1 FROM subscriptions WHERE id = ? AND last_digest_at >= ?",
        (sub_id, to_iso(period)),
    )
    return value is not None


async def delivery_row(store: Store, delivery_id: int) -> Any:
    return await store.fetchone(
        f"SELECT {DELIVERY_COLS} FROM deliveries WHERE id = ?", (delivery_id,)
    )


async def delivery_row_by_key(store: Store, idempotency_key: str) -> Any:
    return await store.fetchone(
        f"SELECT {DELIVERY_COLS} FROM deliveries WHERE idempotency_key = ?", (idempotency_key,)
    )


_FREE = "(lease_until IS NULL OR lease_until <= ? OR lease_owner = ?)"


async def claim(
    store: Store, delivery_id: int, *, owner: str, until: datetime, now: datetime
) -> bool:
    """Lease the pending delivery to ``owner`` until ``until``: ``True`` unless another
    worker's lease on it is still running, an older delivery to its channel is still pending
    (a channel's digests are posted in the order they were composed, whichever worker posts
    them) or it is no longer pending. Taking one's own lease again renews it. The first claim
    ever also sets ``tried_at`` (``now``): from then on some of the delivery may be on the
    platform."""
    async with store.transaction() as conn:
        cur = await conn.execute(
            "UPDATE deliveries SET lease_owner = ?, lease_until = ?, "
            "tried_at = coalesce(tried_at, ?) "
            f"WHERE id = ? AND status = 'pending' AND {_FREE} AND NOT EXISTS ("
            "SELECT 1 FROM deliveries older WHERE older.status = 'pending' "
            "AND older.channel_key = deliveries.channel_key AND older.id < deliveries.id)",
            (owner, to_iso(until), to_iso(now), delivery_id, to_iso(now), owner),
        )
        return int(cur.rowcount) == 1


async def release(store: Store, delivery_id: int, *, owner: str) -> None:
    """Give the lease back (the delivery stays as it is): any worker may send it next."""
    async with store.transaction() as conn:
        await conn.execute(
            "UPDATE deliveries SET lease_owner = NULL, lease_until = NULL "
            "WHERE id = ? AND lease_owner = ?",
            (delivery_id, owner),
        )


async def release_all(store: Store) -> int:
    """Clear every lease (a SQLite database has one process: a lease found at start is a
    crashed run's); the number cleared."""
    async with store.transaction() as conn:
        cur = await conn.execute(
            "UPDATE deliveries SET lease_owner = NULL, lease_until = NULL "
            "WHERE lease_owner IS NOT NULL"
        )
        return int(cur.rowcount)


async def lease_of(store: Store, delivery_id: int) -> tuple[str | None, datetime | None]:
    """(holder, until) of a delivery's lease; ``(None, None)`` when free."""
    row = await store.fetchone(
        "SELECT lease_owner, lease_until FROM deliveries WHERE id = ?", (delivery_id,)
    )
    if not row or row[0] is None:
        return None, None
    return str(row[0]), from_iso(row[1]) if row[1] else None


async def claimable_ids(store: Store, *, owner: str, now: datetime) -> list[int]:
    """Pending deliveries (oldest first) no other worker holds a running lease on."""
    rows = await store.fetchall(
        f"SELECT id FROM deliveries WHERE status = 'pending' AND {_FREE} ORDER BY id",
        (to_iso(now), owner),
    )
    return [int(r[0]) for r in rows]


async def pending_ids(store: Store, channel_key: str | None = None) -> list[int]:
    if channel_key is None:
        rows = await store.fetchall(
            "SELECT id FROM deliveries WHERE status = 'pending' ORDER BY id"
        )
    else:
        rows = await store.fetchall(
            "SELECT id FROM deliveries WHERE channel_key = ? AND status = 'pending' ORDER BY id",
            (channel_key,),
        )
    return [int(r[0]) for r in rows]


async def expire_pending(store: Store, cutoff: datetime, *, now: datetime) -> int:
    """Fail pending deliveries created before ``cutoff``; their memory rows go. One a worker
    is sending (a running lease) is left to it."""
    unleased = "(lease_until IS NULL OR lease_until <= ?)"
    async with store.transaction() as conn:
        await conn.execute(
            "DELETE FROM delivered_items WHERE delivery_id IN (SELECT id FROM deliveries "
            f"WHERE status = 'pending' AND created_at < ? AND {unleased})",
            (to_iso(cutoff), to_iso(now)),
        )
        cur = await conn.execute(
            "UPDATE deliveries SET status = 'failed', last_error = 'expired unsent', "
            "lease_owner = NULL, lease_until = NULL "
            f"WHERE status = 'pending' AND created_at < ? AND {unleased}",
            (to_iso(cutoff), to_iso(now)),
        )
        return int(cur.rowcount)


async def mark_sent(
    store: Store,
    delivery_id: int,
    *,
    channel_key: str,
    message_id: str,
    shown: Shown,
    now: datetime,
) -> None:
    """The platform accepted the post. A row stored before memory rows were written with the
    pending delivery (older versions) gets them now."""
    async with store.transaction() as conn:
        await conn.execute(
            "UPDATE deliveries SET status = 'sent', message_id = ?, sent_at = ?, "
            "attempts = attempts + 1, last_error = NULL, lease_owner = NULL, lease_until = NULL "
            "WHERE id = ? AND status = 'pending'",
            (message_id, to_iso(now), delivery_id),
        )
        async with conn.execute(
            "SELECT 1 FROM delivered_items WHERE delivery_id = ? LIMIT 1", (delivery_id,)
        ) as cur:
            have = await cur.fetchone()
        if not have:
            await conn.executemany(
                _INSERT_ITEMS, _item_rows(channel_key, delivery_id, shown, to_iso(now))
            )


async def record_error(store: Store, delivery_id: int, error: str) -> None:
    async with store.transaction() as conn:
        await conn.execute(
            "UPDATE deliveries SET attempts = attempts + 1, last_error = ? WHERE id = ?",
            (error[:500], delivery_id),
        )


async def fail_channel_pending(store: Store, channel_key: str, error: str) -> None:
    """The channel is gone: its pending deliveries fail and were never told."""
    async with store.transaction() as conn:
        await conn.execute(
            "DELETE FROM delivered_items WHERE delivery_id IN (SELECT id FROM deliveries "
            "WHERE channel_key = ? AND status = 'pending')",
            (channel_key,),
        )
        await conn.execute(
            "UPDATE deliveries SET status = 'failed', last_error = ?, lease_owner = NULL, "
            "lease_until = NULL WHERE channel_key = ? AND status = 'pending'",
            (error[:500], channel_key),
        )


async def last_told_at(store: Store, channel_key: str) -> datetime | None:
    """When the channel was last given (or queued) a digest."""
    value = await store.scalar(
        "SELECT max(coalesce(sent_at, created_at)) FROM deliveries "
        "WHERE channel_key = ? AND status IN ('pending', 'sent')",
        (channel_key,),
    )
    return from_iso(value) if value else None
