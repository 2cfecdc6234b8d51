"""The SQL of URL feeds' fetch state (table ``sources``): due feeds, what a fetch leaves in a
feed's row (validators, counters, next fetch), disabling and re-enabling, status for chats.

The rules (when to fetch, how long to back off, when to give a feed up) live in
:mod:`bot.ingestion.polling`; this repository only stores and reads. Its methods take and return
plain values and the dataclasses below, never a connection or a row.

**Claims.** Any number of workers share one database, so a feed is polled by the worker that
claimed it: :meth:`SourceRepo.claim_due` takes due, unclaimed feeds (or feeds whose claim's
lease ended: its worker died) and writes the worker's name and the lease's end into the row, in
one write transaction (PostgreSQL: the rows picked ``FOR UPDATE SKIP LOCKED``; SQLite: a
conditional ``UPDATE``, the database's write lock serializing claimers across processes).
:meth:`SourceRepo.record` by the claimant ends the claim with the fetch's outcome; a record by a
worker whose claim was taken over after its lease ended is ignored. Everything the poll policy
reads (failure run, first failure, validators, disabled) is read from the row at claim time, so
every worker decides from the same state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from bot.sources.retrieve import NO_VALIDATORS, Validators
from bot.storage.store import Store, from_iso, to_iso

_URL_FEED = "kind = 'feed' AND (locator LIKE 'http://%' OR locator LIKE 'https://%')"
_FEED_COLS = (
    "id, locator, workspace, name, interval_s, etag, last_modified, body_hash, "
    "last_full_fetch_at, last_ok_at, consecutive_failures, first_failure_at, item_filter"
)


def _hostname(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def _when(text: str | None) -> datetime | None:
    return from_iso(text) if text else None


@dataclass(frozen=True, slots=True)
class FeedRow:
    """A URL feed as the poller sees it."""

    id: int
    locator: str
    workspace: str
    name: str | None
    interval_s: float
    validators: Validators
    body_hash: str | None
    last_full_fetch_at: datetime | None
    last_ok_at: datetime | None
    consecutive_failures: int
    first_failure_at: datetime | None
    item_filter: str | None

    @property
    def never_fetched(self) -> bool:
        """No fetch of it has succeeded yet (its first items are backfill)."""
        return self.last_ok_at is None and self.body_hash is None


def _feed(row: Sequence[Any]) -> FeedRow:
    return FeedRow(
        id=int(row[0]),
        locator=str(row[1]),
        workspace=str(row[2]),
        name=row[3],
        interval_s=float(row[4]),
        validators=Validators(etag=row[5], last_modified=row[6]),
        body_hash=row[7],
        last_full_fetch_at=_when(row[8]),
        last_ok_at=_when(row[9]),
        consecutive_failures=int(row[10] or 0),
        first_failure_at=_when(row[11]),
        item_filter=row[12],
    )


@dataclass(frozen=True, slots=True)
class FetchRecord:
    """What one fetch of a feed leaves in its row. ``validators`` and ``body_hash`` replace
    the stored ones only where given; ``full`` marks an unconditional fetch."""

    at: datetime
    ok: bool
    error: str | None = None
    validators: Validators = NO_VALIDATORS
    body_hash: str | None = None
    full: bool = False


@dataclass(frozen=True, slots=True)
class Schedule:
    """The poll policy's decision stored with a fetch: the failure run, the next fetch, and
    ``disable_reason`` when the feed is given up now."""

    next_fetch_at: datetime
    consecutive_failures: int
    first_failure_at: datetime | None
    disable_reason: str | None = None


@dataclass(frozen=True, slots=True)
class FeedStatus:
    """A workspace's feed as ``/news sources list|status`` shows it."""

    id: int
    locator: str
    enabled: bool
    last_fetch_at: str | None
    last_ok_at: str | None
    last_error: str | None
    consecutive_failures: int
    disabled_reason: str | None
    next_fetch_at: str | None
    articles: int


