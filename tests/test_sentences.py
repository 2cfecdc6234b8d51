"""Sentence splitting and the stand-alone test."""

from __future__ import annotations

import pytest

from bot.analysis.sentences import (
    is_self_contained,
    split_blocks,
    split_sentences,
    strip_dateline,
)
from tests.conftest import SEEDS, need


def test_abbreviations_and_decimals_do_not_end_sentences() -> None:
    text = (
        "Mr. Smith met U.S. officials on Feb. 12 in Washington. The index rose 5.4 percent. "
        "He left at 3 p.m. The talks ended."
    )
    assert split_sentences(text) == [
        "Mr. Smith met U.S. officials on Feb. 12 in Washington.",
        "The index rose 5.4 percent.",
        "He left at 3 p.m.",
        "The talks ended.",
    ]


def test_sentence_ending_in_abbreviation_before_a_new_sentence_splits() -> None:
    assert split_sentences("Troops returned to the U.S. The base closed.") == [
        "Troops returned to the U.S.",
        "The base closed.",
    ]


def test_a_company_suffix_ends_a_sentence_only_before_a_new_one() -> None:
    text = (
        "Vioxx, the pain pill from Merck & Co., was withdrawn after Acme Corp. sued. "
        "Shares of Widget Inc. fell 5 percent. The fund sold its stake in Ajax Ltd. "
        "It bought more."
    )
    assert split_sentences(text) == [
        "Vioxx, the pain pill from Merck & Co., was withdrawn after Acme Corp. sued.",
        "Shares of Widget Inc. fell 5 percent.",
        "The fund sold its stake in Ajax Ltd.",
        "It bought more.",
    ]


def test_quotations_stay_whole_and_quote_endings_split() -> None:
    text = (
        "He called them “very good talks.” The White House said nothing. "
        "“Every day people are dying. This war is so bad,” Trump said. It ended."
    )
    assert split_sentences(text) == [
        "He called them “very good talks.”",
        "The White House said nothing.",
        "“Every day people are dying. This war is so bad,” Trump said.",
        "It ended.",
    ]


def test_headings_are_not_sentences_but_kept_as_blocks() -> None:
    text = "A Renewed Dialogue\nTrump spoke with Putin on Wednesday.\nLatest News"
    assert split_sentences(text) == ["Trump spoke with Putin on Wednesday."]
    blocks = split_blocks(text)
    assert [b.is_heading for b in blocks] == [True, False, True]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("MOSCOW – In a notable development, the talks began today.", "In a notable"),
        (
            "ULAN BATOR, Mongolia, January 13 (Xinhua) -- Mongolia has decided to apply.",
            "Mongolia has",
        ),
        ("WASHINGTON (AP) -- Rising ocean temperatures threaten the salmon.", "Rising ocean"),
        ("Moscow/Washington, D.C. – Russian President Vladimir Putin spoke.", "Russian President"),
    ],
)
def test_datelines_are_stripped(line: str, expected: str) -> None:
    assert strip_dateline(line).startswith(expected)


@pytest.mark.parametrize(
    "sentence",
    [
        "He emphasized the urgent need to stop the violence in the region.",
        "However, the primary focus remained the conflict in Ukraine.",
        "Meanwhile, officials met again to finish their discussion of the plan.",
        "This incursion was justified by Russia as a measure to protect speakers.",
        "Despite these discussions, Trump hinted at potential challenges by stating:",
        "Both leaders expressed a shared commitment to initiate…",
        "Will the two leaders meet in Saudi Arabia later this month?",
        "“I hope it’s fast,” he remarked, expressing concern over the crisis.",
        "“Their sovereignty and territorial integrity are non-negotiable.”",
        "The talks were described as “very good by both sides.",
        "Trump said.",
        "Connecting Communities, One Page at a Time.",
        "More details to follow as the story develops.",
        "According to a report by the New York Post, this marks the first contact.",
    ],
)
def test_sentences_needing_context_are_rejected(sentence: str) -> None:
    assert not is_self_contained(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "Russian President Vladimir Putin and US President Donald Trump spoke on Thursday.",
        "“Any discussions about ending the war must include Ukraine,” said Chancellor Olaf Scholz.",
        "In June, Putin articulated conditions for a cease-fire in Ukraine.",
        "The Kremlin confirmed the details of the call on Thursday.",
    ],
)
def test_self_contained_sentences_pass(sentence: str) -> None:
    assert is_self_contained(sentence)


def test_seed_articles_split_without_furniture_sentences() -> None:
    need(SEEDS)
    for path in sorted(SEEDS.glob("*.txt")):
        sentences = split_sentences(path.read_text("utf-8"))
        assert len(sentences) >= 8
        assert all(s not in ("Liam Avatar", "By", "Also Read", "Latest News") for s in sentences)
