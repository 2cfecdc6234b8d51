"""How many chat messages a busy digest takes on each platform, and what they hold.

Ingests a JSONL archive (default: the DUC 2006 development topics) into a database (a
temporary one, or ``--db FILE``, kept and reused when it already holds articles), composes
the default digest (``[digest] max_stories``) for a fresh channel, renders it for Discord and
Slack and prints, per platform, the messages with their embeds or blocks and characters, and
the sources listed against the stories' articles.
Run: python scripts/digest_messages.py [FILE] [--db FILE] [--max-stories N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.digest.compose import compose_digest  # noqa: E402
from bot.digest.layout import story_layout  # noqa: E402
from bot.digest.model import Digest  # noqa: E402
from bot.platforms.discord_render import render_discord  # noqa: E402
from bot.platforms.slack_render import render_slack  # noqa: E402
from bot.services import open_services  # noqa: E402
from bot.settings import Settings  # noqa: E402

SHARED = Path(os.environ.get("NEWSBOT_SHARED", str(REPO.parent / "shared")))
DEFAULT = SHARED / "data" / "dev" / "duc2006-topics.jsonl"
NOW = datetime(2030, 1, 1, tzinfo=UTC)


def _embed_chars(embed: dict[str, Any]) -> int:
    size = len(embed.get("title", "")) + len(embed.get("description", ""))
    size += len(embed.get("footer", {}).get("text", ""))
    return size + sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields", []))


def _block_chars(block: dict[str, Any]) -> int:
    objs = [block.get("text"), *block.get("elements", [])]
    return sum(len(o["text"]) for o in objs if isinstance(o, dict) and "text" in o)


def report(digest: Digest) -> list[str]:
    lines = [f"stories: {len(digest.stories)} shown, {digest.more_stories} more"]
    layouts = [story_layout(s) for s in digest.stories]
    listed = sum(len(x.sources) for x in layouts)
    total = sum(x.sources_total for x in layouts)
    lines.append(f"sources listed (newest first): {listed} of {total} articles")
    discord = render_discord(digest)
    shape = ", ".join(
        f"{len(m['embeds'])} embeds / {sum(map(_embed_chars, m['embeds']))} chars" for m in discord
    )
    lines.append(f"discord: {len(discord)} messages ({shape})")
    slack = render_slack(digest)
    shape = ", ".join(
        f"{len(m['blocks'])} blocks / {sum(map(_block_chars, m['blocks']))} chars" for m in slack
    )
    lines.append(f"slack: {len(slack)} messages ({shape})")
    return lines


async def main(path: Path, db: Path | None, max_stories: int | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        where = db or Path(tmp) / "m.db"
        settings = Settings.model_validate(
            {"database": {"path": str(where)}, "seeds": {"folders": []}}
        )
        sv = await open_services(settings)
        try:
            if not await sv.store.fetchone("SELECT 1 FROM articles LIMIT 1"):
                await sv.ingestor.ingest(str(path))
            digest_settings = settings.digest
            if max_stories:
                digest_settings = digest_settings.model_copy(update={"max_stories": max_stories})
            composed = await compose_digest(
                sv.store, digest_settings, key="messages:c", channel="c", now=NOW
            )
        finally:
            await sv.close()
    print("\n".join(report(composed.digest)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--db", type=Path, help="database to keep (reused when not empty)")
    parser.add_argument("--max-stories", type=int, help="instead of [digest] max_stories")
    args = parser.parse_args()
    asyncio.run(main(args.file, args.db, args.max_stories))
