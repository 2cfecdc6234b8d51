"""Fetcher behaviour against a local server serving the real feed files (tests/feedserver.py)."""

from __future__ import annotations

import gzip
import re
import socket
import time
from datetime import UTC, datetime
from email.utils import formatdate
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from bot.errors import FetchError, ParseError, SourceError
from bot.settings import FetchSettings
from bot.sources.feeds import parse_feed
from bot.sources.feedsource import fetch_feed
from bot.sources.http import Fetcher, FetchStatusError, parse_retry_after, safe_url
from bot.sources.retrieve import FileRetriever, Validators
from tests import feedserver
from tests.conftest import FEEDS, need
from tests.feedserver import FeedServer

feed_server = feedserver.feed_server

SETTINGS = FetchSettings(
    connect_timeout=2.0,
    read_timeout=2.0,
    max_redirects=3,
    max_body_bytes=2_000_000,
    user_agent="newsbot-test/1.0 (+https://example.invalid/bot)",
)


def fetcher(**changes: object) -> Fetcher:
    return Fetcher(SETTINGS.model_copy(update=changes))


def feed_bytes(name: str) -> bytes:
    return (need(FEEDS) / name).read_bytes()


async def test_fetches_a_feed_with_its_validators_and_type(feed_server: FeedServer) -> None:
    async with fetcher() as f:
        result = await f.fetch(feed_server.file_url("node-feedparser/rss2sample.xml"))
    assert result.status == 200 and not result.not_modified
    assert result.body == feed_bytes("node-feedparser/rss2sample.xml")
    assert result.validators.etag and result.validators.last_modified
    assert result.content_type == "application/xml"
    assert result.url.endswith("/files/node-feedparser/rss2sample.xml")


async def test_every_real_feed_file_arrives_intact_and_unpacked(feed_server: FeedServer) -> None:
    files = sorted(p for p in need(FEEDS).rglob("*") if p.is_file() and p.name != "LICENSE")
    async with fetcher() as f:
        for path in files:
            name = str(path.relative_to(FEEDS))
            result = await f.fetch(feed_server.file_url(name))
            data = path.read_bytes()
            expected = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
            assert result.body == expected, name


async def test_sends_user_agent_and_accepts_only_capped_encodings(feed_server: FeedServer) -> None:
    async with fetcher() as f:
        await f.fetch(feed_server.url("/headers"))
    headers = feed_server.requests[-1].headers
    assert headers["user-agent"] == SETTINGS.user_agent
    assert headers["accept-encoding"] == "gzip, deflate"
    assert "application/rss+xml" in headers["accept"]


async def test_etag_gives_not_modified_without_body(feed_server: FeedServer) -> None:
    url = feed_server.file_url("rss-parser/heise.atom")
    async with fetcher() as f:
        first = await f.fetch(url)
        second = await f.fetch(url, Validators(etag=first.validators.etag))
    assert feed_server.requests[-1].headers["if-none-match"] == first.validators.etag
    assert second.status == 304 and second.not_modified and second.body is None
    assert second.validators == first.validators


async def test_last_modified_alone_gives_not_modified(feed_server: FeedServer) -> None:
    url = feed_server.file_url("rss-parser/heise.atom")
    async with fetcher() as f:
        first = await f.fetch(url)
        second = await f.fetch(url, Validators(last_modified=first.validators.last_modified))
    sent = feed_server.requests[-1].headers
    assert sent["if-modified-since"] == first.validators.last_modified
    assert second.not_modified and second.body is None


async def test_stale_etag_gets_the_full_body(feed_server: FeedServer) -> None:
    async with fetcher() as f:
        result = await f.fetch(
            feed_server.file_url("rss-parser/heise.atom"), Validators(etag='"stale"')
        )
    assert result.status == 200 and result.body == feed_bytes("rss-parser/heise.atom")


async def test_bare_304_keeps_the_validators_we_sent(feed_server: FeedServer) -> None:
    url = feed_server.route("/bare304", lambda req: req.reply(304))
    sent = Validators(etag='"v1"', last_modified="Tue, 14 Nov 2023 22:13:20 GMT")
    async with fetcher() as f:
        result = await f.fetch(url, sent)
    assert result.not_modified and result.validators == sent


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_content_encoding_is_decoded(feed_server: FeedServer, encoding: str) -> None:
    async with fetcher() as f:
        result = await f.fetch(feed_server.file_url("rss-parser/guardian.rss", **{encoding: 1}))
    assert feed_server.requests[-1].path.endswith(f"{encoding}=1")
    assert result.body == feed_bytes("rss-parser/guardian.rss")


