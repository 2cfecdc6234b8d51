"""The scheduled jobs of ``newsbot run`` (bot/operations/jobs.py) run on a real scheduler."""

from __future__ import annotations

import asyncio

from bot.models import utcnow
from bot.operations.jobs import add_interval_job, make_scheduler


async def test_an_interval_job_without_a_first_run_runs_one_interval_after_start() -> None:
    scheduler = make_scheduler()
    ran = asyncio.Event()

    async def job() -> None:
        ran.set()

    add_interval_job(scheduler, "flush", job, 0.2)
    scheduler.start()
    try:
        job_state = scheduler.get_job("flush")
        assert job_state is not None and job_state.next_run_time is not None  # not paused
        await asyncio.wait_for(ran.wait(), timeout=5)
    finally:
        scheduler.shutdown(wait=False)


async def test_an_interval_job_with_a_first_run_runs_at_it() -> None:
    scheduler = make_scheduler()
    ran = asyncio.Event()

    async def job() -> None:
        ran.set()

    add_interval_job(scheduler, "feeds", job, 3600, first_run=utcnow())
    scheduler.start()
    try:
        await asyncio.wait_for(ran.wait(), timeout=5)
    finally:
        scheduler.shutdown(wait=False)
