"""parse_feed on every real feed file, JSON Feed, full-text preference, caps and threading."""

from __future__ import annotations

import asyncio
import gzip
import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.errors import ParseError
from bot.sources.feeds import parse_feed, parse_feed_async
from tests.conftest import FEEDS, need

CONTENT_NS = "{http://purl.org/rss/1.0/modules/content/}encoded"


def _feed_files() -> list[Path]:
    if not FEEDS.is_dir():
        return []
    return sorted(p for p in FEEDS.rglob("*") if p.is_file() and p.name != "LICENSE")


def feed(name: str) -> bytes:
    return (need(FEEDS) / name).read_bytes()


@pytest.mark.parametrize(
    "path",
    _feed_files() or [pytest.param(None, marks=pytest.mark.skip(reason=f"no data: {FEEDS}"))],
    ids=lambda p: str(p.relative_to(FEEDS)) if isinstance(p, Path) else "missing",
)
def test_every_real_feed_gives_articles_or_a_clear_error(path: Path) -> None:
    origin = f"https://feeds.example.com/{path.relative_to(FEEDS)}"  # as when fetched
    try:
        articles, warnings = parse_feed(path.read_bytes(), origin=origin, max_items=1000)
    except ParseError as exc:
        message = str(exc)
        assert message.startswith(f"{origin}: ") and len(message) > len(origin) + 10
        assert "\n" not in message
        return
    assert articles
    for n, article in enumerate(articles):
        assert article.title.strip() or article.text.strip()
        assert article.origin.startswith(f"{origin}#")
        assert article.published is None or article.published.utcoffset() == timedelta(0)
        assert article.url is None or article.url.startswith(("http://", "https://"))
        assert n == 0 or article.origin != articles[n - 1].origin
    assert all("\n" not in str(w) for w in warnings)


def test_an_html_page_is_not_a_feed() -> None:
    with pytest.raises(
        ParseError, match=r"^web/notafeed.html: not an RSS, Atom or JSON feed .*HTML"
    ):
        parse_feed(feed("node-feedparser/notafeed.html"), origin="web/notafeed.html", max_items=10)


@pytest.mark.parametrize("data", [b"", b"  \n\t ", b"\xef\xbb\xbf\n"])
def test_empty_input_is_a_parse_error(data: bytes) -> None:
    with pytest.raises(ParseError, match=r"^x.xml: empty document$"):
        parse_feed(data, origin="x.xml", max_items=10)


def test_malformed_xml_without_entries_is_a_parse_error() -> None:
    data = b"<?xml version='1.0'?>\n<rss version='2.0'><channel><title>T</title></chan"
    with pytest.raises(ParseError, match=r"^f: malformed feed with no entries \(line \d+: "):
        parse_feed(data, origin="f", max_items=10)


def test_plain_text_and_other_xml_are_not_feeds() -> None:
    with pytest.raises(ParseError, match="not XML or JSON"):
        parse_feed(b"just some words", origin="f", max_items=10)
    with pytest.raises(ParseError, match="no RSS or Atom root element"):
        parse_feed(b"<?xml version='1.0'?><svg><g/></svg>", origin="f", max_items=10)


def test_a_valid_feed_without_items_is_empty_not_an_error() -> None:
    data = b"<rss version='2.0'><channel><title>Quiet</title></channel></rss>"
    assert parse_feed(data, origin="f", max_items=10) == ([], [])


def test_damaged_feed_with_entries_gives_entries_and_one_warning() -> None:
    articles, warnings = parse_feed(
        feed("node-feedparser/saxerror.xml"), origin="sax.xml", max_items=10
    )
    assert len(articles) == 3
    assert [w.where for w in warnings] == ["sax.xml"]
    assert "damaged" in warnings[0].message and "line 15" in warnings[0].message


def test_full_text_is_the_content_encoded_element() -> None:
    data = feed("rss-parser/content-encoded.rss")
    items = ET.fromstring(data).iter("item")
    full_texts = [(item.findtext(CONTENT_NS) or "").strip() for item in items]
    articles, _ = parse_feed(data, origin="medium.rss", max_items=50)
    assert len(articles) == len(full_texts) == 7
    for article, full in zip(articles, full_texts, strict=True):
        assert article.text == full and len(full) > 1000
        assert article.is_html
        assert article.summary_raw is None  # the feed has no <description> in its items


def test_full_text_is_preferred_over_the_description() -> None:
    articles, _ = parse_feed(feed("rss-parser/instant-article.rss"), origin="i", max_items=5)
    assert articles[0].text == "<b>Lorem</b> ipsum" and articles[0].is_html
    assert articles[0].summary_raw == "Lorem ipsum"


