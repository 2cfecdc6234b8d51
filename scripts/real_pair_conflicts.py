"""List the conflicts the detector finds between real articles of one topic, for judging.

Wider than a digest's window: every pair of articles of one gold topic of a JSONL archive
published at most ``--days`` apart is compared (statements split as at ingest), so that the
detector's precision on real wire copy can be judged on more than the few conflicts a
product-path run yields. Writes one JSON object per conflict (deduplicated by statement pair):
``{"topic", "kind", "slot", "fact", "values", "statements": [{"text", "outlet", "published"}]}``.

    .venv/bin/python scripts/real_pair_conflicts.py ../shared/data/dev/duc2006-topics.jsonl \
        --out /tmp/pairs.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.analysis import ArticleText, article_statements  # noqa: E402
from bot.analysis.conflicts import find_conflicts  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("archive", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--days", type=float, default=2.0)
    args = ap.parse_args()
    topics: dict[str, list[ArticleText]] = defaultdict(list)
    for n, line in enumerate(args.archive.read_text(encoding="utf-8").splitlines()):
        row = json.loads(line)
        when = datetime.fromisoformat(row["published"]).replace(tzinfo=UTC)
        topics[str(row.get("label", ""))].append(
            ArticleText(n, row["title"], row["text"], row["source"], when)
        )
    out: list[dict[str, object]] = []
    seen: set[tuple[str, str]] = set()
    pairs = 0
    for label, arts in topics.items():
        arts.sort(key=lambda a: (a.published, a.id))
        statements = {a.id: article_statements(a) for a in arts}
        for i, a in enumerate(arts):
            for b in arts[i + 1 :]:
                if b.published - a.published > timedelta(days=args.days):
                    break
                pairs += 1
                for c in find_conflicts(statements[a.id], statements[b.id]):
                    key = (c.statements[0].text, c.statements[1].text)
                    if key in seen:
                        continue
                    seen.add(key)
                    out.append({
                        "topic": label, "kind": c.kind, "slot": c.slot, "fact": c.fact,
                        "values": list(c.values),
                        "statements": [{"text": s.text, "outlet": s.outlet,
                                        "published": s.published.isoformat()}
                                       for s in c.statements],
                    })  # fmt: skip
    args.out.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in out))
    print(f"article pairs (same topic, <= {args.days:g} days apart): {pairs}; "
          f"conflicts: {len(out)}; written to {args.out}")  # fmt: skip


if __name__ == "__main__":
    main()
