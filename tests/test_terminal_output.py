"""Whatever a database holds, no printing command sends a control character (ESC, BEL, CSI,
NUL, C1, bidi override) to the terminal, and JSON output stays JSON that round-trips it.

Rows are written raw (as a database from before text was cleaned at ingest would hold them),
so this pins the output side on its own."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from bot.cli import app
from bot.models import Article, utcnow
from bot.storage import Store
from bot.storage.txn import WriteTxn
from tests.conftest import SEEDS

runner = CliRunner()
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
HOSTILE = st.lists(
    st.one_of(
        st.characters(codec="utf-8", categories=["Cc", "Cf", "L", "P"]),
        st.sampled_from(["\x1b[2J", "\x1b]0;pwned\x07", "\x9b31m", "\x00", "\u202e", "\r"]),
        st.sampled_from(["[bold red]", "[/]", "[link=https://evil.example]x[/link]"]),
    ),
    min_size=1,
    max_size=12,
).map("".join)
_n = itertools.count()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("term") / "n.db"
    assert runner.invoke(app, ["--db", str(db), "ingest", str(SEEDS)]).exit_code == 0
    return db


async def _plant(db: Path, hostile: str) -> str:
    """A raw article and story text holding ``hostile``; returns the story's public id."""
    store = await Store.open(db)
    try:
        story_id, public_id = await store.fetchone("SELECT id, public_id FROM stories LIMIT 1")
        now = utcnow()
        article = Article(
            ext_id=f"hostile-{next(_n)}-{hostile}", title=f"Quokka {hostile} title",
            text=f"The quokka {hostile} story text.\nSecond line {hostile}.",
            outlet=f"outlet{hostile}", published_at=now, first_seen_at=now,
            content_hash=f"h{next(_n)}", url=f"https://example.org/{hostile}",
        )  # fmt: skip
        async with store.transaction() as conn:
            await WriteTxn(conn).insert_article(article, None)
            await conn.execute(
                "UPDATE articles SET story_id = ? WHERE id = ?", (story_id, article.id)
            )
            await conn.execute(
                "UPDATE stories SET title = ?, terms = ? WHERE id = ?",
                (f"Story {hostile}", json.dumps([hostile, "quokka"]), story_id),
            )
        return str(public_id)
    finally:
        await store.close()


def _commands(story: str, hostile: str) -> list[list[str]]:
    return [
        ["stories", "--all"],
        ["stories", "--all", "--format", "json"],
        ["stories", "--topic", "quokka"],
        ["story", story, "--explain"],
        ["story", story, "--format", "json"],
        ["search", "quokka"],
        ["search", "quokka", "--format", "json"],
        ["export", "articles"],
        ["export", "stories", "--format", "json"],
        ["digest", "--no-sync"],
        ["digest", "--no-sync", "--format", "json"],
        ["ingest", f"missing{hostile}.jsonl"],  # the warning names the file
    ]


@settings(
    max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(hostile=HOSTILE)
def test_every_printing_command_escapes_control_characters(seeded: Path, hostile: str) -> None:
    story = asyncio.run(_plant(seeded, hostile))
    for command in _commands(story, hostile):
        result = runner.invoke(app, ["--db", str(seeded), *command])
        assert result.exit_code in (0, 1), (command, result.output)
        for stream in (result.stdout, result.stderr):
            assert not UNSAFE.search(stream), (command, stream)
        if "json" in command:
            json.loads(result.stdout)  # still JSON, the text inside round-trips


def test_json_output_round_trips_what_it_escapes(seeded: Path) -> None:
    hostile = "\x1b[2J\x9b\u202e"
    story = asyncio.run(_plant(seeded, hostile))
    result = runner.invoke(app, ["--db", str(seeded), "story", story, "--format", "json"])
    assert not UNSAFE.search(result.stdout)
    assert json.loads(result.stdout)["title"] == f"Story {hostile}"


def test_markup_in_data_is_printed_as_text_not_interpreted(tmp_path: Path) -> None:
    db = tmp_path / "[bold red]x[/bold red]\x1b[2J" / "n.db"
    result = runner.invoke(app, ["--db", str(db), "doctor"])
    assert "[bold red]x[/bold red]" in result.stdout
    assert not UNSAFE.search(result.stdout)
