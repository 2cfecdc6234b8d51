"""Composition root for ``newsbot run``: one asyncio process with pollers, digests and chats.

Start: open the services; start every chat platform whose credentials are present (see
``bot/platforms/registry.py``; with none, the console channel logs digests); send what the
outbox still holds from before (a crash); send, once, each subscription's digest that came due
while the bot was down; then schedule the seed/feed pollers, one digest job per enabled
subscription (re-registered whenever subscriptions change) and a periodic outbox flush.

Several workers may run on one PostgreSQL database: each polls the feeds it claims and sends
the digests it claims; the jobs that must run once cluster-wide (the seed-folder sync) run on
the leader only (:class:`Leadership`, a session advisory lock: ``bot/storage/leader.py``),
which followers try to take over every ``[workers] leader_retry``. On SQLite this process is
the leader.

Stop (SIGINT/SIGTERM or the ``stop`` event): no new jobs start, running jobs get a grace period
to finish their writes, posts under way are awaited, undelivered digests stay pending in the
outbox for the next start, the platforms disconnect, the health endpoint
(``bot/operations/health.py``)
closes and the database closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any

from bot.delivery.channel import Target, missed_periods, run_subscription, tell_channel
from bot.delivery.console import ConsoleRuntime
from bot.delivery.gateway import ChannelRef, PlatformRuntime
from bot.delivery.outbox import Outbox
from bot.delivery.schedules import Timing
from bot.delivery.subscriptions import Subscriptions
from bot.events import Event
from bot.ingestion.polling import FeedPoller, SourceInfo
from bot.net.credentials import mask_in_text, masked
from bot.operations.health import HealthServer, start_health
from bot.operations.jobs import (
    Scheduler,
    add_interval_job,
    add_trigger_job,
    job_ids,
    make_scheduler,
    remove_job,
)
from bot.operations.links import STOP_TIMEOUT_S, PlatformLink, link_states
from bot.platforms.registry import create_runtimes
from bot.services import Services, open_services
from bot.settings import Secrets, Settings
from bot.sources.http import guarded_fetcher
from bot.storage.leader import LeaderLock
from bot.storage.store import to_iso

log = logging.getLogger("newsbot")

# A stop (SIGTERM) ends within 10 s whatever the network does: jobs, posts under way and each
# platform's disconnect get bounded shares of it.
STOP_GRACE_S = 4.0  # running jobs get this long to finish before they are cancelled
DRAIN_GRACE_S = 2.0  # posts under way get this long to be marked sent
RECONCILE_INTERVAL_S = 300.0  # safety net: jobs are also re-registered on every change
MISSED_GRACE = timedelta(hours=24)  # an older missed digest is skipped (logged), not sent
DIGEST_MISFIRE_GRACE_S = 3600
CONSOLE = ChannelRef("console", "", "console")


async def poll_seeds(sv: Services) -> None:
    report = await sv.sync_seeds()
    if report.stored or report.duplicates:
        log.info("seeds: %d new articles, %d duplicates", report.stored, report.duplicates)
    for warning in report.warnings:
        log.warning("%s", warning)


async def register_configured_feeds(sv: Services) -> None:
    """The config's ``[[feeds]]`` become operator sources the poller fetches when due."""
    async with sv.store.write() as txn:
        for feed in sv.settings.feeds:
            await txn.upsert_source(
                kind="feed",
                locator=feed.url,
                name=feed.name,
                interval_s=feed.interval,
                item_filter=feed.filter or "",  # the config is the truth: no filter clears it
                now=sv.clock(),
            )


