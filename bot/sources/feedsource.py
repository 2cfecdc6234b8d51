"""Feeds (RSS 0.9x/1.0/2.0, Atom, JSON Feed) from a URL or a local file.

URLs are fetched with conditional GET by :class:`bot.sources.http.Fetcher`; bytes are parsed
off the event loop by :func:`bot.sources.feeds.parse_feed_async`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

from bot.errors import SourceError
from bot.models import IngestWarning
from bot.net.credentials import without_credentials
from bot.sources import Item, SourceContext, is_url
from bot.sources.http import safe_url


def _without_prefix(message: str, locator: str) -> str:
    """Errors already name the URL; the warning's ``where`` names it once."""
    for prefix in (f"{safe_url(locator)}: ", f"{locator}: "):
        message = message.removeprefix(prefix)
    return message


async def read_feed(locator: str, ctx: SourceContext) -> AsyncIterator[Item]:
    from bot.net.ssrf import NetworkPolicy
    from bot.sources.feeds import parse_feed_async
    from bot.sources.http import Fetcher

    settings = ctx.settings
    if is_url(locator):
        try:
            # The same network policy as polled and chat-added feeds: non-public addresses are
            # refused unless ``[network] allow`` lists them.
            policy = NetworkPolicy(settings.network.allow)
            async with Fetcher(settings.fetch, policy=policy) as fetcher:
                result = await fetcher.fetch(
                    locator,
                    etag=ctx.fetch_state.get("etag"),
                    last_modified=ctx.fetch_state.get("last_modified"),
                )
        except SourceError as exc:
            ctx.fetch_state["error"] = str(exc)
            yield IngestWarning(safe_url(locator), _without_prefix(str(exc), locator))
            return
        ctx.fetch_state["etag"] = result.etag
        ctx.fetch_state["last_modified"] = result.last_modified
        if result.not_modified or result.body is None:
            ctx.fetch_state["not_modified"] = "1"
            return
        data = result.body
        origin = without_credentials(result.url or locator)  # credentials stay in the source row
    else:
        origin = locator
        try:
            data = await asyncio.to_thread(Path(locator).read_bytes)
        except OSError as exc:
            yield IngestWarning(locator, f"cannot read file: {exc.strerror or exc}")
            return
    try:
        articles, warnings = await parse_feed_async(
            data,
            origin=origin,
            max_items=settings.ingest.max_items_per_feed,
            timeout=settings.fetch.parse_timeout,
        )
    except SourceError as exc:
        ctx.fetch_state["error"] = str(exc)
        yield IngestWarning(safe_url(locator), _without_prefix(str(exc), locator))
        return
    for warning in warnings:
        yield warning
    for article in articles:
        yield article
