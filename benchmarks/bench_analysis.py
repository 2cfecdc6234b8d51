"""Measure the digest analysis functions on the development data.

Prints: time to compose summaries for 50 stories; the injected-conflict precision/recall
on a larger sample of real articles (and conflicts on unchanged copies); conflicts found
between real articles of one topic published within two days; the novelty self-check
(first half of each topic known, second half new).

    .venv/bin/python benchmarks/bench_analysis.py [--per-kind 100]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.analysis import ArticleText, Statement, article_statements  # noqa: E402
from bot.analysis.conflicts import find_conflicts  # noqa: E402
from bot.analysis.inject import KINDS, inject  # noqa: E402
from bot.analysis.novelty import known_sentences, novel_statements  # noqa: E402
from bot.analysis.summarize import candidates, summarize  # noqa: E402
from bot.analysis.textvec import cosine, tfidf  # noqa: E402
from tests.conftest import DUC  # noqa: E402


def load_topics() -> dict[str, list[ArticleText]]:
    topics: dict[str, list[ArticleText]] = defaultdict(list)
    with DUC.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh):
            d = json.loads(line)
            published = datetime.fromisoformat(d["published"]).replace(tzinfo=UTC)
            topics[d["label"]].append(ArticleText(n, d["title"], d["text"], d["source"], published))
    return dict(sorted(topics.items()))


def bench_summaries(topics: dict[str, list[ArticleText]]) -> None:
    stories = []
    for arts in topics.values():  # stories the size the bot sees: up to 8 articles each
        arts = sorted(arts, key=lambda a: (a.published, a.id))
        stories.append(arts[:8])
    stories = stories[:50]
    start = time.perf_counter()
    for story in stories:
        summarize(story, n=3)
    small = time.perf_counter() - start
    start = time.perf_counter()
    for arts in list(topics.values())[:50]:
        summarize(arts, n=3)
    full = time.perf_counter() - start
    print(f"summaries: 50 stories of <=8 articles {small:.3f} s (target < 1 s); "
          f"50 whole topics (~25 articles) {full:.3f} s")  # fmt: skip


def _copy(statement: Statement) -> Statement:
    """The statement as another outlet re-reports it three hours later."""
    later = statement.published + timedelta(hours=3)
    return replace(statement, article_id=-1, outlet="copy", published=later)


def bench_injection(topics: dict[str, list[ArticleText]], per_kind: int, seed: int = 3) -> None:
    rng = random.Random(seed)
    articles = [a for arts in topics.values() for a in arts]
    rng.shuffle(articles)
    tp = fp = 0
    detected: Counter[str] = Counter()
    injected: Counter[str] = Counter()
    unchanged_conflicts = 0
    start = time.perf_counter()
    for kind in KINDS:
        for article in articles:
            if injected[kind] == per_kind:
                break
            original = article_statements(article)
            options = [(i, m) for i, s in enumerate(original) if (m := inject(s, kind, rng))]
            if not options:
                continue
            i, modified = rng.choice(options)
            copy = [_copy(s) for s in original]
            unchanged_conflicts += len(find_conflicts(original, copy))
            copy[i] = _copy(modified)
            found = find_conflicts(original, copy)
            hits = [c for c in found if c.statements[1].text == copy[i].text]
            tp += len(hits)
            fp += len(found) - len(hits)
            detected[kind] += bool(hits)
            injected[kind] += 1
    elapsed = time.perf_counter() - start
    total = sum(injected.values())
    print(f"injected conflicts: {total} articles, precision {tp / max(tp + fp, 1):.3f}, "
          f"recall {sum(detected.values()) / max(total, 1):.3f}; "
          f"conflicts on unchanged copies: {unchanged_conflicts}; {elapsed:.1f} s")  # fmt: skip
    for kind in KINDS:
        print(
            f"  {kind:9s} recall {detected[kind] / max(injected[kind], 1):.3f} ({injected[kind]})"
        )


def bench_real_pairs(topics: dict[str, list[ArticleText]]) -> None:
    pairs = 0
    by_slot: Counter[str] = Counter()
    examples = []
    for arts in topics.values():
        arts = sorted(arts, key=lambda a: (a.published, a.id))
        statements = {a.id: article_statements(a) for a in arts}
        for i, a in enumerate(arts):
            for b in arts[i + 1 :]:
                if b.published - a.published > timedelta(days=2):
                    break
                pairs += 1
                for c in find_conflicts(statements[a.id], statements[b.id]):
                    by_slot[c.slot] += 1
                    examples.append(c)
    found = sum(by_slot.values())
    print(f"real article pairs (same topic, <= 2 days apart): {pairs}, conflicts {found}")
    print(f"  by slot: {dict(by_slot)}")
    for c in examples[:8]:
        print(f"  [{c.kind}/{c.slot}] {c.values[0]!r} vs {c.values[1]!r} ({c.fact})")


def bench_novelty(topics: dict[str, list[ArticleText]]) -> None:
    selected, leads = [], []
    for arts in topics.values():
        arts = sorted(arts, key=lambda a: (a.published, a.id))
        half = len(arts) // 2
        known = [f"{a.title}\n{a.text}" for a in arts[:half]]
        chosen = [s.text for s in novel_statements(arts[half:], known, max_items=4)]
        lead = [c.statement.text for c in candidates(arts[half:]) if c.statement.position == 0][:4]
        old = known_sentences(known)
        matrix = tfidf(chosen + lead + old)
        red = cosine(matrix[: len(chosen) + len(lead)], matrix[len(chosen) + len(lead) :]).max(
            axis=1
        )
        selected.extend(red[: len(chosen)])
        leads.extend(red[len(chosen) :])
    print(f"novelty self-check ({len(topics)} topics, first half known): mean max-cosine to "
          f"known: selected {np.mean(selected):.3f} (max {np.max(selected):.3f}), "
          f"lead sentences of new articles {np.mean(leads):.3f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-kind", type=int, default=100)
    args = parser.parse_args()
    if not DUC.exists():
        sys.exit(f"development data missing: {DUC}")
    topics = load_topics()
    bench_summaries(topics)
    bench_novelty(topics)
    bench_injection(topics, args.per_kind)
    bench_real_pairs(topics)


if __name__ == "__main__":
    main()
