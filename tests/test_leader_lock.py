"""The leader lock of workers sharing a database: one leader at a time on PostgreSQL, taken
over when the leader's connection ends; on SQLite the one process leads. (Real processes
killed mid-poll: tests/test_workers_feeds.py.)"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.app import Leadership
from bot.operations.doctor import diagnose
from bot.settings import Settings
from bot.storage import Store
from bot.storage.leader import LeaderLock, leader_name


async def _soon(step: Callable[[], Awaitable[bool]]) -> bool:
    """A follower's retries (as every ``leader_retry``): True once it leads, within 5 s."""
    for _ in range(100):
        if await step():
            return True
        await asyncio.sleep(0.05)
    return False


async def test_one_leader_at_a_time_and_a_follower_takes_over_when_it_ends(pg_url: str) -> None:
    stores = [await Store.open(pg_url) for _ in range(3)]
    try:
        elected: list[str] = []

        def note(name: str) -> Callable[[], Awaitable[None]]:
            async def on_elected() -> None:
                elected.append(name)

            return on_elected

        workers = [
            Leadership(LeaderLock(s, f"w{i}"), on_elected=note(f"w{i}"))
            for i, s in enumerate(stores)
        ]
        assert [await w.step() for w in workers] == [True, False, False]
        assert [await w.step() for w in workers] == [True, False, False]  # held, checked
        assert await leader_name(stores[2]) == "w0"
        conn = workers[0].lock._conn
        assert conn is not None  # a silently lost leader is noticed by the server in ~30 s
        keepalive = await (await conn.execute("SHOW tcp_keepalives_idle")).fetchone()
        assert keepalive is not None and keepalive[0] in ("10", "10s")
        assert workers[1].state() == {"worker": "w1", "leader": False}
        await workers[0].lock.release()  # the leader's connection ends (as when it dies)
        assert await _soon(lambda: workers[1].step())  # once the server has ended it
        assert await workers[2].step() is False
        assert await leader_name(stores[0]) == "w1"
        assert elected == ["w0", "w1"]
        raw = workers[1].lock._conn
        assert raw is not None
        await raw.close()  # its connection dropped under it: it notices and follows
        assert await workers[1].step() is False
        assert await _soon(lambda: workers[2].step())
        assert await leader_name(stores[0]) == "w2"
    finally:
        for w in workers:
            await w.lock.release()
        for s in stores:
            await s.close()


async def test_doctor_names_the_leader_on_postgresql(pg_url: str) -> None:
    settings = Settings.model_validate({"database": {"url": pg_url}, "seeds": {"folders": []}})

    async def leader_check() -> str:
        checks = await diagnose(settings, env={})
        return next(c["detail"] for c in checks if c["name"] == "leader")

    async with await Store.open(pg_url) as store:
        assert await leader_check() == "no worker leads (none runs)"
        lock = LeaderLock(store, "host:123:abc")
        try:
            assert await lock.try_hold()
            assert await leader_check() == "worker host:123:abc leads"
        finally:
            await lock.release()


async def test_on_sqlite_the_one_process_leads(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "one.db") as store:
        leadership = Leadership(LeaderLock(store, "solo"))
        assert await leadership.step() is True and leadership.elections == 1
        assert await leadership.step() is True and leadership.elections == 1
        assert await leader_name(store) is None