_STATUS_SELECT = (
    "SELECT s.id, s.locator, s.enabled, s.last_fetch_at, s.last_ok_at, s.last_error, "
    "s.consecutive_failures, s.disabled_reason, s.next_fetch_at, "
    "(SELECT count(*) FROM articles a WHERE a.source_id = s.id) FROM sources s "
)


def _status(row: Sequence[Any]) -> FeedStatus:
    return FeedStatus(
        id=int(row[0]),
        locator=str(row[1]),
        enabled=bool(row[2]),
        last_fetch_at=row[3],
        last_ok_at=row[4],
        last_error=row[5],
        consecutive_failures=int(row[6] or 0),
        disabled_reason=row[7],
        next_fetch_at=row[8],
        articles=int(row[9] or 0),
    )


@dataclass(frozen=True, slots=True)
class FeedCounts:
    """URL feeds by state (for metrics) and when one was last fetched."""

    ok: int
    failing: int
    disabled: int
    new: int
    last_fetch_at: datetime | None


# What every fetch sets, with or without a poll schedule (parameters: ``fetched`` in record).
_FETCHED = (
    "last_fetch_at = ?, last_ok_at = CASE WHEN ? THEN ? ELSE last_ok_at END, "
    "etag = COALESCE(?, etag), last_modified = COALESCE(?, last_modified), "
    "body_hash = COALESCE(?, body_hash), "
    "last_full_fetch_at = CASE WHEN ? THEN ? ELSE last_full_fetch_at END"
)


