"""What a per-feed item filter costs, against parsing the same feeds (measured in one run).

    python scripts/filter_cost.py [FOLDER] [--filter QUERY]

Parses every feed file under FOLDER (default: the feed files shipped in ``tests/data/feeds``),
then runs the filter over every item as the poller does (HTML reduced to text, terms matched
by FTS5). Printed: items, seconds for each step, microseconds per item, and filter/parse.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.errors import SourceError
from bot.models import RawArticle
from bot.sources.feeds import parse_feed
from bot.sources.filters import ItemFilter

DEFAULT = Path(__file__).resolve().parents[1] / "tests" / "data" / "feeds"
SUFFIXES = (".xml", ".atom", ".rss", ".rdf", ".json")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--filter", default="ukraine AND (talks OR truce) NOT sport")
    args = parser.parse_args()
    started = time.perf_counter()
    items: list[RawArticle] = []
    for path in sorted(args.folder.rglob("*")):
        if path.suffix.lower() in SUFFIXES and path.is_file():
            try:
                items += parse_feed(path.read_bytes(), origin=str(path), max_items=500)[0]
            except SourceError:
                continue
    parse_s = time.perf_counter() - started
    if not items:
        print(f"{args.folder}: no feed items found", file=sys.stderr)
        return 1
    item_filter = ItemFilter.parse(args.filter)
    started = time.perf_counter()
    kept = sum(item_filter.matches_item(item) for item in items)
    filter_s = time.perf_counter() - started
    print(
        f"{len(items)} items, {kept} kept by {item_filter.text!r}: parse {parse_s:.2f}s, "
        f"filter {filter_s:.2f}s ({filter_s / len(items) * 1e6:.0f} us/item), "
        f"filter/parse {filter_s / parse_s:.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
