"""Digest composition benchmark: one channel's digest of 50 stories, from a real database.

Ingests the DUC 2006 JSONL into a temporary database (stories form and each article's
analysis is stored, as in production), then times `compose_digest` over the 50 largest stories
(each run reads every analysis from the database), in two cases: the
usual update (the channel knows each story; its 3 newest articles are new: novelty and
conflicts) and the worst case (every article new: summaries and conflicts), against a baseline
measured in the same run: loading the same stories' articles from the store. Target: under 1 s
for the 50-story digest.
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
            update: list[float] = []
            for run in range(3):
                t0 = time.perf_counter()
                for sid, _ in rows:
                    await _story_articles(sv.store, int(sid))
                base.append(time.perf_counter() - t0)
                # Worst case: every article of the 50 stories is new to the channel.
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
                # Usual case: the channel knows each story; its 3 newest articles are new.
                key = f"update:{run}"
                async with sv.store.transaction() as conn:
                    for sid, _ in rows:
                        await conn.execute(
                            "INSERT INTO delivered_items (channel_key, story_id, article_id, "
                            "delivered_at) SELECT ?, story_id, id, '2000-01-01T00:00:00+00:00' "
                            "FROM articles WHERE story_id = ? AND duplicate_of IS NULL "
                            "AND id NOT IN (SELECT id FROM articles WHERE story_id = ? "
                            "AND duplicate_of IS NULL ORDER BY published_at DESC, id DESC LIMIT 3)",
                            (key, int(sid), int(sid)),
                        )
                t0 = time.perf_counter()
                updated = 0
                for sid, _ in rows:
                    composed = await compose_digest(
                        sv.store,
                        settings.digest,
                        key=key,
                        channel="bench",
                        now=NOW,
                        story_id=int(sid),
                    )
                    updated += len(composed.digest.stories)
                update.append(time.perf_counter() - t0)
            b, f, u = statistics.median(base), statistics.median(full), statistics.median(update)
            print(f"baseline (load the 50 stories' articles): {b * 1000:8.1f} ms")
            print(
                f"update digest of {updated} known stories, 3 new articles each (novelty + "
                f"conflicts): {u * 1000:8.1f} ms (target < 1000 ms)"
            )
            print(
                f"worst case, all {sum(sizes)} articles new ({stories} new stories: summary + "
                f"conflicts): {f * 1000:8.1f} ms"
            )
            print(f"ratio update digest / baseline: {u / b:.1f}x")
        finally:
            await sv.close()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT))
