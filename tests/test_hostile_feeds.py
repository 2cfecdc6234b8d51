"""Hostile documents (reliability bar S8-S11, F6, F7, P10, P11): nothing expands, nothing is
read from outside, sizes are capped, parsing stays off the event loop and within its limit."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from bot.errors import FetchError, ParseError
from bot.ingestion.normalize import normalize
from bot.models import RawArticle
from bot.settings import FetchSettings, Settings
from bot.sources.feeds import MAX_TITLE_CHARS, parse_feed, parse_feed_async
from bot.sources.http import Fetcher
from tests.feedserver import FeedServer

NOW = datetime(2026, 8, 22, 9, 0, tzinfo=UTC)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    s = FeedServer().start()
    yield s
    s.close()


def rss_with(doctype: str, title: str, description: str = "text") -> bytes:
    return (
        f"<?xml version='1.0'?>\n{doctype}\n<rss version='2.0'><channel><title>c</title>"
        f"<item><title>{title}</title><description>{description}</description>"
        "<link>https://news.example/a</link></item></channel></rss>"
    ).encode()


BILLION_LAUGHS = (
    "<!DOCTYPE rss [\n<!ENTITY lol 'lol'>\n"
    + "\n".join(
        f"<!ENTITY lol{i} '{('&lol' + (str(i - 1) if i > 1 else '') + ';') * 10}'>"
        for i in range(1, 10)
    )
    + "\n]>"
)


def test_billion_laughs_does_not_expand() -> None:
    data = rss_with(BILLION_LAUGHS, "&lol9;", "&lol9; &lol9;")
    try:
        articles, _ = parse_feed(data, origin="laughs.xml", max_items=10)
    except ParseError:
        return  # refusing the document is as good as not expanding it
    assert all(len(a.title) < 100 and len(a.text) < 1000 for a in articles)
    assert all("lollollol" not in a.title + a.text for a in articles)


def test_external_file_entities_are_not_read() -> None:
    doctype = "<!DOCTYPE rss [<!ENTITY xxe SYSTEM 'file:///etc/passwd'>]>"
    data = rss_with(doctype, "A&xxe;B", "&xxe;")
    try:
        articles, _ = parse_feed(data, origin="xxe.xml", max_items=10)
    except ParseError:
        return
    assert all("root:" not in a.title + a.text for a in articles)


def test_external_dtd_and_entities_are_never_fetched(server: FeedServer) -> None:
    dtd = server.url("/evil.dtd")
    server.route("/evil.dtd", lambda req: req.reply(200, b"<!ENTITY x 'pwned'>", {}))
    server.route("/ent", lambda req: req.reply(200, b"pwned", {}))
    doctype = f"<!DOCTYPE rss SYSTEM '{dtd}' [<!ENTITY e SYSTEM '{server.url('/ent')}'>]>"
    try:
        articles, _ = parse_feed(rss_with(doctype, "A&e;&x;B"), origin="dtd.xml", max_items=10)
        assert all("pwned" not in a.title for a in articles)
    except ParseError:
        pass
    assert server.requests == []


async def test_gzip_bomb_is_stopped_at_the_cap_after_decompression(server: FeedServer) -> None:
    cap = 1_000_000
    settings = FetchSettings(connect_timeout=2, read_timeout=2, max_body_bytes=cap)
    async with Fetcher(settings) as f:
        with pytest.raises(FetchError, match="larger than"):
            await f.fetch(server.url("/big/60000000?gzip=1"))


async def test_oversized_plain_body_is_refused(server: FeedServer) -> None:
    settings = FetchSettings(connect_timeout=2, read_timeout=2, max_body_bytes=500_000)
    async with Fetcher(settings) as f:
        for url in (server.url("/big/5000000"), server.url("/big/5000000?nolength=1")):
            with pytest.raises(FetchError, match="larger than"):
                await f.fetch(url)


def test_a_gzip_file_handed_to_the_parser_is_capped_too(monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.sources.feeds as feeds

    monkeypatch.setattr(feeds, "MAX_DECOMPRESSED_BYTES", 100_000)
    with pytest.raises(ParseError, match="larger than"):
        parse_feed(gzip.compress(b"<rss>" + b" " * 1_000_000), origin="bomb.gz", max_items=5)


def test_items_per_document_are_capped_with_a_warning() -> None:
    items = "".join(f"<item><title>Item {i}</title></item>" for i in range(2000))
    data = f"<rss version='2.0'><channel><title>c</title>{items}</channel></rss>".encode()
    articles, warnings = parse_feed(data, origin="many.xml", max_items=500)
    assert len(articles) == 500
    assert any("2000 items" in w.message for w in warnings)


def test_huge_fields_are_bounded_before_storage() -> None:
    title = "headline " * 120_000  # ~1 MB
    body = "<p>" + "word " * 1_200_000 + "</p>"  # ~6 MB
    data = rss_with("", title, f"<![CDATA[{body}]]>")
    articles, _ = parse_feed(data, origin="huge.xml", max_items=5)
    assert len(articles[0].title) <= MAX_TITLE_CHARS
    settings = Settings()
    article = normalize(articles[0], locator="huge.xml", settings=settings, now=NOW)
    assert article is not None
    assert len(article.title) <= MAX_TITLE_CHARS
    assert len(article.text) <= settings.ingest.max_article_chars


def test_html_and_script_in_feed_text_are_reduced_to_text() -> None:
    description = (
        "<![CDATA[<p>Council <b>votes</b> &amp; decides</p><script>alert('x')</script>"
        "<style>p{color:red}</style><img src=x onerror=alert(2)><iframe src='//evil'></iframe>"
        "<a href='javascript:steal()'>read more</a>]]>"
    )
    data = rss_with("", "Council &lt;b&gt;votes&lt;/b&gt; <![CDATA[<i>today</i>]]>", description)
    articles, _ = parse_feed(data, origin="html.xml", max_items=5)
    article = normalize(articles[0], locator="html.xml", settings=Settings(), now=NOW)
    assert article is not None
    for text in (article.title, article.text):
        assert "<" not in text and "alert" not in text and "color:red" not in text
    assert "votes" in article.text and "decides" in article.text


@pytest.mark.parametrize(
    "data",
    [
        b"<rss version='2.0'><channel><title>c</title><item><title>unclosed",
        b"<rss version='2.0'><channel><item><title>a\x00b</title></item></channel></rss>",
        b"<rss><channel><item><description><![CDATA[<!h<!h<!h]]></description></item>",
        b"\x00\x00\x00\x00",
        b"<?xml version='1.0' encoding='bogus-charset'?><rss/>",
        b"<" * 100_000,
        b"<rss version='2.0'><channel>" + b"<div>" * 20_000 + b"</channel></rss>",
        b'{"items": [1, null, {"title": 5}, {"content_html": "<b>x</b>"}]}',
    ],
)
def test_malformed_documents_give_articles_or_one_parse_error(data: bytes) -> None:
    try:
        articles, _ = parse_feed(data, origin="bad.xml", max_items=50)
    except ParseError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("bad.xml: ")
    else:
        assert all(isinstance(a, RawArticle) for a in articles)


async def test_parsing_runs_off_the_event_loop_and_has_a_time_limit() -> None:
    items = "".join(
        f"<item><title>Item {i}</title><description>{'text ' * 200}</description></item>"
        for i in range(3000)
    )
    data = f"<rss version='2.0'><channel><title>c</title>{items}</channel></rss>".encode()
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0)
            ticks += 1

    task = asyncio.create_task(ticker())
    try:
        with pytest.raises(ParseError, match="longer than"):
            await parse_feed_async(data, origin="big.xml", max_items=500, timeout=0.001)
        articles, _ = await parse_feed_async(data, origin="big.xml", max_items=500, timeout=60)
    finally:
        task.cancel()
    assert len(articles) == 500
    assert ticks > 10  # the loop kept running while the worker thread parsed
