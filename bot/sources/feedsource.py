"""Feeds (RSS 0.9x/1.0/2.0, Atom, JSON Feed) from a URL or a local file.

:func:`fetch_feed` is the one way a feed's items are got: bytes from a
:class:`~bot.sources.retrieve.Retriever` (for URLs the network-policy
:func:`~bot.sources.http.guarded_fetcher`, for files
:class:`~bot.sources.retrieve.FileRetriever`), a body identical to the last one not parsed
again, the rest parsed off the event loop by
:func:`bot.sources.feeds.parse_feed_async`. The poller (``newsbot run``) calls it for due feeds;
:func:`read_feed`, the reader of ``newsbot ingest``, calls it for one URL or file.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from bot.errors import SourceError
from bot.models import IngestWarning, RawArticle
from bot.net.credentials import without_credentials
from bot.sources import Item, SourceContext, is_url
from bot.sources.feeds import parse_feed_async
from bot.sources.http import guarded_fetcher, safe_url
from bot.sources.retrieve import FetchOutcome, FileRetriever, Retrieved, Retriever, Validators


@dataclass(frozen=True, slots=True)
class FeedFetch:
    """One retrieval of a feed and its items. ``body_hash`` is ``None`` when not modified;
    ``unchanged``: the body is the one seen last time, so it was not parsed."""

    retrieved: Retrieved
    body_hash: str | None = None
    unchanged: bool = False
    articles: list[RawArticle] = field(default_factory=list)
    warnings: list[IngestWarning] = field(default_factory=list)


async def fetch_feed(
    retriever: Retriever,
    locator: str,
    *,
    validators: Validators | None = None,
    known_hash: str | None = None,
    max_items: int,
    parse_timeout: float,
) -> FeedFetch:
    """Retrieve and parse one feed; a fetch or parse failure is one :class:`SourceError` line."""
    retrieved = await retriever.fetch(locator, validators)
    return await feed_items(
        retrieved, locator, known_hash=known_hash, max_items=max_items, parse_timeout=parse_timeout
    )


async def feed_items(
    retrieved: Retrieved,
    locator: str,
    *,
    known_hash: str | None = None,
    max_items: int,
    parse_timeout: float,
) -> FeedFetch:
    """What a retrieved feed holds: nothing when not modified or when its body hashes to
    ``known_hash`` (the body seen last time), else its items parsed; :class:`ParseError` when
    it is not a feed. (The poller retrieves under its concurrency limits, then calls this.)"""
    if retrieved.body is None:
        return FeedFetch(retrieved)
    body_hash = hashlib.sha256(retrieved.body).hexdigest()
    if body_hash == known_hash:
        return FeedFetch(retrieved, body_hash, unchanged=True)
    # credentials stay in the source row, never in what is stored from the feed
    origin = without_credentials(retrieved.url or locator) if is_url(locator) else locator
    articles, warnings = await parse_feed_async(
        retrieved.body, origin=origin, max_items=max_items, timeout=parse_timeout
    )
    return FeedFetch(retrieved, body_hash, articles=articles, warnings=warnings)


def _without_prefix(message: str, locator: str) -> str:
    """Errors already name the URL; the warning's ``where`` names it once."""
    for prefix in (f"{safe_url(locator)}: ", f"{locator}: "):
        message = message.removeprefix(prefix)
    return message


async def read_feed(locator: str, ctx: SourceContext) -> AsyncIterator[Item]:
    """The items of one feed URL or file; for a URL, ``ctx.fetched`` says what the fetch got."""
    settings = ctx.settings
    url = is_url(locator)
    retriever: Retriever
    # The same fetcher and network policy as polled and chat-added feeds: non-public
    # addresses are refused unless ``[network] allow`` lists them.
    fetcher = guarded_fetcher(settings) if url else None
    retriever = fetcher if fetcher is not None else FileRetriever()
    try:
        feed = await fetch_feed(
            retriever,
            locator,
            validators=ctx.validators if url else None,
            max_items=settings.ingest.max_items_per_feed,
            parse_timeout=settings.fetch.parse_timeout,
        )
    except SourceError as exc:
        if url:
            ctx.fetched = FetchOutcome(error=str(exc))
        where = safe_url(locator) if url else locator
        yield IngestWarning(where, _without_prefix(str(exc), locator))
        return
    finally:
        if fetcher is not None:
            await fetcher.aclose()
    if url:
        ctx.fetched = FetchOutcome(validators=feed.retrieved.validators)
    for warning in feed.warnings:
        yield warning
    for article in feed.articles:
        yield article
