"""Precision of listed conflicts against the hand judgements in ``conflict_judgements.jsonl``.

The judgements name each statement by the SHA-1 of its text (the development data may not be
copied into the repository), with its outlet and time, the verdict (``real`` or ``false``)
and the reason (``fact`` keeps only the kind of fact disputed). This script joins them with
the conflicts that ``list_conflicts.py`` or ``real_pair_conflicts.py`` wrote, prints each
judged pair with its text for review, lists the pairs nobody judged yet, and prints
precision per judged set.

    .venv/bin/python scripts/judge_conflicts.py /tmp/before.jsonl /tmp/after.jsonl
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections import Counter
from pathlib import Path

JUDGEMENTS = Path(__file__).with_name("conflict_judgements.jsonl")


def digest(text: str) -> str:
    return hashlib.sha1(" ".join(text.split()).encode("utf-8")).hexdigest()


def pair_key(statements: list[dict[str, str]]) -> tuple[str, ...]:
    return tuple(s.get("sha1") or digest(s["text"]) for s in statements)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("listed", type=Path, nargs="*", help="conflicts written by the listing scripts")
    ap.add_argument("--quiet", action="store_true", help="counts only")
    args = ap.parse_args()
    judged = [json.loads(line) for line in JUDGEMENTS.read_text(encoding="utf-8").splitlines()]
    by_key = {pair_key(j["statements"]): j for j in judged}
    texts: dict[tuple[str, ...], list[str]] = {}
    unjudged = 0
    for path in args.listed:
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if not all("text" in s and "outlet" in s for s in row["statements"]):
                continue
            key = pair_key(row["statements"])
            texts[key] = [s["text"] for s in row["statements"]]
            if key not in by_key:
                unjudged += 1
                print(f"UNJUDGED {row.get('fact', '')}: " + " || ".join(texts[key]))
    if not args.quiet:
        for key, j in by_key.items():
            shown = " || ".join(texts.get(key, ["(text not in the listed files)"]))
            print(f"[{j['set']}] {j['judgement']}: {shown}\n    reason: {j['reason']}")
    counts = Counter((j["set"], j["judgement"]) for j in judged)
    for name in sorted({j["set"] for j in judged}):
        real, false = counts[(name, "real")], counts[(name, "false")]
        print(f"{name}: {real + false} judged, {real} real, {false} false, "
              f"precision {real / max(real + false, 1):.3f}")  # fmt: skip
    if args.listed:
        print(f"listed conflicts not judged: {unjudged}")


if __name__ == "__main__":
    main()
