"""Topic matching at scale: 1,000 free-text subscriptions against 100,000 stories per cycle.

Fills a temporary database with synthetic stories (``bot.storage.synthetic``: 1-3 articles
each, Zipf-distributed background words plus each story's own topic words in its headlines and
text), then times one digest cycle's matching, ``bot.queries.relevance.topic_matches`` for every
subscription with the default cut-off:

- cold: a cycle right after an article was stored (the term cache is empty; the
  subscriptions of the cycle share what they read from the search index),
- warm: a second cycle with nothing new stored.

Baseline, same run: a brute force that computes the SAME score from the article texts (tokens
counted in memory, BM25 term frequency per article as FTS5 computes it, summed per story,
IDF-weighted mean over the topic's terms) by scanning every article for each subscription,
timed on a sample of subscriptions; their top-10 stories are compared with the product's.
Run: .venv/bin/python benchmarks/bench_topics.py [--stories 100000] [--subs 1000] [--brute 20]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.queries import relevance  # noqa: E402
from bot.queries.language import parse_query  # noqa: E402
from bot.queries.relevance import (  # noqa: E402
    MATCHED_MIN,
    SMOOTHING,
    content_terms,
    idf,
    score_topic,
    topic_matches,
)
from bot.settings import DigestSettings  # noqa: E402
from bot.storage import Store  # noqa: E402
from bot.storage.synthetic import SyntheticArticle, fill_stories  # noqa: E402
from bot.storage.topic_terms import K1, TITLE_WEIGHT  # noqa: E402

VOCAB = 30_000
B = 0.75  # FTS5 bm25()'s length normalisation
CUT = DigestSettings()  # the default cut-off


def word(rank: int) -> str:
    return f"w{rank}x"


def make_stories(n: int, rng: random.Random) -> list[list[SyntheticArticle]]:
    weights = [1.0 / (r + 1) for r in range(VOCAB)]
    cum = list(_accumulate(weights))
    stories = []
    for _ in range(n):
        own = [word(rng.randrange(2000, VOCAB)) for _ in range(3)]  # the story's topic words
        arts = []
        for _ in range(rng.choice((1, 1, 2, 3))):
            body = [word(i) for i in rng.choices(range(VOCAB), cum_weights=cum, k=60)]
            body += rng.choices(own, k=rng.randint(2, 6))
            rng.shuffle(body)
            head = rng.sample(own, 2) + [word(rng.randrange(VOCAB)) for _ in range(4)]
            arts.append(SyntheticArticle(" ".join(head), " ".join(body)))
        stories.append(arts)
    return stories


def _accumulate(xs: list[float]) -> list[float]:
    total, out = 0.0, []
    for x in xs:
        total += x
        out.append(total)
    return out


def make_queries(stories: list[list[SyntheticArticle]], n: int, rng: random.Random) -> list[str]:
    out = []
    for _ in range(n):
        head = rng.choice(stories)[0].title.split()
        out.append(" ".join([*head[:2], word(rng.randrange(200, 5000))]))
    return out


class BruteForce:
    """The relevance score from raw text, every article scanned per query."""

    def __init__(self, stories: list[list[SyntheticArticle]], first_story: int) -> None:
        self.docs: list[tuple[int, Counter[str], Counter[str], int]] = []
        self.sizes: Counter[int] = Counter()
        for k, arts in enumerate(stories):
            sid = first_story + k
            for a in arts:
                title, text = a.title.split(), a.text.split()
                self.docs.append((sid, Counter(title), Counter(text), len(title) + len(text)))
                self.sizes[sid] += 1
        self.avgdl = sum(d[3] for d in self.docs) / len(self.docs)

    def top(self, query: str, k: int = 10) -> list[tuple[int, float]]:
        terms = [t.words[0] for t in content_terms(parse_query(query))]
        n = len(self.docs)
        per_term: list[tuple[float, dict[int, float]]] = []
        for t in terms:
            hits = [(sid, tc[t], xc[t], dl) for sid, tc, xc, dl in self.docs if t in tc or t in xc]
            fts_idf = math.log((n - len(hits) + 0.5) / (len(hits) + 0.5)) if n > len(hits) else 0
            fts_idf = fts_idf if fts_idf > 0 else 1e-6
            sums: dict[int, float] = {}
            for sid, tf_title, tf_text, dl in hits:
                f = TITLE_WEIGHT * tf_title + tf_text
                tf_part = f * (K1 + 1) / (f + K1 * (1 - B + B * dl / self.avgdl))
                w = min(1.0, (fts_idf * tf_part) / (fts_idf * (K1 + 1)))
                sums[sid] = sums.get(sid, 0.0) + w
            central = [v / (self.sizes[sid] + SMOOTHING) for sid, v in sums.items()]
            if central and max(central) >= MATCHED_MIN:  # a term central to no story: dropped
                per_term.append((idf(n, len(hits)), sums))
        total = sum(w for w, _ in per_term) or 1.0
        scores: dict[int, float] = {}
        for w, sums in per_term:
            for sid, s in sums.items():
                scores[sid] = scores.get(sid, 0.0) + w / total * s / (self.sizes[sid] + SMOOTHING)
        return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:k]


async def cycle(store: Store, queries: list[str]) -> tuple[float, list[float], int]:
    per: list[float] = []
    kept = 0
    t0 = time.perf_counter()
    for q in queries:
        t1 = time.perf_counter()
        kept += len(
            await topic_matches(
                store, q, threshold=CUT.topic_threshold, relative=CUT.topic_relative
            )
        )
        per.append(time.perf_counter() - t1)
    return time.perf_counter() - t0, per, kept


async def main(args: argparse.Namespace) -> None:
    rng = random.Random(7)
    t0 = time.perf_counter()
    stories = make_stories(args.stories, rng)
    queries = make_queries(stories, args.subs, rng)
    with tempfile.TemporaryDirectory() as tmp:
        store = await Store.open(Path(tmp) / "bench.db")
        try:
            first = int(await store.scalar("SELECT coalesce(max(id), 0) FROM stories")) + 1
            n_articles = await fill_stories(store, stories)
            print(
                f"{args.stories:,} stories, {n_articles:,} articles stored in "
                f"{time.perf_counter() - t0:.0f} s; {args.subs:,} subscriptions"
            )
            relevance._CACHES.pop(store, None)
            cold, cold_per, kept = await cycle(store, queries)
            warm, warm_per, _ = await cycle(store, queries)
            ms = 1000.0
            for name, total, per in (("cold", cold, cold_per), ("warm", warm, warm_per)):
                print(
                    f"product {name}: {total:.2f} s per cycle, {total / len(queries) * ms:.2f} ms "
                    f"per subscription (p50 {statistics.median(per) * ms:.2f}, max "
                    f"{max(per) * ms:.1f} ms); {kept / len(queries):.1f} stories kept per topic"
                )
            brute = BruteForce(stories, first)
            sample = queries[: args.brute]
            agree: list[float] = []
            t1 = time.perf_counter()
            tops = [brute.top(q) for q in sample]
            brute_per = (time.perf_counter() - t1) / len(sample)
            for q, top in zip(sample, tops, strict=True):
                mine = await score_topic(store, q, limit=10)
                agree.append(len({s for s, _ in top} & {m.story_id for m in mine}) / 10)
            print(
                f"brute force (same score, every article scanned; {len(sample)} subscriptions): "
                f"{brute_per * ms:.0f} ms per subscription, {brute_per * len(queries):.0f} s per "
                f"cycle (extrapolated)"
            )
            print(
                f"ratio brute/product: {brute_per / (cold / len(queries)):.0f}x cold, "
                f"{brute_per / (warm / len(queries)):.0f}x warm; top-10 agreement "
                f"{statistics.mean(agree) * 10:.1f}/10 (min {min(agree) * 10:.0f}/10)"
            )
        finally:
            await store.close()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--stories", type=int, default=100_000)
    ap.add_argument("--subs", type=int, default=1000)
    ap.add_argument("--brute", type=int, default=20, help="subscriptions timed by brute force")
    asyncio.run(main(ap.parse_args()))
