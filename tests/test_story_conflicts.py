"""One function finds a story's conflicts for digests and `/news conflicts`; a story shows a few."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.digest.codec import encode_digest
from bot.digest.conflicts import story_conflicts
from bot.digest.local import local_digest
from bot.digest.render import render_digest
from bot.platforms.discord_render import escape as discord_escape
from bot.platforms.discord_render import story_embed
from bot.platforms.slack_render import escape as slack_escape
from bot.platforms.slack_render import story_blocks
from bot.services import Services, open_services
from bot.settings import Settings
from handlers import dispatch, parse_text
from handlers.base import CommandRequest
from tests.conftest import SEEDS

FACTS = [
    ("The flood barrier on the Maas was closed at 4 p.m. on Tuesday, the water board said.",
     "The flood barrier on the Maas was closed at 7 p.m. on Tuesday, the water board said."),
    ("Engineers said the river rose by 3 metres in the town of Venlo during the night.",
     "Engineers said the river rose by 5 metres in the town of Venlo during the night."),
    ("About 1,200 residents of the low-lying districts were moved to schools and halls.",
     "About 4,800 residents of the low-lying districts were moved to schools and halls."),
    ("The mayor of Venlo, Anna de Vries, ordered the ferry service stopped for three days.",
     "The mayor of Venlo, Anna de Vries, ordered the ferry service stopped for six days."),
    ("The regional government has promised 40 million euros to repair the dykes next year.",
     "The regional government has promised 90 million euros to repair the dykes next year."),
]  # fmt: skip
FILLER = (
    "Volunteers filled sandbags along the quay while the rain kept falling over the province. "
    "Shops in the old centre stayed shut and trains between the two cities were replaced by buses."
)


def _article(i: str, source: str, when: str, facts: list[str]) -> dict[str, str]:
    return {"id": i, "title": "Maas flood barrier closed as river rises in Venlo",
            "text": " ".join(facts) + " " + FILLER, "source": source, "published": when,
            "url": f"https://example.org/{i}"}  # fmt: skip


@pytest.fixture
async def sv(tmp_path: Path) -> AsyncIterator[Services]:
    rows = [
        _article("a1", "River Post", "2024-03-05T18:00:00+00:00", [a for a, _ in FACTS]),
        _article("a2", "Delta Wire", "2024-03-05T21:00:00+00:00", [b for _, b in FACTS]),
    ]
    archive = tmp_path / "flood.jsonl"
    archive.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    settings = Settings.model_validate(
        {"database": {"path": str(tmp_path / "n.db")}, "seeds": {"folders": []}}
    )
    services = await open_services(settings)
    await services.ingestor.ingest(str(archive), kind="archive")
    yield services
    await services.close()


async def _story(sv: Services) -> tuple[int, str]:
    rows = await sv.store.fetchall("SELECT id, public_id FROM stories WHERE merged_into IS NULL")
    assert len(rows) == 1
    return int(rows[0][0]), str(rows[0][1])


async def test_digest_and_command_list_the_same_conflicts_and_a_story_shows_three(
    sv: Services,
) -> None:
    sid, public = await _story(sv)
    found = await story_conflicts(sv.store, sid)
    assert len(found.conflicts) == len(FACTS)
    digest = await local_digest(sv, channel="c", now=datetime(2024, 3, 6, tzinfo=UTC))
    [story] = digest.stories
    assert len(story.conflicts) == 3 and story.more_conflicts == len(FACTS) - 3
    [encoded] = encode_digest(digest)["stories"]
    assert encoded["more_conflicts"] == len(FACTS) - 3
    shown = {tuple(s.text for s in c.statements) for c in story.conflicts}
    assert shown <= {tuple(s.text for s in c.statements) for c in found.conflicts}
    command, args = parse_text(f"conflicts {public}")
    request = CommandRequest(
        platform="slack", workspace="T1", channel="C1", user="U1", is_admin=False,
        command=command, args=args,
    )  # fmt: skip
    reply = await dispatch(request, sv)
    assert sum(1 for line in reply.lines if line.startswith("⚠")) == len(FACTS)
    note = f"+{len(FACTS) - 3} more conflicts — /news conflicts {public}"
    assert note in render_digest(digest)
    assert discord_escape(note) in story_embed(story, digest.generated_at)["description"]
    slack = [
        b["text"]["text"]
        for b in story_blocks(story, digest.generated_at)
        if isinstance(b.get("text"), dict)
    ]
    assert any(slack_escape(note) in text for text in slack)


async def test_an_edited_copy_is_compared_by_the_command_too(sv: Services) -> None:
    """An edited syndicated copy (one fact changed) shows in `/news conflicts`, not only in
    digests: both read the story through :func:`story_conflicts`."""
    sid, _ = await _story(sv)
    original = (await sv.store.story_articles(sid))[0]
    edited = original.text.replace("closed at 4 p.m.", "closed at 11 p.m.")
    archive = Path(str(sv.settings.database.path)).with_name("copy.jsonl")
    row = {"id": "c1", "title": original.title, "text": edited, "source": "Copy Desk",
           "published": "2024-03-05T19:00:00+00:00", "url": "https://example.org/c1"}  # fmt: skip
    archive.write_text(json.dumps(row) + "\n", encoding="utf-8")
    await sv.ingestor.ingest(str(archive), kind="archive")
    copies = await sv.store.story_articles(sid, copies=True)
    if not any(c.ext_id == "c1" for c in copies):
        pytest.skip("the copy was not stored as a near-duplicate of its original")
    found = await story_conflicts(sv.store, sid)
    assert any(
        c.statements[1].outlet == "Copy Desk" and "11 p.m." in c.statements[1].text
        for c in found.conflicts
    )


async def test_the_seed_conflicts_are_shown_and_compatible_durations_are_not(
    tmp_path: Path,
) -> None:
    settings = Settings.model_validate(
        {"database": {"path": str(tmp_path / "s.db")}, "seeds": {"folders": [str(SEEDS)]}}
    )
    services = await open_services(settings)
    try:
        await services.sync_seeds()
        digest = await local_digest(services, channel="c", now=datetime(2030, 1, 1, tzinfo=UTC))
    finally:
        await services.close()
    facts = [c.fact for story in digest.stories for c in story.conflicts]
    texts = [
        " | ".join(s.text for s in c.statements) for st in digest.stories for c in st.conflicts
    ]
    assert any(f.startswith("day") for f in facts)
    assert any("tens of thousands" in t and "millions" in t for t in texts)
    assert not any(f.startswith("duration") for f in facts)
