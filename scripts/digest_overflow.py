"""What a busy digest shows: of the stories with news, how many carry a conflict, and how many
of those (and of their conflicts) the default digest (``max_stories``) shows.

Ingests a JSONL archive (default: the DUC 2006 development topics) into a temporary database,
composes one digest with no story limit (every story with news, for the counts), then the
default digest for a fresh channel.
Run: .venv/bin/python scripts/digest_overflow.py [FILE] [--max-stories N] [--ranked N]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.digest.compose import compose_digest  # noqa: E402
from bot.services import open_services  # noqa: E402
from bot.settings import Settings  # noqa: E402

DEFAULT = REPO.parent / "shared" / "data" / "dev" / "duc2006-topics.jsonl"
NOW = datetime(2030, 1, 1, tzinfo=UTC)


async def main(path: Path, max_stories: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.model_validate(
            {"database": {"path": str(Path(tmp) / "o.db")}, "seeds": {"folders": []}}
        )
        sv = await open_services(settings)
        try:
            await sv.ingestor.ingest(str(path))
            every = settings.digest.model_copy(update={"max_stories": 100_000})
            everything = await compose_digest(
                sv.store, every, key="overflow:all", channel="all", now=NOW
            )
            stories = everything.digest.stories
            with_conflicts = [s for s in stories if s.conflicts]
            total_conflicts = sum(len(s.conflicts) for s in stories)
            limited = settings.digest.model_copy(update={"max_stories": max_stories})
            shown = (
                await compose_digest(sv.store, limited, key="overflow:c", channel="c", now=NOW)
            ).digest
            shown_with = [s for s in shown.stories if s.conflicts]
            print(
                f"stories with news: {len(stories)}, with a conflict: {len(with_conflicts)} "
                f"({total_conflicts} conflicts)"
            )
            print(
                f"digest of max {max_stories}: {len(shown.stories)} shown, "
                f"{len(shown_with)} with a conflict, "
                f"{sum(len(s.conflicts) for s in shown.stories)} conflicts shown, "
                f"{len(shown.stories) - len(shown_with)} without; "
                f"more_stories: {getattr(shown, 'more_stories', 'n/a (not reported)')}"
            )
        finally:
            await sv.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--max-stories", type=int, default=10)
    parser.add_argument(
        "--ranked", type=int, help="stories with news read and ranked, at least (RANKED_MIN)"
    )
    args = parser.parse_args()
    if args.ranked:
        from bot.digest import compose

        compose.RANKED_MIN = args.ranked
    asyncio.run(main(args.file, args.max_stories))
