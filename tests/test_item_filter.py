"""Per-feed item filters: the topic language evaluated on one item's title and text."""

from __future__ import annotations

from collections import Counter

import pytest

from bot.errors import UserError
from bot.models import RawArticle
from bot.sources.feeds import parse_feed
from bot.sources.filters import ItemFilter
from bot.text.fingerprint import words
from bot.text.html import html_to_text
from tests.conftest import FEEDS


def real_items() -> list[RawArticle]:
    """Items of every shipped feed file that parses (real feeds from two parsers' corpora)."""
    items: list[RawArticle] = []
    for path in sorted(FEEDS.rglob("*")):
        if path.suffix not in (".xml", ".atom", ".rss", ".json") or not path.is_file():
            continue
        try:
            found, _ = parse_feed(path.read_bytes(), origin=str(path), max_items=500)
        except Exception:
            continue
        items += [a for a in found if a.text or a.title]
    return items


@pytest.fixture(scope="module")
def items() -> list[RawArticle]:
    found = real_items()
    if len(found) < 20:
        pytest.skip("fewer than 20 items in the shipped feed files")
    return found[:: max(1, len(found) // 250)]  # ~250 items spread over every feed


_WORDS: dict[str, set[str]] = {}


def item_words(item: RawArticle) -> set[str]:
    if item.origin not in _WORDS:
        text = html_to_text(item.text) if item.is_html else item.text
        _WORDS[item.origin] = set(words(f"{item.title} {text}"))
    return _WORDS[item.origin]


def common_words(items: list[RawArticle], n: int) -> list[str]:
    """Words found in some but not all items (so a filter on them splits the feed)."""
    counts = Counter(w for item in items for w in item_words(item) if w.isalpha() and len(w) > 4)
    return [w for w, c in counts.most_common() if c < len(items)][:n]


def test_a_word_matches_every_item_that_contains_it_and_not_its_negation(
    items: list[RawArticle],
) -> None:
    for word in common_words(items, 5):
        has = ItemFilter.parse(word)
        hasnt = ItemFilter.parse(f"NOT {word}")
        for item in items:
            matched = has.matches_item(item)
            if word in item_words(item):
                assert matched, (word, item.origin)
            assert hasnt.matches_item(item) is not matched, (word, item.origin)


def test_boolean_filters_combine_their_terms_and_free_text_needs_half_of_them(
    items: list[RawArticle],
) -> None:
    a, b, c, d = common_words(items, 4)
    single = {w: [ItemFilter.parse(w).matches_item(i) for i in items] for w in (a, b, c, d)}
    both = [ItemFilter.parse(f"{a} AND {b}").matches_item(i) for i in items]
    either = [ItemFilter.parse(f"{a} OR ({b} NOT {c})").matches_item(i) for i in items]
    free = [ItemFilter.parse(f"{a} {b} {c} {d}").matches_item(i) for i in items]
    for n in range(len(items)):
        assert both[n] == (single[a][n] and single[b][n])
        assert either[n] == (single[a][n] or (single[b][n] and not single[c][n]))
        assert free[n] == (sum(single[w][n] for w in (a, b, c, d)) >= 2)
    assert any(both) and not all(both)


def test_words_are_stemmed_and_folded_as_search_does_and_phrases_keep_their_order() -> None:
    item = RawArticle(
        title="Élections: the runoff",
        text="<p>Voters in the <b>peace talks</b> region elected a new council.</p>",
        origin="x#1",
        is_html=True,
    )
    assert ItemFilter.parse("election").matches_item(item)
    assert ItemFilter.parse("elections AND council").matches_item(item)
    assert ItemFilter.parse('"peace talks"').matches_item(item)
    assert not ItemFilter.parse('"talks peace"').matches_item(item)
    assert not ItemFilter.parse("b AND p").matches_item(item)  # markup is not text


@pytest.mark.parametrize("text", ["ukraine AND", "(", "a" * 501, '"" OR'])
def test_a_malformed_filter_is_one_line_naming_the_filter(text: str) -> None:
    with pytest.raises(UserError) as caught:
        ItemFilter.parse(text)
    message = str(caught.value)
    assert message.startswith("filter") and "\n" not in message
