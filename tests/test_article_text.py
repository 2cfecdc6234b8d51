"""The plain-text article reader: headline, furniture-free body, dateline, desk byline.

The furniture rules are checked three ways: on the seed files, on real newswire articles
(DUC) wrapped in page furniture written here (every sentence must survive, all furniture
must go), and on plain DUC articles, which the cleaner must leave (almost) untouched.
"""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.text.article_text import (
    clean_body_lines,
    furniture_reason,
    is_prose,
    normalize_text,
    parse_text_article,
)
from tests.conftest import DUC, SEEDS, need

# --------------------------------------------------------------------------- helpers

_SENTENCE_SPLIT_RE = re.compile(r"(?<=[.!?])[\"”’')]*\s+(?=[\"“‘(]?[A-Z0-9])")
_SENTENCE_END_RE = re.compile(r"[.!?][\"”’')]*$")


def _sentences(text: str) -> list[str]:
    """Sentences of at least four words that end like a sentence (what must never be lost)."""
    out = []
    for paragraph in normalize_text(text).split("\n"):
        for piece in _SENTENCE_SPLIT_RE.split(paragraph):
            piece = piece.strip()
            if len(piece.split()) >= 4 and _SENTENCE_END_RE.search(piece):
                out.append(piece)
    return out


@cache
def _duc_rows() -> list[dict[str, str]]:
    with need(DUC).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def _duc_sample(size: int, seed: int) -> list[dict[str, str]]:
    rows = _duc_rows()
    return random.Random(seed).sample(rows, min(size, len(rows)))


def _seed(prefix: str) -> str:
    paths = sorted(need(SEEDS).glob(f"{prefix}_*.txt"))
    if not paths:
        pytest.skip(f"seed {prefix} missing")
    return paths[0].read_text("utf-8")


# --------------------------------------------------------------------------- normalize_text


def test_normalize_text_composes_unicode_and_keeps_typographic_quotes() -> None:
    text = "Cafe\u0301\u00a0talks\u200b \u201cended\u201d \u2019tis\u2026\r\n\r\n\r\nNext\tline "
    assert normalize_text(text) == "Café talks “ended” ’tis…\n\nNext line"


def test_normalize_text_strips_control_characters_and_odd_line_breaks() -> None:
    assert normalize_text("a\x00b\u2028c\x0bd\ufeff") == "ab\nc d"


# --------------------------------------------------------------------------- seeds

SEED_TITLES = {
    "000": "Trump Engages in Dialogue with Putin on Ending Ukraine War",
    "001": "Trump and Putin Discuss Ukraine Conflict: Push for Peace or Political Theater?",
    "002": "Trump and Putin Pledge to Initiate Talks on Ukraine Peace",
    "003": "Putin and Trump Hold Talks to Discuss Ending Ukraine War",
    "004": "Trump, Putin hold ‘highly productive’ talks as US pushes for end to Russia-Ukraine war",
}

# Furniture lines seen in the seed pages; none may survive in a body.
SEED_FURNITURE = [
    "||",
    "Connecting Communities, One Page at a Time.",
    "Spread the love",
    "Liam Avatar",
    "By",
    "Add a comment",
    "Related Sources:",
    "• Source 1 • Source 2",
    "Also Read",
    "Latest News",
    "Loading ...",
    "EPN Desk 13 February 2025 06:14",
    "US President",
    "US President Donald Trump and Russian President Vladimir Putin",
    "A Renewed Dialogue",
    "Challenges ahead in Ukraine peace talks",
]


@pytest.mark.parametrize("prefix", sorted(SEED_TITLES))
def test_seed_title_is_its_real_headline(prefix: str) -> None:
    assert parse_text_article(_seed(prefix)).title == SEED_TITLES[prefix]


