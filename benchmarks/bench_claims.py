"""Feed claims per second: FEEDS due feeds drained by 1 and 4 claimers (each its own
connection, as a worker is), one claim at a time as the poller's lanes take them, on SQLite and
on PostgreSQL (``--dsn`` or ``NEWSBOT_TEST_POSTGRES_DSN``: a role that may create databases;
PostgreSQL is skipped without one). Every feed must be claimed exactly once.

A claim is a write transaction (on PostgreSQL it waits for the writer lock like any write),
so this is its cost beside ingest, not fetch throughput.

Run: .venv/bin/python benchmarks/bench_claims.py [--feeds 2000] [--dsn postgresql://...]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bot.storage import Store
from bot.storage.sources import SourceRepo

NOW = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)


async def drain(target: str, feeds: int, claimers: int) -> float:
    """Claims per second of ``claimers`` connections draining ``feeds`` due feeds."""
    stores = [await Store.open(target) for _ in range(claimers)]
    try:
        async with stores[0].write() as txn:
            for i in range(feeds):
                locator = f"https://h{i % 50}.test/{i}.xml"
                await txn.upsert_source(kind="feed", locator=locator, now=NOW)
        got: list[int] = []

        async def claimer(store: Store, name: str) -> None:
            repo = SourceRepo(store)
            while claimed := await repo.claim_due(NOW, worker=name, lease_s=60, limit=1):
                got.append(claimed[0].id)

        started = time.perf_counter()
        await asyncio.gather(*(claimer(s, f"w{i}") for i, s in enumerate(stores)))
        seconds = time.perf_counter() - started
        assert len(got) == len(set(got)) == feeds, "a feed claimed twice or not at all"
        return feeds / seconds
    finally:
        for store in stores:
            await store.close()


def _pg_database(dsn: str) -> tuple[str, str]:
    import psycopg

    name = "newsbot_bench_" + uuid.uuid4().hex[:8]
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"'.encode())
    parts = urlsplit(dsn)
    return name, urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))


def _drop(dsn: str, name: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--dsn", default=os.environ.get("NEWSBOT_TEST_POSTGRES_DSN", ""))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for claimers in (1, 4):
            db = str(Path(tmp) / f"claims{claimers}.db")
            rate = asyncio.run(drain(db, args.feeds, claimers))
            print(f"sqlite      {claimers} claimers: {rate:7.0f} claims/s ({args.feeds} feeds)")
            if not args.dsn:
                continue
            name, url = _pg_database(args.dsn)
            try:
                rate = asyncio.run(drain(url, args.feeds, claimers))
            finally:
                _drop(args.dsn, name)
            print(f"postgresql  {claimers} claimers: {rate:7.0f} claims/s ({args.feeds} feeds)")
    if not args.dsn:
        print("postgresql skipped: give --dsn or set NEWSBOT_TEST_POSTGRES_DSN")


if __name__ == "__main__":
    main()
