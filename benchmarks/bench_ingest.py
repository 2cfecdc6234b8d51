"""Ingest benchmark: the DUC 2006 JSONL (1,240 articles) end to end through `newsbot`'s pipeline.

Prints articles/s and peak memory for the full pipeline (clean, dedup, store, FTS, the story
and analysis hooks) and for a baseline measured in the same run (json.loads + one INSERT per
article into the same schema, no cleaning or dedup), and their ratio.
Run: .venv/bin/python benchmarks/bench_ingest.py [FILE]
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.services import open_services  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.storage import Store  # noqa: E402

DEFAULT = REPO.parent / "shared" / "data" / "dev" / "duc2006-topics.jsonl"


async def pipeline(path: Path, db: Path, *, trace: bool) -> tuple[int, float, float]:
    """Timed without tracemalloc (it slows Python down several times); traced for memory."""
    settings = Settings.model_validate({"database": {"path": str(db)}, "seeds": {"folders": []}})
    sv = await open_services(settings)
    if trace:
        tracemalloc.start()
    t0 = time.perf_counter()
    report = await sv.ingestor.ingest(str(path))
    elapsed = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] if trace else 0
    if trace:
        tracemalloc.stop()
    await sv.close()
    return report.stored + report.duplicates, elapsed, peak / 2**20


async def baseline(path: Path, db: Path) -> tuple[int, float, float]:
    store = await Store.open(db)
    t0 = time.perf_counter()
    n = 0
    with path.open() as fh:
        for line in fh:
            obj = json.loads(line)
            async with store.transaction() as conn:
                await conn.execute(
                    "INSERT INTO articles (ext_id, outlet, title, text, published_at, "
                    "first_seen_at, content_hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        obj["id"],
                        obj.get("source", ""),
                        obj["title"],
                        obj["text"],
                        obj.get("published", ""),
                        "",
                        "",
                    ),
                )
            n += 1
    elapsed = time.perf_counter() - t0
    await store.close()
    return n, elapsed, 0.0


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    with tempfile.TemporaryDirectory() as tmp:
        bn, bt, _ = asyncio.run(baseline(path, Path(tmp) / "base.db"))
        pn, pt, _ = asyncio.run(pipeline(path, Path(tmp) / "pipe.db", trace=False))
        _, _, pm = asyncio.run(pipeline(path, Path(tmp) / "traced.db", trace=True))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"input: {path} ({bn} lines)")
    print(f"baseline (json + insert + FTS): {bn / bt:8.0f} articles/s  {bt:6.2f} s")
    print(
        f"pipeline (clean, dedup, store, stories, analysis): {pn / pt:6.0f} articles/s  "
        f"{pt:6.2f} s  "
        f"peak Python heap {pm:6.1f} MiB (tracemalloc, separate run)"
    )
    print(f"pipeline / baseline time ratio: {pt / bt:.2f}x")
    print(f"process peak RSS: {rss:.0f} MiB")


if __name__ == "__main__":
    main()
