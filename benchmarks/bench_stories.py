"""Throughput of online story grouping with 1,000 and 100,000 active stories (one core).

    python benchmarks/bench_stories.py [--duc PATH] [--sizes 1000 100000] [--queries 1240]

Stories are pre-populated from real DUC article vectors with perturbations (30% of terms
dropped, 20 random vocabulary terms added, re-normalised), all dated "now" so they are active.
Then the DUC articles (real text, re-dated to "now") stream through ``StoryClusterer.add`` —
vectorising, candidate retrieval, exact rescoring, joining/opening, index upkeep included.
The brute-force baseline vectorises the same articles and scores them against *all* active
centroids (CSR matrix times a dense query buffer, matrix built before timing). "agree" is the
fraction of sampled articles whose indexed best story equals the brute-force best. The online
figures include the amortised cost of the index rebuild (timed once after the stream).
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from scipy import sparse

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.stories.cluster import ClusterParams, Doc, StoryClusterer
from bot.stories.evaluate import docs_from_rows, read_jsonl
from bot.stories.vectorize import SparseVec, normalized

DEFAULT_DUC = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "dev" / "duc2006-topics.jsonl"
)
NOW = datetime(2025, 2, 12, tzinfo=UTC)


def populate(
    engine: StoryClusterer,
    templates: list[tuple[Doc, SparseVec, dict[int, str]]],
    n: int,
    rng: np.random.Generator,
) -> None:
    vocab = np.unique(np.concatenate([v.idx for _, v, _ in templates]))
    for i in range(n):
        doc, vec, names = templates[int(rng.integers(len(templates)))]
        keep = rng.random(vec.nnz) >= 0.3
        extra = rng.choice(vocab, 20, replace=False)
        idx = np.concatenate([vec.idx[keep], extra]).astype(np.int32)
        val = np.concatenate([vec.val[keep], rng.random(20).astype(np.float32) * 0.1])
        idx, first = np.unique(idx, return_index=True)
        pert = normalized(SparseVec(idx, val[first].astype(np.float32)))
        seeded = Doc(f"syn{i}", doc.title, "", NOW)
        engine.open_story(seeded, pert, names)
    engine._active_index.rebuild()


def brute_best(
    engine: StoryClusterer, matrix: sparse.csr_matrix, keys: np.ndarray, doc: Doc
) -> int:
    vec, _ = engine.vectorizer.transform(doc.title, doc.text, learn=False)
    dense = engine._dense
    dense[vec.idx] = vec.val
    scores = matrix @ dense
    dense[vec.idx] = 0.0
    best = scores.max()
    return int(keys[np.flatnonzero(scores == best)].min())


def indexed_best(engine: StoryClusterer, doc: Doc) -> int:
    vec, _ = engine.vectorizer.transform(doc.title, doc.text, learn=False)
    dense = engine._dense
    dense[vec.idx] = vec.val
    scored = engine._score_candidates(vec, NOW.timestamp())
    dense[vec.idx] = 0.0
    # compare retrieval on raw cosine (the time factor is not part of brute force)
    return max(scored, key=lambda t: (t[2], -t[0]))[0] if scored else -1


def run(size: int, docs: list[Doc], queries: list[Doc]) -> dict[str, float]:
    rng = np.random.default_rng(size)
    engine = StoryClusterer(ClusterParams())  # the product defaults
    templates = []
    for d in docs:  # document counts from real text, as a running engine would have
        vec, feats = engine.vectorizer.transform(d.title, d.text, learn=True)
        templates.append((d, vec, feats.names))
    t0 = time.perf_counter()
    populate(engine, templates, size, rng)
    fill = time.perf_counter() - t0
    keys = np.asarray(engine.stories, dtype=np.int64)
    matrix = sparse.vstack(
        [
            sparse.csr_matrix(
                (
                    engine.centroid(int(k)).val,
                    engine.centroid(int(k)).idx,
                    [0, engine.centroid(int(k)).nnz],
                ),
                shape=(1, engine.vectorizer.dim),
            )
            for k in keys
        ]
    ).tocsr()
    sample = queries[:: max(1, len(queries) // 200)]
    agree = np.mean(
        [indexed_best(engine, d) == brute_best(engine, matrix, keys, d) for d in sample]
    )

    gc.collect()
    t0 = time.perf_counter()
    for d in queries:
        brute_best(engine, matrix, keys, d)
    brute = time.perf_counter() - t0

    t0 = time.perf_counter()
    for d in queries:
        engine.vectorizer.transform(d.title, d.text, learn=False)
    vect = time.perf_counter() - t0

    stream = [
        Doc(f"q{i}", d.title, d.text, NOW + timedelta(seconds=i)) for i, d in enumerate(queries)
    ]
    gc.collect()
    t0 = time.perf_counter()
    for d in stream:
        engine.add(d)
    online = time.perf_counter() - t0
    n = len(queries)
    index = engine._active_index
    t0 = time.perf_counter()
    index.rebuild()
    rebuild = time.perf_counter() - t0
    # a rebuild runs once per max(min_rebuild, stories/32) changed stories: its amortised cost
    # per article (each article changes at most one story) is added to the online figure
    amortised = rebuild / max(index.min_rebuild, len(index) // 32)
    return {
        "size": size,
        "fill_s": fill,
        "online_per_s": n / (online + n * amortised),
        "online_ms": 1e3 * online / n + 1e3 * amortised,
        "grouping_ms": 1e3 * (online - vect) / n + 1e3 * amortised,
        "rebuild_ms": 1e3 * rebuild,
        "amortised_ms": 1e3 * amortised,
        "vectorize_ms": 1e3 * vect / n,
        "brute_per_s": n / brute,
        "brute_ms": 1e3 * brute / n,
        "agree": float(agree),
        "active": len(engine.stories),
        "rebuilds": engine._active_index.rebuilds,
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duc", type=Path, default=DEFAULT_DUC)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000])
    ap.add_argument("--queries", type=int, default=1240)
    args = ap.parse_args()
    if not args.duc.exists():
        print(f"development data missing: {args.duc}")
        return 1
    docs = docs_from_rows(read_jsonl(args.duc))
    queries = docs[: args.queries]
    results = [run(size, docs, queries) for size in args.sizes]
    print(
        f"{'active':>8} {'fill s':>7} {'online art/s':>12} {'ms/art':>7} {'(vectorise':>10} "
        f"{'+ grouping)':>11} {'brute art/s':>11} {'brute ms':>8} {'agree':>6} "
        f"{'rebuild ms':>10} {'(amortised)':>11}"
    )
    for r in results:
        print(
            f"{r['size']:>8,} {r['fill_s']:>7.1f} {r['online_per_s']:>12,.0f} "
            f"{r['online_ms']:>7.3f} "
            f"{r['vectorize_ms']:>10.3f} {r['grouping_ms']:>11.3f} {r['brute_per_s']:>11,.0f} "
            f"{r['brute_ms']:>8.3f} {r['agree']:>6.2f} {r['rebuild_ms']:>10.1f} "
            f"{r['amortised_ms']:>11.3f}"
        )
    if len(results) >= 2:
        lo, hi = results[0], results[-1]
        print(
            f"per-article cost ratio {hi['size']:,}/{lo['size']:,}: "
            f"online {hi['online_ms'] / lo['online_ms']:.2f}x "
            f"(grouping only {hi['grouping_ms'] / lo['grouping_ms']:.2f}x), "
            f"brute force {hi['brute_ms'] / lo['brute_ms']:.2f}x"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
