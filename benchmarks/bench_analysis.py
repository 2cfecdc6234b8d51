"""Measure the digest analysis functions on the development data.

Prints: time to compose summaries for 50 stories; the injected-conflict precision/recall
on a larger sample of real articles (and conflicts on unchanged copies), by the analysis
functions and end to end through ingest and digests (edited syndicated copies); conflicts found
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


def bench_product_path(per_kind: int, seed: int = 5) -> None:
    """Injected conflicts end to end: real articles ingested, a digest committed, then an
    edited copy of each (one fact changed, another outlet, 3 hours later) and, for every other
    article, an unchanged re-report; the next digest's conflicts are scored (the per-story
    cap lifted: what a story does not show is listed by ``/news conflicts``, not missed)."""
    rng = random.Random(seed)
    rows = [json.loads(line) for line in DUC.open(encoding="utf-8")]
    rng.shuffle(rows)
    originals: list[dict[str, object]] = []
    copies: list[dict[str, object]] = []
    changed: dict[str, tuple[str, str]] = {}  # copy id -> (kind, the edited statement)
    made: Counter[str] = Counter()
    for row in rows:
        kind = KINDS[len(originals) % len(KINDS)]
        if made[kind] >= per_kind:
            if all(made[k] >= per_kind for k in KINDS):
                break
            continue
        when = datetime.fromisoformat(row["published"]).replace(tzinfo=UTC)
        statements = article_statements(ArticleText(0, row["title"], row["text"], "x", when))
        options = [(s, m) for s in statements if (m := inject(s, kind, rng)) and m.text != s.text]
        if not options:
            continue
        st, edited = rng.choice(options)
        base = {k: v for k, v in row.items() if k != "label"}
        later = (when + timedelta(hours=3)).isoformat()
        originals.append(base)
        copy_id = f"{row['id']}-edited"
        text = row["text"].replace(st.text, edited.text, 1)
        copies.append(dict(base, id=copy_id, source="Copy Wire", text=text, published=later))
        changed[copy_id] = (kind, edited.text)
        made[kind] += 1
        if len(originals) % 2:
            copies.append(dict(base, id=f"{row['id']}-same", source="Same Wire", published=later))

    async def run(tmp: Path) -> tuple[list[tuple[str, str]], float]:
        from bot.digest.local import local_digest
        from bot.services import open_services
        from bot.settings import Settings

        for name, items in (("a", originals), ("b", copies)):
            (tmp / f"{name}.jsonl").write_text(
                "".join(json.dumps(r) + "\n" for r in items), encoding="utf-8"
            )
        settings = Settings.model_validate(
            {"database": {"path": str(tmp / "p.db")}, "seeds": {"folders": []},
             "digest": {"max_stories": 10_000, "max_conflicts": 10_000}}
        )  # fmt: skip
        sv = await open_services(settings)
        try:
            await sv.ingestor.ingest(str(tmp / "a.jsonl"))
            now = datetime(2030, 1, 1, tzinfo=UTC)
            await local_digest(sv, channel="bench", now=now, commit=True)
            await sv.ingestor.ingest(str(tmp / "b.jsonl"))
            t0 = time.perf_counter()
            digest = await local_digest(sv, channel="bench", now=now + timedelta(days=1))
            took = time.perf_counter() - t0
        finally:
            await sv.close()
        quoted = [
            (s.article_id, s.text)
            for st in digest.stories for c in st.conflicts for s in c.statements[1:]
        ]  # fmt: skip
        return quoted, took

    import asyncio
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        quoted, took = asyncio.run(run(Path(tmp)))
    hits = {aid for aid, text in quoted if aid in changed and text == changed[aid][1]}
    tp = sum(1 for aid, text in quoted if aid in changed and text == changed[aid][1])
    fp = len(quoted) - tp
    same = sum(1 for aid, _ in quoted if aid.endswith("-same"))
    print(f"product path (ingest, digest, edited copies, digest): {len(changed)} edited copies, "
          f"precision {tp / max(tp + fp, 1):.3f}, recall {len(hits) / max(len(changed), 1):.3f}; "
          f"conflicts from unchanged re-reports: {same}; digest {took:.2f} s")  # fmt: skip
    for kind in KINDS:
        ids = [k for k, (kd, _) in changed.items() if kd == kind]
        print(f"  {kind:9s} recall {sum(1 for k in ids if k in hits) / max(len(ids), 1):.3f} "
              f"({len(ids)})")  # fmt: skip


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
    bench_product_path(args.per_kind // 2)
    bench_real_pairs(topics)


if __name__ == "__main__":
    main()