def test_atom_content_is_preferred_over_the_summary() -> None:
    data = b"""<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>
    <entry><title>T</title><id>urn:1</id><summary>Short.</summary>
    <content type="html">&lt;p&gt;The long story.&lt;/p&gt;</content></entry></feed>"""
    articles, _ = parse_feed(data, origin="a", max_items=5)
    assert articles[0].text == "<p>The long story.</p>" and articles[0].is_html
    assert articles[0].summary_raw == "Short." and articles[0].outlet == "A"


def test_summary_is_the_text_when_there_is_no_full_text() -> None:
    articles, _ = parse_feed(feed("node-feedparser/rss2sample.xml"), origin="s", max_items=10)
    assert articles[0].text == articles[0].summary_raw
    assert articles[0].title and articles[0].outlet == "Liftoff News"


def test_fields_of_an_rss_item() -> None:
    articles, _ = parse_feed(feed("node-feedparser/rss2sample.xml"), origin="s", max_items=10)
    first = articles[0]
    assert first.origin == "s#1" and articles[-1].origin == f"s#{len(articles)}"
    assert first.url == "http://liftoff.msfc.nasa.gov/news/2003/news-starcity.asp"
    assert first.guid == "http://liftoff.msfc.nasa.gov/2003/06/03.html#item573"
    assert first.published == datetime(2003, 6, 3, 9, 39, 21, tzinfo=UTC)


def test_dates_with_offsets_become_utc() -> None:
    # <pubDate>Thu, 07 Dec 17 10:00:29 -0800</pubDate>
    articles, _ = parse_feed(
        feed("node-feedparser/rss-with-relative-urls.xml"), origin="f", max_items=10
    )
    assert articles[0].published == datetime(2017, 12, 7, 18, 0, 29, tzinfo=UTC)
    assert articles[0].published.tzinfo is UTC
    atom, _ = parse_feed(feed("rss-parser/heise.atom"), origin="f", max_items=50)
    assert all(a.published is not None and a.published.tzinfo is UTC for a in atom)


def test_relative_links_resolve_against_an_http_origin_only() -> None:
    data = feed("node-feedparser/rss-with-relative-urls.xml")
    fetched, warnings = parse_feed(data, origin="http://example.com/feeds/nw.xml", max_items=10)
    assert not warnings
    local, _ = parse_feed(data, origin="/tmp/nw.xml", max_items=10)
    assert fetched[0].url is not None
    assert fetched[0].url.startswith("http://example.com/en/games/neverwinter/news/detail/")
    assert local[0].url is None  # no base to resolve against: better none than a broken link


def test_relative_links_resolve_against_the_feeds_own_url() -> None:
    articles, _ = parse_feed(feed("node-feedparser/intertwingly.atom"), origin="f", max_items=50)
    assert articles[0].url == "http://intertwingly.net/blog/2012/07/16/Inhibiting-Suspend"


def test_non_web_links_are_not_urls_but_ids_are_kept() -> None:
    articles, _ = parse_feed(
        feed("node-feedparser/atom-with-tag-uri-links.xml"), origin="f", max_items=10
    )
    assert articles[0].url is None
    assert articles[0].guid == "tag:mefi.social,2024-01-26:objectId=20368395"


def test_gzip_feed_file_is_unpacked() -> None:
    packed, _ = parse_feed(feed("node-feedparser/compressed.xml"), origin="c", max_items=50)
    plain, _ = parse_feed(feed("node-feedparser/iconv.xml"), origin="c", max_items=50)
    assert gzip.decompress(feed("node-feedparser/compressed.xml")) == feed(
        "node-feedparser/iconv.xml"
    )
    assert [a.title for a in packed] == [a.title for a in plain] and len(packed) == 10


def test_items_beyond_max_items_are_dropped_with_a_warning() -> None:
    data = feed("rss-parser/rss-1.rss")
    everything, none = parse_feed(data, origin="r", max_items=1000)
    capped, warnings = parse_feed(data, origin="r", max_items=10)
    assert len(everything) == 69 and not none
    assert [a.title for a in capped] == [a.title for a in everything[:10]]
    assert len(warnings) == 1 and "69 items" in warnings[0].message
    assert "first 10" in warnings[0].message


def test_items_without_title_or_text_are_skipped_with_a_named_warning() -> None:
    data = b"""<rss version="2.0"><channel><title>T</title>
    <item><title>One</title><description>Body one</description></item>
    <item><guid>urn:x:2</guid><link>http://e.com/2</link></item>
    <item><description>Body three, no title</description></item>
    </channel></rss>"""
    articles, warnings = parse_feed(data, origin="f", max_items=10)
    assert [a.origin for a in articles] == ["f#1", "f#3"]
    assert articles[1].title == "" and articles[1].text == "Body three, no title"
    assert len(warnings) == 1 and warnings[0].where == "f#2"
    assert "item 2 (urn:x:2) has no title or text" in warnings[0].message


