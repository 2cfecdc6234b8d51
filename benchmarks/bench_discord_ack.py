"""Slash-command acknowledgement latency while ingestion runs flat out in the same process.

A real discord.py bot (``NewsBot``) runs against the fake Discord of ``tests/fake_discord.py``
on 127.0.0.1. While the DUC 2006 JSONL (1,240 articles) is ingested through the full pipeline
in the same event loop, ``/news search`` interactions are pushed every ``--gap`` seconds. For
each, the time from the fake sending INTERACTION_CREATE to receiving the bot's first response
(the ``defer()`` callback, Discord's 3-second deadline) and to the first follow-up (the answer)
is measured until ingestion ends; the same with no ingestion is the baseline. Discord's own
network round trip is not included (no internet here).

Run: .venv/bin/python benchmarks/bench_discord_ack.py [--count 2000] [--gap 0.03] [FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import discord  # noqa: E402

from bot.platforms.discord_adapter import NewsBot  # noqa: E402
from bot.services import Services, open_services  # noqa: E402
from bot.settings import Settings  # noqa: E402
from tests.fake_discord import FakeDiscord, FakeMember  # noqa: E402

DEFAULT = REPO.parent / "shared" / "data" / "dev" / "duc2006-topics.jsonl"
QUERIES = ("president", "election", "police", "court", "oil", "storm", "minister", "trade")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def summary(name: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"{name:<36} n={len(ms):4d}  p50 {statistics.median(ms):7.1f}  p95 {pct(ms, 95):7.1f}  "
        f"p99 {pct(ms, 99):7.1f}  max {max(ms):7.1f} ms"
    )


async def probe(
    fake: FakeDiscord, member: FakeMember, count: int, gap: float, stop: asyncio.Event | None
) -> tuple[list[float], list[float]]:
    """Push ``count`` searches ``gap`` seconds apart (until ``stop``); ack and answer delays."""
    sent: list[tuple[str, float]] = []
    for i in range(count):
        if stop is not None and stop.is_set():
            break
        query = QUERIES[i % len(QUERIES)]
        options = [
            {"type": 1, "name": "search", "options": [{"type": 3, "name": "query", "value": query}]}
        ]
        started = time.monotonic()
        payload = await fake.interact(member, "general", options)
        sent.append((payload["token"], started))
        await asyncio.sleep(gap)

    def answered() -> bool:
        tokens = {r.path.split("/")[3] for r in fake.requests if r.path.startswith("/webhooks/")}
        return all(token in tokens for token, _ in sent)

    await fake.wait_for(answered, within=120)
    acks: list[float] = []
    answers: list[float] = []
    for token, started in sent:
        mine = [r for r in fake.requests if f"/{token}" in r.path]
        acks.append(next(r.at for r in mine if r.path.endswith("/callback")) - started)
        answers.append(next(r.at for r in mine if r.path.startswith("/webhooks/")) - started)
    return acks, answers


async def ingest_flat_out(sv: Services, path: Path, done: asyncio.Event) -> tuple[int, float]:
    t0 = time.perf_counter()
    try:
        report = await sv.ingestor.ingest(str(path))
    finally:
        done.set()
    return report.stored + report.duplicates, time.perf_counter() - t0


async def main(path: Path, count: int, gap: float) -> None:
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.model_validate(
            {"database": {"path": f"{tmp}/bench.db"}, "seeds": {"folders": [str(REPO / "seeds")]}}
        )
        sv = await open_services(settings)
        await sv.sync_seeds()
        fake = FakeDiscord()
        await fake.start()
        with fake.patch_discord():
            bot = NewsBot(sv, guild_ready_timeout=0.1)
            task = asyncio.create_task(bot.start(fake.token))
            await asyncio.wait_for(bot.wait_until_ready(), 10)
            member = fake.add_member("bench", discord.Permissions(use_application_commands=True))
            try:
                idle_acks, idle_answers = await probe(fake, member, min(count, 100), gap, None)
                done = asyncio.Event()
                ingest = asyncio.create_task(ingest_flat_out(sv, path, done))
                busy_acks, busy_answers = await probe(fake, member, count, gap, done)
                articles, seconds = await ingest
            finally:
                await bot.close()
                await task
                await sv.close()
                await fake.stop()
    print(f"ingest: {articles} articles in {seconds:.1f} s ({articles / seconds:.0f}/s)")
    print(summary("ack (defer), idle", idle_acks))
    print(summary("ack (defer), while ingesting", busy_acks))
    print(summary("answer (follow-up), idle", idle_answers))
    print(summary("answer (follow-up), while ingesting", busy_answers))
    print(f"target: ack p99 < 300 ms while ingesting -> {pct(busy_acks, 99) * 1000 < 300}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--gap", type=float, default=0.03)
    args = parser.parse_args()
    asyncio.run(main(args.file, args.count, args.gap))
