"""`/news sources add` fetches and checks the feed first (through the network policy),
follows an HTML page's feed link, and stores name and item filter with it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.ingestion.polling import FeedPoller
from bot.services import Services, open_services
from bot.settings import Settings
from bot.sources.discovery import feed_links, looks_like_html
from bot.sources.http import guarded_fetcher
from handlers import dispatch, parse_text
from handlers.base import CommandRequest, Reply
from tests.conftest import FEEDS
from tests.feedserver import FeedServer

RSS2 = "node-feedparser/rss2sample.xml"  # "Liftoff News", 4 items (one without a title)


def settings_for(db: Path, server: FeedServer | None, **fetch: float) -> Settings:
    data: dict[str, object] = {"database": {"path": str(db)}, "seeds": {"folders": []}}
    if server is not None:
        port = server.base_url.rsplit(":", 1)[1]
        data["network"] = {"allow": [f"127.0.0.1:{port}"]}
    if fetch:
        data["fetch"] = fetch
    return Settings.model_validate(data)


OpenServices = Callable[..., "AsyncIterator[Services]"]


@pytest.fixture
async def sv(tmp_path: Path, feed_server: FeedServer) -> AsyncIterator[Services]:
    """Services whose network policy allows the local feed server's port."""
    services = await open_services(settings_for(tmp_path / "n.db", feed_server))
    yield services
    await services.close()


def add(text: str, workspace: str = "T1") -> CommandRequest:
    command, args = parse_text(f"sources add {text}")
    return CommandRequest(
        platform="slack",
        workspace=workspace,
        channel="C1",
        user="U1",
        is_admin=True,
        command=command,
        args=args,
    )


async def stored(services: Services) -> list[dict[str, object]]:
    return await services.store.feed_sources("slack:T1")


def assert_one_error(reply: Reply, *words: str) -> None:
    assert reply.error and len(reply.lines) == 1, reply.lines
    for word in words:
        assert word in reply.lines[0], reply.lines[0]


async def test_a_feed_url_answers_its_title_and_three_newest_items(
    sv: Services, feed_server: FeedServer
) -> None:
    url = feed_server.file_url(RSS2)
    reply = await dispatch(add(url), sv)
    assert not reply.error and reply.title == "Source added", reply.lines
    assert reply.lines[0].startswith("Liftoff News · " + url)
    items = [line for line in reply.lines if line.startswith("• ")]
    # Newest first, by publication date; the untitled item shows its first words.
    assert items[0] == "• Star City · 2003-06-03"
    assert items[1].startswith("• Sky watchers in Europe") and items[1].endswith("2003-05-30")
    assert items[2] == "• The Engine That Does More · 2003-05-27"
    assert len(items) == 3 and "Newest of 4 items:" in reply.lines
    assert [r["locator"] for r in await stored(sv)] == [url]


async def test_an_html_page_is_followed_to_the_feed_it_links(
    sv: Services, feed_server: FeedServer
) -> None:
    feed_server.add_file("site/feed.atom", (FEEDS / "node-feedparser/tpm.atom").read_bytes())
    page = feed_server.add_file(
        "site/index.html",
        b"<!doctype html><html><head><title>A site</title>"
        b'<link rel="stylesheet" href="style.css">'
        b'<link rel="alternate" type="application/atom+xml; charset=utf-8" href="feed.atom">'
        b"</head><body><p>Hello</p></body></html>",
    )
    reply = await dispatch(add(f'{page} name="TPM blog" filter="gop OR senate"'), sv)
    assert not reply.error, reply.lines
    feed_url = feed_server.file_url("site/feed.atom")
    assert feed_url in reply.lines[0] and f"the feed of {page}" in reply.lines[0]
    assert "Name: TPM blog" in reply.lines
    assert any(line.startswith("Filter: gop OR senate") for line in reply.lines)
    assert sum(line.startswith("• ") for line in reply.lines) == 3
    rows = await stored(sv)
    assert [(r["locator"], r["name"], r["item_filter"]) for r in rows] == [
        (feed_url, "TPM blog", "gop OR senate")
    ]