async def test_raw_deflate_without_zlib_header_is_decoded(feed_server: FeedServer) -> None:
    import zlib

    data = feed_bytes("node-feedparser/rss2sample.xml")
    packer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    raw = packer.compress(data) + packer.flush()
    url = feed_server.route(
        "/rawdeflate", lambda req: req.reply(200, raw, {"Content-Encoding": "deflate"})
    )
    async with fetcher() as f:
        assert (await f.fetch(url)).body == data


@pytest.mark.parametrize(
    "name", ["node-feedparser/compressed.xml", "node-feedparser/invalid-characters-gzipped.xml"]
)
async def test_gzip_file_served_without_content_encoding_is_unpacked(
    feed_server: FeedServer, name: str
) -> None:
    packed = feed_bytes(name)
    assert packed[:2] == b"\x1f\x8b"
    async with fetcher() as f:
        plain = await f.fetch(feed_server.file_url(name))
        double = await f.fetch(feed_server.file_url(name, gzip=1))  # gzip inside gzip
    assert plain.body == double.body == gzip.decompress(packed)
    assert plain.body is not None
    articles, _ = parse_feed(plain.body, origin=plain.url, max_items=100)
    assert articles


async def test_redirects_are_followed_to_the_final_url(feed_server: FeedServer) -> None:
    async with fetcher() as f:
        result = await f.fetch(feed_server.url("/redirect/3/files/rss-parser/heise.atom"))
        moved = await f.fetch(feed_server.url("/redirect/1/files/rss-parser/heise.atom?status=301"))
    assert result.url == feed_server.file_url("rss-parser/heise.atom")
    assert result.body == feed_bytes("rss-parser/heise.atom")
    assert moved.status == 200 and moved.body == result.body


async def test_more_redirects_than_allowed_fail(feed_server: FeedServer) -> None:
    async with fetcher(max_redirects=3) as f:
        with pytest.raises(FetchError, match=r"too many redirects \(more than 3\)"):
            await f.fetch(feed_server.url("/redirect/4/files/rss-parser/heise.atom"))


async def test_redirect_loop_is_reported(feed_server: FeedServer) -> None:
    async with fetcher(max_redirects=10) as f:
        with pytest.raises(FetchError, match="redirect loop"):
            await f.fetch(feed_server.url("/loop/a"))


class RecordingFetcher(Fetcher):
    """Stands in for the SSRF guard: sees every hop and can refuse one."""

    def __init__(self, settings: FetchSettings, refuse: str | None = None) -> None:
        super().__init__(settings)
        self.checked: list[str] = []
        self.refuse = refuse

    async def _check_url(self, url: str) -> None:
        await super()._check_url(url)
        self.checked.append(url)
        if self.refuse and urlsplit(url).path.startswith(self.refuse):
            raise FetchError(f"{url}: refused by guard")


async def test_every_redirect_hop_passes_the_url_check(feed_server: FeedServer) -> None:
    async with RecordingFetcher(SETTINGS) as f:
        await f.fetch(feed_server.url("/redirect/2/files/rss-parser/heise.atom"))
    assert [u.removeprefix(feed_server.base_url) for u in f.checked] == [
        "/redirect/2/files/rss-parser/heise.atom",
        "/redirect/1/files/rss-parser/heise.atom",
        "/files/rss-parser/heise.atom",
    ]
    before = len(feed_server.requests)
    async with RecordingFetcher(SETTINGS, refuse="/files/") as guarded:
        with pytest.raises(FetchError, match="refused by guard"):
            await guarded.fetch(feed_server.url("/redirect/2/files/rss-parser/heise.atom"))
    assert [r.path for r in feed_server.requests[before:]] == [
        "/redirect/2/files/rss-parser/heise.atom",
        "/redirect/1/files/rss-parser/heise.atom",
    ]


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/feed.xml", "feed.xml"])
async def test_non_http_urls_are_refused(url: str) -> None:
    async with fetcher() as f:
        with pytest.raises(FetchError, match="refusing URL scheme"):
            await f.fetch(url)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:99999/feed", "http://exa\x00mple.com/\nx", "http://[::1/", "http://"]
)
async def test_malformed_urls_fail_with_one_line(url: str) -> None:
    async with fetcher() as f:
        with pytest.raises(FetchError, match="invalid URL") as info:
            await f.fetch(url)
    assert "\n" not in str(info.value) and "\x00" not in str(info.value)


