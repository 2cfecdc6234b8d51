"""Write what the product's digests say about each DUC 2006 topic, for ``rouge_dev.py`` to score.

    python scripts/evaluate_summaries.py OUT_DIR [--no-topic] [--update] [--digest K=V ...]
    ../shared/tools/rouge_dev.py OUT_DIR --words 100     # and without --words: 250

The product path, topic by topic, each in a fresh database: the topic's articles are ingested
(JSONL import: stories form, analyses are stored), then a console channel subscribed to the
topic's title (``--no-topic``: to everything) gets its digest, committed as delivered. What the
digest says (each story's summary, then its "what's new", stories in digest order; conflicts
are not summary text) is written one sentence a line to ``OUT_DIR/<topic>.txt``.

``--update`` is the update protocol: the older half of the topic's articles (by date) is
ingested and its digest delivered first; then the newer half is ingested and only the second
digest is written: the "what's new" of known stories and the summaries of new ones, scored
against the same human summaries (a proxy: they summarise the whole topic, so text that repeats
the first half is penalised only by taking room).

``--digest K=V`` overrides a ``[digest]`` setting (e.g. ``--digest summary_words=250``), so
longer runs can be written for the 250-word figure. ``--data`` is the duc2006-summaries folder.
Evaluation only: the DUC data is never copied into the repository.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.digest.local import local_digest  # noqa: E402
from bot.digest.model import Digest  # noqa: E402
from bot.errors import UserError  # noqa: E402
from bot.queries.language import parse_query  # noqa: E402
from bot.services import open_services  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.text.dates import parse_datetime  # noqa: E402

SHARED = Path(os.environ.get("NEWSBOT_SHARED", str(REPO.parent / "shared")))
DATA = SHARED / "data" / "dev" / "duc2006-summaries"
ARTICLES = SHARED / "data" / "dev" / "duc2006-topics.jsonl"


def digest_lines(digest: Digest) -> list[str]:
    """What a digest says, in digest order: per story its summary, then its new statements."""
    return [s.text for story in digest.stories for s in [*story.summary, *story.new]]


def _overrides(pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def subscription_topic(title: str) -> str:
    """The title as a topic the query language accepts: as written when it parses, else its
    words only (a lone "-" or "?" is syntax there)."""
    try:
        parse_query(title)
        return title
    except UserError:
        return " ".join(re.findall(r"[\w'’]+", title))


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


async def topic_digests(
    rows: list[dict[str, Any]],
    *,
    topic: str | None,
    update: bool,
    digest: dict[str, Any],
    tmp: Path,
) -> list[str]:
    """The lines of the scored digest of one topic's articles (see the module docstring)."""
    rows = sorted(rows, key=lambda r: (r.get("published") or "", r["id"]))
    parts = [rows[: len(rows) // 2], rows[len(rows) // 2 :]] if update else [rows]
    settings = Settings.model_validate(
        {"database": {"path": str(tmp / "e.db")}, "seeds": {"folders": []}, "digest": digest}
    )
    sv = await open_services(settings)
    try:
        lines: list[str] = []
        for n, part in enumerate(parts):
            path = tmp / f"part{n}.jsonl"
            _write_jsonl(path, part)
            await sv.ingestor.ingest(str(path))
            newest = max(parse_datetime(r["published"]) or datetime(2000, 1, 1, tzinfo=UTC)
                         for r in part)  # fmt: skip
            result = await local_digest(
                sv, channel="eval", now=newest + timedelta(days=1), topic=topic, commit=True
            )
            lines = digest_lines(result)
        return lines
    finally:
        await sv.close()


async def run(args: argparse.Namespace) -> int:
    topics = json.loads((Path(args.data) / "topics.json").read_text(encoding="utf-8"))
    by_id: dict[str, dict[str, Any]] = {}
    for line in Path(args.articles).read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        by_id[row["id"]] = {k: row[k] for k in ("id", "title", "text", "source",
                                                "published", "url") if k in row}  # fmt: skip
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    wanted = sorted(topics)[: args.limit] if args.limit else sorted(topics)
    t0 = time.perf_counter()
    for tid in wanted:
        spec = topics[tid]
        rows = [by_id[d] for d in spec["docs"] if d in by_id]
        with tempfile.TemporaryDirectory() as tmp:
            lines = await topic_digests(
                rows,
                topic=None if args.no_topic else subscription_topic(spec["title"]),
                update=args.update,
                digest=_overrides(args.digest),
                tmp=Path(tmp),
            )
        (out / f"{tid}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        if args.verbose:
            print(f"{tid}: {len(lines)} sentences, {sum(len(x.split()) for x in lines)} words")
    print(f"{len(wanted)} topics written to {out} in {time.perf_counter() - t0:.0f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("out", help="folder for <topic>.txt files")
    ap.add_argument("--no-topic", action="store_true", help="the channel follows everything")
    ap.add_argument("--update", action="store_true", help="older half first; score the second")
    ap.add_argument("--digest", action="append", default=[], metavar="K=V",
                    help="override a [digest] setting")  # fmt: skip
    ap.add_argument("--data", default=str(DATA), help="the duc2006-summaries folder")
    ap.add_argument("--articles", default=str(ARTICLES), help="the duc2006-topics.jsonl file")
    ap.add_argument("--limit", type=int, default=0, help="only the first N topics")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    if not Path(args.data, "topics.json").exists():
        print(f"{args.data}: no topics.json (the DUC 2006 data is not here)", file=sys.stderr)
        return 2
    return asyncio.run(run(args))


if __name__ == "__main__":
    raise SystemExit(main())
