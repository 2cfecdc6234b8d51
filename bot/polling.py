"""Feed poll policy: when each feed is fetched next, when it is given up, and what it may post.

The policy is pure functions over a :class:`FeedState` and a :class:`PollOutcome`
(:func:`decide`), so every rule is testable with a fixed clock and a seeded RNG:

* success (200, 304, or a body identical to the last one): the feed's interval, clamped to
  ``[min_interval, max_interval]``, with ±``jitter``; the failure count resets;
* failure (transport error, 4xx/5xx, unparseable body, SSRF refusal):
  ``backoff_base * 2**(n-1)`` capped at ``backoff_max``, with jitter;
* 429, or 503 with ``Retry-After``: wait what the server asked (clamped to
  ``retry_after_max``; one hour when a 429 names no delay) and not less than the interval;
  this is *not* a failure, and the feed's host waits too;
* after ``disable_after_failures`` consecutive failures spanning at least ``disable_after``
  the feed is disabled; HTTP 410 disables it at once. The ``notify`` callback is called once,
  at the transition, never again for that outage; :func:`enable_source` re-enables.

:class:`FeedPoller` applies it to the ``sources`` table: it fetches due feeds (through the
SSRF-guarded :class:`~bot.sources.http.Fetcher`, at most ``max_concurrent`` at once and
``per_host`` per host), skips parsing when the body is unchanged, forces an unconditional
fetch every ``force_full_fetch_after`` (a broken ETag cannot freeze a feed), ingests items
through :class:`~bot.ingest.Ingestor` and writes the feed's whole state in one statement.
A feed with an ``item_filter`` (:mod:`bot.sources.filters`) ingests only the items matching it.

Old items never flood a channel: on a feed's first successful fetch every item is stored with
``articles.backfill = 1`` except the newest ``first_fetch_new_items`` (0 by default); later,
an item published more than ``stale_item_age`` ago is stored as backfill too. Digest
composition must skip ``backfill = 1`` articles. GUID rewrites, date changes and republished
items are caught by the Ingestor's exact/near dedup and are never stored as new.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlsplit

from bot.errors import FetchError, ParseError, UserError
from bot.ingest import Ingestor, not_stored
from bot.models import Article, RawArticle, utcnow
from bot.net.credentials import without_credentials
from bot.net.ssrf import NetworkPolicy, Resolver
from bot.settings import FetchSettings, PollSettings
from bot.sources.feeds import parse_feed_async
from bot.sources.filters import ItemFilter
from bot.sources.http import Fetcher, FetchStatusError, safe_url
from bot.storage.store import Store, from_iso, to_iso
from bot.storage.txn import WriteTxn

log = logging.getLogger(__name__)

HOUR = 3600.0
DAY = 86400.0


# --- the pure policy ---------------------------------------------------------------------------

OutcomeKind = Literal["ok", "not_modified", "unchanged", "throttled", "gone", "failed"]


@dataclass(frozen=True, slots=True)
class PollOutcome:
    """What one poll got. ``retry_after`` is in seconds (from the server)."""

    kind: OutcomeKind
    error: str | None = None
    status: int | None = None
    retry_after: float | None = None


@dataclass(frozen=True, slots=True)
class FeedState:
    interval_s: float
    consecutive_failures: int = 0
    first_failure_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    next_fetch_at: datetime
    consecutive_failures: int
    first_failure_at: datetime | None
    disable: bool = False
    reason: str | None = None


def clamp_interval(interval_s: float, settings: PollSettings) -> float:
    return min(max(interval_s, settings.min_interval), settings.max_interval)


def jittered(seconds: float, fraction: float, rng: random.Random) -> float:
    """``seconds`` ± ``fraction`` (uniform), so feeds added together drift apart."""
    return seconds * (1 + rng.uniform(-fraction, fraction))


def backoff_delay(failures: int, settings: PollSettings, rng: random.Random) -> float:
    """Delay after the ``failures``-th consecutive failure: base·2ⁿ⁻¹, capped, jittered."""
    exponent = min(max(failures - 1, 0), 40)
    delay = min(settings.backoff_base * 2**exponent, settings.backoff_max)
    return min(jittered(delay, settings.jitter, rng), settings.backoff_max)


def throttle_delay(retry_after: float | None, interval_s: float, settings: PollSettings) -> float:
    """How long a throttled feed waits: what the server asked (clamped), at least the interval."""
    asked = settings.throttle_default if retry_after is None else max(retry_after, 0.0)
    return min(max(asked, clamp_interval(interval_s, settings)), settings.retry_after_max)


def decide(
    state: FeedState,
    outcome: PollOutcome,
    *,
    now: datetime,
    settings: PollSettings,
    rng: random.Random,
) -> Decision:
    """The feed's next fetch time, failure count and whether it is disabled now."""
    interval = clamp_interval(state.interval_s, settings)
    if outcome.kind in ("ok", "not_modified", "unchanged"):
        delay = jittered(interval, settings.jitter, rng)
        return Decision(now + timedelta(seconds=delay), 0, None)
    if outcome.kind == "throttled":
        delay = throttle_delay(outcome.retry_after, interval, settings)
        return Decision(
            now + timedelta(seconds=delay), state.consecutive_failures, state.first_failure_at
        )
    failures = state.consecutive_failures + 1
    first = state.first_failure_at or now
    if outcome.kind == "gone":
        return Decision(now, failures, first, True, outcome.error or "HTTP 410 Gone")
    span = (now - first).total_seconds()
    if failures >= settings.disable_after_failures and span >= settings.disable_after:
        return Decision(now, failures, first, True, outcome.error or "failing")
    delay = backoff_delay(failures, settings, rng)
    return Decision(now + timedelta(seconds=delay), failures, first, False, outcome.error)


