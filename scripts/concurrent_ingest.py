"""Several `newsbot ingest` processes on one database against the same input ingested serially.

    python scripts/concurrent_ingest.py [--data FILE.jsonl] [--parts 2|3] [--split contiguous|
        interleaved] [--readers N] [--limit N] [--tree PATH]

Splits a labelled JSONL file (default: the DUC 2006 development file) into PARTS files, then:

* concurrent: one `newsbot ingest` process per part on one database, started together (plus
  READERS processes looping `stories`, `export stories`, `search` meanwhile);
* serial: the parts ingested one after the other into a fresh database;
* arrival order: the articles in the order the concurrent run stored them, ingested by one
  process; one story writer means the concurrent stories equal these exactly.

Prints, for each: BCubed F1 against the gold labels, the number of stories, stories whose
`article_count` is wrong, `PRAGMA integrity_check`, warning/error lines; and the BCubed F1 of
the concurrent stories against the arrival-order ones (1.0 = the same stories).
``--tree`` runs the newsbot processes from another checkout (to measure an older version).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.storage.backup import integrity  # noqa: E402
from bot.stories.evaluate import bcubed, gold_labels, read_jsonl  # noqa: E402
from tests.ingest_procs import (  # noqa: E402
    Run,
    arrival_order,
    concurrent_ingests,
    serial_ingests,
    story_consistency,
    story_of,
    write_jsonl,
)

DEFAULT_DATA = (
    Path(os.environ.get("NEWSBOT_SHARED", str(REPO.parent / "shared")))
    / "data"
    / "dev"
    / "duc2006-topics.jsonl"
)


def split(rows: list[dict[str, Any]], parts: int, how: str) -> list[list[dict[str, Any]]]:
    if how == "interleaved":
        return [rows[i::parts] for i in range(parts)]
    size = -(-len(rows) // parts)
    return [rows[i * size : (i + 1) * size] for i in range(parts)]


def describe(
    name: str, db: Path, run: Run, gold: dict[str, Any], tree: Path | None
) -> dict[str, str]:
    stories = story_of(db, tree=tree)
    score = bcubed(stories, gold)
    live, wrong = story_consistency(db)
    with sqlite3.connect(db) as conn:
        check = integrity(conn)
    problems = sum(
        1
        for p in [*run.ingests, *run.reads]
        for line in p.stderr.splitlines()
        if line.startswith(("warning:", "error:", "Traceback")) or " ERROR " in f" {line}"
    )
    failed = sum(1 for p in [*run.ingests, *run.reads] if p.returncode != 0)
    counts = [p.report() for p in run.ingests if p.returncode in (0, 1) and p.stdout.strip()]
    total = {k: sum(c[k] for c in counts) for k in ("stored", "duplicates", "unchanged")}
    print(
        f"{name:>13}: F1 {score.f1:.3f} (P {score.precision:.3f} R {score.recall:.3f}) · "
        f"{len(set(stories.values()))} stories ({live} live rows, {wrong} wrong article_count) · "
        f"integrity {check} · {problems} warning/error lines · {failed} failed processes · "
        f"{total['stored']} stored {total['duplicates']} copies {total['unchanged']} known · "
        f"{len(run.reads)} reads · {run.seconds:.1f}s"
    )
    return stories


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--parts", type=int, default=2)
    ap.add_argument("--split", choices=("contiguous", "interleaved"), default="contiguous")
    ap.add_argument("--readers", type=int, default=0)
    ap.add_argument("--limit", type=int, default=0, help="Only the first N articles.")
    ap.add_argument("--tree", type=Path, default=None, help="Run newsbot from this checkout.")
    args = ap.parse_args()

    rows = read_jsonl(args.data)
    if args.limit:
        rows = rows[: args.limit]
    gold = gold_labels(rows)
    by_id = {str(r["id"]): r for r in rows}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        files = [
            write_jsonl(tmp / f"part{i + 1}.jsonl", part)
            for i, part in enumerate(split(rows, args.parts, args.split))
        ]
        groups = [[f] for f in files]
        print(
            f"{len(rows)} articles in {args.parts} {args.split} parts; newsbot from "
            f"{args.tree or REPO}"
        )
        conc_db = tmp / "concurrent.db"
        conc = concurrent_ingests(conc_db, groups, readers=args.readers, tree=args.tree)
        conc_stories = describe("concurrent", conc_db, conc, gold, args.tree)
        ser_db = tmp / "serial.db"
        describe("serial", ser_db, serial_ingests(ser_db, groups, tree=args.tree), gold, args.tree)
        order = arrival_order(conc_db, tree=args.tree)
        arrived = write_jsonl(tmp / "arrival.jsonl", [by_id[i] for i in order if i in by_id])
        arr_db = tmp / "arrival.db"
        arr_stories = describe(
            "arrival order", arr_db, serial_ingests(arr_db, [[arrived]], tree=args.tree), gold,
            args.tree,
        )  # fmt: skip
        same = bcubed(conc_stories, {k: str(v) for k, v in arr_stories.items()})
        print(f"concurrent vs arrival-order stories: BCubed F1 {same.f1:.3f}")


if __name__ == "__main__":
    main()
