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
  at the transition, never again for that outage; ``SourceRepo.enable`` re-enables.

:class:`FeedPoller` only decides *when*: it claims due feeds from the
:class:`~bot.storage.sources.SourceRepo` for its worker (``max_concurrent`` lanes, each
claiming one feed at a time until none is due, so workers sharing a database split the due
feeds and each is polled by one of them; the claim's lease, ``claim_lease``, is renewed every
third of it while the poll runs and checked before the items are ingested, and a dead
worker's claims are taken over once their leases end), fetches each
through the one feed path (the
network-policy :func:`~bot.sources.http.guarded_fetcher`, at most ``max_concurrent`` at once
and ``per_host`` per host, then :func:`~bot.sources.feedsource.feed_items`, which does not
parse an unchanged body; an unconditional fetch every
``force_full_fetch_after``, so a broken ETag cannot freeze a feed), hands the items to the one
ingest loop (:meth:`~bot.ingestion.ingest.Ingestor.ingest_items`) and stores the outcome with the
policy's decision in one transaction, ending the claim. The failure run it decides from is
the row's at claim time, so backoff and disabling are the same whichever worker polls. A 429
(or 503 with Retry-After) defers every feed of that host in the database, so every worker
waits. A feed with an ``item_filter``
(:mod:`bot.sources.filters`) ingests only the items matching it.

Old items never flood a channel: on a feed's first successful fetch every item is flagged
backfill (``RawArticle.backfill``, stored as ``articles.backfill = 1``) except the newest
``first_fetch_new_items`` (0 by default); later, an item published more than
``stale_item_age`` ago is backfill too. Digest
composition must skip ``backfill = 1`` articles. GUID rewrites, date changes and republished
items are caught by the Ingestor's exact/near dedup and are never stored as new.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal
from urllib.parse import urlsplit

from bot.errors import FetchError, ParseError, UserError
from bot.ingestion.ingest import Ingestor
from bot.models import RawArticle, utcnow
from bot.settings import PollSettings
from bot.sources.feedsource import FeedFetch, feed_items
from bot.sources.filters import ItemFilter
from bot.sources.http import Fetcher, FetchStatusError, safe_url
from bot.storage.sources import FeedRow, FetchRecord, Schedule, SourceRepo
from bot.storage.store import Store

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


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


class FeedPoller:
    """Decide when each URL feed is fetched (:func:`decide`); hand what it yields to the
    one ingest loop (:meth:`~bot.ingestion.ingest.Ingestor.ingest_items`) with backfill flags
    set."""

    def __init__(
        self,
        store: Store,
        ingestor: Ingestor,
        settings: PollSettings,
        fetcher: Fetcher,
        *,
        notify: Notify | None = None,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
        max_items: int = 500,
        worker: str = "poller",
    ) -> None:
        """``fetcher``: :func:`~bot.sources.http.guarded_fetcher` of the settings (the network
        policy every feed URL goes through); the poller closes it. ``worker``: the name its
        claims carry (``Services.worker`` under ``newsbot run``)."""
        self.sources = SourceRepo(store)
        self.worker = worker
        self.ingestor = ingestor
        self.settings = settings
        self.fetcher = fetcher
        self.notify = notify
        self.clock = clock
        self.rng = rng or random.Random()
        self.max_items = max_items
        self._global = asyncio.Semaphore(settings.max_concurrent)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._host_not_before: dict[str, datetime] = {}
        self._polling: set[int] = set()  # feeds this poller is polling (claims it renews)

    async def aclose(self) -> None:
        await self.fetcher.aclose()

    async def recover(self) -> int:
        """At start: on SQLite (one process) every feed claim is a crashed run's, so it is
        ended now rather than when its lease would; on PostgreSQL other workers' claims are
        theirs and a dead one's end with its lease."""
        if self.sources.store.postgres:
            return 0
        return await self.sources.clear_claims()

    async def poll_due(self) -> list[PollResult]:
        """Claim and poll due feeds until none is left (``max_concurrent`` at once); one
        feed's failure never affects another."""
        results: list[PollResult] = []

        async def lane() -> None:
            while True:
                claimed = await self.sources.claim_due(
                    self.clock(), worker=self.worker, lease_s=self.settings.claim_lease, limit=1
                )
                if not claimed:
                    return
                results.append(await self._guarded_poll(claimed[0]))

        async with self._leases(), asyncio.TaskGroup() as lanes:
            for _ in range(self.settings.max_concurrent):
                lanes.create_task(lane())
        return results

    @contextlib.asynccontextmanager
    async def _leases(self) -> AsyncIterator[None]:
        """While polls run, the claims of the feeds being polled are renewed every third of
        ``claim_lease``: a slow fetch keeps its feed, a dead worker's claims end soon."""
        task = asyncio.create_task(self._renew_leases())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _renew_leases(self) -> None:
        while True:
            await asyncio.sleep(self.settings.claim_lease / 3)
            until = self.clock() + timedelta(seconds=self.settings.claim_lease)
            for source_id in sorted(self._polling):
                try:
                    await self.sources.renew(source_id, worker=self.worker, until=until)
                except Exception:  # the next renewal (or the lease's end) settles it
                    log.warning("could not renew the claim on feed %s", source_id)

    async def poll_source_id(self, source_id: int) -> PollResult:
        """Poll one feed now, due or not (unless another worker's claim holds it)."""
        if await self.sources.feed(source_id) is None:
            raise KeyError(source_id)
        feed = await self.sources.claim(
            source_id, self.clock(), worker=self.worker, lease_s=self.settings.claim_lease
        )
        if feed is None:
            return PollResult(
                source_id, PollOutcome("ok", "polled by another worker"), skipped=True
            )
        async with self._leases():
            return await self._guarded_poll(feed)

    async def _guarded_poll(self, feed: FeedRow) -> PollResult:
        self._polling.add(feed.id)
        try:
            return await self._poll(feed)
        except Exception as exc:  # a bug in one feed's path must not stop the cycle
            log.exception("polling source %s failed", feed.id)
            outcome = PollOutcome("failed", f"internal error: {type(exc).__name__}")
            decision = await self._record(feed, outcome)
            return PollResult(feed.id, outcome, decision)
        finally:
            self._polling.discard(feed.id)

    async def _poll(self, feed: FeedRow) -> PollResult:
        url = feed.locator
        host = _host(url)
        now = self.clock()
        not_before = self._host_not_before.get(host)
        if not_before is not None and not_before > now:
            await self.sources.defer(feed.id, not_before, worker=self.worker)
            return PollResult(feed.id, PollOutcome("throttled"), skipped=True)
        full = (
            feed.last_full_fetch_at is None
            or (now - feed.last_full_fetch_at).total_seconds()
            >= self.settings.force_full_fetch_after
        )
        semaphore = self._hosts.setdefault(host, asyncio.Semaphore(self.settings.per_host))
        try:
            async with self._global, semaphore:  # the limits hold the fetch, not the parse
                retrieved = await self.fetcher.fetch(url, None if full else feed.validators)
            fetched = await feed_items(
                retrieved,
                url,
                known_hash=feed.body_hash,
                max_items=self.max_items,
                parse_timeout=self.fetcher.settings.parse_timeout,
            )
        except FetchError as exc:
            outcome = outcome_for_error(exc)
            if outcome.kind == "throttled":
                delay = throttle_delay(outcome.retry_after, feed.interval_s, self.settings)
                self._host_not_before[host] = now + timedelta(seconds=delay)  # claimed siblings
                await self.sources.defer_host(
                    host, now + timedelta(seconds=delay), except_id=feed.id
                )
            return PollResult(feed.id, outcome, await self._record(feed, outcome))
        except ParseError as exc:  # fetched, but not a feed: its seen-state stays as it was
            outcome = PollOutcome("failed", str(exc), 200)
            return PollResult(feed.id, outcome, await self._record(feed, outcome))
        if retrieved.not_modified:
            outcome = PollOutcome("not_modified", status=304)
            return PollResult(feed.id, outcome, await self._record(feed, outcome, fetched))
        if fetched.unchanged:
            outcome = PollOutcome("unchanged", status=retrieved.status)
            return PollResult(feed.id, outcome, await self._record(feed, outcome, fetched))
        poll = PollResult(feed.id, PollOutcome("ok", status=retrieved.status))
        poll.warnings = [str(w) for w in fetched.warnings]
        articles = await self._filtered(feed, fetched.articles, poll)
        lease_end = self.clock() + timedelta(seconds=self.settings.claim_lease)
        if not await self.sources.renew(feed.id, worker=self.worker, until=lease_end):
            log.info("feed %s: claim taken over by another worker; its items left to it", feed.id)
            poll.skipped = True
            return poll
        for raw in self.mark_backfill(articles, first_fetch=feed.never_fetched, now=now):
            raw.backfill = True
        report = await self.ingestor.ingest_items(articles, source_id=feed.id, locator=url)
        poll.stored = report.stored + report.duplicates
        poll.backfill = report.backfill
        poll.warnings += [str(w) for w in report.warnings]
        poll.decision = await self._record(feed, poll.outcome, fetched)
        return poll

    def mark_backfill(
        self, articles: list[RawArticle], *, first_fetch: bool, now: datetime
    ) -> list[RawArticle]:
        """The items that must not reach digests (see the module docstring)."""
        stale_before = now - timedelta(seconds=self.settings.stale_item_age)
        stale = [a for a in articles if a.published is not None and a.published < stale_before]
        if not first_fetch:
            return stale
        stale_ids = {id(a) for a in stale}
        fresh = [a for a in articles if id(a) not in stale_ids]
        newest = sorted(fresh, key=lambda a: a.published or now, reverse=True)
        keep = {id(a) for a in newest[: self.settings.first_fetch_new_items]}
        return [a for a in articles if id(a) not in keep]

    async def _filtered(
        self, feed: FeedRow, articles: list[RawArticle], into: PollResult
    ) -> list[RawArticle]:
        """The items the source's ``item_filter`` (if any) lets through; the rest are counted."""
        if not feed.item_filter:
            return articles
        try:
            item_filter = ItemFilter.parse(feed.item_filter)
        except UserError as exc:  # stored before the language changed: keep every item
            into.warnings.append(f"{safe_url(feed.locator)}: filter ignored: {exc}")
            return articles
        # HTML reduction and matching of a few hundred items: off the event loop.
        kept = await asyncio.to_thread(
            lambda: [raw for raw in articles if item_filter.matches_item(raw)]
        )
        into.filtered = len(articles) - len(kept)
        return kept

    async def _record(
        self, feed: FeedRow, outcome: PollOutcome, fetched: FeedFetch | None = None
    ) -> Decision:
        """Persist the outcome: validators, counters, next fetch, and a disable transition."""
        now = self.clock()
        state = FeedState(feed.interval_s, feed.consecutive_failures, feed.first_failure_at)
        decision = decide(state, outcome, now=now, settings=self.settings, rng=self.rng)
        ok = outcome.kind in ("ok", "not_modified", "unchanged")
        record = FetchRecord(at=now, ok=ok, error=outcome.error)
        if fetched is not None:
            record = FetchRecord(
                at=now,
                ok=ok,
                error=outcome.error,
                validators=fetched.retrieved.validators,
                body_hash=fetched.body_hash,
                full=not fetched.retrieved.not_modified,
            )
        schedule = Schedule(
            next_fetch_at=decision.next_fetch_at,
            consecutive_failures=decision.consecutive_failures,
            first_failure_at=decision.first_failure_at,
            disable_reason=decision.reason if decision.disable else None,
        )
        disabled = await self.sources.record(feed.id, record, schedule, worker=self.worker)
        if disabled and self.notify is not None:
            source = SourceInfo(feed.id, feed.locator, feed.workspace, feed.name)
            try:
                await self.notify(
                    source, disable_message(source, decision, decision.consecutive_failures)
                )
            except Exception:
                log.exception("could not send the disable notice for source %s", feed.id)
        return decision