@pytest.mark.parametrize("prefix", sorted(SEED_TITLES))
def test_no_furniture_line_survives_in_a_seed_body(prefix: str) -> None:
    body_lines = parse_text_article(_seed(prefix)).body.split("\n")
    assert not set(SEED_FURNITURE) & set(body_lines)
    assert all(is_prose(line) and furniture_reason(line) is None for line in body_lines)
    assert SEED_TITLES[prefix] not in body_lines


@pytest.mark.parametrize("prefix", sorted(SEED_TITLES))
def test_every_long_seed_paragraph_survives_unless_it_is_a_teaser_copy(prefix: str) -> None:
    text = _seed(prefix)
    body = parse_text_article(text).body
    lines = [ln for ln in normalize_text(text).split("\n") if len(ln.split()) >= 16]
    lost = [ln for ln in lines if ln not in body]
    # Only the lead copies (a teaser cut with "…", a lightly edited standfirst) may go.
    assert len(lost) <= 1
    assert all(ln.endswith("…") or ln.startswith("The US President emphasized") for ln in lost)


def test_seed_quote_lines_are_content() -> None:
    body_lines = parse_text_article(_seed("002")).body.split("\n")
    quotes = [ln for ln in body_lines if ln.startswith("“")]
    assert "“I think we’re on the way to getting peace” – Trump" in quotes
    assert "“Interesting question. I think they have to make peace” – Trump" in quotes
    assert len(quotes) == 7


def test_seed_002_teaser_is_gone_and_the_full_paragraph_stays_once() -> None:
    body_lines = parse_text_article(_seed("002")).body.split("\n")
    assert not [ln for ln in body_lines if ln.endswith("initiate…")]
    full = [ln for ln in body_lines if ln.startswith("In a significant diplomatic development")]
    assert len(full) == 1
    assert "initiate negotiations, with Trump stating" in full[0]


def test_seed_004_dateline_and_desk_byline_are_read() -> None:
    parsed = parse_text_article(_seed("004"))
    assert parsed.dateline == datetime(2025, 2, 13, 6, 14, tzinfo=UTC)
    assert parsed.byline_outlet == "EPN"


@pytest.mark.parametrize("prefix", ["000", "001", "002", "003"])
def test_seeds_without_a_byline_have_no_dateline_or_outlet(prefix: str) -> None:
    parsed = parse_text_article(_seed(prefix))
    assert parsed.dateline is None
    assert parsed.byline_outlet is None


def test_cleaning_a_parsed_seed_body_again_changes_nothing() -> None:
    for path in sorted(need(SEEDS).glob("*.txt")):
        parsed = parse_text_article(path.read_text("utf-8"))
        lines = parsed.body.split("\n")
        assert clean_body_lines(lines, parsed.title) == lines, path.name


# --------------------------------------------------------------------------- DUC + furniture

# Furniture written for these tests (general page shapes, none taken from the seeds).
SITE_HEADER = ["☰", "Home | World | Politics | Business | Sport", "The Riverside Ledger"]
SITE_SLOGAN = "Independent reporting for a connected region."
BYLINE_BLOCK = [
    "By Maria Okafor and Tom Brennan",
    "Published: March 3, 2021 at 4:15 p.m. ET",
    "Share on Facebook",
    "Share via Email",
    "4 min read",
]
PHOTO_LINES = [
    "Workers leave the plant at the end of the shift (Photo: Dana Whitfield)",
    "Residents outside the city hall",
]
MID_BODY = [
    "Advertisement",
    "Also Read: Lawmakers approve funding bill after marathon session",
    "Related Stories",
    "Storm damage estimates climb as insurers count the cost",
    "Ten things to watch in the budget debate…",
    "Scroll to continue reading",
]
FOOTER = [
    "Tags: politics, economy, world",
    "Leave a comment",
    "Comments (12)",
    "Subscribe to our newsletter for the latest headlines every morning.",
    "We use cookies to improve your experience on our site.",
    "Click here to read more stories like this.",
    "Back to top",
    "© 2021 The Riverside Ledger. All rights reserved.",
    "Loading...",
]
ALL_FURNITURE = [*SITE_HEADER, SITE_SLOGAN, *BYLINE_BLOCK, *PHOTO_LINES, *MID_BODY, *FOOTER]
WRAPPED_DATELINE = datetime(2021, 3, 3, 21, 15, tzinfo=UTC)