def make_poller(sv: Services, outbox: Outbox) -> FeedPoller:
    """Every URL feed (configured or added by users) polled by one policy, SSRF-guarded."""

    async def notify(source: SourceInfo, message: str) -> None:
        platform, _, workspace = source.workspace.partition(":")
        gateway = outbox.gateways.get(platform)
        if gateway is None:
            log.warning("feed %s: %s", masked(source.locator), message)
            return
        name = source.name or masked(source.locator)
        await gateway.notify_admins(workspace, f"Feed {name}: {mask_in_text(message)}")

    return FeedPoller(
        sv.store,
        sv.ingestor,
        sv.settings.polling,
        guarded_fetcher(sv.settings),
        notify=notify,
        max_items=sv.settings.ingest.max_items_per_feed,
        worker=sv.worker,
    )


async def poll_feeds(poller: FeedPoller) -> None:
    for result in await poller.poll_due():
        log.info("feed poll: %s", result)


class Leadership:
    """This worker's leadership: :meth:`step` (at start, then every ``leader_retry``) takes
    the leader lock when it is free or checks the held one; on election ``on_elected`` runs
    (the story grouper replays from its watermark, the singleton jobs start). Jobs wrapped in
    :meth:`only` run on the leader and are skipped on followers."""

    def __init__(
        self, lock: LeaderLock, on_elected: Callable[[], Awaitable[object]] | None = None
    ) -> None:
        self.lock = lock
        self.on_elected = on_elected
        self.leader = False
        self.elections = 0  # how many times this worker became leader

    async def step(self) -> bool:
        was, self.leader = self.leader, await self.lock.try_hold()
        if self.leader and not was:
            self.elections += 1
            log.info("worker %s is the leader", self.lock.worker)
            if self.on_elected is not None:
                await self.on_elected()
        elif was and not self.leader:
            log.warning("worker %s lost the leader lock; following", self.lock.worker)
        return self.leader

    def only(self, func: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[object]]:
        async def if_leader() -> object:
            return await func() if self.leader else None

        return if_leader

    def state(self) -> dict[str, object]:
        """What ``/healthz`` shows: this worker's name and whether it leads."""
        return {"worker": self.lock.worker, "leader": self.leader}


async def replay_stories(sv: Services) -> None:
    """A new leader's grouper follows every original stored since its watermark (by any
    worker) and stores the snapshot, so the snapshot moves on whoever died."""
    before = sv.stories.watermark
    await sv.stories.save()
    log.info("stories replayed from watermark %d to %d", before, sv.stories.watermark)


class Jobs:
    """Tracks the tasks of running jobs so a stop can let them finish."""

    def __init__(self) -> None:
        self.running: set[asyncio.Task[Any]] = set()
        self.stopping = False

    def wrap(
        self, name: str, func: Callable[[], Awaitable[object]]
    ) -> Callable[[], Coroutine[Any, Any, None]]:
        async def job() -> None:
            if self.stopping:
                return
            task = asyncio.current_task()
            if task is not None:
                self.running.add(task)
            try:
                await func()
            except Exception:  # one failing job never stops the scheduler
                log.exception("job %s failed", name)
            finally:
                if task is not None:
                    self.running.discard(task)

        job.__name__ = job.__qualname__ = name  # what APScheduler's log lines call the job
        return job

    async def wait(self, grace: float) -> None:
        pending = [t for t in self.running if not t.done()]
        if pending:
            log.info("waiting for %d running jobs", len(pending))
            await asyncio.wait(pending, timeout=grace)


