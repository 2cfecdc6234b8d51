"""Cross-validate story grouping settings over topic halves (no tuning on the scored topics).

    python scripts/cv_stories.py --run DUC.jsonl [--splits 5] [--seed 0]
        [--set NAME=VALUE ...] [--grid NAME=V1,V2,... | NAME=START:STOP:STEP ...]
        [--baseline-grid 0.10:0.24:0.02] [--jobs 2]

Each split shuffles the gold topics (primary ``label``) with a fixed seed and cuts them in two
halves; each half's articles keep their stream order. Both folds of a split are used: the
settings (the cartesian product of every ``--grid``, on top of the ``--set`` values and the
product defaults) are tuned on one half's articles by BCubed F1 and scored on the other half.
The plain single-pass TF-IDF baseline gets the same treatment over ``--baseline-grid``
thresholds. Printed: per fold the chosen settings and test F1, then the means over all folds,
and the untuned defaults (``--set`` only) on the same test halves.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import random
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.stories.cluster import ClusterParams
from bot.stories.evaluate import (
    BCubed,
    baseline_single_pass,
    bcubed,
    docs_from_rows,
    gold_labels,
    read_jsonl,
    run_clusterer,
)

_FIELD_TYPES = {f.name: f.type for f in fields(ClusterParams)}


def _value(name: str, text: str) -> Any:
    kind = str(_FIELD_TYPES[name])
    if text.lower() in ("none", "null"):
        return None
    if kind.startswith("int"):
        return int(text)
    if kind.startswith("bool"):
        return text.lower() in ("1", "true", "yes")
    return float(text)


def _values(name: str, spec: str) -> list[Any]:
    if name not in _FIELD_TYPES:
        raise SystemExit(f"unknown ClusterParams field {name!r}")
    if ":" in spec:
        start, stop, step = (float(x) for x in spec.split(":"))
        n = round((stop - start) / step) + 1
        return [_value(name, f"{start + i * step:.6g}") for i in range(n)]
    return [_value(name, v) for v in spec.split(",")]


def _floats(spec: str) -> list[float]:
    if ":" in spec:
        start, stop, step = (float(x) for x in spec.split(":"))
        n = round((stop - start) / step) + 1
        return [round(start + i * step, 6) for i in range(n)]
    return [float(v) for v in spec.split(",")]


@dataclass(frozen=True, slots=True)
class Fold:
    split: int
    train: list[dict[str, Any]]
    test: list[dict[str, Any]]


def topic_folds(rows: list[dict[str, Any]], splits: int, seed: int) -> list[Fold]:
    """Two folds per split: the gold topics shuffled (fixed seed) and cut in halves."""
    topics = sorted({str(r["label"]) for r in rows})
    folds: list[Fold] = []
    for s in range(splits):
        order = topics[:]
        random.Random(seed + s).shuffle(order)
        half = set(order[: len(order) // 2])
        a = [r for r in rows if str(r["label"]) in half]
        b = [r for r in rows if str(r["label"]) not in half]
        folds += [Fold(s, a, b), Fold(s, b, a)]
    return folds


def _score_ours(rows: list[dict[str, Any]], params: ClusterParams) -> BCubed:
    pred, _ = run_clusterer(docs_from_rows(rows), params)
    return bcubed(pred, gold_labels(rows))


def _score_base(rows: list[dict[str, Any]], threshold: float) -> BCubed:
    return bcubed(baseline_single_pass(docs_from_rows(rows), threshold), gold_labels(rows))


def _as_list(score: BCubed) -> list[Any]:
    return [
        score.precision,
        score.recall,
        score.f1,
        score.n_items,
        score.n_pred_clusters,
        score.n_gold_clusters,
    ]


def _job(args: tuple[str, list[dict[str, Any]], Any]) -> BCubed:
    kind, rows, setting = args
    return _score_ours(rows, setting) if kind == "ours" else _score_base(rows, setting)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--run", required=True, metavar="JSONL", help="labelled articles")
    ap.add_argument("--splits", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("--grid", action="append", default=[], metavar="NAME=VALUES")
    ap.add_argument("--baseline-grid", default="0.10:0.24:0.02", metavar="VALUES")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument(
        "--baseline-cache",
        type=Path,
        default=Path("/tmp/cv_stories_baseline.json"),
        help="baseline scores by data, split and threshold (the baseline is slow)",
    )
    args = ap.parse_args(argv)

    fixed: dict[str, Any] = {}
    for item in args.set:
        name, _, spec = item.partition("=")
        fixed[name] = _value(name, spec)
    base_params = replace(ClusterParams(), **fixed)
    axes = []
    for item in args.grid:
        name, _, spec = item.partition("=")
        axes.append([(name, v) for v in _values(name, spec)])
    candidates = [replace(base_params, **dict(combo)) for combo in itertools.product(*axes)]
    if not candidates:
        candidates = [base_params]
    base_grid = [] if args.no_baseline else _floats(args.baseline_grid)

    rows = read_jsonl(args.run)
    folds = topic_folds(rows, args.splits, args.seed)
    digest = hashlib.sha256(Path(args.run).read_bytes()).hexdigest()[:16]
    cache: dict[str, list[Any]] = {}
    if args.baseline_cache.exists():
        cache = json.loads(args.baseline_cache.read_text())
    jobs: list[tuple[str, list[dict[str, Any]], Any]] = []
    slots: list[str | None] = []
    for i, fold in enumerate(folds):
        for j, part in enumerate((fold.train, fold.test)):
            jobs += [("ours", part, c) for c in candidates]
            slots += [None] * len(candidates)
            for t in base_grid:
                slots.append(f"{digest}:{args.seed}:{i}:{j}:{t}")
                if slots[-1] not in cache:
                    jobs.append(("base", part, t))
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as pool:
            done = list(pool.map(_job, jobs, chunksize=1))
    else:
        done = [_job(j) for j in jobs]
    it = iter(done)
    results: list[BCubed] = []
    for slot in slots:
        if slot is None or slot not in cache:
            results.append(next(it))
            if slot is not None:
                cache[slot] = _as_list(results[-1])
        else:
            results.append(BCubed(*cache[slot]))
    if base_grid:
        args.baseline_cache.write_text(json.dumps(cache))

    per_part = len(candidates) + len(base_grid)
    ours_test: list[float] = []
    ours_default: list[float] = []
    base_test: list[float] = []
    default_at = candidates.index(base_params) if base_params in candidates else None
    varied = [name for name, _ in (axis[0] for axis in axes)]
    for i, fold in enumerate(folds):
        train = results[(2 * i) * per_part : (2 * i + 1) * per_part]
        test = results[(2 * i + 1) * per_part : (2 * i + 2) * per_part]
        best = max(range(len(candidates)), key=lambda j: (train[j].f1, -j))
        chosen = {n: getattr(candidates[best], n) for n in varied}
        ours_test.append(test[best].f1)
        line = (
            f"split {fold.split} fold {i % 2}: ours {chosen} train F1={train[best].f1:.4f} "
            f"test {test[best]}"
        )
        if default_at is not None:
            ours_default.append(test[default_at].f1)
        if base_grid:
            off = len(candidates)
            bbest = max(range(len(base_grid)), key=lambda j: (train[off + j].f1, -j))
            base_test.append(test[off + bbest].f1)
            line += f" | baseline t={base_grid[bbest]} test F1={test[off + bbest].f1:.4f}"
        print(line)

    def mean(xs: list[float]) -> float:
        return sum(xs) / len(xs) if xs else float("nan")

    print(f"fixed settings: {fixed or 'product defaults'}; grid: {varied or 'none'}")
    print(f"CV mean test F1 ours (tuned on the other half): {mean(ours_test):.4f}")
    if ours_default:
        print(f"CV mean test F1 ours (untuned, --set only):    {mean(ours_default):.4f}")
    if base_test:
        print(f"CV mean test F1 baseline (threshold tuned):     {mean(base_test):.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
