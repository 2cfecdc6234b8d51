"""Wire boilerplate never becomes a statement; real sentences of other feeds stay intact."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.analysis.boilerplate import clean_sentence, is_boilerplate
from bot.analysis.sentences import _split_line, is_heading, split_sentences, strip_dateline
from bot.sources.feeds import parse_feed
from bot.text.html import html_to_text
from tests.conftest import FEEDS


def _feed_texts(path: Path) -> list[str]:
    articles, _ = parse_feed(path.read_bytes(), origin=str(path), max_items=10_000)
    return [html_to_text(a.text) if a.is_html else a.text for a in articles]


@pytest.mark.parametrize(
    "line",
    [
        "(Jane Roe/New York Times Photo)",
        "(Jane Q. Roe/Boston Globe Photo) *LITE",
        "(Edward Doe/New York Times Illustration) LITE",
        "(AP Photo/John Smith)",
        "Photo by John Smith",
        "(END OPTIONAL TRIM)",
        "(Optional add end)",
        "(MORE)",
        "The Daily Planet said in an editorial for Tuesday, April 6:",
        "The Gazette said in an editorial on Thursday, March 18:",
        "(Cox News Service) ETA: 6 p.m.",
        "ATTENTION EDITORS: The following photos are part of tonight's photo package.",
        "For Use By Clients of the Metro News Service.",
        "If stories will move after 8 p.m., an ETA will be given.",
        "You can reach her at (555) 390-7614 or by e-mail at roe(at)example.com.",
        "(NYT12) SPRINGFIELD -- Oct. 2, 1998 -- STORM-DAMAGE, 10-02 -- A man walks past a tree.",
    ],
)
def test_wire_boilerplate_is_not_a_sentence(line: str) -> None:
    assert is_boilerplate(line)
    assert split_sentences(f"The council met on Monday and voted to close the bridge.\n{line}") == [
        "The council met on Monday and voted to close the bridge."
    ]


def test_an_inline_credit_or_marker_is_cut_and_the_sentence_kept() -> None:
    text = "(BEGIN OPTIONAL TRIM) The mayor said the river rose three feet overnight."
    assert clean_sentence(text) == "The mayor said the river rose three feet overnight."
    caption = "A man walks past the flooded church on Main Street. (Jane Roe/Daily Planet Photo)"
    assert split_sentences(caption) == ["A man walks past the flooded church on Main Street."]


@pytest.mark.parametrize(
    "sentence",
    [
        "The separatist group ETA declared a ceasefire on Sunday, officials in Madrid said.",
        "Please note that the report covers only the first quarter of the year.",
        "Rising carbon dioxide (CO2) will bring new threats to health, the report said.",
        "He is Minister of State for Minority Affairs (I/C) and Parliamentary Affairs.",
        "The ratio of debt/GDP rose to a record, according to figures from the pool of staff.",
        "The fax machine was invented long before the telephone, the historian said.",
    ],
)
def test_news_sentences_that_look_like_boilerplate_are_kept(sentence: str) -> None:
    assert clean_sentence(sentence) == sentence


def test_real_photo_credits_of_a_feed_are_boilerplate() -> None:
    """The Guardian feed's own credit lines ("Photograph: Name/Agency")."""
    raw = (FEEDS / "rss-parser" / "guardian.rss").read_text(encoding="utf-8")
    credits = set(re.findall(r"<media:credit[^>]*>([^<]+)</media:credit>", raw))
    assert len(credits) >= 5
    assert all(is_boilerplate(c) for c in credits), [c for c in credits if not is_boilerplate(c)]


def test_real_feed_sentences_survive() -> None:
    """Every sentence of the shipped real feeds is kept as written, except contact lines
    (a phone number or an address and little else)."""
    kept = 0
    dropped: list[str] = []
    for path in sorted(p for p in FEEDS.rglob("*") if p.is_file() and p.name != "LICENSE"):
        try:
            texts = _feed_texts(path)
        except Exception:  # not every fixture is a feed (that is their point)
            continue
        for text in texts:
            for line in text.splitlines():
                line = " ".join(line.split())
                if not line or is_heading(line):
                    continue
                for piece in _split_line(strip_dateline(line)):
                    cleaned = clean_sentence(piece)
                    if cleaned:
                        assert cleaned == piece
                        kept += 1
                    else:
                        dropped.append(piece)
    assert kept > 5000
    contact = re.compile(r"\d{3}-\d{3,4}\b|@")
    assert all(contact.search(d) for d in dropped), [d for d in dropped if not contact.search(d)]
    assert len(dropped) < kept * 0.01