class DigestJobs:
    """One APScheduler job per enabled subscription and per distinct chat-added feed URL."""

    def __init__(
        self,
        sv: Services,
        outbox: Outbox,
        scheduler: Scheduler,
        jobs: Jobs,
        *,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.sv = sv
        self.outbox = outbox
        self.scheduler = scheduler
        self.jobs = jobs
        self.now = now or sv.clock
        self._signatures: dict[str, tuple[object, ...]] = {}
        self._lock = asyncio.Lock()

    async def reconcile(self) -> None:
        async with self._lock:
            await self._reconcile_digests()

    async def _reconcile_digests(self) -> None:
        wanted: dict[str, tuple[object, ...]] = {}
        for sub in await Subscriptions(self.sv.store).all_enabled():
            job_id = f"digest-{sub.id}"
            signature = (sub.schedule, sub.timezone, sub.quiet_hours)
            wanted[job_id] = signature
            if self._signatures.get(job_id) == signature:
                continue
            try:
                trigger = sub.timing.trigger
            except Exception as exc:
                log.warning("%s: unusable schedule %r: %s", sub.public_id, sub.schedule, exc)
                continue
            add_trigger_job(
                self.scheduler,
                job_id,
                self.jobs.wrap(job_id, lambda sid=sub.id: self.run(sid)),  # type: ignore[misc]
                trigger,
                misfire_grace_time=DIGEST_MISFIRE_GRACE_S,
            )
            self._signatures[job_id] = signature
        for job_id in job_ids(self.scheduler, "digest-") - set(wanted):
            if job_id == "digest-console":
                continue
            remove_job(self.scheduler, job_id)
            self._signatures.pop(job_id, None)

    async def run(self, sub_id: int) -> str:
        """The scheduled digest of one subscription, for the period that just came due."""
        sub = await Subscriptions(self.sv.store).by_id(sub_id)
        if sub is None or not sub.enabled:
            return "gone"
        now = self.now()
        period = sub.timing.last_fire(now + timedelta(seconds=1)) or now
        status = await run_subscription(
            self.sv.store, self.sv.settings.digest, self.outbox, sub, period=period, now=now
        )
        log.info("%s digest for %s: %s", sub.public_id, to_iso(period), status)
        return status

    async def send_missed(self) -> int:
        """Each subscription's latest digest that came due while the bot was down, once."""
        now = self.now()
        sent = 0
        for sub, due in await missed_periods(self.sv.store, now=now):
            if now - due > MISSED_GRACE:
                log.info("%s: digest due %s is too old, skipped", sub.public_id, to_iso(due))
                await Subscriptions(self.sv.store).mark_digest(sub.id, due)
                continue
            status = await run_subscription(
                self.sv.store, self.sv.settings.digest, self.outbox, sub, period=due, now=now
            )
            log.info("%s: missed digest of %s: %s", sub.public_id, to_iso(due), status)
            sent += 1
        return sent


async def console_digest(sv: Services, outbox: Outbox, timing: Timing, now: datetime) -> str:
    """Without chat platforms: every story's news, logged by the console channel."""
    period = timing.last_fire(now + timedelta(seconds=1)) or now
    told = await tell_channel(
        sv.store,
        sv.settings.digest,
        outbox,
        CONSOLE,
        [Target()],
        key=f"console:{to_iso(period)}",
        now=now,
    )
    return told.status


def _console_runtime() -> ConsoleRuntime:
    return ConsoleRuntime()


def _create_runtimes(settings: Settings, sv: Services, secrets: Secrets) -> list[PlatformRuntime]:
    return list(create_runtimes(settings, sv, secrets))


def _link_runtimes(
    runtimes: list[PlatformRuntime], outbox: Outbox, jobs: Jobs
) -> list[PlatformLink]:
    """Each platform connects in the background; its digests wait in the outbox until then."""

    async def up(runtime: PlatformRuntime) -> None:
        outbox.add_gateway(runtime.gateway)
        if not jobs.stopping:
            counts = await outbox.flush()  # what waited for this platform
            if counts:
                log.info("outbox after %s connected: %s", runtime.name, counts)

    links = [PlatformLink(runtime, up) for runtime in runtimes]
    for link in links:
        link.start()
    return links


async def run_forever(
    settings: Settings,
    stop: asyncio.Event | None = None,
    *,
    secrets: Secrets | None = None,
    runtimes: list[PlatformRuntime] | None = None,
) -> None:
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    sv = await open_services(settings)
    health: HealthServer | None = None
    jobs = Jobs()
    scheduler = make_scheduler()
    outbox = sv.outbox
    started: list[PlatformRuntime] = []
    links: list[PlatformLink] = []
    poller: FeedPoller | None = None
    digests = DigestJobs(sv, outbox, scheduler, jobs)
    leadership = Leadership(LeaderLock(sv.store, sv.worker))
    try:
        if runtimes is None:
            runtimes = _create_runtimes(settings, sv, secrets or Secrets())
        console = _console_runtime()
        outbox.add_gateway(console.gateway)  # console subscriptions (CLI) always work
        if not runtimes:
            await console.start()
            started = [console]
        links = _link_runtimes(list(runtimes), outbox, jobs)
        health = await start_health(
            settings, sv.store, platforms=lambda: link_states(links), worker=leadership.state
        )

        await outbox.recover()  # SQLite: the leases a crashed run left
        counts = await outbox.flush()  # digests stored before a crash or stop
        if counts:
            log.info("outbox at start: %s", counts)
        await digests.send_missed()
        await digests.reconcile()
        sv.events.subscribe(Event.SUBSCRIPTIONS_CHANGED, digests.reconcile)

        def seeds_now() -> None:  # the seed-folder sync: the leader's, from now on
            add_interval_job(
                scheduler,
                "seeds",
                jobs.wrap("seeds", leadership.only(lambda: poll_seeds(sv))),
                settings.seeds.rescan_interval,
                first_run=sv.clock(),
            )

        async def elected() -> None:
            await replay_stories(sv)
            seeds_now()

        leadership.on_elected = elected
        seeds_now()
        await leadership.step()
        add_interval_job(
            scheduler,
            "leader",
            jobs.wrap("leader", leadership.step),
            settings.workers.leader_retry,
        )
        now = sv.clock()
        await register_configured_feeds(sv)
        poller = make_poller(sv, outbox)
        await poller.recover()  # SQLite: the feed claims a crashed run left
        add_interval_job(
            scheduler,
            "feeds",
            jobs.wrap("feeds", lambda: poll_feeds(poller)),
            settings.polling.tick,
            first_run=now,
        )
        add_interval_job(
            scheduler, "outbox", jobs.wrap("outbox", outbox.flush), settings.outbox.flush_interval
        )
        add_interval_job(
            scheduler, "reconcile", jobs.wrap("reconcile", digests.reconcile), RECONCILE_INTERVAL_S
        )
        if not runtimes:
            timing = Timing.parse(settings.digest.schedule, settings.digest.timezone)
            add_trigger_job(
                scheduler,
                "digest-console",
                jobs.wrap("digest-console", lambda: console_digest(sv, outbox, timing, sv.clock())),
                timing.trigger,
                misfire_grace_time=DIGEST_MISFIRE_GRACE_S,
            )
        scheduler.start()
        log.info(
            "newsbot running: %s; %d feeds, seeds %s",
            ", ".join(r.name for r in runtimes) + " (connecting)" if runtimes else "console",
            len(settings.feeds),
            settings.seeds.folders,
        )
        await stop.wait()
    finally:
        log.info("stopping: letting running jobs finish")
        jobs.stopping = True
        sv.events.unsubscribe(Event.SUBSCRIPTIONS_CHANGED, digests.reconcile)
        if scheduler.running:
            scheduler.pause()
        await jobs.wait(STOP_GRACE_S)
        if scheduler.running:
            scheduler.shutdown(wait=False)  # cancels what outlived the grace period
        await outbox.drain(DRAIN_GRACE_S)
        for link in reversed(links):
            await link.stop()
        for runtime in reversed(started):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(runtime.stop(), STOP_TIMEOUT_S)
        # Let in-flight writes finish: committed reads wait for the current transaction.
        async with sv.store.committed():
            pass
        if poller is not None:
            await poller.aclose()
        await leadership.lock.release()
        if health is not None:
            await health.close()
        await sv.close()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
        log.info("stopped")