def _headline_like(title: str) -> bool:
    words = title.split()
    return 3 <= len(words) <= 25 and title[:1].isupper() and not title.endswith((".", ":"))


def _teaser(paragraphs: list[str]) -> str | None:
    """A truncated copy of the first long paragraph, cut mid-word and ended with "…"."""
    for paragraph in paragraphs:
        words = paragraph.split()
        if len(words) >= 20:
            cut = " ".join(words[: len(words) * 2 // 3])
            return cut[:-2] + "…"
    return None


def _wrap(title: str, text: str) -> str:
    paragraphs = [p for p in normalize_text(text).split("\n") if p]
    middle = len(paragraphs) // 2
    teaser = _teaser(paragraphs)
    lines = [*SITE_HEADER, SITE_SLOGAN, title, *([teaser] if teaser else [])]
    lines += [*BYLINE_BLOCK, PHOTO_LINES[0], title, PHOTO_LINES[1]]
    lines += paragraphs[:middle] + MID_BODY + paragraphs[middle:] + FOOTER
    return "\n\n".join(lines)


def _wrapped_sample() -> list[dict[str, str]]:
    return [r for r in _duc_sample(120, seed=7) if _headline_like(r["title"])][:100]


def test_wrapped_duc_articles_lose_their_furniture_and_keep_their_text() -> None:
    rows = _wrapped_sample()
    assert len(rows) >= 80
    total = kept = 0
    for row in rows:
        parsed = parse_text_article(_wrap(row["title"], row["text"]))
        body_lines = set(parsed.body.split("\n"))
        assert parsed.title == row["title"]
        assert not body_lines & set(ALL_FURNITURE), row["title"]
        assert not [ln for ln in body_lines if ln.endswith("…") and ln not in row["text"]]
        sentences = _sentences(row["text"])
        total += len(sentences)
        kept += sum(s in parsed.body for s in sentences)
    assert kept / total >= 0.995


def test_furniture_around_a_duc_article_changes_nothing_the_cleaner_keeps() -> None:
    for row in _wrapped_sample()[:40]:
        plain = clean_body_lines(row["text"].split("\n"), row["title"])
        wrapped = parse_text_article(_wrap(row["title"], row["text"]))
        assert wrapped.body.split("\n") == plain, row["title"]


def test_byline_block_written_here_gives_the_dateline_in_utc() -> None:
    row = _wrapped_sample()[0]
    assert parse_text_article(_wrap(row["title"], row["text"])).dateline == WRAPPED_DATELINE


def test_plain_duc_articles_keep_almost_every_sentence() -> None:
    total = kept = 0
    for row in _duc_sample(100, seed=11):
        body = "\n".join(clean_body_lines(row["text"].split("\n"), row["title"]))
        sentences = _sentences(row["text"])
        total += len(sentences)
        kept += sum(s in body for s in sentences)
    assert total > 1000
    assert kept / total >= 0.995


def test_wire_dateline_agency_is_the_byline_outlet() -> None:
    rows = [r for r in _duc_sample(200, seed=3) if re.match(r"^[A-Z .,]+\(AP\) --", r["text"])]
    assert rows
    for row in rows[:20]:
        assert parse_text_article(row["title"] + "\n\n" + row["text"]).byline_outlet == "AP"


# --------------------------------------------------------------------------- headline rules


def test_headline_skips_separators_slogans_and_site_names() -> None:
    text = (
        "|| ~ ||\n\nMetro Herald\n\nYour window on the valley, every day.\n\n"
        "Council Approves New Budget for Schools\n\n"
        "The city council approved the budget on Tuesday after a long debate."
    )
    parsed = parse_text_article(text)
    assert parsed.title == "Council Approves New Budget for Schools"
    assert parsed.body == "The city council approved the budget on Tuesday after a long debate."


def test_headline_may_end_in_an_abbreviation_or_a_question_mark() -> None:
    assert parse_text_article("Talks Resume in the U.S.\n\nBody text here.").title == (
        "Talks Resume in the U.S."
    )
    assert parse_text_article("Is the Ceasefire Holding?\n\nBody text here.").title == (
        "Is the Ceasefire Holding?"
    )


def test_text_without_any_headline_shape_takes_its_first_content_line() -> None:
    text = "The vote was close.\n\nIt passed by two votes."
    parsed = parse_text_article(text)
    assert parsed.title == "The vote was close."
    assert parsed.body == "It passed by two votes."


def test_empty_or_furniture_only_text_has_no_title() -> None:
    assert parse_text_article("").title == ""
    assert parse_text_article("||\n\n---\n\n* * *").title == ""


# --------------------------------------------------------------------------- body rules

LEAD = (
    "Regional authorities said on Monday that the new rail line would open in the spring, "
    "two years later than planned, after engineers found faults in three tunnels."
)
SECOND = "The delay will cost an estimated 40 million euros, officials said."


def test_truncated_teaser_is_dropped_and_the_full_paragraph_kept_once() -> None:
    teaser = LEAD[:90].rstrip() + "…"
    assert clean_body_lines([teaser, "Share", LEAD, SECOND], "Rail Line Delayed") == [
        LEAD,
        SECOND,
    ]


def test_lightly_edited_standfirst_is_dropped_as_a_copy_of_the_lead() -> None:
    standfirst = LEAD.replace("said on Monday", "said")
    assert clean_body_lines([standfirst, LEAD, SECOND], "") == [LEAD, SECOND]


def test_paragraphs_sharing_only_part_of_their_wording_are_both_kept() -> None:
    other = LEAD.replace("the new rail line would open in the spring", "fares would rise")
    assert clean_body_lines([other, LEAD], "") == [other, LEAD]


def test_exact_repeated_paragraph_is_kept_once() -> None:
    assert clean_body_lines([LEAD, SECOND, LEAD], "") == [LEAD, SECOND]


def test_parallel_questions_with_a_shared_opening_are_both_kept() -> None:
    lines = [
        "Q. Can residents still use the old station while the new tunnels are being repaired?",
        "Q. Can residents still use the old station after the new line opens next spring?",
    ]
    assert clean_body_lines(lines, "") == lines


def test_section_headings_and_captions_are_dropped_but_quotes_and_intros_kept() -> None:
    lines = [
        LEAD,
        "What Happens Next",
        "Engineers inspecting the northern tunnel",
        "The minister put it bluntly:",
        "“We will not open a line that is not safe” – Transport Minister",
        SECOND,
    ]
    assert clean_body_lines(lines, "") == [LEAD, lines[3], lines[4], SECOND]


def test_a_text_with_no_prose_keeps_its_phrases_instead_of_nothing() -> None:
    assert clean_body_lines(["Rail line opening delayed to spring"], "Rail News") == [
        "Rail line opening delayed to spring"
    ]


def test_link_block_is_dropped_up_to_the_next_sentence() -> None:
    lines = [
        LEAD,
        "Latest News",
        "Floods close two motorways",
        "Why fares are rising again?",
        "He declined to comment.",
        SECOND,
    ]
    assert clean_body_lines(lines, "") == [LEAD, "He declined to comment.", SECOND]


@pytest.mark.parametrize(
    "line",
    [
        "He declined to comment.",
        "Share prices fell 3 percent on Monday.",
        "Like many other schools, it closed early.",
        "Related to the dispute, two unions called a strike.",
        "By the end of the year, the plant had closed.",
        "On Feb. 12, 2025, the council voted to close the plant.",
        "Readers can subscribe to the service for $5 a month.",
        "Home prices rose in March.",
    ],
)
def test_sentences_that_share_widget_words_are_content(line: str) -> None:
    assert furniture_reason(line) is None
    assert clean_body_lines([line], "") == [line]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("* * *", "no-letters"),
        ("Share this article", "widget"),
        ("12 Comments", "widget"),
        ("Read more…", "widget"),
        ("Loading ...", "widget"),
        ("Sign up for our newsletter to get the news first.", "widget"),
        ("Also read: Floods close two motorways", "widget"),
        ("Home › News › Europe", "navigation"),
        ("Flood barrier on the river Elbe. Photo: Jan Novak", "credit"),
        ("By JANE DOE and RICHARD ROE", "byline"),
        ("Posted by Web Team", "byline"),
        ("Updated 12 February 2025, 18:05 GMT", "date-line"),
        ("Metro Desk | Feb. 12, 2025", "date-line"),
    ],
)
def test_generic_furniture_shapes_are_recognised(line: str, reason: str) -> None:
    assert furniture_reason(line) == reason


