"""Composition root for ``newsbot run``: open services, schedule pollers, stop cleanly.

Chat platforms (Discord, Slack) are started here when their credentials are present; without
credentials the console channel logs what the pollers ingest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from bot.models import utcnow
from bot.scheduler import add_interval_job, make_scheduler
from bot.services import Services, open_services
from bot.settings import Settings

log = logging.getLogger("newsbot")


async def poll_seeds(sv: Services) -> None:
    report = await sv.sync_seeds()
    if report.stored or report.duplicates:
        log.info("seeds: %d new articles, %d duplicates", report.stored, report.duplicates)
    for warning in report.warnings:
        log.warning("%s", warning)


async def poll_feed(sv: Services, url: str, name: str | None, interval: float) -> None:
    report = await sv.ingestor.ingest(url, kind="feed", name=name, interval_s=interval)
    log.info("feed %s: %d new, %d duplicates", url, report.stored, report.duplicates)
    for warning in report.warnings:
        log.warning("%s", warning)


async def run_forever(settings: Settings, stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    sv = await open_services(settings)
    scheduler = make_scheduler()
    now = utcnow()
    add_interval_job(
        scheduler, "seeds", lambda: poll_seeds(sv), settings.seeds.rescan_interval, first_run=now
    )
    for i, feed in enumerate(settings.feeds):
        add_interval_job(
            scheduler,
            f"feed-{i}",
            lambda f=feed: poll_feed(sv, f.url, f.name, f.interval),  # type: ignore[misc]
            feed.interval,
            first_run=now,
        )
    scheduler.start()
    log.info("newsbot running: %d feeds, seeds %s", len(settings.feeds), settings.seeds.folders)
    try:
        await stop.wait()
    finally:
        log.info("stopping: waiting for running jobs")
        scheduler.shutdown(wait=False)
        # Let in-flight writes finish: taking the write lock waits for the current transaction.
        async with sv.store._write_lock:
            pass
        await sv.close()