def outcome_for_error(exc: Exception) -> PollOutcome:
    """Map a fetch/parse error to its outcome kind."""
    message = str(exc)
    if isinstance(exc, FetchStatusError):
        if exc.status == 410:
            return PollOutcome("gone", message, 410)
        if exc.status == 429 or (exc.status == 503 and exc.retry_after is not None):
            return PollOutcome("throttled", message, exc.status, exc.retry_after)
        return PollOutcome("failed", message, exc.status, exc.retry_after)
    return PollOutcome("failed", message)


def disable_message(source: SourceInfo, decision: Decision, failures: int) -> str:
    name = source.name or safe_url(source.locator)
    if decision.reason and "410" in decision.reason:
        why = "the server says it is gone for good (HTTP 410)"
    else:
        why = f"it failed {failures} times in a row"
    return (
        f"Feed {name} (id {source.id}) was disabled: {why}. "
        f"Last error: {decision.reason or 'unknown'}. An admin can re-enable it."
    )


# --- applying it -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SourceInfo:
    id: int
    locator: str
    workspace: str
    name: str | None


Notify = Callable[[SourceInfo, str], Awaitable[None]]


@dataclass(slots=True)
class PollResult:
    source_id: int
    outcome: PollOutcome
    decision: Decision | None = None
    stored: int = 0
    backfill: int = 0
    skipped: bool = False  # deferred because the host is throttled
    filtered: int = 0  # items the feed's filter kept out
    warnings: list[str] = field(default_factory=list)


_SOURCE_COLS = (
    "id, locator, workspace, name, interval_s, etag, last_modified, body_hash, "
    "last_full_fetch_at, last_ok_at, consecutive_failures, first_failure_at, item_filter"
)


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


