"""The delivery outbox: a digest is stored before it is sent, then sent with retries.

Life of a delivery (table ``deliveries``; SQL in ``bot/storage/deliveries.py``)::

    pending --post ok--> sent (platform message id)
    pending --channel gone / access denied--> failed (the channel's subscriptions are disabled
                                               and its admins told, once)
    pending --transient error--> pending (retried: after ``retry_after`` when the platform
                                          gives one, else with exponential backoff)
    pending --older than max_age--> failed (expired unsent)

What a digest shows becomes the channel's memory when it is enqueued (a queued post counts as
told, so nothing composed meanwhile repeats it) and leaves the memory if the delivery fails.
Digests are composed and enqueued by :func:`bot.delivery.channel.tell_channel` only.

The idempotency key (one per subscription and schedule period) makes enqueueing the same
period twice a no-op, and pending rows left by a crash are sent by :meth:`Outbox.flush` at start.
Posts to one channel are paced (about one message per second) and never concurrent; a post and
its "sent" mark are shielded from cancellation, so a shutdown waits for them (:meth:`drain`)
instead of forgetting that a message went out. A kill between a post and its mark still posts
again at the next start; a gateway implementing :class:`OnceGateway` gets the idempotency key
(and, for a delivery tried before, when that began: ``tried_at``, set by its first lease) so
its platform can answer the repeat with the first message (exactly once); others may post
that one digest twice. A threaded digest is posted with its :class:`Threads`
(:func:`bot.delivery.threads.thread_plan`, read again for every attempt): a thread an earlier
attempt opened is posted in, never opened twice.

Several workers (``newsbot run`` processes on one PostgreSQL database) share the outbox: a
worker sends a delivery only while it holds the delivery's lease (``[outbox] lease``, taken
right before the first attempt and renewed before each one; SQL in
``bot/storage/deliveries.py``), so each delivery is sent by one worker at a time. The lease
ends with the delivery (sent, failed) or is given back (to be retried later). A worker that
dies mid-send leaves its lease to expire; then whichever worker flushes next takes the
delivery over, and the idempotency key keeps the platform from showing it twice. SQLite is
one process: leases left by a crashed run are cleared at the next start (:meth:`recover`).
A channel's digest is composed by one worker at a time, across processes (:meth:`turn`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from bot.delivery.gateway import ChannelRef, ChatGateway, DeliveryError, Threads
from bot.delivery.subscriptions import Subscriptions
from bot.delivery.threads import thread_plan
from bot.digest.codec import decode_digest, encode_digest
from bot.digest.compose import Composed
from bot.digest.model import Digest
from bot.events import Events
from bot.models import utcnow
from bot.storage import Store
from bot.storage import deliveries as dsql

log = logging.getLogger("newsbot.outbox")

Shown = list[tuple[int, list[int], list[str]]]


@dataclass(slots=True)
class Delivery:
    id: int
    subscription_id: int | None
    channel: ChannelRef
    idempotency_key: str
    status: str
    digest: Digest
    shown: Shown
    attempts: int
    message_id: str | None
    last_error: str | None
    tried_at: datetime | None = None  # the first attempt's claim; None: never tried


def _delivery(row: Any) -> Delivery:
    payload = json.loads(row[5])
    return Delivery(
        id=int(row[0]),
        subscription_id=row[1],
        channel=ChannelRef.parse(row[2]),
        idempotency_key=row[3],
        status=row[4],
        digest=decode_digest(payload["digest"]),
        shown=[(int(s), list(a), list(t)) for s, a, t in payload.get("shown", [])],
        attempts=int(row[6]),
        message_id=row[7],
        last_error=row[8],
        tried_at=datetime.fromisoformat(row[9]) if row[9] else None,
    )


# --------------------------------------------------------------------------------- outbox
@runtime_checkable
class OnceGateway(Protocol):
    """A gateway whose platform can refuse a repeated post (exactly-once on the receiving side).

    A crash after the platform accepted a digest but before its row was marked ``sent`` makes
    the outbox post it again at the next start. ``key`` is the delivery's idempotency key:
    posted again with the same key, the platform (or a look-up the adapter does, e.g. Discord's
    ``nonce`` with ``enforce_nonce``, Slack message metadata found with conversations.history)
    answers with the first message's id instead of posting a second one. ``tried`` is when
    an earlier attempt at this delivery began (its first lease: a crash, a failed attempt,
    another worker), ``None`` when none did: a gateway that must look its earlier messages up
    (Slack) looks only when it is set, and only from then on. Gateways without this method
    are posted to with :meth:`ChatGateway.post_digest` (at least once).
    """

    async def post_digest_once(
        self,
        channel: ChannelRef,
        digest: Digest,
        key: str,
        threads: Threads | None = None,
        tried: datetime | None = None,
    ) -> str: ...


class Outbox:
    def __init__(
        self,
        store: Store,
        gateways: Mapping[str, ChatGateway] | None = None,
        *,
        min_interval: float = 1.0,
        max_attempts: int = 4,
        backoff: float = 1.0,
        max_wait: float = 60.0,
        max_age: float = 86400.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        now: Callable[[], datetime] = utcnow,
        events: Events | None = None,
        worker: str | None = None,
        lease: float = 120.0,
    ) -> None:
        self.store = store
        self.events = events  # told when a dead channel's subscriptions are disabled
        self.gateways: dict[str, ChatGateway] = dict(gateways or {})
        self.min_interval = min_interval
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_wait = max_wait  # a longer retry_after leaves the row for a later flush
        self.max_age = max_age
        self.clock = clock
        self.sleep = sleep
        self.now = now
        # The holder name of this outbox's leases (``Services.worker`` under ``newsbot run``).
        self.worker = worker or f"outbox-{secrets.token_hex(4)}"
        self.lease = lease  # seconds a delivery stays this worker's after a claim or renewal
        self._last_post: dict[str, float] = {}
        self._not_before: dict[str, float] = {}
        self._channel_locks: dict[str, asyncio.Lock] = {}
        self._inflight: set[int] = set()
        self._critical: set[asyncio.Task[Any]] = set()
        self._posting: dict[int, asyncio.Task[Any]] = {}  # the post under way, by delivery
        self._flush_lock = asyncio.Lock()

    def add_gateway(self, gateway: ChatGateway) -> None:
        self.gateways[gateway.platform] = gateway

    # ----------------------------------------------------------------- enqueue
    async def enqueue(
        self,
        composed: Composed,
        *,
        channel: ChannelRef,
        idempotency_key: str,
        subscription_id: int | None = None,
        period: datetime | None = None,
    ) -> int | None:
        """Store the digest as pending; ``None`` if this idempotency key is already stored
        (or, with ``period``, that period of the subscription was claimed already)."""
        payload = json.dumps(
            {"digest": encode_digest(composed.digest), "shown": composed.shown},
            ensure_ascii=False,
        )
        # What it shows is the channel's memory from now on: a queued digest counts as told.
        return await dsql.insert_pending(
            self.store,
            channel_key=channel.key,
            idempotency_key=idempotency_key,
            payload=payload,
            shown=composed.shown,
            subscription_id=subscription_id,
            now=self.now(),
            period=period,
        )

    async def get(self, delivery_id: int) -> Delivery | None:
        row = await dsql.delivery_row(self.store, delivery_id)
        return _delivery(row) if row else None

    async def by_key(self, idempotency_key: str) -> Delivery | None:
        row = await dsql.delivery_row_by_key(self.store, idempotency_key)
        return _delivery(row) if row else None

    async def pending_ids(self, channel_key: str | None = None) -> list[int]:
        return await dsql.pending_ids(self.store, channel_key)

    def turn(self, channel_key: str) -> AbstractAsyncContextManager[None]:
        """The section a digest for this channel holds from composing to enqueueing, so two
        triggers (schedule, ``/news digest``, catch-up), in this worker or another sharing the
        database, never compose from the same memory (:meth:`Store.exclusive`)."""
        return self.store.exclusive(f"turn:{channel_key}")

    async def recover(self) -> int:
        """At start: on SQLite (one process) every lease is a crashed run's, so it is cleared
        and what it held is sent by the next flush; on PostgreSQL another worker may hold it,
        so it is left to expire. The number cleared."""
        if self.store.postgres:
            return 0
        return await dsql.release_all(self.store)

    # -------------------------------------------------------------------- send
    async def flush(self) -> dict[str, int]:
        """Try every pending delivery once (oldest first); counts by resulting status."""
        counts: dict[str, int] = {}
        async with self._flush_lock:
            expired = await self.expire()
            if expired:
                counts["expired"] = expired
            now = self.now()
            for delivery_id in await dsql.claimable_ids(self.store, owner=self.worker, now=now):
                status = await self.send(delivery_id)
                counts[status] = counts.get(status, 0) + 1
        return counts

    async def expire(self) -> int:
        """Give up on pending digests older than ``max_age`` (stale news is not news)."""
        now = self.now()
        count = await dsql.expire_pending(
            self.store, now - timedelta(seconds=self.max_age), now=now
        )
        if count:
            log.warning("%d pending digests older than %.0fs expired", count, self.max_age)
        return count

    async def send(self, delivery_id: int) -> str:
        """Post one pending delivery: ``sent``, ``failed`` (permanent), ``pending`` (retry
        later) or ``busy`` (another task, or another worker's lease, is sending it)."""
        if delivery_id in self._inflight:
            return "busy"
        self._inflight.add(delivery_id)
        try:
            item = await self.get(delivery_id)
            if item is None:
                return "missing"
            if item.status != "pending":
                return item.status
            gateway = self.gateways.get(item.channel.platform)
            if gateway is None:
                log.warning(
                    "delivery %d kept: platform %s is not running", item.id, item.channel.platform
                )
                return "pending"
            key = item.channel.key
            lock = self._channel_locks.setdefault(key, asyncio.Lock())
            async with lock:
                if not await self._lease(item.id):
                    log.info(
                        "delivery %d: another worker holds it, or an older digest of its "
                        "channel is pending",
                        item.id,
                    )
                    return "busy"
                try:
                    return await self._attempts(item, gateway)
                finally:
                    await self._release(item.id)
        finally:
            self._inflight.discard(delivery_id)

    def _posted(self, task: asyncio.Task[Any]) -> None:
        for delivery_id, posting in list(self._posting.items()):
            if posting is task:
                del self._posting[delivery_id]

    async def _lease(self, delivery_id: int) -> bool:
        """Take (or renew) this worker's lease on the delivery; ``False``: another's runs."""
        now = self.now()
        until = now + timedelta(seconds=self.lease)
        return await dsql.claim(self.store, delivery_id, owner=self.worker, until=until, now=now)

    async def _release(self, delivery_id: int) -> None:
        # A post and its mark shielded from a cancellation still run: the lease stays until
        # they end (mark_sent clears it) or it expires.
        posting = self._posting.get(delivery_id)
        if posting is not None and not posting.done():
            return
        try:
            await dsql.release(self.store, delivery_id, owner=self.worker)
        except Exception:  # the lease expires by itself
            log.exception("delivery %d: could not release its lease", delivery_id)

    async def _attempts(self, item: Delivery, gateway: ChatGateway) -> str:
        key = item.channel.key
        tried = item.tried_at  # an earlier send (this worker's or another's) may have posted
        for attempt in range(self.max_attempts):
            wait = self._not_before.get(key, 0.0) - self.clock()
            if wait > self.max_wait:
                return "pending"
            last = self._last_post.get(key)
            if last is not None:
                wait = max(wait, last + self.min_interval - self.clock())
            if wait > 0:
                await self.sleep(wait)
            # renewed before each retry, and after any wait (pacing, a platform's Retry-After)
            if (attempt or wait > 0) and not await self._lease(item.id):
                log.info("delivery %d: its lease was taken over", item.id)
                return "busy"
            started = self.now()
            task = asyncio.ensure_future(self._post_and_mark(item, gateway, tried))
            self._critical.add(task)
            task.add_done_callback(self._critical.discard)
            self._posting[item.id] = task
            task.add_done_callback(self._posted)
            try:
                await asyncio.shield(task)
                return "sent"
            except DeliveryError as exc:
                tried = tried or started  # some of it may be out: the retry looks first
                await self._record_error(item, str(exc))
                if exc.permanent:
                    await self._fail_channel(item, gateway, str(exc))
                    return "failed"
                delay = exc.retry_after
                if delay is None:
                    delay = self.backoff * (2**attempt)
                else:
                    self._not_before[key] = self.clock() + delay
                log.warning(
                    "delivery %d to %s failed (attempt %d): %s; retry in %.1fs",
                    item.id,
                    key,
                    item.attempts + attempt + 1,
                    exc,
                    delay,
                )
                if attempt + 1 >= self.max_attempts or delay > self.max_wait:
                    return "pending"
                await self.sleep(delay)
            except Exception as exc:  # an adapter bug: keep the row, try again later
                log.exception("delivery %d to %s: unexpected error", item.id, key)
                await self._record_error(item, f"{type(exc).__name__}: {exc}")
                return "pending"
        return "pending"

    async def _post_and_mark(
        self, item: Delivery, gateway: ChatGateway, tried: datetime | None
    ) -> None:
        key = item.channel.key
        # A threaded digest: the threads open for it, recorded as the gateway opens them.
        threads = await thread_plan(self.store, item.id, item.channel, item.digest, now=self.now())
        extra = {"threads": threads} if threads is not None else {}
        try:
            if isinstance(gateway, OnceGateway):
                message_id = await gateway.post_digest_once(
                    item.channel, item.digest, item.idempotency_key, tried=tried, **extra
                )
            else:
                message_id = await gateway.post_digest(item.channel, item.digest, **extra)
        finally:
            self._last_post[key] = self.clock()
        await dsql.mark_sent(
            self.store,
            item.id,
            channel_key=key,
            message_id=message_id,
            shown=item.shown,
            now=self.now(),
        )
        log.info("delivery %d sent to %s as %s", item.id, key, message_id)

    async def _record_error(self, item: Delivery, error: str) -> None:
        await dsql.record_error(self.store, item.id, error)

    async def _fail_channel(self, item: Delivery, gateway: ChatGateway, error: str) -> None:
        """The channel is gone or denies access: fail its pending deliveries, disable its
        subscriptions and, if that disabled any, tell the workspace's admins (once)."""
        await dsql.fail_channel_pending(self.store, item.channel.key, error)
        disabled = await Subscriptions(self.store, self.events).disable_channel(item.channel)
        if not disabled:
            return
        ids = ", ".join(s.public_id for s in disabled)
        text = (
            f"newsbot can no longer post in channel {item.channel.channel} ({error}). "
            f"Its subscriptions were disabled: {ids}. Subscribe again from a channel newsbot "
            "can post in."
        )
        log.warning("channel %s disabled: %s", item.channel.key, error)
        try:
            await gateway.notify_admins(item.channel.workspace, text)
        except Exception:
            log.exception("could not notify the admins of %s", item.channel.workspace)

    async def deliver(
        self,
        composed: Composed,
        *,
        channel: ChannelRef,
        idempotency_key: str,
        subscription_id: int | None = None,
    ) -> tuple[int | None, str]:
        """Enqueue then send at once: (delivery id, status). ``duplicate`` when the key exists."""
        delivery_id = await self.enqueue(
            composed,
            channel=channel,
            idempotency_key=idempotency_key,
            subscription_id=subscription_id,
        )
        if delivery_id is None:
            return None, "duplicate"
        return delivery_id, await self.send(delivery_id)

    async def drain(self, grace: float = 10.0) -> None:
        """Wait (at most ``grace`` seconds) for posts already under way and their marks."""
        pending = [t for t in self._critical if not t.done()]
        if pending:
            await asyncio.wait(pending, timeout=grace)
