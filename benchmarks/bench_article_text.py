"""How much real newswire text the furniture remover keeps (plain articles should lose ~nothing).

Run: .venv/bin/python benchmarks/bench_article_text.py [clean|parse] [-v]
Counts sentence-like segments (4+ words ending in . ! ?) of every DUC 2006 article and how many
survive `clean_body_lines` (or the full `parse_text_article` with the headline prepended).
"""

from __future__ import annotations

import collections
import json
import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.text.article_text import (  # noqa: E402
    clean_body_lines,
    normalize_text,
    parse_text_article,
)

DUC = REPO.parent / "shared" / "data" / "dev" / "duc2006-topics.jsonl"
SPLIT = re.compile(r"(?<=[.!?])[\"”’')]*\s+(?=[\"“‘(]?[A-Z0-9])")
TERMINAL = re.compile(r"[.!?][\"”’')]*$")


def main() -> None:
    mode = sys.argv[1] if len(sys.argv) > 1 and not sys.argv[1].startswith("-") else "clean"
    rows = [json.loads(line) for line in DUC.open()]
    total = kept = 0
    lost: collections.Counter[str] = collections.Counter()
    t0 = time.perf_counter()
    for row in rows:
        text = normalize_text(row["text"])
        if mode == "parse":
            body = parse_text_article(row["title"] + "\n\n" + row["text"]).body
        else:
            body = "\n".join(clean_body_lines(text.split("\n"), row["title"]))
        for para in text.split("\n"):
            for segment in (s.strip() for s in SPLIT.split(para)):
                if len(segment.split()) < 4 or not TERMINAL.search(segment):
                    continue
                total += 1
                if segment in body:
                    kept += 1
                else:
                    lost[segment[:150]] += 1
    elapsed = time.perf_counter() - t0
    print(
        f"mode={mode} articles={len(rows)} sentences kept {kept}/{total} = {kept / total:.4%} "
        f"({elapsed:.1f}s, {len(rows) / elapsed:.0f} articles/s)"
    )
    if "-v" in sys.argv:
        for segment, n in lost.most_common(30):
            print(f"{n:4d}  {segment}")


if __name__ == "__main__":
    main()
