"""Extractive multi-source summaries of real stories."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from functools import cache

import pytest

from bot.analysis import ArticleText
from bot.analysis.analyzed import known_of_texts
from bot.analysis.sentences import is_self_contained
from bot.analysis.summarize import summarize
from tests.conftest import DUC, SEEDS, need


def seed_articles() -> list[ArticleText]:
    need(SEEDS)
    out = []
    for i, path in enumerate(sorted(SEEDS.glob("*.txt"))):
        title, _, body = path.read_text("utf-8").partition("\n")
        out.append(ArticleText(i, title, body, path.stem[:3], datetime(2025, 2, 13, i, tzinfo=UTC)))
    return out


@cache
def duc_topics(limit: int = 5) -> list[list[ArticleText]]:
    need(DUC)
    topics: dict[str, list[ArticleText]] = defaultdict(list)
    with DUC.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh):
            d = json.loads(line)
            published = datetime.fromisoformat(d["published"]).replace(tzinfo=UTC)
            topics[d["label"]].append(ArticleText(n, d["title"], d["text"], d["source"], published))
    return [topics[k] for k in sorted(topics)[:limit]]


def test_seed_summary_is_short_clean_attributed_and_multi_source() -> None:
    articles = seed_articles()
    summary = summarize(articles, n=3)
    assert len(summary) == 3
    assert all(is_self_contained(s.text) for s in summary)
    assert len({s.outlet for s in summary}) >= 2
    outlets = {a.outlet for a in articles}
    assert all(s.outlet in outlets for s in summary)


def test_summary_leads_with_what_happened() -> None:
    summary = summarize(seed_articles(), n=3)
    assert summary[0].position <= 1


def test_summary_has_no_near_duplicates() -> None:
    summary = summarize(seed_articles(), n=4)
    texts = [s.text for s in summary]
    assert len(set(texts)) == len(texts)
    words = [set(t.lower().split()) for t in texts]
    for i in range(len(words)):
        for j in range(i + 1, len(words)):
            assert len(words[i] & words[j]) / len(words[i] | words[j]) < 0.6


def test_summary_is_deterministic() -> None:
    articles = seed_articles()
    assert summarize(articles) == summarize(list(reversed(articles)))


@pytest.mark.parametrize("index", range(3))
def test_duc_topic_summaries_are_clean_and_cover_outlets(index: int) -> None:
    articles = duc_topics()[index]
    summary = summarize(articles, n=3)
    assert 2 <= len(summary) <= 3
    assert all(is_self_contained(s.text) for s in summary)
    assert all("--" not in s.text[:40] for s in summary)  # datelines stripped


def test_empty_input_gives_empty_summary() -> None:
    assert summarize([]) == []


def test_a_summary_never_repeats_what_the_channel_was_given_in_other_words() -> None:
    for topic in duc_topics(3):
        first = summarize(topic, n=3)
        # the channel got these sentences already (another story), reworded a little
        told = [s.text.replace(" said ", " stated ").replace(" the ", " a ") for s in first]
        again = summarize(topic, n=3, known=known_of_texts(told))
        assert again, "other sentences remain to tell the story"
        assert not {s.text for s in again} & {s.text for s in first}
    assert summarize(seed_articles(), n=3, known=known_of_texts([])) == summarize(
        seed_articles(), n=3
    )


@pytest.mark.parametrize("words", [40, 100])
def test_a_summary_stays_within_its_word_budget(words: int) -> None:
    for topic in duc_topics(3):
        summary = summarize(topic, n=4, words=words)
        assert summary
        assert sum(len(s.text.split()) for s in summary) <= words


def test_greedy_and_exact_selection_both_give_clean_budgeted_summaries() -> None:
    topic = duc_topics(1)[0]
    for solver in ("greedy", "exact"):
        summary = summarize(topic, n=4, words=100, solver=solver)
        assert 2 <= len(summary) <= 4
        assert all(is_self_contained(s.text) for s in summary)
        assert sum(len(s.text.split()) for s in summary) <= 100
