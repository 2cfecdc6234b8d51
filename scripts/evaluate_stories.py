"""Score story clusters with BCubed, or run the online clusterer on a labelled JSONL.

    python scripts/evaluate_stories.py PRED.jsonl GOLD.jsonl
        PRED lines {"id","story"}; GOLD lines {"id","label"[,"labels"]}.
    python scripts/evaluate_stories.py --run DUC.jsonl [--level topic|story] [--threshold T]
        (--level topic, the default, is the product's default ClusterParams())
        [--baseline] [--write-pred OUT.jsonl]
        streams the file in its order through StoryClusterer (and the plain single-pass TF-IDF
        baseline with --baseline) and prints BCubed against its "label"/"labels".

Articles with several gold labels count as correct in any of them (``--primary`` uses "label").
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.stories.cluster import ClusterParams
from bot.stories.evaluate import (
    baseline_single_pass,
    bcubed,
    docs_from_rows,
    gold_labels,
    read_jsonl,
    run_clusterer,
)


def _params(args: argparse.Namespace) -> ClusterParams:
    overrides = {
        name: getattr(args, name)
        for name in (
            "threshold",
            "time_decay_days",
            "active_days",
            "merge_threshold",
            "entity_weight",
            "title_weight",
            "centroid_terms",
        )
        if getattr(args, name) is not None
    }
    if args.no_decay:
        overrides["time_decay_days"] = None
    if args.level == "topic":
        return ClusterParams.topic_level(**overrides)
    return ClusterParams.story_level(**overrides)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("files", nargs="*", help="PRED.jsonl GOLD.jsonl")
    ap.add_argument("--run", metavar="JSONL", help="cluster this labelled file and score it")
    ap.add_argument("--level", choices=("story", "topic"), default="topic")
    ap.add_argument("--threshold", type=float)
    ap.add_argument("--time-decay-days", dest="time_decay_days", type=float)
    ap.add_argument("--no-decay", action="store_true")
    ap.add_argument("--active-days", dest="active_days", type=float)
    ap.add_argument("--merge-threshold", dest="merge_threshold", type=float)
    ap.add_argument("--entity-weight", dest="entity_weight", type=float)
    ap.add_argument("--title-weight", dest="title_weight", type=float)
    ap.add_argument("--centroid-terms", dest="centroid_terms", type=int)
    ap.add_argument("--baseline", action="store_true", help="also run the plain TF-IDF baseline")
    ap.add_argument("--baseline-threshold", type=float, default=0.15)
    ap.add_argument("--primary", action="store_true", help="score with the primary label only")
    ap.add_argument("--write-pred", metavar="OUT", help="write {id, story} lines")
    args = ap.parse_args(argv)

    if args.run:
        rows = read_jsonl(args.run)
        gold = gold_labels(rows, multi=not args.primary)
        docs = docs_from_rows(rows)
        params = _params(args)
        t0 = time.perf_counter()
        pred, engine = run_clusterer(docs, params)
        took = time.perf_counter() - t0
        print(f"params: {params}")
        print(
            f"online:   {bcubed(pred, gold)} merges={len(engine.merges)} "
            f"({len(docs) / took:.0f} articles/s)"
        )
        if args.write_pred:
            with open(args.write_pred, "w", encoding="utf-8") as fh:
                for key, story in pred.items():
                    fh.write(json.dumps({"id": key, "story": story}) + "\n")
        if args.baseline:
            base = baseline_single_pass(docs, args.baseline_threshold)
            print(f"baseline: {bcubed(base, gold)} (threshold {args.baseline_threshold})")
        return 0

    if len(args.files) != 2:
        ap.error("give PRED.jsonl GOLD.jsonl, or --run FILE")
    pred_rows = read_jsonl(args.files[0])
    gold_rows = read_jsonl(args.files[1])
    pred = {str(r["id"]): r["story"] for r in pred_rows}
    gold = gold_labels(gold_rows, multi=not args.primary)
    missing = len(set(gold) - set(pred))
    print(bcubed(pred, gold))
    if missing:
        print(f"note: {missing} gold items have no prediction and were left out")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
