"""The only APScheduler import: periodic jobs (seed rescans, feed polls) with explicit misfire
grace, coalescing and one running instance per job."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 300}


def make_scheduler() -> AsyncIOScheduler:
    return AsyncIOScheduler(job_defaults=JOB_DEFAULTS, timezone="UTC")


def add_interval_job(
    scheduler: AsyncIOScheduler,
    job_id: str,
    func: Callable[[], Awaitable[object]],
    seconds: float,
    *,
    first_run: datetime | None = None,
) -> None:
    scheduler.add_job(
        func,
        IntervalTrigger(seconds=seconds),
        id=job_id,
        replace_existing=True,
        next_run_time=first_run,
    )
