"""Several workers on PostgreSQL against one process on SQLite, in one run.

Four measurements, each printed with its ratio to the single SQLite process of the same run:

1. **ingest**: the DUC 2006 JSONL (1,240 articles; ``--quick``: 300) split round-robin into
   1, 2 and 4 parts, one real ``newsbot ingest`` process per part, all started together on
   one PostgreSQL database (the full pipeline: dedup, stories, analysis, one transaction per
   article); articles/s = articles stored / wall time from the start signal to the last exit.
   The baseline is one process ingesting the whole file into SQLite.
2. **deliveries**: ``--deliveries`` pending digests (one per channel) in the outbox, drained by
   1, 2 and 4 worker processes (``benchmarks/scale_worker.py``: the real ``Outbox`` with its
   claims and leases, a gateway that takes ``--post-ms`` per post like a chat API); every
   digest must be sent exactly once; deliveries/s = digests / wall time.
3. **search**: p50/p99 of the ``/news search`` path over ``--articles`` articles (100,000)
   on PostgreSQL (``tsvector`` + GIN) and on SQLite (FTS5); bar p99 < 100 ms.
4. **slash**: a real discord.py bot on the PostgreSQL database answers ``/news search``
   interactions from the local fake Discord while 4 ``newsbot ingest`` processes write to the
   same database: first response (the deferral) p99, bar < 300 ms; baseline the same probe idle.

PostgreSQL comes from ``--dsn`` or ``NEWSBOT_TEST_POSTGRES_DSN`` (a role that may create
databases; ``.ci/pg-cluster start DIR`` prints one). Each measurement uses a fresh database.

Run: .venv/bin/python benchmarks/bench_scale.py [--quick] [--dsn URL] [--only ingest,search]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_search import build_corpus, query_times  # noqa: E402

from bot.services import open_services  # noqa: E402
from bot.settings import Settings  # noqa: E402
from tests.ingest_procs import WAIT_THEN_RUN, env_for  # noqa: E402
from tests.pgtest import fresh_database  # noqa: E402

SHARED = Path(os.environ.get("NEWSBOT_SHARED", REPO.parent / "shared"))
DUC = SHARED / "data" / "dev" / "duc2006-topics.jsonl"
WORKERS = (1, 2, 4)
WORKER = REPO / "benchmarks" / "scale_worker.py"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def pg_database(base: str) -> contextlib.AbstractContextManager[str]:
    """A fresh database on the server of ``base``, dropped afterwards."""
    return fresh_database(base, prefix="newsbot_bench_")


def start_ingests(db: str, parts: list[Path], go: Path) -> list[subprocess.Popen[str]]:
    """One ``newsbot ingest`` process per part, each waiting for ``go`` to exist."""
    go.unlink(missing_ok=True)
    procs = []
    for part in parts:
        argv = [
            sys.executable, "-c", WAIT_THEN_RUN, str(go), "--db", db,
            "ingest", str(part), "--format", "json", "--no-progress",
        ]  # fmt: skip
        procs.append(
            subprocess.Popen(
                argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env_for()
            )
        )
    time.sleep(1.0)  # let them import newsbot before the start
    return procs


def finish(procs: list[subprocess.Popen[str]]) -> int:
    """Wait for every process; the articles they stored (raises on a failed one)."""
    stored = 0
    for proc in procs:
        out, err = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"a worker failed ({proc.returncode}): {err.strip()[-400:]}")
        report: dict[str, Any] = json.loads(out)
        stored += int(report.get("stored", 0)) + int(report.get("duplicates", 0))
    return stored


def split(rows: list[str], k: int, tmp: Path, tag: str) -> list[Path]:
    paths = []
    for i in range(k):
        path = tmp / f"{tag}-part{i}.jsonl"
        path.write_text("".join(rows[i::k]), "utf-8")
        paths.append(path)
    return paths


def timed_ingest(db: str, parts: list[Path], tmp: Path) -> tuple[int, float]:
    go = tmp / f".go-{uuid.uuid4().hex[:6]}"
    procs = start_ingests(db, parts, go)
    t0 = time.perf_counter()
    go.touch()
    stored = finish(procs)
    return stored, time.perf_counter() - t0


def bench_ingest(dsn: str, rows: list[str], tmp: Path) -> None:
    print(f"== ingest: {len(rows)} articles, real `newsbot ingest` processes")
    stored, seconds = timed_ingest(str(tmp / "ingest.db"), split(rows, 1, tmp, "sq"), tmp)
    base = stored / seconds
    print(f"SQLite, 1 process      {stored:5d} articles  {seconds:6.1f} s  {base:6.1f}/s  1.00x")
    for k in WORKERS:
        with pg_database(dsn) as url:
            stored, seconds = timed_ingest(url, split(rows, k, tmp, f"pg{k}"), tmp)
        rate = stored / seconds
        print(
            f"PostgreSQL, {k} worker{'s' if k > 1 else ' '}  {stored:5d} articles  "
            f"{seconds:6.1f} s  {rate:6.1f}/s  {rate / base:.2f}x"
        )


def drain(db: str, workers: int, post_ms: float, tmp: Path) -> tuple[int, int, float]:
    """``workers`` scale_worker processes drain the outbox; (sent, distinct keys, seconds)."""
    go = tmp / f".go-{uuid.uuid4().hex[:6]}"
    logs = [tmp / f"sent-{uuid.uuid4().hex[:6]}.log" for _ in range(workers)]
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKER), "drain", db, str(go), str(log), str(post_ms)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env_for(),
        )
        for log in logs
    ]
    time.sleep(1.0)
    t0 = time.perf_counter()
    go.touch()
    for proc in procs:
        _, err = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"a delivery worker failed: {err.strip()[-400:]}")
    seconds = time.perf_counter() - t0
    keys = [line for log in logs for line in log.read_text().splitlines()]
    return len(keys), len(set(keys)), seconds


def fill_outbox(db: str, count: int) -> None:
    done = subprocess.run(
        [sys.executable, str(WORKER), "fill", db, str(count)],
        capture_output=True,
        text=True,
        env=env_for(),
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"filling the outbox failed: {done.stderr.strip()[-400:]}")


def bench_deliveries(dsn: str, count: int, post_ms: float, tmp: Path) -> None:
    print(f"== deliveries: {count} digests, {post_ms:.0f} ms per post, worker processes")
    db = str(tmp / "deliveries.db")
    fill_outbox(db, count)
    sent, distinct, seconds = drain(db, 1, post_ms, tmp)
    base = sent / seconds
    print(
        f"SQLite, 1 process      {sent:5d} sent ({distinct} distinct)  {seconds:6.1f} s  "
        f"{base:6.1f}/s  1.00x"
    )
    for k in WORKERS:
        with pg_database(dsn) as url:
            fill_outbox(url, count)
            sent, distinct, seconds = drain(url, k, post_ms, tmp)
        rate = sent / seconds
        print(
            f"PostgreSQL, {k} worker{'s' if k > 1 else ' '}  {sent:5d} sent ({distinct} distinct)  "
            f"{seconds:6.1f} s  {rate:6.1f}/s  {rate / base:.2f}x"
            + ("" if sent == distinct == count else "  NOT EXACTLY ONCE")
        )


async def search_p99(db: str, n: int) -> tuple[float, float, float]:
    settings = Settings.model_validate({"database": {"path": db}, "seeds": {"folders": []}})
    sv = await open_services(settings)
    try:
        built = await build_corpus(sv, n)
        await query_times(sv, rounds=2)  # warm the caches
        times = await query_times(sv)
        return built, statistics.median(times), pct(times, 0.99)
    finally:
        await sv.close()


def bench_search(dsn: str, n: int, tmp: Path) -> None:
    print(f"== search: {n} articles, the /news search path")
    built, p50, base = asyncio.run(search_p99(str(tmp / "search.db"), n))
    print(
        f"SQLite (FTS5)          built {built:5.0f} s  p50 {p50:6.1f} ms  p99 {base:6.1f} ms  1.00x"
    )
    with pg_database(dsn) as url:
        built, p50, p99 = asyncio.run(search_p99(url, n))
    print(
        f"PostgreSQL (tsvector)  built {built:5.0f} s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  "
        f"{p99 / base:.2f}x  (bar p99 < 100 ms: {'met' if p99 < 100 else 'NOT met'})"
    )


async def slash_probe(url: str, rows: list[str], tmp: Path, count: int) -> None:
    import discord
    from bench_discord_ack import probe

    from bot.platforms.discord_adapter import NewsBot
    from tests.fake_discord import FakeDiscord

    settings = Settings.model_validate({"database": {"path": url}, "seeds": {"folders": []}})
    sv = await open_services(settings)
    fake = FakeDiscord()
    await fake.start()
    try:
        with fake.patch_discord():
            bot = NewsBot(sv, guild_ready_timeout=0.1)
            task = asyncio.create_task(bot.start(fake.token))
            await asyncio.wait_for(bot.wait_until_ready(), 10)
            member = fake.add_member("bench", discord.Permissions(use_application_commands=True))
            try:
                idle, _ = await probe(fake, member, min(count, 100), 0.03, None)
                go = tmp / ".go-slash"
                procs = start_ingests(url, split(rows, 4, tmp, "slash"), go)
                go.touch()
                done = asyncio.Event()
                waiter = asyncio.create_task(asyncio.to_thread(finish, procs))
                waiter.add_done_callback(lambda _: done.set())
                busy, _ = await probe(fake, member, count, 0.03, done)
                stored = await waiter
            finally:
                await bot.close()
                await task
    finally:
        await sv.close()
        await fake.stop()
    ms = [v * 1000 for v in busy]
    idle_ms = [v * 1000 for v in idle]
    print(f"idle                   n={len(idle_ms):4d}  p99 {pct(idle_ms, 0.99):6.1f} ms  1.00x")
    print(
        f"4 workers ingesting    n={len(ms):4d}  p99 {pct(ms, 0.99):6.1f} ms  "
        f"{pct(ms, 0.99) / pct(idle_ms, 0.99):.2f}x  ({stored} articles ingested meanwhile; "
        f"bar p99 < 300 ms: {'met' if pct(ms, 0.99) < 300 else 'NOT met'})"
    )


def bench_slash(dsn: str, rows: list[str], tmp: Path, count: int) -> None:
    print("== slash: /news search first response on PostgreSQL while 4 workers ingest")
    with pg_database(dsn) as url:
        asyncio.run(slash_probe(url, rows, tmp, count))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", default=os.environ.get("NEWSBOT_TEST_POSTGRES_DSN"))
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--only", default="ingest,deliveries,search,slash")
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--deliveries", type=int, default=400)
    parser.add_argument("--post-ms", type=float, default=20.0)
    parser.add_argument("--file", type=Path, default=DUC)
    args = parser.parse_args()
    if not args.dsn:
        raise SystemExit("bench_scale: no PostgreSQL (pass --dsn or set NEWSBOT_TEST_POSTGRES_DSN)")
    if not args.file.exists():
        raise SystemExit(f"bench_scale: {args.file} not found (set NEWSBOT_SHARED)")
    logging.basicConfig(level=logging.ERROR)
    rows = args.file.read_text("utf-8").splitlines(keepends=True)
    articles, deliveries = args.articles, args.deliveries
    if args.quick:
        rows, articles, deliveries = rows[:300], 5_000, 100
    only = set(args.only.split(","))
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        if "ingest" in only:
            bench_ingest(args.dsn, rows, tmp)
        if "deliveries" in only:
            bench_deliveries(args.dsn, deliveries, args.post_ms, tmp)
        if "search" in only:
            bench_search(args.dsn, articles, tmp)
        if "slash" in only:
            bench_slash(args.dsn, rows, tmp, 400 if args.quick else 2000)


if __name__ == "__main__":
    main()