class SourceRepo:
    """Feed fetch state over one :class:`~bot.storage.store.Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # ------------------------------------------------------------------ polling
    async def claim_due(
        self, now: datetime, *, worker: str, lease_s: float, limit: int
    ) -> list[FeedRow]:
        """Claim up to ``limit`` enabled URL feeds whose next fetch is due (or never
        scheduled) and that no live claim holds, soonest first, for ``worker`` until ``now +
        lease_s``. Feeds another worker claims meanwhile are skipped, never waited for."""
        at = to_iso(now)
        pick = (
            f"SELECT id FROM sources WHERE {_URL_FEED} AND enabled = 1 "
            "AND (next_fetch_at IS NULL OR next_fetch_at <= ?) "
            "AND (claim_until IS NULL OR claim_until <= ?) "
            "ORDER BY next_fetch_at IS NOT NULL, next_fetch_at, id LIMIT ?"
        )
        if self.store.postgres:
            pick += " FOR UPDATE SKIP LOCKED"
        until = to_iso(now + timedelta(seconds=lease_s))
        async with (
            self.store.transaction() as conn,
            conn.execute(
                f"UPDATE sources SET claim_owner = ?, claim_until = ? WHERE id IN ({pick}) "
                f"RETURNING {_FEED_COLS}, next_fetch_at",
                (worker, until, at, at, int(limit)),
            ) as cur,
        ):
            rows = list(await cur.fetchall())
        rows.sort(key=lambda r: (r[-1] is not None, r[-1] or "", r[0]))  # NULLs first, as ORDER BY
        return [_feed(r) for r in rows]

    async def claim(
        self, source_id: int, now: datetime, *, worker: str, lease_s: float
    ) -> FeedRow | None:
        """Claim one feed whether due or not (a poll asked for by hand); ``None`` when it is
        unknown or another worker's live claim holds it."""
        until = to_iso(now + timedelta(seconds=lease_s))
        async with (
            self.store.transaction() as conn,
            conn.execute(
                "UPDATE sources SET claim_owner = ?, claim_until = ? WHERE id = ? "
                "AND (claim_until IS NULL OR claim_until <= ? OR claim_owner = ?) "
                f"RETURNING {_FEED_COLS}",
                (worker, until, source_id, to_iso(now), worker),
            ) as cur,
        ):
            row = await cur.fetchone()
        return _feed(row) if row else None

    async def renew(self, source_id: int, *, worker: str, until: datetime) -> bool:
        """Extend ``worker``'s claim (a long poll); False when the claim is no longer its."""
        async with self.store.transaction() as conn:
            cur = await conn.execute(
                "UPDATE sources SET claim_until = ? WHERE id = ? AND claim_owner = ?",
                (to_iso(until), source_id, worker),
            )
            return cur.rowcount > 0

    async def clear_claims(self) -> int:
        """End every claim (SQLite at start: one process, so any claim is a crashed run's)."""
        async with self.store.transaction() as conn:
            cur = await conn.execute(
                "UPDATE sources SET claim_owner = NULL, claim_until = NULL "
                "WHERE claim_owner IS NOT NULL"
            )
            return cur.rowcount

    async def claims(self) -> dict[int, tuple[str, datetime]]:
        """Feeds under a claim: id -> (worker, lease end), for status and tests."""
        rows = await self.store.fetchall(
            "SELECT id, claim_owner, claim_until FROM sources WHERE claim_owner IS NOT NULL"
        )
        return {int(r[0]): (str(r[1]), from_iso(r[2])) for r in rows}

    async def feed(self, source_id: int) -> FeedRow | None:
        row = await self.store.fetchone(
            f"SELECT {_FEED_COLS} FROM sources WHERE id = ?", (source_id,)
        )
        return _feed(row) if row else None

    async def record(
        self,
        source_id: int,
        fetch: FetchRecord,
        schedule: Schedule | None = None,
        *,
        worker: str | None = None,
    ) -> bool:
        """Store one fetch's outcome (and the policy's ``schedule``) in one transaction.

        Without a schedule (a one-off ``newsbot ingest``) a failure adds one to the failure
        run and a success ends it. With ``worker`` (the poller's claim) the outcome is stored
        and the claim ended only while the feed is unclaimed or claimed by ``worker``: once
        another worker took it over, this late outcome is dropped. True when this call
        disabled the feed (the transition: a feed already disabled is not disabled again).
        """
        at = to_iso(fetch.at)
        fetched = (
            at,
            fetch.ok,
            at,
            fetch.validators.etag,
            fetch.validators.last_modified,
            fetch.body_hash,
            fetch.full,
            at,
        )
        async with self.store.transaction() as conn:
            if schedule is None:
                await conn.execute(
                    "UPDATE sources SET last_error = CASE WHEN ? THEN NULL ELSE ? END, "
                    "consecutive_failures = CASE WHEN ? THEN 0 ELSE consecutive_failures + 1 END, "
                    "first_failure_at = CASE WHEN ? THEN NULL "
                    f"ELSE COALESCE(first_failure_at, ?) END, {_FETCHED} WHERE id = ?",
                    (fetch.ok, fetch.error, fetch.ok, fetch.ok, at, *fetched, source_id),
                )
                return False
            cur = await conn.execute(
                "UPDATE sources SET "
                "last_error = CASE WHEN ? THEN NULL WHEN ? IS NULL THEN last_error ELSE ? END, "
                "consecutive_failures = ?, first_failure_at = ?, next_fetch_at = ?, "
                f"claim_owner = NULL, claim_until = NULL, {_FETCHED} "
                "WHERE id = ? AND (claim_owner IS NULL OR claim_owner = ?)",
                (
                    fetch.ok,
                    fetch.error,
                    fetch.error,
                    schedule.consecutive_failures,
                    to_iso(schedule.first_failure_at) if schedule.first_failure_at else None,
                    to_iso(schedule.next_fetch_at),
                    *fetched,
                    source_id,
                    worker,
                ),
            )
            if cur.rowcount == 0 or schedule.disable_reason is None:
                return False
            cur = await conn.execute(
                "UPDATE sources SET enabled = 0, disabled_at = ?, disabled_reason = ? "
                "WHERE id = ? AND enabled = 1",
                (at, schedule.disable_reason, source_id),
            )
            return cur.rowcount > 0

    async def defer(self, source_id: int, until: datetime, *, worker: str | None = None) -> None:
        """Fetch the feed no sooner than ``until`` (its host asked everyone to wait); ends
        ``worker``'s claim on it."""
        async with self.store.transaction() as conn:
            await conn.execute(
                "UPDATE sources SET next_fetch_at = max(coalesce(next_fetch_at, ?), ?), "
                "claim_owner = NULL, claim_until = NULL "
                "WHERE id = ? AND (claim_owner IS NULL OR claim_owner = ?)",
                (to_iso(until), to_iso(until), source_id, worker),
            )

    async def defer_host(
        self, host: str, until: datetime, *, except_id: int | None = None
    ) -> list[int]:
        """Fetch no feed of ``host`` sooner than ``until`` (it answered 429 or 503 with
        Retry-After), so every worker waits, not only the one that was told; the ids."""
        rows = await self.store.fetchall(
            f"SELECT id, locator FROM sources WHERE {_URL_FEED} AND enabled = 1 AND id IS NOT ?",
            (except_id,),
        )
        ids = [int(r[0]) for r in rows if _hostname(str(r[1])) == host]
        if ids:
            at = to_iso(until)
            async with self.store.transaction() as conn:
                await conn.executemany(
                    "UPDATE sources SET next_fetch_at = max(coalesce(next_fetch_at, ?), ?) "
                    "WHERE id = ?",
                    [(at, at, i) for i in ids],
                )
        return ids

    async def enable(self, source_id: int, *, now: datetime) -> bool:
        """Re-enable a disabled feed: counters reset, due at ``now``. False if unknown."""
        async with self.store.transaction() as conn:
            cur = await conn.execute(
                "UPDATE sources SET enabled = 1, disabled_at = NULL, disabled_reason = NULL, "
                "consecutive_failures = 0, first_failure_at = NULL, next_fetch_at = ? "
                "WHERE id = ?",
                (to_iso(now), source_id),
            )
            return cur.rowcount > 0

    # -------------------------------------------------------------- workspaces
    async def statuses(self, workspace: str) -> list[FeedStatus]:
        """The workspace's sources with their fetch state, oldest first."""
        rows = await self.store.fetchall(
            _STATUS_SELECT + "WHERE s.workspace = ? ORDER BY s.id", (workspace,)
        )
        return [_status(r) for r in rows]

    async def status(self, workspace: str, locator: str) -> FeedStatus | None:
        row = await self.store.fetchone(
            _STATUS_SELECT + "WHERE s.workspace = ? AND s.locator = ?", (workspace, locator)
        )
        return _status(row) if row else None

    async def count(self, workspace: str) -> int:
        """How many sources the workspace has."""
        value = await self.store.scalar(
            "SELECT count(*) FROM sources WHERE workspace = ?", (workspace,)
        )
        return int(value or 0)

    async def counts(self) -> FeedCounts:
        """URL feeds: polled fine, failing, disabled, never polled; the last fetch time."""
        row = await self.store.fetchone(
            "SELECT count(*) FILTER (WHERE enabled = 1 AND last_fetch_at IS NOT NULL "
            "AND consecutive_failures = 0), "
            "count(*) FILTER (WHERE enabled = 1 AND consecutive_failures > 0), "
            "count(*) FILTER (WHERE enabled = 0), "
            "count(*) FILTER (WHERE enabled = 1 AND last_fetch_at IS NULL "
            "AND consecutive_failures = 0), max(last_fetch_at) "
            "FROM sources WHERE locator LIKE 'http://%' OR locator LIKE 'https://%'"
        )
        return FeedCounts(
            ok=int(row[0] or 0),
            failing=int(row[1] or 0),
            disabled=int(row[2] or 0),
            new=int(row[3] or 0),
            last_fetch_at=_when(row[4]),
        )