async def test_redirect_to_a_file_url_is_refused(feed_server: FeedServer) -> None:
    url = feed_server.route(
        "/to-file", lambda req: req.reply(302, b"", {"Location": "file:///etc/passwd"})
    )
    async with fetcher() as f:
        with pytest.raises(FetchError, match="refusing URL scheme 'file'"):
            await f.fetch(url)


async def test_server_silent_past_read_timeout(feed_server: FeedServer) -> None:
    async with fetcher(read_timeout=0.2) as f:
        with pytest.raises(FetchError, match=r"/slow/3: read timed out after 0.2s"):
            await f.fetch(feed_server.url("/slow/3"))


async def test_slow_trickle_hits_the_overall_deadline(feed_server: FeedServer) -> None:
    url = feed_server.file_url("node-feedparser/rss2sample.xml", trickle=0.05)  # ~2 s in all
    async with Fetcher(SETTINGS.model_copy(update={"read_timeout": 1.0}), total_timeout=0.4) as f:
        with pytest.raises(FetchError, match=r"timed out after 0.4s in total"):
            await f.fetch(url)


async def test_timeouts_come_from_settings() -> None:
    seen: list[dict[str, float]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return httpx.Response(200, content=b"<rss/>")

    settings = SETTINGS.model_copy(update={"connect_timeout": 1.5, "read_timeout": 7.0})
    async with Fetcher(settings, transport=httpx.MockTransport(handler)) as f:
        await f.fetch("http://feeds.example.com/rss")
    assert seen[0]["connect"] == 1.5 and seen[0]["read"] == 7.0


def _failing_transport(exc: Exception) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return httpx.MockTransport(handler)


async def test_connect_timeout_is_named() -> None:
    transport = _failing_transport(httpx.ConnectTimeout("timed out"))
    async with Fetcher(SETTINGS, transport=transport) as f:
        with pytest.raises(FetchError, match=r"example.com/rss: connect timed out after 2s"):
            await f.fetch("http://feeds.example.com/rss")


async def test_dns_failure_is_named() -> None:
    error = httpx.ConnectError("[Errno -2] Name or service not known")
    error.__cause__ = socket.gaierror(-2, "Name or service not known")
    async with Fetcher(SETTINGS, transport=_failing_transport(error)) as f:
        with pytest.raises(FetchError, match=r"nosuchhost.invalid/feed: DNS lookup failed"):
            await f.fetch("http://nosuchhost.invalid/feed")


async def test_refused_connection_is_named() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nobody listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with fetcher() as f:
        with pytest.raises(FetchError, match=rf"127.0.0.1:{port}/feed: cannot connect"):
            await f.fetch(f"http://127.0.0.1:{port}/feed")


@pytest.mark.parametrize("query", ["", "?nolength=1"])
async def test_body_over_the_cap_is_refused(feed_server: FeedServer, query: str) -> None:
    async with fetcher(max_body_bytes=1_000_000) as f:
        with pytest.raises(
            FetchError, match=rf"/big/3000000{re.escape(query)}: body larger than 1000000 bytes"
        ):
            await f.fetch(feed_server.url(f"/big/3000000{query}"))


async def test_decompressed_size_is_capped(feed_server: FeedServer) -> None:
    url = feed_server.url("/big/8000000?gzip=1")  # a few KB on the wire
    async with fetcher(max_body_bytes=1_000_000) as f:
        with pytest.raises(FetchError, match="body larger than 1000000 bytes"):
            await f.fetch(url)


async def test_unpacked_gzip_file_is_capped(feed_server: FeedServer) -> None:
    url = feed_server.add_file("bomb.xml", gzip.compress(b" " * 3_000_000))
    async with fetcher(max_body_bytes=1_000_000) as f:
        with pytest.raises(FetchError, match="body larger than 1000000 bytes"):
            await f.fetch(url)


@pytest.mark.parametrize("status", [404, 500])
async def test_error_status_is_named(feed_server: FeedServer, status: int) -> None:
    async with fetcher() as f:
        with pytest.raises(FetchStatusError, match=rf"/status/{status}: HTTP {status}") as info:
            await f.fetch(feed_server.url(f"/status/{status}"))
    assert info.value.status == status and info.value.retry_after is None
    assert "\n" not in str(info.value)


async def test_429_carries_retry_after_seconds(feed_server: FeedServer) -> None:
    async with fetcher() as f:
        with pytest.raises(FetchError, match=r"HTTP 429.*retry after 120s") as info:
            await f.fetch(feed_server.url("/status/429?retry_after=120"))
    assert isinstance(info.value, FetchStatusError)
    assert info.value.retry_after == 120.0


async def test_503_retry_after_as_http_date(feed_server: FeedServer) -> None:
    when = formatdate(time.time() + 90, usegmt=True).replace(" ", "%20")
    async with fetcher() as f:
        with pytest.raises(FetchStatusError) as info:
            await f.fetch(feed_server.url(f"/status/503?retry_after={when}"))
    assert info.value.status == 503
    assert info.value.retry_after is not None and 60 < info.value.retry_after <= 90


def test_retry_after_forms() -> None:
    now = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("30", now=now) == 30.0
    assert parse_retry_after("Mon, 01 Jan 2024 12:02:00 GMT", now=now) == 120.0
    assert parse_retry_after("Mon, 01 Jan 2024 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after("²", now=now) is None  # a Unicode digit is no delta-seconds
    assert parse_retry_after("٣٠", now=now) is None
    assert parse_retry_after(None) is None


async def test_truncated_body_is_an_error(feed_server: FeedServer) -> None:
    url = feed_server.file_url("rss-parser/guardian.rss", truncate=1000)
    async with fetcher() as f:
        with pytest.raises(FetchError, match="truncated"):
            await f.fetch(url)


async def test_wrong_content_type_is_reported_not_refused(feed_server: FeedServer) -> None:
    async with fetcher() as f:
        feed = await f.fetch(feed_server.file_url("rss-parser/heise.atom", type="text/plain"))
        page = await f.fetch(
            feed_server.file_url("node-feedparser/notafeed.html", type="application/rss+xml")
        )
    assert feed.content_type == "text/plain"
    assert feed.body is not None and parse_feed(feed.body, origin=feed.url, max_items=50)[0]
    assert page.body is not None
    with pytest.raises(ParseError, match="HTML page"):
        parse_feed(page.body, origin=page.url, max_items=50)


async def test_messages_hide_credentials_and_secret_query_values(feed_server: FeedServer) -> None:
    url = feed_server.url("/status/500?api_key=abc123&page=2").replace(
        "http://", "http://alice:s3cret@"
    )
    async with fetcher() as f:
        with pytest.raises(FetchError) as info:
            await f.fetch(url)
    message = str(info.value)
    assert "s3cret" not in message and "alice" not in message and "abc123" not in message
    assert "127.0.0.1" in message and "page=2" in message and "HTTP 500" in message


def test_safe_url_keeps_ordinary_urls() -> None:
    assert safe_url("https://example.com/a/b.xml?x=1#f") == "https://example.com/a/b.xml?x=1#f"
    assert safe_url("https://u:p@example.com/?token=t") == "https://example.com/?token=***"


def test_feed_server_serves_in_memory_files(feed_server: FeedServer) -> None:
    url = feed_server.add_file("mem/feed.json", b"{}")
    with httpx.Client() as client:
        response = client.get(url)
    assert response.content == b"{}"
    assert response.headers["content-type"] == "application/feed+json"


async def test_a_feed_file_and_the_same_feed_by_url_give_the_same_items(
    feed_server: FeedServer,
) -> None:
    name = "rss-parser/guardian.rss"
    args = {"max_items": 500, "parse_timeout": 10.0}
    from_file = await fetch_feed(FileRetriever(), str(need(FEEDS) / name), **args)
    async with fetcher() as f:
        by_url = await fetch_feed(f, feed_server.file_url(name), **args)
        known = by_url.body_hash
        again = await fetch_feed(f, feed_server.file_url(name), known_hash=known, **args)
    assert [a.title for a in from_file.articles] == [a.title for a in by_url.articles]
    assert len(by_url.articles) > 5 and from_file.body_hash == by_url.body_hash
    assert by_url.retrieved.validators.etag  # what the next conditional GET sends
    assert again.unchanged and again.articles == []  # the same body is not parsed again


async def test_an_unreadable_feed_file_is_one_line_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "gone.xml"
    with pytest.raises(SourceError, match=rf"^{re.escape(str(missing))}: cannot read file: "):
        await FileRetriever().fetch(str(missing))
