"""The leader lock of workers sharing one database (see ARCHITECTURE.md, "Several workers").

On PostgreSQL the leader is the worker holding a session advisory lock
(:data:`LEADER_LOCK_KEY`) on a connection of its own, opened beside the store's: the lock lives
exactly as long as that connection, so when the leader dies (or its connection drops) the
server releases it and the next follower that tries takes it. The connection's
``application_name`` names the worker, so :func:`leader_name` can say who leads. On SQLite
the one ``newsbot run`` process is the leader: :meth:`LeaderLock.try_hold` is always true.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3

from bot.storage.backend import ID_TABLES, pg_conninfo, pg_password
from bot.storage.pg import PgConnection
from bot.storage.store import Store

LEADER_LOCK_KEY = 0x6E657775  # pg_try_advisory_lock key of the leader (the writer lock's + 1)
CHECK_TIMEOUT_S = 5.0  # a held lock's connection must answer within this
APP_PREFIX = "newsbot "  # application_name of the lock's connection: prefix + worker name


class LeaderLock:
    """This worker's attempt at leadership over ``store``'s database."""

    def __init__(self, store: Store, worker: str) -> None:
        self.store = store
        self.worker = worker
        self._conn: PgConnection | None = None
        self._held = False

    @property
    def held(self) -> bool:
        return self._held or not self.store.postgres

    async def try_hold(self) -> bool:
        """True while this worker leads: take the lock if it is free, or check that the held
        lock's connection still answers (if not, the server has released the lock with it,
        and another worker may lead already). Never raises for a database that is away."""
        if not self.store.postgres:
            return True
        try:
            await asyncio.wait_for(self._try(), CHECK_TIMEOUT_S)
        except (sqlite3.Error, TimeoutError, OSError):
            await self.release()
        return self._held

    async def _try(self) -> None:
        if self._conn is None:
            conn = await PgConnection.connect(
                pg_conninfo(self.store.path), ID_TABLES, pg_password()
            )
            self._conn = conn
            # the server notices a leader gone silently (no FIN: a host lost) within ~30 s
            # and releases its lock, instead of after the system's two-hour keepalive
            await conn.execute(
                "SELECT set_config('application_name', ?, false), "
                "set_config('tcp_keepalives_idle', '10', false), "
                "set_config('tcp_keepalives_interval', '5', false), "
                "set_config('tcp_keepalives_count', '3', false)",
                ((APP_PREFIX + self.worker)[:63],),
            )
        if self._held:
            await self._conn.execute("SELECT 1")
            return
        cur = await self._conn.execute("SELECT pg_try_advisory_lock(?)", (LEADER_LOCK_KEY,))
        row = await cur.fetchone()
        self._held = bool(row and row[0])

    async def release(self) -> None:
        """Give leadership up (closing the connection releases the lock)."""
        self._held = False
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()


async def leader_name(store: Store) -> str | None:
    """The worker holding the leader lock (``None``: no worker leads now); on SQLite ``None``
    (the one running process leads)."""
    if not store.postgres:
        return None
    name = await store.scalar(
        "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid = ? "
        "AND l.objsubid = 1 AND l.database = (SELECT oid FROM pg_database "
        "WHERE datname = current_database())",
        (LEADER_LOCK_KEY,),
    )
    return str(name).removeprefix(APP_PREFIX) if name else None
