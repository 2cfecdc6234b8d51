"""Search latency over 100,000 articles (the `/news search` path: query parser + FTS5 bm25).

Builds a temporary database of N articles (default 100,000) from the DUC 2006 texts, each copy
with its sentences shuffled and a distinct id, through the real schema and FTS5 trigger. Then
times `views.search_articles` for queries of several kinds (rare and common words, phrases,
boolean) and prints p50/p99 against a baseline measured in the same run: the aiosqlite round
trip of `SELECT 1`. Target: p99 under 100 ms.

Isolation of sources: half the articles come from the operator's source, the other half from
feeds of 20 workspaces (``article_sources`` filled as ingest fills it). Each query is timed
for the operator (everything) and scoped to one workspace (bot.storage.scope), in the same run.
Run: .venv/bin/python benchmarks/bench_search.py [N]
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.queries.views import search_articles  # noqa: E402
from bot.services import Services, open_services  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.storage.scope import EVERYTHING, Scope  # noqa: E402

SHARED = Path(os.environ.get("NEWSBOT_SHARED", REPO.parent / "shared"))
DUC = SHARED / "data" / "dev" / "duc2006-topics.jsonl"
WORKSPACES = 20
QUERIES = [
    "pinochet",
    "government",
    "said",
    '"death penalty"',
    "euro AND currency",
    "(tunnel OR channel) NOT strike",
    "organ donors transplant",
    "president clinton visit china",
]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def build_corpus(sv: Services, n: int) -> float:
    """Fill ``sv``'s store with ``n`` articles (sentences shuffled, distinct ids); seconds."""
    docs = [json.loads(line) for line in DUC.open()]
    rng = random.Random(1)
    t0 = time.perf_counter()
    async with sv.store.transaction() as conn:
        for k in range(WORKSPACES + 1):  # source 1: the operator's; 2..: workspaces'
            await conn.execute(
                "INSERT INTO sources (id, kind, locator, workspace, created_at) "
                "VALUES (?, 'feed', ?, ?, '2000-01-01T00:00:00+00:00')",
                (k + 1, f"https://feeds.example/{k}.xml", f"slack:T{k}" if k else ""),
            )
    batch = []
    for i in range(n):
        d = docs[i % len(docs)]
        sentences = d["text"].split(". ")
        rng.shuffle(sentences)
        source = 1 if i % 2 == 0 else 2 + (i // 2) % WORKSPACES
        batch.append(
            (
                source,
                f"b{i}",
                "Wire",
                d["title"],
                ". ".join(sentences),
                d["published"],
                d["published"],
                f"h{i}",
            )
        )
        if len(batch) == 2000 or i == n - 1:
            async with sv.store.transaction() as conn:
                await conn.executemany(
                    "INSERT INTO articles (source_id, ext_id, outlet, title, text, "
                    "published_at, first_seen_at, content_hash) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    batch,
                )
                await conn.executemany(
                    "INSERT INTO article_sources (article_id, source_id) "
                    "SELECT id, source_id FROM articles WHERE ext_id = ?",
                    [(row[1],) for row in batch],
                )
            batch = []
    return time.perf_counter() - t0


async def query_times(sv: Services, scope: Scope = EVERYTHING, rounds: int = 30) -> list[float]:
    """Milliseconds of every query of ``QUERIES``, ``rounds`` times each."""
    times: list[float] = []
    for query in QUERIES:
        for _ in range(rounds):
            t0 = time.perf_counter()
            await search_articles(sv, query, limit=10, scope=scope)
            times.append((time.perf_counter() - t0) * 1000)
    return times


async def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.model_validate(
            {"database": {"path": str(Path(tmp) / "s.db")}, "seeds": {"folders": []}}
        )
        sv = await open_services(settings)
        try:
            seconds = await build_corpus(sv, n)
            print(f"built {n} articles with FTS5 in {seconds:.0f} s")
            floor: list[float] = []
            for _ in range(200):
                t0 = time.perf_counter()
                await sv.store.scalar("SELECT 1")
                floor.append((time.perf_counter() - t0) * 1000)
            print(
                f"baseline SELECT 1 round trip: p50 {pct(floor, 0.5):.2f} ms  "
                f"p99 {pct(floor, 0.99):.2f} ms"
            )
            # Operator and workspace runs alternate, so a load change on the machine hits both.
            scopes = {"operator": EVERYTHING, "one workspace": Scope("slack:T1")}
            overall: dict[str, list[float]] = {label: [] for label in scopes}
            for query in QUERIES:
                times: dict[str, list[float]] = {label: [] for label in scopes}
                found: dict[str, int] = {}
                for _ in range(30):
                    for label, scope in scopes.items():
                        t0 = time.perf_counter()
                        result = await search_articles(sv, query, limit=10, scope=scope)
                        times[label].append((time.perf_counter() - t0) * 1000)
                        found[label] = len(result["results"])
                for label, values in times.items():
                    overall[label].extend(values)
                    print(
                        f"{query!r:40} {label:14} p50 {pct(values, 0.5):7.1f} ms  "
                        f"p99 {pct(values, 0.99):7.1f} ms  ({found[label]} results)"
                    )
            for label, values in overall.items():
                print(
                    f"all queries, {label}: p50 {statistics.median(values):.1f} ms  "
                    f"p99 {pct(values, 0.99):.1f} ms (target < 100 ms); "
                    f"p99 / baseline p99: {pct(values, 0.99) / pct(floor, 0.99):.0f}x"
                )
            op, ws = (statistics.median(overall[label]) for label in scopes)
            print(f"scoped / operator p50: {ws / op:.2f}x")
        finally:
            await sv.close()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000))