async def test_an_html_page_without_a_feed_link_and_a_404_each_give_one_error(
    sv: Services, feed_server: FeedServer
) -> None:
    page = feed_server.file_url("node-feedparser/notafeed.html")
    assert_one_error(await dispatch(add(page), sv), "not added", "HTML page without a feed link")
    assert_one_error(await dispatch(add(feed_server.url("/status/404")), sv), "HTTP 404")
    assert_one_error(await dispatch(add(feed_server.file_url("gone.xml")), sv), "HTTP 404")
    text = feed_server.add_file("notes.txt", b"just some words, no feed here\n")
    assert_one_error(await dispatch(add(text), sv), "not an RSS, Atom or JSON feed")
    broken = feed_server.add_file(
        "broken.html",
        b'<html><head><link rel="alternate" type="application/rss+xml" href="/status/500">'
        b"</head></html>",
    )
    assert_one_error(await dispatch(add(broken), sv), "HTTP 500", f"the feed link of {broken}")
    assert await stored(sv) == []


async def test_a_loopback_url_is_refused_without_an_allow_entry(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    services = await open_services(settings_for(tmp_path / "n.db", None))
    try:
        reply = await dispatch(add(feed_server.file_url(RSS2)), services)
        assert_one_error(reply, "loopback")
        assert await stored(services) == []
    finally:
        await services.close()
    assert feed_server.requests == []  # refused before any connection


async def test_a_feed_link_to_a_loopback_address_is_refused_too(
    sv: Services, feed_server: FeedServer
) -> None:
    page = feed_server.add_file(
        "evil.html",
        b'<html><head><link rel="alternate" type="application/rss+xml" '
        b'href="http://127.0.0.2:9/feed.xml"></head></html>',
    )
    assert_one_error(await dispatch(add(page), sv), "127.0.0.2", "loopback")
    assert await stored(sv) == []


async def test_a_server_too_slow_gives_one_timeout_line(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    settings = settings_for(tmp_path / "n.db", feed_server, read_timeout=0.3, connect_timeout=0.3)
    services = await open_services(settings)
    try:
        reply = await dispatch(add(feed_server.url("/slow/3")), services)
        assert_one_error(reply, "timed out")
        assert await stored(services) == []
    finally:
        await services.close()


async def test_a_malformed_filter_is_one_error_and_nothing_is_fetched(
    sv: Services, feed_server: FeedServer
) -> None:
    reply = await dispatch(add(f'{feed_server.file_url(RSS2)} filter="ukraine AND"'), sv)
    assert_one_error(reply, "filter 'ukraine AND'")
    assert feed_server.requests == [] and await stored(sv) == []


async def test_adding_the_same_feed_twice_is_refused(sv: Services, feed_server: FeedServer) -> None:
    url = feed_server.file_url(RSS2)
    assert not (await dispatch(add(url), sv)).error
    assert_one_error(await dispatch(add(url), sv), "already")


def test_slash_text_puts_trailing_words_in_the_name_and_the_filter_only_by_keyword() -> None:
    assert parse_text('sources add https://x.example/f BBC World filter="a AND b"') == (
        "sources",
        {"action": "add", "url": "https://x.example/f", "name": "BBC World", "filter": "a AND b"},
    )


async def test_a_slack_filter_in_quotes_is_the_query_not_one_phrase(
    sv: Services, feed_server: FeedServer
) -> None:
    from bot.platforms.slack_adapter import parse_command

    url = feed_server.file_url(RSS2)
    command, args = parse_command(f"sources add <{url}> Liftoff filter=“space OR shuttle”")
    request = CommandRequest(
        platform="slack",
        workspace="T1",
        channel="C1",
        user="U1",
        is_admin=True,
        command=command,
        args=args,
    )
    assert not (await dispatch(request, sv)).error
    assert [(r["name"], r["item_filter"]) for r in await stored(sv)] == [
        ("Liftoff", "space OR shuttle")
    ]


async def test_a_feed_filter_keeps_other_items_out_at_ingest(
    sv: Services, feed_server: FeedServer
) -> None:
    url = feed_server.file_url(RSS2)
    # "Star City" is about cosmonaut training; only that item mentions Russia.
    reply = await dispatch(add(f'{url} filter="russian OR russia"'), sv)
    assert not reply.error, reply.lines
    (row,) = await stored(sv)
    poller = FeedPoller(sv.store, sv.ingestor, sv.settings.polling, guarded_fetcher(sv.settings))
    try:
        result = await poller.poll_source_id(int(str(row["id"])))
    finally:
        await poller.aclose()
    assert result.outcome.kind == "ok" and result.filtered == 3
    titles = await sv.store.fetchall("SELECT title FROM articles WHERE source_id = ?", (row["id"],))
    assert [t[0] for t in titles] == ["Star City"]


def test_feed_links_are_resolved_against_the_page_and_its_base() -> None:
    html = (
        b'<html><head><base href="https://cdn.example/blog/">'
        b'<link rel="alternate" type="application/rss+xml" href="rss.xml">'
        b'<link rel="Alternate" type="APPLICATION/ATOM+XML" href="/atom">'
        b'<link rel="alternate" type="text/html" href="/fr/">'
        b'<link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">'
        b'<link rel="alternate" type="application/feed+json" href="https://j.example/feed.json">'
        b"</head><body></body></html>"
    )
    assert feed_links(html, "https://www.example/blog/post") == [
        "https://cdn.example/blog/rss.xml",
        "https://cdn.example/atom",
        "https://j.example/feed.json",
    ]
    assert feed_links(b"<p>no head at all", "https://www.example/") == []


@pytest.mark.parametrize(
    ("body", "content_type", "html"),
    [
        (b"<!DOCTYPE html><html></html>", None, True),
        (b"<html><body></body></html>", "application/octet-stream", True),
        (b'<?xml version="1.0"?><rss version="2.0"/>', "text/html", False),  # mislabelled feed
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": []}', "text/html", False),
        (b"<p>fragment</p>", "text/html; charset=utf-8", True),
        (
            b'<?xml version="1.0"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN">'
            b'<html xmlns="http://www.w3.org/1999/xhtml"><head></head></html>',
            "application/xhtml+xml",
            True,
        ),
        (b"<rss><channel><description>&lt;html&gt;</description>", "text/html", False),
        (b"plain words", "text/plain", False),
    ],
)
def test_html_is_told_from_feeds_by_content_and_type(
    body: bytes, content_type: str | None, html: bool
) -> None:
    assert looks_like_html(body, content_type) is html


async def test_adding_a_disabled_feed_again_re_enables_it_with_the_new_name(
    sv: Services, feed_server: FeedServer
) -> None:
    url = feed_server.file_url(RSS2)
    assert not (await dispatch(add(url), sv)).error
    async with sv.store.transaction() as conn:  # as the poller disables a dead feed
        await conn.execute("UPDATE sources SET enabled = 0, disabled_reason = 'HTTP 410'")
    reply = await dispatch(add(f"{url} Liftoff"), sv)
    assert reply.title == "Source re-enabled" and not reply.error
    assert [(r["name"], r["enabled"]) for r in await stored(sv)] == [("Liftoff", 1)]


async def test_a_damaged_feed_read_leniently_is_added_with_a_note(
    sv: Services, feed_server: FeedServer
) -> None:
    reply = await dispatch(add(feed_server.file_url("node-feedparser/saxerror.xml")), sv)
    assert not reply.error and reply.lines[0].startswith("SAXError Test Feed · ")
    assert any(line.startswith("Note: feed is damaged, read leniently") for line in reply.lines)


async def test_a_configured_feed_filter_is_stored_and_a_bad_one_names_its_line(
    tmp_path: Path,
) -> None:
    from bot.app import register_configured_feeds
    from bot.errors import ConfigError
    from bot.settings import load_settings

    config = tmp_path / "newsbot.toml"
    feed = '[[feeds]]\nurl = "https://a.example/rss"\nfilter = "{}"\n'
    config.write_text(feed.format("ukraine AND talks"))
    settings = load_settings(config, db_path=str(tmp_path / "n.db"))
    services = await open_services(settings)
    try:
        await register_configured_feeds(services)
        assert [r["item_filter"] for r in await services.store.feed_sources("")] == [
            "ukraine AND talks"
        ]
        # The config is the truth: a filter removed from it is removed from the feed.
        config.write_text(feed.format(""))
        services.settings = load_settings(config, db_path=str(tmp_path / "n.db"))
        await register_configured_feeds(services)
        assert [r["item_filter"] for r in await services.store.feed_sources("")] == [None]
    finally:
        await services.close()
    config.write_text(feed.format("ukraine AND"))
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    assert str(caught.value).startswith(f"{config}:3: feeds.0.filter: ")