class FeedPoller:
    """Poll the due URL feeds of the ``sources`` table by the policy above."""

    def __init__(
        self,
        store: Store,
        ingestor: Ingestor,
        settings: PollSettings,
        fetch: FetchSettings,
        *,
        policy: NetworkPolicy | None,
        notify: Notify | None = None,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
        resolver: Resolver | None = None,
        max_items: int = 500,
    ) -> None:
        """``policy`` guards every fetch (pass ``NetworkPolicy(settings.network.allow)``)."""
        self.store = store
        self.ingestor = ingestor
        self.settings = settings
        self.fetch_settings = fetch
        self.notify = notify
        self.clock = clock
        self.rng = rng or random.Random()
        self.max_items = max_items
        self.fetcher = Fetcher(fetch, policy=policy, resolver=resolver, clock=clock)
        self._global = asyncio.Semaphore(settings.max_concurrent)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._host_not_before: dict[str, datetime] = {}
        self._backfill_origins: set[str] = set()
        ingestor.hooks.append(self._mark_backfill)

    async def aclose(self) -> None:
        await self.fetcher.aclose()

    async def _mark_backfill(self, txn: WriteTxn, article: Article) -> None:
        if article.origin in self._backfill_origins and article.id is not None:
            await txn.mark_backfill(article.id)

    async def due_sources(self, now: datetime | None = None) -> list[dict[str, Any]]:
        now = now or self.clock()
        return await self.store.fetch_dicts(
            f"SELECT {_SOURCE_COLS} FROM sources WHERE kind = 'feed' AND enabled = 1 "
            "AND (locator LIKE 'http://%' OR locator LIKE 'https://%') "
            "AND (next_fetch_at IS NULL OR next_fetch_at <= ?) ORDER BY next_fetch_at, id",
            (to_iso(now),),
        )

    async def poll_due(self) -> list[PollResult]:
        """Poll every due feed concurrently; one feed's failure never affects another."""
        sources = await self.due_sources()
        results = await asyncio.gather(*(self._guarded_poll(row) for row in sources))
        return list(results)

    async def poll_source_id(self, source_id: int) -> PollResult:
        rows = await self.store.fetch_dicts(
            f"SELECT {_SOURCE_COLS} FROM sources WHERE id = ?", (source_id,)
        )
        if not rows:
            raise KeyError(source_id)
        return await self._guarded_poll(rows[0])

    async def _guarded_poll(self, row: dict[str, Any]) -> PollResult:
        try:
            return await self._poll(row)
        except Exception as exc:  # a bug in one feed's path must not stop the cycle
            log.exception("polling source %s failed", row["id"])
            outcome = PollOutcome("failed", f"internal error: {type(exc).__name__}")
            decision = await self._record(row, outcome, fetched=None)
            return PollResult(row["id"], outcome, decision)

    async def _poll(self, row: dict[str, Any]) -> PollResult:
        url: str = row["locator"]
        host = _host(url)
        now = self.clock()
        not_before = self._host_not_before.get(host)
        if not_before is not None and not_before > now:
            await self._defer(row["id"], not_before)
            return PollResult(row["id"], PollOutcome("throttled"), skipped=True)
        full = (
            row["last_full_fetch_at"] is None
            or (now - from_iso(row["last_full_fetch_at"])).total_seconds()
            >= self.settings.force_full_fetch_after
        )
        semaphore = self._hosts.setdefault(host, asyncio.Semaphore(self.settings.per_host))
        async with self._global, semaphore:
            try:
                result = await self.fetcher.fetch(
                    url,
                    etag=None if full else row["etag"],
                    last_modified=None if full else row["last_modified"],
                )
            except FetchError as exc:
                outcome = outcome_for_error(exc)
                if outcome.kind == "throttled":
                    delay = throttle_delay(outcome.retry_after, row["interval_s"], self.settings)
                    self._host_not_before[host] = now + timedelta(seconds=delay)
                decision = await self._record(row, outcome, fetched=None)
                return PollResult(row["id"], outcome, decision)
        if result.not_modified or result.body is None:
            outcome = PollOutcome("not_modified", status=304)
            fetched = {"etag": result.etag, "last_modified": result.last_modified}
            decision = await self._record(row, outcome, fetched=fetched)
            return PollResult(row["id"], outcome, decision)
        body_hash = hashlib.sha256(result.body).hexdigest()
        fetched = {
            "etag": result.etag,
            "last_modified": result.last_modified,
            "body_hash": body_hash,
            "full_at": to_iso(now),
        }
        if body_hash == row["body_hash"]:
            outcome = PollOutcome("unchanged", status=result.status)
            decision = await self._record(row, outcome, fetched=fetched)
            return PollResult(row["id"], outcome, decision)
        try:
            articles, warnings = await parse_feed_async(
                result.body,
                origin=without_credentials(result.url or url),
                max_items=self.max_items,
                timeout=self.fetch_settings.parse_timeout,
            )
        except ParseError as exc:
            outcome = PollOutcome("failed", str(exc), result.status)
            decision = await self._record(row, outcome, fetched=None)
            return PollResult(row["id"], outcome, decision)
        first_fetch = row["last_ok_at"] is None and row["body_hash"] is None
        poll = PollResult(row["id"], PollOutcome("ok", status=result.status))
        poll.warnings = [str(w) for w in warnings]
        await self._ingest(row, articles, first_fetch=first_fetch, now=now, into=poll)
        poll.decision = await self._record(row, poll.outcome, fetched=fetched)
        return poll

    def backfill_origins(
        self, articles: list[RawArticle], *, first_fetch: bool, now: datetime
    ) -> set[str]:
        """Origins of the items that must not reach digests (see the module docstring)."""
        stale_before = now - timedelta(seconds=self.settings.stale_item_age)
        marked = {
            a.origin for a in articles if a.published is not None and a.published < stale_before
        }
        if first_fetch:
            newest = sorted(
                (a for a in articles if a.origin not in marked),
                key=lambda a: a.published or now,
                reverse=True,
            )
            keep = {a.origin for a in newest[: self.settings.first_fetch_new_items]}
            marked |= {a.origin for a in articles if a.origin not in keep}
        return marked

    async def _ingest(
        self,
        row: dict[str, Any],
        articles: list[RawArticle],
        *,
        first_fetch: bool,
        now: datetime,
        into: PollResult,
    ) -> None:
        articles = await self._filtered(row, articles, into)
        marked = self.backfill_origins(articles, first_fetch=first_fetch, now=now)
        self._backfill_origins |= marked
        try:
            for raw in articles:
                raw.source_id = row["id"]
                try:
                    outcome = await self.ingestor.ingest_item(raw, locator=row["locator"])
                except Exception as exc:  # one bad item never stops the feed
                    into.warnings.append(str(not_stored(raw, exc)))
                    continue
                if outcome.status in ("stored", "duplicate"):
                    into.stored += 1
                    into.backfill += raw.origin in marked
        finally:
            self._backfill_origins -= marked
        if into.stored:
            for after in self.ingestor.after_batch:
                await after()

    async def _filtered(
        self, row: dict[str, Any], articles: list[RawArticle], into: PollResult
    ) -> list[RawArticle]:
        """The items the source's ``item_filter`` (if any) lets through; the rest are counted."""
        if not row.get("item_filter"):
            return articles
        try:
            item_filter = ItemFilter.parse(row["item_filter"])
        except UserError as exc:  # stored before the language changed: keep every item
            into.warnings.append(f"{safe_url(row['locator'])}: filter ignored: {exc}")
            return articles
        # HTML reduction and matching of a few hundred items: off the event loop.
        kept = await asyncio.to_thread(
            lambda: [raw for raw in articles if item_filter.matches_item(raw)]
        )
        into.filtered = len(articles) - len(kept)
        return kept

    async def _defer(self, source_id: int, until: datetime) -> None:
        async with self.store.transaction() as conn:
            await conn.execute(
                "UPDATE sources SET next_fetch_at = ? WHERE id = ?", (to_iso(until), source_id)
            )

    async def _record(
        self, row: dict[str, Any], outcome: PollOutcome, *, fetched: dict[str, str | None] | None
    ) -> Decision:
        """Persist the outcome: validators, counters, next fetch, and a disable transition."""
        now = self.clock()
        state = FeedState(
            interval_s=float(row["interval_s"]),
            consecutive_failures=int(row["consecutive_failures"] or 0),
            first_failure_at=from_iso(row["first_failure_at"]) if row["first_failure_at"] else None,
        )
        decision = decide(state, outcome, now=now, settings=self.settings, rng=self.rng)
        ok = outcome.kind in ("ok", "not_modified", "unchanged")
        fetched = fetched or {}
        async with self.store.transaction() as conn:
            await conn.execute(
                "UPDATE sources SET last_fetch_at = ?, "
                "last_ok_at = CASE WHEN ? THEN ? ELSE last_ok_at END, "
                "last_error = CASE WHEN ? THEN NULL WHEN ? IS NULL THEN last_error ELSE ? END, "
                "consecutive_failures = ?, first_failure_at = ?, next_fetch_at = ?, "
                "etag = COALESCE(?, etag), last_modified = COALESCE(?, last_modified), "
                "body_hash = COALESCE(?, body_hash), "
                "last_full_fetch_at = COALESCE(?, last_full_fetch_at) WHERE id = ?",
                (
                    to_iso(now),
                    ok,
                    to_iso(now),
                    ok,
                    outcome.error,
                    outcome.error,
                    decision.consecutive_failures,
                    to_iso(decision.first_failure_at) if decision.first_failure_at else None,
                    to_iso(decision.next_fetch_at),
                    fetched.get("etag"),
                    fetched.get("last_modified"),
                    fetched.get("body_hash"),
                    fetched.get("full_at"),
                    row["id"],
                ),
            )
            changed = 0
            if decision.disable:
                cur = await conn.execute(
                    "UPDATE sources SET enabled = 0, disabled_at = ?, disabled_reason = ? "
                    "WHERE id = ? AND enabled = 1",
                    (to_iso(now), decision.reason, row["id"]),
                )
                changed = cur.rowcount
        if changed and self.notify is not None:
            source = SourceInfo(row["id"], row["locator"], row["workspace"], row["name"])
            try:
                await self.notify(
                    source, disable_message(source, decision, decision.consecutive_failures)
                )
            except Exception:
                log.exception("could not send the disable notice for source %s", row["id"])
        return decision


async def enable_source(store: Store, source_id: int, *, now: datetime) -> bool:
    """Re-enable a disabled feed: counters reset, fetched at the next poll. False if unknown."""
    async with store.transaction() as conn:
        cur = await conn.execute(
            "UPDATE sources SET enabled = 1, disabled_at = NULL, disabled_reason = NULL, "
            "consecutive_failures = 0, first_failure_at = NULL, next_fetch_at = ? WHERE id = ?",
            (to_iso(now), source_id),
        )
        return cur.rowcount > 0