def test_feed_with_only_empty_items_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="none of the 1 entries has a title or text"):
        parse_feed(feed("rss-parser/missing-fields.atom"), origin="m", max_items=10)


def test_leading_blank_lines_before_the_xml_declaration_are_harmless() -> None:
    articles, warnings = parse_feed(
        feed("rss-parser/itunes-keywords-astext.rss"), origin="i", max_items=100
    )
    assert len(articles) == 32 and not warnings


def test_bytes_are_never_opened_as_a_file_path(tmp_path: Path) -> None:
    path = tmp_path / "feed.xml"
    path.write_bytes(feed("node-feedparser/rss2sample.xml"))
    with pytest.raises(ParseError, match="not XML or JSON"):
        parse_feed(str(path).encode(), origin="p", max_items=10)


# --- JSON Feed ----------------------------------------------------------------------------

JSON_FEED = {
    "version": "https://jsonfeed.org/version/1.1",
    "title": "Example Wire",
    "home_page_url": "https://example.org/",
    "items": [
        {
            "id": "https://example.org/a/1",
            "url": "https://example.org/a/1",
            "title": "Council approves budget",
            "content_html": "<p>The council <b>approved</b> the budget.</p>",
            "content_text": "The council approved the budget.",
            "summary": "Budget approved.",
            "date_published": "2024-03-01T09:30:00+02:00",
            "authors": [{"name": "A. Reporter"}],
        },
        {
            "id": "2",
            "url": "/a/2",
            "title": "Storm warning",
            "content_text": "A storm is expected tonight.",
            "date_modified": "2024-03-02T18:00:00Z",
        },
        {"id": 3, "summary": "Only a summary here."},
        {"id": "4", "url": "https://example.org/a/4"},
        "not an object",
    ],
}


def test_json_feed_items_become_articles() -> None:
    data = json.dumps(JSON_FEED).encode()
    articles, warnings = parse_feed(data, origin="https://example.org/feed.json", max_items=10)
    first, second, third = articles
    assert first.title == "Council approves budget" and first.outlet == "Example Wire"
    assert first.text.startswith("<p>The council") and first.is_html
    assert first.summary_raw == "Budget approved."
    assert first.guid == first.url == "https://example.org/a/1"
    assert first.published == datetime(2024, 3, 1, 7, 30, tzinfo=UTC)
    assert second.text == "A storm is expected tonight." and not second.is_html
    assert second.url == "https://example.org/a/2"
    assert second.published == datetime(2024, 3, 2, 18, 0, tzinfo=UTC)
    assert third.title == "" and third.text == "Only a summary here." and third.guid == "3"
    assert third.published is None
    assert [a.origin for a in articles] == [f"https://example.org/feed.json#{n}" for n in (1, 2, 3)]
    assert [w.where.rsplit("#", 1)[1] for w in warnings] == ["4", "5"]
    assert "item 4 (4) has no title or text" in warnings[0].message


def test_json_feed_1_0_and_max_items() -> None:
    doc = {
        "version": "https://jsonfeed.org/version/1",
        "title": "Old",
        "author": {"name": "Someone"},
        "items": [{"id": str(i), "title": f"Item {i}", "content_text": "x"} for i in range(5)],
    }
    articles, warnings = parse_feed(json.dumps(doc).encode(), origin="j", max_items=2)
    assert [a.title for a in articles] == ["Item 0", "Item 1"]
    assert len(warnings) == 1 and "5 items" in warnings[0].message


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": [', "invalid JSON"),
        (b'{"hello": "world"}', "not a JSON Feed"),
        (b"[1, 2]", "not a JSON Feed"),
    ],
)
def test_bad_json_is_a_parse_error(data: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=rf"^j.json: .*{message}"):
        parse_feed(data, origin="j.json", max_items=10)


# --- off the event loop -------------------------------------------------------------------


async def test_parsing_a_big_feed_lets_other_coroutines_run() -> None:
    data = feed("rss-parser/giantbomb-podcast.rss")  # 1.6 MB, 730 items
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0.005)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    ticks_before = ticks
    try:
        articles, warnings = await parse_feed_async(data, origin="g", max_items=100, timeout=60)
    finally:
        done.set()
        await task
    assert len(articles) == 100 and len(warnings) == 1
    assert ticks - ticks_before >= 3  # the loop kept turning while the worker parsed


async def test_parse_timeout_is_a_parse_error() -> None:
    data = feed("rss-parser/giantbomb-podcast.rss")
    with pytest.raises(ParseError, match=r"^g: parsing took longer than 0.001s$"):
        await parse_feed_async(data, origin="g", max_items=10, timeout=0.001)
