"""The only APScheduler import: periodic jobs (seed rescans, feed polls) with explicit misfire
grace, coalescing and one running instance per job."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, tzinfo
from typing import TypeAlias

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 300}
Scheduler: TypeAlias = AsyncIOScheduler  # the type other modules name (never importing it)


def make_scheduler() -> Scheduler:
    return AsyncIOScheduler(job_defaults=JOB_DEFAULTS, timezone="UTC")


def add_interval_job(
    scheduler: AsyncIOScheduler,
    job_id: str,
    func: Callable[[], Awaitable[object]],
    seconds: float,
    *,
    first_run: datetime | None = None,
) -> None:
    """Run ``func`` every ``seconds``: first at ``first_run``, else one interval from now.

    APScheduler reads an explicit ``next_run_time=None`` as "paused", so it is passed only
    when a first run is given (a paused flush or reconcile job would never run)."""
    when: dict[str, datetime] = {} if first_run is None else {"next_run_time": first_run}
    scheduler.add_job(
        func, IntervalTrigger(seconds=seconds), id=job_id, replace_existing=True, **when
    )


# ------------------------------------------------------------------ digest schedules
def crontab_trigger(expr: str, tz: tzinfo) -> CronTrigger:
    """A trigger for a 5-field crontab expression (day of week given as names, see
    ``bot.delivery.schedules``) evaluated in ``tz``. Raises ValueError for a malformed
    expression."""
    return CronTrigger.from_crontab(expr, timezone=tz)


class DeferringTrigger(BaseTrigger):
    """Fires when ``inner`` does, except that ``defer`` may move a fire time later (quiet hours:
    a fire inside the quiet window moves to its end; several such fires become one)."""

    def __init__(self, inner: BaseTrigger, defer: Callable[[datetime], datetime]) -> None:
        self.inner = inner
        self.defer = defer

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        nxt = self.inner.get_next_fire_time(previous_fire_time, now)
        return None if nxt is None else self.defer(nxt)

    def __str__(self) -> str:
        return f"deferring[{self.inner}]"


def fire_times(trigger: BaseTrigger, after: datetime, *, limit: int) -> list[datetime]:
    """The next ``limit`` fire times strictly after ``after``."""
    out: list[datetime] = []
    prev = after
    for _ in range(limit):
        nxt = trigger.get_next_fire_time(prev, prev)
        if nxt is None:
            break
        if nxt <= prev:  # never loop on a trigger that does not advance
            nxt = trigger.get_next_fire_time(prev, prev + timedelta(seconds=1))
            if nxt is None or nxt <= prev:
                break
        out.append(nxt)
        prev = nxt
    return out


def add_trigger_job(
    scheduler: AsyncIOScheduler,
    job_id: str,
    func: Callable[[], Awaitable[object]],
    trigger: BaseTrigger,
    *,
    misfire_grace_time: int = 3600,
) -> None:
    """(Re)register a job: coalesced, one instance at a time, explicit misfire grace."""
    scheduler.add_job(
        func,
        trigger,
        id=job_id,
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=misfire_grace_time,
    )


def remove_job(scheduler: AsyncIOScheduler, job_id: str) -> None:
    if scheduler.get_job(job_id) is not None:
        scheduler.remove_job(job_id)


def job_ids(scheduler: AsyncIOScheduler, prefix: str = "") -> set[str]:
    return {job.id for job in scheduler.get_jobs() if job.id.startswith(prefix)}
