"""HTML to plain text: block structure kept as lines, non-article elements dropped, safe input."""

from __future__ import annotations

import re

import feedparser
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.text.html import MAX_DEPTH, html_to_text, limit_depth
from tests.conftest import FEEDS, need


def _entry_html(feed: str, index: int) -> str:
    parsed = feedparser.parse(str(need(FEEDS / feed)))
    entry = parsed.entries[index]
    contents = entry.get("content") or []
    return str(contents[0].value if contents else entry.get("summary", ""))


# --------------------------------------------------------------------------- real feed content


def test_content_encoded_headings_and_paragraphs_become_lines_and_figures_go() -> None:
    html = _entry_html("rss-parser/content-encoded.rss", 0)
    assert "<figure>" in html and "\xa0" in html
    lines = html_to_text(html).split("\n")
    assert lines[0] == "Using Wild Ingredients in the Kitchen"
    assert lines[1] == "HEY, YOU! YES, YOU WITH THE EYEBALLS! GO OUTSIDE AND EAT SOME WILD FOODS!"
    assert lines[2].startswith("Food is all around us, if you learn where to look")
    assert "Publisher: Strange Animal Publications (March 28, 2018)" in lines
    assert not [ln for ln in lines if "<" in ln or "cdn-images" in ln]


def test_content_encoded_figure_caption_is_dropped() -> None:
    html = _entry_html("rss-parser/content-encoded.rss", 1)
    assert "<figcaption>GROW, you bastards, GROW!</figcaption>" in html
    text = html_to_text(html)
    assert "GROW, you bastards" not in text
    assert text.startswith("Contrary to “popular opinion,” gardening is NOT for everyone\n")
    assert "Growing your own food might not be a good decision for you." in text.split("\n")


def test_guardian_summary_paragraphs_are_separate_lines() -> None:
    html = _entry_html("rss-parser/guardian.rss", 0)
    lines = html_to_text(html).split("\n")
    assert lines[0] == (
        "The president’s ‘new American moment’ speech stirred Republican applause while "
        "Democrats showed thinly disguised contempt"
    )
    assert lines[1].startswith("Donald Trump has promised a “new American moment”")


HTML_FEEDS = [
    "rss-parser/content-encoded.rss",
    "rss-parser/feedburner.atom",
    "rss-parser/heise.atom",
    "node-feedparser/intertwingly.atom",
    "node-feedparser/wapowellness.xml",
]


def test_feed_entries_with_rich_html_convert_to_tag_free_text() -> None:
    count = 0
    for feed in HTML_FEEDS:
        for entry in feedparser.parse(str(need(FEEDS / feed))).entries:
            for content in [*(entry.get("content") or []), {"value": entry.get("summary", "")}]:
                html = str(content["value"])
                text = html_to_text(html)
                count += 1
                if "&lt;" not in html:  # escaped markup is text, shown as written
                    assert not re.search(r"</?[a-z][a-z0-9]*[ >]", text), (feed, text[:200])
    assert count > 20


# --------------------------------------------------------------------------- element rules


def test_block_and_break_boundaries_become_newlines_and_inline_text_joins() -> None:
    html = (
        "<h2>Flood  warning</h2><p>Rivers are <b>rising</b>\n fast.<br>Stay away.</p>"
        "<ul><li>Bridge closed</li><li>Trains cut</li></ul>"
        "<table><tr><td>Level</td><td>4.2 m</td></tr></table>"
    )
    assert html_to_text(html) == (
        "Flood warning\nRivers are rising fast.\nStay away.\nBridge closed\nTrains cut\nLevel 4.2 m"
    )


def test_scripts_styles_navigation_asides_and_comments_are_dropped() -> None:
    html = (
        "<nav><a href='/'>Home</a> | <a href='/world'>World</a></nav>"
        "<style>p { color: red }</style><script>var x = '<p>no</p>';</script>"
        "<aside>Most read: other story</aside><!-- tracking -->"
        "<article><p>The dam held overnight.</p></article><noscript>Enable JS</noscript>"
    )
    assert html_to_text(html) == "The dam held overnight."


def test_entities_are_decoded_and_spaces_normalised() -> None:
    html = "<p>Tom&nbsp;&amp;&nbsp;Jerry&#8217;s &ldquo;show&rdquo; &lt;live&gt;</p>"
    assert html_to_text(html) == "Tom & Jerry’s “show” <live>"


def test_plain_text_passes_through_with_its_lines() -> None:
    assert html_to_text("First line.\r\n\r\nSecond  line, a < b & c.") == (
        "First line.\nSecond line, a < b & c."
    )


def test_malformed_markup_still_yields_its_text() -> None:
    html = "<p>Unclosed <b>bold <i>italic</p><div>Stray </span> close</div><p attr='x>Tail"
    text = html_to_text(html)
    assert text.startswith("Unclosed bold italic\nStray close")


def test_deep_nesting_is_flattened_before_parsing() -> None:
    depth = 5 * MAX_DEPTH
    html = "<div>" * depth + "deep text" + "</div>" * depth
    assert limit_depth(html).count("<div>") == MAX_DEPTH
    assert html_to_text(html) == "deep text"


def test_shallow_markup_is_not_changed_by_the_depth_limit() -> None:
    html = "<div><p>One</p><p>Two <b>three</b></p></div>" * 200
    assert limit_depth(html) == html


def test_overlong_input_is_cut() -> None:
    assert html_to_text("<p>" + "x" * 50 + "</p>", max_chars=13) == "x" * 10


def test_empty_input_is_empty_text() -> None:
    assert html_to_text("") == ""
    assert html_to_text("<html><head><title>t</title></head><body></body></html>") == ""


# --------------------------------------------------------------------------- properties

_TAGS = ["p", "div", "span", "b", "i", "em", "li", "ul", "h2", "blockquote", "section", "a"]
_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789.,;'’“”é", min_size=1)


def _element(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(
        lambda tag, inner: f"<{tag}>{''.join(inner)}</{tag}>",
        st.sampled_from(_TAGS),
        st.lists(children, max_size=4),
    )


_TEXT_NODE = st.lists(_WORD, min_size=1, max_size=4).map(" ".join)
_HTML = st.recursive(_TEXT_NODE, _element, max_leaves=20)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_html_to_text_never_raises(text: str) -> None:
    result = html_to_text(text)
    assert isinstance(result, str)
    assert "\n\n" not in result and result == result.strip()


@settings(max_examples=150, deadline=None)
@given(_HTML)
def test_well_formed_markup_leaves_no_tags_and_keeps_all_text_in_order(html: str) -> None:
    text = html_to_text(html)
    assert "<" not in text and ">" not in text
    source_text = re.sub(r"<[^>]*>", " ", html)
    assert "".join(text.split()) == "".join(source_text.split())


@settings(max_examples=150, deadline=None)
@given(_HTML)
def test_converting_the_text_again_changes_nothing(html: str) -> None:
    text = html_to_text(html)
    assert html_to_text(text) == text