# --------------------------------------------------------------------------- datelines and desks


@pytest.mark.parametrize(
    ("byline", "expected"),
    [
        ("Feb. 12, 2025", datetime(2025, 2, 12, tzinfo=UTC)),
        ("13 February 2025 06:14", datetime(2025, 2, 13, 6, 14, tzinfo=UTC)),
        ("Updated: February 12, 2025 at 6:14 p.m. ET", datetime(2025, 2, 12, 23, 14, tzinfo=UTC)),
        ("2025-02-12T06:14:00+02:00", datetime(2025, 2, 12, 4, 14, tzinfo=UTC)),
        ("Published 3rd March 2021 | 09.30 IST", datetime(2021, 3, 3, 4, 0, tzinfo=UTC)),
    ],
)
def test_byline_date_forms_become_utc_datelines(byline: str, expected: datetime) -> None:
    text = f"Council Approves New Budget\n\n{byline}\n\n{LEAD}"
    assert parse_text_article(text).dateline == expected


def test_dates_inside_the_story_are_not_a_dateline() -> None:
    text = (
        "Council Approves New Budget\n\n"
        "On Feb. 12, 2025, the council voted to approve the budget after a long debate."
    )
    assert parse_text_article(text).dateline is None


def test_impossible_dates_are_ignored() -> None:
    text = f"Council Approves Budget\n\n31 February 2025\n\n{LEAD}"
    assert parse_text_article(text).dateline is None


