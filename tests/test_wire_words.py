"""Words a wire desk or a byline adds: slugs never become titles, outlets come from the text.

Checked on real text: every DUC newswire title and every item title of the real feed files
(none may read as a slug), DUC articles saved as text files without metadata (the agency
their dateline or credit names), and the slug and credit shapes wire copy carries.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import feedparser
import pytest

from bot.ingestion.normalize import normalize
from bot.models import RawArticle
from bot.settings import Settings
from bot.sources import SourceContext
from bot.sources.textfile import read_text_file
from bot.text.article_text import credit_outlet, is_wire_slug, parse_text_article
from tests.conftest import DUC, FEEDS, need


@cache
def _duc() -> list[dict[str, str]]:
    with need(DUC).open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


# ------------------------------------------------------------------------------------ slugs

# The shapes of slug lines wire services send (desk prefix, state code, version, word count).
SLUGS = [
    "BC-NJ--Budget-Vote",
    "BC-Budget-Vote,0345",
    "BC-STORM-RECOVERY",
    "AM-Mideast-Peace, 1st Ld-Writethru",
    "a0123 AM-Mideast-Peace 04-12 0543",
    "NBA-LABOR-2",
    "GUADALAJARA-ARCHITECTURE, 10-28",
    "ONLINE-AUCTIONS-2-COX, 10-20",
    "ENTERTAINMENT-ARTS",
]


@pytest.mark.parametrize("slug", SLUGS)
def test_wire_slug_lines_are_recognised(slug: str) -> None:
    assert is_wire_slug(slug)


@pytest.mark.parametrize(
    "title",
    [
        "NATIVE-AMERICANS HOPE FOR A NEW WORLD OF ENLIGHTENMENT",
        "COVID-19 cases rise again",
        "Jean-Pierre Raffarin resigns",
        "U.S.-China talks resume",
        "Self-Driving",
        "IN WAKE OF CRASH, CONCORDE PILOTS PONDER A SAFETY PARADOX",
    ],
)
def test_headlines_with_hyphens_are_not_slugs(title: str) -> None:
    assert not is_wire_slug(title)


def test_no_real_newswire_or_feed_title_reads_as_a_slug() -> None:
    titles = [row["title"] for row in _duc()]
    for path in sorted(FEEDS.rglob("*")):
        if path.is_file() and path.suffix in (".xml", ".rss", ".atom"):
            titles.extend(e.get("title", "") for e in feedparser.parse(path.read_bytes()).entries)
    assert len(titles) > 1500
    assert [t for t in titles if t and is_wire_slug(t)] == []


def test_a_slug_line_above_a_real_article_is_not_its_headline() -> None:
    rows = [r for r in _duc() if len(r["title"].split()) >= 3][:300]
    kept = 0
    for i, row in enumerate(rows):
        slug = SLUGS[i % len(SLUGS)]
        parsed = parse_text_article(f"{slug}\n{row['title']}\n\n{row['text']}")
        assert not is_wire_slug(parsed.title), slug
        assert slug not in parsed.body.split("\n")
        kept += parsed.title == row["title"]
    assert kept / len(rows) >= 0.98
    # Without a headline line, the slug is still no title.
    parsed = parse_text_article(f"{SLUGS[0]}\n\n{rows[0]['text']}")
    assert parsed.title and not is_wire_slug(parsed.title)


def test_an_item_whose_title_is_a_slug_is_titled_from_its_text() -> None:
    row = _duc()[0]
    raw = RawArticle(title="BC-NJ--Budget-Vote", text=row["text"], origin="wire.jsonl")
    article = normalize(
        raw, locator="wire.jsonl", settings=Settings(), now=datetime(2025, 1, 1, tzinfo=UTC)
    )
    assert article is not None
    assert not is_wire_slug(article.title)
    assert article.title == article.text.split("\n", 1)[0][:120]


# ---------------------------------------------------------------------------------- outlets


@pytest.mark.parametrize(
    ("line", "outlet"),
    [
        ("By Jane Doe, Reuters", "Reuters"),
        ("By Jane Doe and John Roe, The Guardian", "The Guardian"),
        ("By JOHN DOE, Associated Press Science Writer", "Associated Press"),
        ("By KATE BEEM Knight Ridder Newspapers", "Knight Ridder Newspapers"),
        ("By Jane Doe | The Riverside Ledger", "The Riverside Ledger"),
        ("By Jane Doe, AFP", "AFP"),
        ("By Jane Doe, Staff Writer", None),
        ("By Jane Doe, Washington", None),
        ("By Jane Doe, M.D.", None),
    ],
)
def test_a_byline_naming_its_outlet_gives_the_outlet(line: str, outlet: str | None) -> None:
    lead = (
        "The city council approved a new budget on Tuesday after a long debate about school "
        "funding and road repairs that divided its members for weeks."
    )
    assert parse_text_article(f"Council Approves New Budget\n\n{line}\n\n{lead}").byline_outlet == (
        outlet
    )


@pytest.mark.parametrize(
    ("last", "outlet"),
    [
        ("— Reuters", "Reuters"),
        ("-- The New York Times Syndicate.", "The New York Times Syndicate"),
        ("(Distributed by New York Times Special Features)", "New York Times Special Features"),
        ("For Use By Clients of the New York Times News Service", "New York Times News Service"),
        ("Copyright 1999 Slate", "Slate"),
        ("© 2025 The Riverside Ledger. All rights reserved.", "The Riverside Ledger"),
        ("— Abraham Lincoln", None),
        ("--Stock more vehicles with built-in child seats.", None),
    ],
)
def test_a_closing_credit_names_the_outlet(last: str, outlet: str | None) -> None:
    assert credit_outlet(["The talks resumed on Monday.", last]) == outlet


def test_real_newswire_saved_without_metadata_gets_its_agency_from_the_text() -> None:
    """DUC articles as plain text (headline, body): AP and Xinhua datelines give the agency;
    nothing gets another agency's name."""
    found: Counter[tuple[str, str | None]] = Counter()
    for row in _duc():
        outlet = parse_text_article(f"{row['title']}\n\n{row['text']}").byline_outlet
        found[(row["source"].split()[0], outlet)] += 1
    for agency, name in (("Associated", "AP"), ("Xinhua", "Xinhua")):
        total = sum(n for (src, _), n in found.items() if src == agency)
        right = found[(agency, name)]
        assert right / total >= 0.9, (agency, right, total)
        wrong = {o for (src, o), n in found.items() if src == agency and o not in (name, None)}
        assert wrong == set(), (agency, wrong)
    nyt = {o for (src, o), n in found.items() if src == "New" and o}
    assert "New York Times News Service" in nyt  # its "For use by clients of ..." credit
    assert not nyt & {"AP", "Xinhua"}


async def test_a_file_without_metadata_or_outlet_in_its_text_shows_its_file_name(
    tmp_path: Path,
) -> None:
    row = next(r for r in _duc() if r["source"].startswith("New York") and "--" in r["text"][:80])
    plain = tmp_path / "000_b00dc54cc08a93fa.txt"
    text = re.sub(r"\n.*(?:Clients|clients|Distributed|Syndicate).*", "", row["text"])
    plain.write_text(f"{row['title']}\n\n{text}", "utf-8")
    credited = tmp_path / "001_caa2310dbaa7e10b.txt"
    credited.write_text(f"{row['title']}\n\n{text}\n\n— Reuters", "utf-8")
    outlets = {}
    for path in (plain, credited):
        items = [i async for i in read_text_file(str(path), SourceContext(Settings()))]
        assert len(items) == 1 and isinstance(items[0], RawArticle)
        outlets[path.name] = items[0].outlet
    assert outlets == {plain.name: "000_b00dc54cc08a93fa.txt", credited.name: "Reuters"}
