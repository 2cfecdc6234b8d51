"""How well topic subscriptions deliver their topic, on the labelled development stream.

    python scripts/evaluate_topics.py [--data DUC.jsonl] [--topics topics.json]
        [--db CACHE.db] [--curve OUT.png|OUT.csv] [--folds 5]

The product path: the stream is ingested through the Ingestor (stories form, analyses are
stored, as in production) into a temporary database (or ``--db``, reused when it exists);
then one channel per topic is subscribed to the topic's title (and, separately, to its
narrative), and each channel's digest is composed by ``compose_digest`` with the story cap
lifted. A digest's articles are the articles it lists plus their syndicated copies; they are
scored against the gold labels: mean precision and recall over topics (a refused or empty
digest counts 0 and 0).

With the relevance module present (``bot.queries.relevance``) it also prints the threshold curve
(precision/recall for each absolute threshold, for the configured relative cut) written to
``--curve`` (PNG with matplotlib, else CSV), and the figures of a k-fold cross-validation over
topics: thresholds chosen on the other folds (best F1 of mean precision and recall) and scored
on the held-out fold, so the settings are not judged on the topics they were tuned on.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# NEWSBOT_REPO=<another checkout> measures that tree's behaviour (e.g. main, for BEFORE figures)
sys.path.insert(0, os.environ.get("NEWSBOT_REPO", str(REPO)))

from bot.digest.compose import compose_digest  # noqa: E402
from bot.errors import UserError  # noqa: E402
from bot.services import Services, open_services  # noqa: E402
from bot.settings import Settings  # noqa: E402

DEV = Path(os.environ.get("NEWSBOT_SHARED", REPO.parent / "shared")) / "data" / "dev"
NOW = datetime(2030, 1, 1, tzinfo=UTC)
NO_CAP = 1000  # the largest max_stories the settings accept; more than the stories of the stream
PerTopic = list[list[tuple[float, set[str]]]]  # per topic: (score, articles) of each story


@dataclass(frozen=True, slots=True)
class Topic:
    key: str
    title: str
    narrative: str


def read_topics(path: Path) -> list[Topic]:
    data = json.loads(path.read_text("utf-8"))
    return [Topic(k, v["title"], v["narrative"]) for k, v in sorted(data.items())]


def read_labels(path: Path) -> dict[str, set[str]]:
    labels: dict[str, set[str]] = {}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            labels[row["id"]] = set(row.get("labels") or []) | {row["label"]}
    return labels


def precision_recall(
    delivered: set[str], topic: str, labels: dict[str, set[str]]
) -> tuple[float, float]:
    relevant = {a for a, ls in labels.items() if topic in ls}
    if not delivered or not relevant:
        return 0.0, 0.0
    hits = len(delivered & relevant)
    return hits / len(delivered), hits / len(relevant)


async def open_db(data: Path, db: Path | None, tmp: str) -> Services:
    path = db or Path(tmp) / "topics.db"
    fresh = not path.exists()
    settings = Settings.model_validate(
        {
            "database": {"path": str(path)},
            "seeds": {"folders": []},
            "digest": {"max_stories": NO_CAP},
        }
    )
    sv = await open_services(settings)
    if fresh:
        t0 = time.perf_counter()
        await sv.ingestor.ingest(str(data))
        print(f"ingested {data.name} in {time.perf_counter() - t0:.1f} s")
    return sv


async def copies_of(sv: Services) -> dict[str, list[str]]:
    """ext id of each original -> ext ids of its stored copies."""
    rows = await sv.store.fetchall(
        "SELECT o.ext_id, c.ext_id FROM articles c JOIN articles o ON o.id = c.duplicate_of"
    )
    out: dict[str, list[str]] = {}
    for orig, copy in rows:
        out.setdefault(str(orig), []).append(str(copy))
    return out


async def digest_articles(
    sv: Services, query: str, n: int, copies: dict[str, list[str]]
) -> set[str] | None:
    """The ext ids a fresh channel subscribed to ``query`` gets (None: the query is refused)."""
    try:
        composed = await compose_digest(
            sv.store,
            sv.settings.digest,
            key=f"eval:{n}",
            channel=f"eval-{n}",
            now=NOW,
            topic=query,
        )
    except UserError as exc:
        print(f"  refused {query[:60]!r}: {exc}")
        return None
    ids = {a.id for s in composed.digest.stories for a in s.articles}
    return ids | {c for a in list(ids) for c in copies.get(a, [])}


def mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


def f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


async def product_figures(
    sv: Services, topics: list[Topic], labels: dict[str, set[str]], field: str
) -> tuple[float, float, int]:
    copies = await copies_of(sv)
    ps: list[float] = []
    rs: list[float] = []
    refused = 0
    for n, t in enumerate(topics):
        got = await digest_articles(sv, getattr(t, field), n, copies)
        if got is None:
            refused += 1
            got = set()
        p, r = precision_recall(got, t.key, labels)
        ps.append(p)
        rs.append(r)
    return mean(ps), mean(rs), refused


# ----------------------------------------------------------------- threshold curve and CV
async def scored_stories(
    sv: Services, topics: list[Topic], field: str, copies: dict[str, list[str]]
) -> list[list[tuple[float, set[str]]]]:
    """For each topic: (score, the story's article ext ids with copies) of every story with a
    score, unfiltered."""
    from bot.queries.relevance import score_topic

    out: list[list[tuple[float, set[str]]]] = []
    members: dict[int, set[str]] = {}
    for sid, ext in await sv.store.fetchall(
        "SELECT story_id, ext_id FROM articles WHERE duplicate_of IS NULL AND story_id IS NOT NULL"
    ):
        members.setdefault(int(sid), set()).update([str(ext), *copies.get(str(ext), [])])
    for t in topics:
        try:
            scores = await score_topic(sv.store, getattr(t, field))
        except UserError:
            out.append([])
            continue
        out.append([(m.score, members.get(m.story_id, set())) for m in scores])
    return out


def cut(scored: list[tuple[float, set[str]]], threshold: float, relative: float) -> set[str]:
    if not scored:
        return set()
    best = max(s for s, _ in scored)
    return {a for s, arts in scored if s >= threshold and s >= relative * best for a in arts}


def figures_at(
    per_topic: PerTopic,
    topics: list[Topic],
    labels: dict[str, set[str]],
    threshold: float,
    relative: float,
    which: list[int],
) -> tuple[float, float]:
    ps, rs = [], []
    for i in which:
        p, r = precision_recall(cut(per_topic[i], threshold, relative), topics[i].key, labels)
        ps.append(p)
        rs.append(r)
    return mean(ps), mean(rs)


THRESHOLDS = [round(0.02 * i, 2) for i in range(0, 31)]
RELATIVES = [0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
TOLERANCE = 0.005  # settings this close to the best F1 are equally good: the highest threshold wins


ABSENT_COST = 0.25  # what a topic's digest of unrelated stories costs, against F1 of its own


def objective(
    per: dict[str, PerTopic], topics: list[Topic], labels: dict[str, set[str]],
    th: float, rel: float, which: list[int],
) -> float:  # fmt: skip
    """Mean over the topic fields (title, narrative) of F1 of mean precision and recall, less
    ``ABSENT_COST`` x the share of topics that get a story when none of theirs is stored."""
    chosen = [topics[i] for i in which]
    return mean(
        [
            f1(*figures_at(p, topics, labels, th, rel, which))
            - ABSENT_COST * false_alarms([p[i] for i in which], chosen, labels, th, rel)
            for p in per.values()
        ]
    )


def best_setting(
    per: dict[str, PerTopic], topics: list[Topic], labels: dict[str, set[str]], which: list[int]
) -> tuple[float, float]:
    """The (threshold, relative) with the best objective on ``which``; among those within
    ``TOLERANCE`` of it, the highest threshold (the safest for a topic nothing is about),
    then the lowest relative cut (the safest for a topic with many stories)."""
    grid = [
        (objective(per, topics, labels, th, rel, which), th, rel)
        for rel in RELATIVES
        for th in THRESHOLDS
    ]
    top = max(g[0] for g in grid)
    good = [g for g in grid if g[0] >= top - TOLERANCE]
    _, th, rel = max(good, key=lambda g: (g[1], -g[2]))
    return th, rel


def false_alarms(
    per_topic: PerTopic, topics: list[Topic], labels: dict[str, set[str]], th: float, rel: float
) -> float:
    """Share of topics that still get a story when their own stories are taken away (stories
    mostly of the topic's articles): what a subscription to news nobody wrote gets."""
    alarms = 0
    for i, scored in enumerate(per_topic):
        key = topics[i].key
        others = [
            (s, arts)
            for s, arts in scored
            if sum(key in labels.get(a, set()) for a in arts) * 2 < len(arts)
        ]
        alarms += bool(cut(others, th, rel))
    return alarms / len(per_topic) if per_topic else 0.0


def cross_validate(
    per: dict[str, PerTopic], topics: list[Topic], labels: dict[str, set[str]], folds: int
) -> tuple[dict[str, tuple[float, float]], list[tuple[float, float]]]:
    """Held-out figures per field: each fold's topics scored with the settings chosen on the
    other folds' topics."""
    order = list(range(len(topics)))
    random.Random(12).shuffle(order)
    got: dict[str, tuple[list[float], list[float]]] = {f: ([], []) for f in per}
    chosen = []
    for k in range(folds):
        test = order[k::folds]
        train = [i for i in order if i not in test]
        th, rel = best_setting(per, topics, labels, train)
        chosen.append((th, rel))
        for f, p in per.items():
            for i in test:
                pi, ri = figures_at(p, topics, labels, th, rel, [i])
                got[f][0].append(pi)
                got[f][1].append(ri)
    return {f: (mean(ps), mean(rs)) for f, (ps, rs) in got.items()}, chosen


def write_curve(path: Path, rows: list[dict[str, Any]], relative: float) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        path = path.with_suffix(".csv")
    if path.suffix == ".csv":
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
        print(f"curve written to {path}")
        return
    fig, ax = plt.subplots(figsize=(7, 4))
    for field, style in (("title", "-"), ("narrative", "--")):
        xs = [r["threshold"] for r in rows]
        ax.plot(xs, [r[f"{field}_precision"] for r in rows], style, label=f"{field} precision")
        ax.plot(xs, [r[f"{field}_recall"] for r in rows], style, label=f"{field} recall")
    ax.set_xlabel(f"digest.topic_threshold (digest.topic_relative = {relative})")
    ax.set_ylabel("mean over topics")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"curve written to {path}")


async def main(args: argparse.Namespace) -> int:
    topics = read_topics(Path(args.topics))
    labels = read_labels(Path(args.data))
    with tempfile.TemporaryDirectory() as tmp:
        sv = await open_db(Path(args.data), Path(args.db) if args.db else None, tmp)
        try:
            for field in () if args.no_product else ("title", "narrative"):
                t0 = time.perf_counter()
                p, r, refused = await product_figures(sv, topics, labels, field)
                print(
                    f"product path, topic = {field:9s}: mean precision {p:.3f} recall {r:.3f} "
                    f"F1 {f1(p, r):.3f} ({refused} refused; {time.perf_counter() - t0:.0f} s)"
                )
            try:
                import bot.queries.relevance  # noqa: F401
            except ImportError:
                print("(no bot.queries.relevance: no threshold curve)")
                return 0
            d = sv.settings.digest
            rel = d.topic_relative
            print(f"settings: topic_threshold {d.topic_threshold} topic_relative {rel}")
            copies = await copies_of(sv)
            per = {f: await scored_stories(sv, topics, f, copies) for f in ("title", "narrative")}
            everyone = list(range(len(topics)))
            rows = []
            for th in THRESHOLDS:
                row: dict[str, Any] = {"threshold": th}
                for f in ("title", "narrative"):
                    p, r = figures_at(per[f], topics, labels, th, rel, everyone)
                    row[f"{f}_precision"], row[f"{f}_recall"] = round(p, 4), round(r, 4)
                    row[f"{f}_absent"] = round(false_alarms(per[f], topics, labels, th, rel), 4)
                rows.append(row)
            print("threshold  title P/R (absent)      narrative P/R (absent)")
            for row in rows[::2]:
                print(
                    f"  {row['threshold']:.2f}     {row['title_precision']:.3f}/"
                    f"{row['title_recall']:.3f} ({row['title_absent']:.2f})    "
                    f"{row['narrative_precision']:.3f}/{row['narrative_recall']:.3f} "
                    f"({row['narrative_absent']:.2f})"
                )
            print("(absent: share of topics still getting a story once their own are removed)")
            if args.curve:
                write_curve(Path(args.curve), rows, rel)
            th, rl = best_setting(per, topics, labels, everyone)
            print(f"best on all topics (titles and narratives): threshold {th} relative {rl}")
            for f in ("title", "narrative"):
                p, r = figures_at(per[f], topics, labels, th, rl, everyone)
                fa = false_alarms(per[f], topics, labels, th, rl)
                fa_now = false_alarms(per[f], topics, labels, d.topic_threshold, rel)
                print(
                    f"  {f}: P {p:.3f} R {r:.3f}; topic absent: {fa:.0%} of topics get a story "
                    f"({fa_now:.0%} with the configured settings)"
                )
            cv, chosen = cross_validate(per, topics, labels, args.folds)
            print(f"{args.folds}-fold CV over topics, settings chosen per fold {chosen}:")
            for f, (cp, cr) in cv.items():
                print(f"  {f}: mean precision {cp:.3f} recall {cr:.3f} F1 {f1(cp, cr):.3f}")
        finally:
            await sv.close()
    return 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data", default=str(DEV / "duc2006-topics.jsonl"))
    ap.add_argument("--topics", default=str(DEV / "duc2006-summaries" / "topics.json"))
    ap.add_argument("--db", help="database to reuse (ingested into when it does not exist)")
    ap.add_argument("--curve", help="write the threshold curve here (.png, or .csv)")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--no-product", action="store_true", help="only the curve and the CV")
    raise SystemExit(asyncio.run(main(ap.parse_args())))
