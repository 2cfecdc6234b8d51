"""Feed-URL benchmark: RSS feeds on a local server, through `run`'s poller and `newsbot ingest`.

Articles of the DUC 2006 JSONL are served as ``FEEDS`` RSS feeds of ``ITEMS`` items each by
the test feed server (loopback, allowed by ``[network] allow``). Three timings, each on a
fresh database with the full pipeline (clean, dedup, store, stories, analysis):

* poll, first fetch: one ``poll_due`` of every feed (fetch, parse, ingest every item);
* poll, not modified: every feed polled again (conditional GET, 304, nothing parsed);
* ingest URLs: ``Ingestor.ingest_many`` of the feed URLs (the path of ``newsbot ingest URL``).

Wall time and the process's CPU time (all threads) are printed: on a shared machine the CPU
time is the steadier figure.

Run: .venv/bin/python benchmarks/bench_poll.py [FILE] [FEEDS] [ITEMS]
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from xml.sax.saxutils import escape

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.app import make_poller  # noqa: E402
from bot.services import open_services  # noqa: E402
from bot.settings import Settings  # noqa: E402
from tests.feedserver import FeedServer  # noqa: E402

DEFAULT = REPO.parent / "shared" / "data" / "dev" / "duc2006-topics.jsonl"


def rss(articles: list[dict[str, Any]], feed: int, now: datetime) -> bytes:
    items = "".join(
        f"<item><guid>feed{feed}-item{i}</guid><title>{escape(a['title'])}</title>"
        f"<link>https://news{feed}.example/{i}</link>"
        f"<pubDate>{format_datetime(now - timedelta(minutes=i))}</pubDate>"
        f"<description>{escape(a['text'])}</description></item>"
        for i, a in enumerate(articles)
    )
    return (
        f"<?xml version='1.0'?><rss version='2.0'><channel><title>Wire {feed}</title>"
        f"<link>https://news{feed}.example/</link>{items}</channel></rss>"
    ).encode()


def settings_for(db: Path, port: int) -> Settings:
    return Settings.model_validate(
        {
            "database": {"path": str(db)},
            "seeds": {"folders": []},
            "network": {"allow": [f"127.0.0.1:{port}"]},
        }
    )


async def poll(urls: list[str], db: Path, port: int) -> tuple[float, float, float, int]:
    sv = await open_services(settings_for(db, port))
    async with sv.store.transaction() as conn:
        for url in urls:
            await sv.store.upsert_source(conn, kind="feed", locator=url, now=datetime.now(UTC))
    poller = make_poller(sv, SimpleNamespace(gateways={}))  # type: ignore[arg-type]
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        results = await poller.poll_due()
        first, first_cpu = time.perf_counter() - t0, time.process_time() - c0
        stored = sum(r.stored for r in results)
        ids = [r.source_id for r in results]
        t0 = time.perf_counter()
        again = [await poller.poll_source_id(i) for i in ids]
        second = time.perf_counter() - t0
        assert all(r.outcome.kind == "not_modified" for r in again), again
    finally:
        await poller.aclose()
        await sv.close()
    return first, first_cpu, second, stored


async def ingest(urls: list[str], db: Path, port: int) -> tuple[float, float, int]:
    sv = await open_services(settings_for(db, port))
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        report = await sv.ingestor.ingest_many(urls)
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        await sv.close()
    assert not report.warnings, report.warnings[:3]
    return elapsed, cpu, report.stored + report.duplicates


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    feeds = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    per_feed = int(sys.argv[3]) if len(sys.argv) > 3 else 30
    with path.open() as fh:
        articles = [json.loads(line) for _, line in zip(range(feeds * per_feed), fh, strict=False)]
    now = datetime.now(UTC)
    server = FeedServer().start()
    try:
        port = int(server.base_url.rsplit(":", 1)[1])
        urls = [
            server.add_file(
                f"feed{f}.xml", rss(articles[f * per_feed : (f + 1) * per_feed], f, now)
            )
            for f in range(feeds)
        ]
        with tempfile.TemporaryDirectory() as tmp:
            first, first_cpu, second, stored = asyncio.run(poll(urls, Path(tmp) / "poll.db", port))
            took, took_cpu, ingested = asyncio.run(ingest(urls, Path(tmp) / "ingest.db", port))
    finally:
        server.close()
    print(f"input: {feeds} feeds x {per_feed} items from {path}")
    print(
        f"poll, first fetch:   {stored / first:7.1f} items/s  {first:6.2f} s  "
        f"CPU {first_cpu:6.2f} s ({stored} stored)"
    )
    print(f"poll, not modified:  {feeds / second:7.1f} feeds/s  {second:6.2f} s")
    print(
        f"ingest URLs:         {ingested / took:7.1f} items/s  {took:6.2f} s  "
        f"CPU {took_cpu:6.2f} s ({ingested} stored)"
    )


if __name__ == "__main__":
    main()
