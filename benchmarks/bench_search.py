"""Search latency over 100,000 articles (the `/news search` path: query parser + FTS5 bm25).

Builds a temporary database of N articles (default 100,000) from the DUC 2006 texts, each copy
with its sentences shuffled and a distinct id, through the real schema and FTS5 trigger. Then
times `views.search_articles` for queries of several kinds (rare and common words, phrases,
boolean) and prints p50/p99 against a baseline measured in the same run: the aiosqlite round
trip of `SELECT 1`. Target: p99 under 100 ms.
Run: .venv/bin/python benchmarks/bench_search.py [N]
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.services import open_services  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.views import search_articles  # noqa: E402

DUC = REPO.parent / "shared" / "data" / "dev" / "duc2006-topics.jsonl"
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


async def main(n: int) -> None:
    docs = [json.loads(line) for line in DUC.open()]
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.model_validate(
            {"database": {"path": str(Path(tmp) / "s.db")}, "seeds": {"folders": []}}
        )
        sv = await open_services(settings)
        try:
            t0 = time.perf_counter()
            batch = []
            for i in range(n):
                d = docs[i % len(docs)]
                sentences = d["text"].split(". ")
                rng.shuffle(sentences)
                batch.append(
                    (
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
                            "INSERT INTO articles (ext_id, outlet, title, text, published_at, "
                            "first_seen_at, content_hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
                            batch,
                        )
                    batch = []
            print(f"built {n} articles with FTS5 in {time.perf_counter() - t0:.0f} s")
            floor: list[float] = []
            for _ in range(200):
                t0 = time.perf_counter()
                await sv.store.scalar("SELECT 1")
                floor.append((time.perf_counter() - t0) * 1000)
            print(
                f"baseline SELECT 1 round trip: p50 {pct(floor, 0.5):.2f} ms  "
                f"p99 {pct(floor, 0.99):.2f} ms"
            )
            overall: list[float] = []
            for query in QUERIES:
                times = []
                for _ in range(30):
                    t0 = time.perf_counter()
                    result = await search_articles(sv, query, limit=10)
                    times.append((time.perf_counter() - t0) * 1000)
                overall.extend(times)
                print(
                    f"{query!r:40} p50 {pct(times, 0.5):7.1f} ms  p99 {pct(times, 0.99):7.1f} ms"
                    f"  ({len(result['results'])} results)"
                )
            print(
                f"all queries: p50 {statistics.median(overall):.1f} ms  "
                f"p99 {pct(overall, 0.99):.1f} ms (target < 100 ms); "
                f"p99 / baseline p99: {pct(overall, 0.99) / pct(floor, 0.99):.0f}x"
            )
        finally:
            await sv.close()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000))
