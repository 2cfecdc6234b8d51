"""Digest composition benchmark: one channel's digest of 50 stories, from a real database.

Ingests the DUC 2006 JSONL into a temporary database (stories form as in production), then
times `compose_digest` for a digest of 50 stories (summaries of new stories, conflicts across
their articles) against a baseline measured in the same run: loading the same 50 stories'
articles from the store without any analysis. Target: under 1 s for the 50-story digest.
Run: .venv/bin/python benchmarks/bench_digest.py [FILE]
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.analysis.conflicts import _PREPARED  # noqa: E402
from bot.digest.compose import _story_articles, compose_digest  # noqa: E402
from bot.services import open_services  # noqa: E402
from bot.settings import Settings  # noqa: E402

DEFAULT = REPO.parent / "shared" / "data" / "dev" / "duc2006-topics.jsonl"
NOW = datetime(2030, 1, 1, tzinfo=UTC)


async def main(path: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.model_validate(
            {
                "database": {"path": str(Path(tmp) / "b.db")},
                "seeds": {"folders": []},
                "digest": {"max_stories": 50},
            }
        )
        sv = await open_services(settings)
        try:
            t0 = time.perf_counter()
            await sv.ingestor.ingest(str(path))
            print(f"ingested {path.name} in {time.perf_counter() - t0:.1f} s")
            rows = await sv.store.fetchall(
                "SELECT story_id, count(*) c FROM articles WHERE duplicate_of IS NULL "
                "GROUP BY story_id ORDER BY c DESC, story_id LIMIT 50"
            )
            sizes = [int(r[1]) for r in rows]
            print(f"50 largest stories: {sum(sizes)} articles (max {max(sizes)} per story)")
            base: list[float] = []
            full: list[float] = []
            for run in range(3):
                t0 = time.perf_counter()
                for sid, _ in rows:
                    await _story_articles(sv.store, int(sid))
                base.append(time.perf_counter() - t0)
                _PREPARED.clear()  # measure a cold digest, not one served from the cache
                t0 = time.perf_counter()
                stories = 0
                for sid, _ in rows:  # one digest of 50 stories: each a followed story
                    composed = await compose_digest(
                        sv.store,
                        settings.digest,
                        key=f"bench:{run}",
                        channel="bench",
                        now=NOW,
                        story_id=int(sid),
                    )
                    stories += len(composed.digest.stories)
                full.append(time.perf_counter() - t0)
            b, f = statistics.median(base), statistics.median(full)
            print(f"baseline (load the 50 stories' articles): {b * 1000:8.1f} ms")
            print(
                f"digest of {stories} stories (summary + conflicts): {f * 1000:8.1f} ms "
                f"(target < 1000 ms)"
            )
            print(f"ratio digest / baseline: {f / b:.1f}x")
        finally:
            await sv.close()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT))
