"""What new coverage adds beyond what a channel already knows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.analysis import ArticleText
from bot.analysis.analyzed import known_of_texts
from bot.analysis.novelty import (
    KNOWN_PARAPHRASE,
    NEW_WORDS,
    known_sentences,
    new_facts,
    novel_statements,
)
from bot.analysis.textvec import cosine, tfidf
from tests.test_summarize import duc_topics, seed_articles

T0 = datetime(2025, 2, 13, tzinfo=UTC)

KNOWN = [
    "A magnitude 6.1 earthquake struck the coastal city of Port Elan on Monday, "
    "damaging hundreds of buildings. Rescue teams from the national guard searched the rubble.",
]
NEW = [
    ArticleText(
        1, "Quake toll climbs", "The earthquake that struck Port Elan on Monday damaged hundreds "
        "of buildings in the coastal city. Officials said 42 people died and 310 were injured in "
        "the quake. Rescue teams from the national guard searched the rubble.",
        "Outlet A", T0,
    ),
    ArticleText(
        2, "Port Elan aid", "Officials said 42 people died and 310 were injured in the Port Elan "
        "quake, the health ministry confirmed. The European Union pledged 20 million euros in "
        "emergency aid to rebuild schools in Port Elan.",
        "Outlet B", T0,
    ),
]  # fmt: skip


def test_paraphrases_of_known_text_are_not_novel() -> None:
    chosen = [s.text for s in novel_statements(NEW, KNOWN, max_items=3)]
    assert not any(t.startswith("The earthquake that struck") for t in chosen)
    assert "Rescue teams from the national guard searched the rubble." not in chosen


def test_new_figures_are_reported_once_across_outlets() -> None:
    chosen = novel_statements(NEW, KNOWN, max_items=3)
    toll = [s for s in chosen if "42 people died" in s.text]
    assert len(toll) == 1
    assert any("20 million euros" in s.text for s in chosen)
    assert all(s.outlet in ("Outlet A", "Outlet B") for s in chosen)


def test_new_facts_counts_unseen_numbers_and_names() -> None:
    known_vocab = known_of_texts(["Port Elan, Monday."]).vocab
    assert new_facts("Port Elan was hit on Monday.", known_vocab) == 0
    assert new_facts("The European Union gave 20 million euros.", known_vocab) >= 2


def test_known_accepts_statements_and_whole_texts() -> None:
    assert known_sentences(["One sentence here.", "First one. Second one.", "  "]) == [
        "One sentence here.",
        "First one.",
        "Second one.",
    ]


def test_nothing_known_degrades_to_a_summary_and_no_input_to_nothing() -> None:
    assert len(novel_statements(seed_articles(), [], max_items=3)) == 3
    assert novel_statements([], KNOWN, max_items=3) == []


@pytest.mark.parametrize("index", range(3))
def test_duc_second_half_adds_statements_that_do_not_repeat_the_first(index: int) -> None:
    """Self-check on real text: first half of a topic known, second half new."""
    articles = sorted(duc_topics()[index], key=lambda a: (a.published, a.id))
    half = len(articles) // 2
    known = [f"{a.title}\n{a.text}" for a in articles[:half]]
    new_ids = {a.id for a in articles[half:]}
    chosen = novel_statements(articles[half:], known, max_items=4)
    assert 2 <= len(chosen) <= 4
    assert sum(len(s.text.split()) for s in chosen) <= NEW_WORDS
    assert all(s.article_id in new_ids for s in chosen)
    old = known_sentences(known)
    matrix = tfidf([s.text for s in chosen] + old)
    redundancy = cosine(matrix[: len(chosen)], matrix[len(chosen) :]).max(axis=1)
    assert float(redundancy.max()) < KNOWN_PARAPHRASE


def test_a_focus_on_nothing_the_articles_say_changes_nothing() -> None:
    # (topic concepts weighing more: tests/test_coverage.py)
    plain = novel_statements(NEW, KNOWN, max_items=2)
    assert novel_statements(NEW, KNOWN, max_items=2, focus="volcano") == plain
