"""Digest composition benchmark: one channel's digest of 50 stories, from a real database.

Ingests the DUC 2006 JSONL into a temporary database (stories form and each article's
analysis is stored, as in production), then times `compose_digest` over the 50 largest stories
(each run reads every analysis from the database), in two cases: the
usual update (the channel knows each story; its 3 newest articles are new: novelty and
conflicts) and the worst case (every article new: summaries and conflicts), against a baseline
measured in the same run: loading the same stories' articles from the store. Target: under 1 s
for the 50-story digest.
It also prints the share of the update digest spent selecting statements (the novelty call:
paraphrase filter + concept coverage, and the coverage solver alone), for the greedy solver the
digest uses and for the exact ILP (``digest.selection = "exact"``), measured in the same run.
Besides wall time it prints the process CPU time of the baseline and the update digest (the
database thread included): on a shared machine wall time also counts other processes' turns.
Run: .venv/bin/python benchmarks/bench_digest.py [FILE]
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import bot.analysis.summarize as summarize_module  # noqa: E402
import bot.digest.compose as compose_module  # noqa: E402
from bot.digest.codec import encode_digest  # noqa: E402
from bot.digest.compose import _story_articles, compose_digest  # noqa: E402
from bot.services import open_services  # noqa: E402
from bot.settings import Settings  # noqa: E402

SHARED = Path(os.environ.get("NEWSBOT_SHARED", str(REPO.parent / "shared")))
DEFAULT = SHARED / "data" / "dev" / "duc2006-topics.jsonl"
SPENT: dict[str, float] = {}
DUMP = os.environ.get("BENCH_DUMP")  # a file: the first run's digests as JSON, to diff
DUMPED: list[str] = []


def timed(name: str, fn: Any) -> Any:
    """``fn`` adding its run time to ``SPENT[name]``."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            SPENT[name] = SPENT.get(name, 0.0) + time.perf_counter() - t0

    return wrapper


compose_module.novel_statements = timed("novelty", compose_module.novel_statements)
compose_module.summarize = timed("summary", compose_module.summarize)
SOLVERS = getattr(summarize_module, "SOLVERS", {"current": None})  # older trees: one method
for _name, _solver in list(SOLVERS.items()):
    if _solver is not None:
        SOLVERS[_name] = timed("solver", _solver)
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
            base_cpu: list[float] = []
            full: list[float] = []
            update: list[float] = []
            update_cpu: list[float] = []
            shares: dict[str, list[tuple[float, float, float]]] = {m: [] for m in SOLVERS}
            for run in range(3):
                t0, c0 = time.perf_counter(), time.process_time()
                for sid, _ in rows:
                    await _story_articles(sv.store, int(sid))
                base.append(time.perf_counter() - t0)
                base_cpu.append(time.process_time() - c0)
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
                    if DUMP and run == 0:
                        DUMPED.append(json.dumps(encode_digest(composed.digest), sort_keys=True))
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
                for method in SOLVERS:
                    SPENT.clear()
                    t0, c0 = time.perf_counter(), time.process_time()
                    updated = 0
                    for sid, _ in rows:
                        composed = await compose_digest(
                            sv.store,
                            settings.digest
                            if method == "current"
                            else settings.digest.model_copy(update={"selection": method}),
                            key=key,
                            channel="bench",
                            now=NOW,
                            story_id=int(sid),
                        )
                        updated += len(composed.digest.stories)
                        if DUMP and run == 0:
                            DUMPED.append(
                                json.dumps(encode_digest(composed.digest), sort_keys=True)
                            )
                    took = time.perf_counter() - t0
                    took_cpu = time.process_time() - c0
                    shares[method].append(
                        (took, SPENT.get("novelty", 0.0), SPENT.get("solver", 0.0))
                    )
                    if method in ("greedy", "current"):
                        update.append(took)
                        update_cpu.append(took_cpu)
            if DUMP:
                Path(DUMP).write_text("\n".join(DUMPED) + "\n")
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
            bc, uc = statistics.median(base_cpu), statistics.median(update_cpu)
            print(
                f"CPU time: baseline {bc * 1000:.1f} ms, update digest {uc * 1000:.1f} ms "
                f"(ratio {uc / bc:.1f}x)"
            )
            for method, runs in shares.items():
                took, novelty, solver = (statistics.median(r[k] for r in runs) for k in range(3))
                print(
                    f"selection ({method}): {novelty * 1000:7.1f} ms of the {took * 1000:.0f} ms "
                    f"update digest ({novelty / took:.0%}; solver alone {solver * 1000:.1f} ms, "
                    f"{solver / took:.0%})"
                )
        finally:
            await sv.close()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT))
