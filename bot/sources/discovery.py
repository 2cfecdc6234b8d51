"""Check a feed URL before it is added: fetch it, follow an HTML page's feed link, parse it.

:func:`check_feed` fetches the URL through :func:`~bot.sources.http.guarded_fetcher` (the
``[network] allow`` policy, as for polled feeds and ``newsbot ingest``). A feed (RSS, Atom,
JSON Feed) is parsed with :func:`~bot.sources.feeds.parse_feed_async`; an HTML page is
searched for feed autodiscovery links (``<link rel="alternate" type="application/rss+xml">``,
Atom, JSON Feed, RSS 1.0; resolved against the page URL and its ``<base href>``), and the
first link that yields a feed is fetched and parsed the same way. The result is the feed's URL (the
discovered one for a page), its title and its newest items; any failure is one
:class:`~bot.errors.SourceError` line naming the URL and what went wrong (HTTP status,
refused address, timeout, not a feed, a page without a feed link).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser

from bot.errors import ParseError, SourceError
from bot.models import RawArticle
from bot.net.ssrf import Resolver
from bot.settings import Settings
from bot.sources.feeds import parse_feed_async
from bot.sources.http import Fetcher, guarded_fetcher, safe_url

FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/feed+json",
        "application/rdf+xml",
    }
)
MAX_LINKS_TRIED = 3
"""Feed links of one page tried in document order (the first is usually the site's main feed)."""
CHECK_TIMEOUT = 30.0
"""Cap on each fetch of a check, below the poller's deadline: someone waits for the answer."""
PREVIEW_ITEMS = 3


@dataclass(slots=True)
class FeedPreview:
    """A checked feed: where it is, what it is called, its newest items (newest first)."""

    url: str
    title: str | None
    items: list[RawArticle] = field(default_factory=list)
    item_count: int = 0
    page_url: str | None = None  # the HTML page the feed link was found on
    warnings: list[str] = field(default_factory=list)  # e.g. damaged but read leniently


def feed_links(html: bytes | str, page_url: str) -> list[str]:
    """Absolute http(s) URLs of the page's feed autodiscovery links, in document order."""
    tree = LexborHTMLParser(html)
    base = page_url
    base_node = tree.css_first("base[href]")
    if base_node is not None:
        href = (base_node.attributes.get("href") or "").strip()
        if href:
            base = _join(page_url, href) or page_url
    links: list[str] = []
    for node in tree.css("link[href]"):
        attrs = node.attributes
        rel = (attrs.get("rel") or "").lower().split()
        kind = (attrs.get("type") or "").split(";")[0].strip().lower()
        if "alternate" not in rel or kind not in FEED_TYPES:
            continue
        url = _join(base, (attrs.get("href") or "").strip())
        if url is not None and url not in links:
            links.append(url)
    return links


_FEED_ROOTS = (b"<rss", b"<feed", b"<rdf")
_HTML_TAGS = (b"<!doctype html", b"<html", b"<head", b"<body")


def looks_like_html(body: bytes, content_type: str | None) -> bool:
    """An HTML page rather than a feed: by how it starts (types lie both ways), else its type.

    A feed root element before any HTML tag makes it a feed (an RSS feed served as
    ``text/html``); an HTML tag first makes it a page (XHTML starting ``<?xml`` too).
    """
    head = body[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"{", b"[")):
        return False  # JSON (Feed)
    feed_at = _first(head, _FEED_ROOTS)
    html_at = _first(head, _HTML_TAGS)
    if html_at is None:
        return feed_at is None and "html" in (content_type or "").lower()
    return feed_at is None or html_at < feed_at


def _first(head: bytes, needles: tuple[bytes, ...]) -> int | None:
    found = [i for i in (head.find(n) for n in needles) if i >= 0]
    return min(found) if found else None


def check_fetcher(settings: Settings, *, resolver: Resolver | None = None) -> Fetcher:
    """The fetcher of feed checks: every feed URL's (the network policy), each fetch capped at
    :data:`CHECK_TIMEOUT`; one may serve many checks (an OPML import's)."""
    fetch = settings.fetch
    total = min(fetch.connect_timeout + 2 * fetch.read_timeout, CHECK_TIMEOUT)
    return guarded_fetcher(settings, resolver=resolver, total_timeout=total)


async def check_feed(
    url: str,
    settings: Settings,
    *,
    resolver: Resolver | None = None,
    preview_items: int = PREVIEW_ITEMS,
    fetcher: Fetcher | None = None,
) -> FeedPreview:
    """Fetch ``url`` (following an HTML page's feed link) and parse it; one-line errors.
    ``fetcher``: a :func:`check_fetcher` shared by several checks (else one of its own)."""
    if fetcher is None:
        async with check_fetcher(settings, resolver=resolver) as own:
            return await check_feed(url, settings, preview_items=preview_items, fetcher=own)
    result = await fetcher.fetch(url)
    body = result.body or b""
    if not looks_like_html(body, result.content_type):
        return await _preview(url, body, result.url, settings, preview_items)
    links = await asyncio.to_thread(feed_links, body, result.url or url)
    if not links:
        raise ParseError(
            f"{safe_url(url)}: an HTML page without a feed link "
            '(no <link rel="alternate"> of type RSS, Atom or JSON Feed)'
        )
    first_error: SourceError | None = None
    for link in links[:MAX_LINKS_TRIED]:
        try:
            found = await fetcher.fetch(link)
            if looks_like_html(found.body or b"", found.content_type):
                raise ParseError(f"{safe_url(link)}: an HTML page, not a feed")
            preview = await _preview(link, found.body or b"", found.url, settings, preview_items)
        except SourceError as exc:
            first_error = first_error or exc
            continue
        preview.page_url = url
        return preview
    assert first_error is not None
    raise SourceError(f"{first_error} (the feed link of {safe_url(url)})")


async def _preview(
    url: str, body: bytes, fetched_url: str | None, settings: Settings, count: int
) -> FeedPreview:
    articles, warnings = await parse_feed_async(
        body,
        origin=fetched_url or url,
        max_items=settings.ingest.max_items_per_feed,
        timeout=settings.fetch.parse_timeout,
    )
    title = next((a.outlet for a in articles if a.outlet), None)
    return FeedPreview(
        url=url,
        title=title,
        items=newest(articles, count),
        item_count=len(articles),
        warnings=[w.message for w in warnings],
    )


def newest(articles: list[RawArticle], count: int) -> list[RawArticle]:
    """The ``count`` newest items; undated ones after dated ones, in feed order."""
    ranked = sorted(
        articles,
        key=lambda a: (0, -a.published.timestamp()) if a.published else (1, 0.0),
    )
    return ranked[:count]


def _join(base: str, href: str) -> str | None:
    if not href:
        return None
    try:
        url = urljoin(base, href)
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url
