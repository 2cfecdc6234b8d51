"""Write each platform's rendered digest of the seed corpus to ``docs/examples/``.

The seed files (``seeds/``) are ingested into a temporary database at a fixed time, a fresh
channel's digest is composed at that time, and it is written as each platform receives it:
``discord.json`` (the message payloads: content and embeds), ``slack.json`` (the Block Kit
messages: text and blocks) and ``text.txt`` (the console). ``tests/test_render_examples.py``
fails when these files are not what the renderers write today.

Run: python scripts/render_examples.py [--check]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.digest.compose import compose_digest  # noqa: E402
from bot.digest.model import Digest  # noqa: E402
from bot.digest.render import render_digest  # noqa: E402
from bot.platforms.discord_render import render_discord  # noqa: E402
from bot.platforms.slack_render import render_slack  # noqa: E402
from bot.services import open_services  # noqa: E402
from bot.settings import Settings  # noqa: E402

EXAMPLES = REPO / "docs" / "examples"
SEEDS = REPO / "seeds"
NOW = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)  # when the seeds are read and the digest composed
COMMAND = "python scripts/render_examples.py"


async def seed_digest(seeds: Path = SEEDS, now: datetime = NOW) -> Digest:
    """A fresh channel's digest of the seed corpus, ingested and composed at ``now``."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.model_validate(
            {
                "database": {"path": str(Path(tmp) / "examples.db")},
                "seeds": {"folders": [str(seeds)]},
            }
        )
        sv = await open_services(settings)
        try:
            sv.ingestor.clock = lambda: now  # "first seen" times are the same on every run
            await sv.sync_seeds()
            composed = await compose_digest(
                sv.store, settings.digest, key="examples", channel="examples", now=now
            )
        finally:
            await sv.close()
    return composed.digest


def _json(payloads: list[dict[str, Any]]) -> str:
    return json.dumps(payloads, indent=2, ensure_ascii=False) + "\n"


def render_examples(digest: Digest) -> dict[str, str]:
    """File name -> content, for every platform."""
    return {
        "discord.json": _json(render_discord(digest)),
        "slack.json": _json(render_slack(digest)),
        "text.txt": render_digest(digest) + "\n",
    }


def stale(files: dict[str, str], folder: Path = EXAMPLES) -> list[str]:
    """The names whose file in ``folder`` is missing or differs from ``files``."""
    return [
        name
        for name, text in files.items()
        if not (folder / name).exists() or (folder / name).read_text(encoding="utf-8") != text
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="only say which files are stale")
    args = parser.parse_args()
    files = render_examples(asyncio.run(seed_digest()))
    if args.check:
        names = stale(files)
        for name in names:
            print(f"docs/examples/{name} is out of date: run {COMMAND}", file=sys.stderr)
        return 1 if names else 0
    EXAMPLES.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (EXAMPLES / name).write_text(text, encoding="utf-8")
        print(f"wrote docs/examples/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