@pytest.mark.parametrize(
    ("byline", "outlet"),
    [
        ("KTN Desk 13 February 2025 06:14", "KTN"),
        ("By Riverside Ledger Staff", "Riverside Ledger"),
        ("Web Desk", None),
        ("By Maria Okafor", None),
    ],
)
def test_desk_bylines_name_the_outlet(byline: str, outlet: str | None) -> None:
    text = f"Council Approves New Budget\n\n{byline}\n\n{LEAD}"
    assert parse_text_article(text).byline_outlet == outlet


def test_crlf_line_endings_are_read(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(f"Council Approves New Budget\r\n\r\n{LEAD}\r\n".encode())
    parsed = parse_text_article(path.read_text("utf-8"))
    assert (parsed.title, parsed.body) == ("Council Approves New Budget", LEAD)


# --------------------------------------------------------------------------- properties

_LINE = st.one_of(
    st.text(max_size=120),
    st.sampled_from([*ALL_FURNITURE, LEAD, SECOND, LEAD[:60] + "…", "", "||"]),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(_LINE, max_size=25))
def test_parsing_never_raises_and_never_invents_body_text(lines: list[str]) -> None:
    text = "\n".join(lines)
    parsed = parse_text_article(text)
    source = {normalize_text(line).replace("\n", " ") for line in text.splitlines()}
    source |= set(normalize_text(text).split("\n"))
    body_lines = parsed.body.split("\n") if parsed.body else []
    assert all(line and line in source for line in body_lines)
    assert parsed.title == "" or parsed.title in source
    assert parsed.dateline is None or parsed.dateline.tzinfo is UTC
