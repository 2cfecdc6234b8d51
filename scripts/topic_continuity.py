"""How often later coverage of a topic joins a story the channel already knows.

    python scripts/topic_continuity.py [LABELLED.jsonl]

Each gold topic (``label``) is split by date into an earlier and a later half; all earlier
halves stream through the product's grouper, then all later halves. Printed: the share of
later articles that join a story holding earlier articles of their own topic (their digest
content then appears as "what's new" of a known story, not as a new story's summary), and
how many topics have at least one such article.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.stories.cluster import ClusterParams, StoryClusterer
from bot.stories.evaluate import docs_from_rows, read_jsonl

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "dev" / "duc2006-topics.jsonl"


def main(path: Path) -> int:
    rows = read_jsonl(path)
    by_topic: dict[str, list[dict[str, object]]] = defaultdict(list)
    for row in rows:
        by_topic[str(row["label"])].append(row)
    earlier: list[dict[str, object]] = []
    later: list[dict[str, object]] = []
    for items in by_topic.values():
        items.sort(key=lambda r: str(r["published"]))
        half = len(items) // 2
        earlier += items[:half]
        later += items[half:]
    engine = StoryClusterer(ClusterParams())
    story: dict[str, int] = {}
    for part in (earlier, later):
        part.sort(key=lambda r: str(r["published"]))
        for doc in docs_from_rows(part):
            story[doc.key] = engine.add(doc).story_key
    final = {key: engine.resolve(s) for key, s in story.items()}
    known: dict[str, set[int]] = defaultdict(set)
    for row in earlier:
        known[str(row["label"])].add(final[str(row["id"])])
    joined = [row for row in later if final[str(row["id"])] in known[str(row["label"])]]
    topics = {str(row["label"]) for row in joined}
    print(
        f"later articles joining a known story of their topic: {len(joined)}/{len(later)} "
        f"({len(joined) / max(len(later), 1):.2f}); topics with such articles: "
        f"{len(topics)}/{len(by_topic)}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT))
