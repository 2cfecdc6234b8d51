"""`/news sources add`: the feed is fetched and checked before it is stored.

The URL goes through the network policy; an HTML page is searched for its feed link
(:mod:`bot.sources.discovery`). The answer is the feed's title and its newest items, or one
error line. An optional ``name`` and ``filter`` (a topic/boolean query items must match to be
ingested, :mod:`bot.sources.filters`) are stored with the feed.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.errors import SourceError, UserError
from bot.ingestion.ingest import source_locator
from bot.models import RawArticle
from bot.services import Services
from bot.sources.discovery import FeedPreview, check_feed
from bot.sources.filters import ItemFilter
from bot.sources.http import safe_url
from bot.text.html import html_to_text

MAX_NAME_CHARS = 100


def source_options(args: Mapping[str, str]) -> tuple[str | None, str | None]:
    """The optional ``name`` and ``filter`` of a feed, checked (one-line :class:`UserError`)."""
    name = " ".join(_unquoted(args.get("name", "")).split()) or None
    if name is not None and len(name) > MAX_NAME_CHARS:
        raise UserError(f"name: longer than {MAX_NAME_CHARS} characters")
    raw_filter = _unquoted(args.get("filter", ""))
    item_filter = ItemFilter.parse(raw_filter).text if raw_filter else None
    return name, item_filter


def _unquoted(value: str) -> str:
    """``"a AND b"`` -> ``a AND b``: the quotes of ``filter="..."`` delimit the value (Slack's
    text parsing keeps quotes, for search phrases); quotes inside it are left alone."""
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"' and '"' not in value[1:-1]:
        return value[1:-1].strip()
    return value


async def check_source(url: str, services: Services) -> FeedPreview:
    """The feed at ``url`` (or linked from the page at ``url``); its URL as a locator."""
    try:
        preview = await check_feed(url, services.settings)
    except SourceError as exc:
        raise UserError(f"not added: {exc}") from None
    preview.url = source_locator(preview.url)
    return preview


def preview_lines(preview: FeedPreview, *, name: str | None, item_filter: str | None) -> list[str]:
    title = preview.title or "(untitled feed)"
    head = f"{title} · {safe_url(preview.url)}"
    if preview.page_url is not None:
        head += f" (the feed of {safe_url(preview.page_url)})"
    lines = [head]
    if name:
        lines.append(f"Name: {name}")
    if item_filter:
        lines.append(f"Filter: {item_filter} (only items matching it are stored)")
    if preview.items:
        lines.append(f"Newest of {preview.item_count} items:")
        for item in preview.items:
            when = f" · {item.published:%Y-%m-%d}" if item.published else ""
            lines.append(f"• {item.title or _opening(item)}{when}")
    else:
        lines.append("No items in the feed yet.")
    if preview.warnings:
        more = len(preview.warnings) - 1
        lines.append(f"Note: {preview.warnings[0]}" + (f" (+{more} more)" if more else ""))
    return lines


def _opening(item: RawArticle) -> str:
    """An untitled item's first words (RSS items may have only a description)."""
    text = " ".join((html_to_text(item.text) if item.is_html else item.text).split())
    if not text:
        return "(no title)"
    return text if len(text) <= 80 else text[:79].rsplit(" ", 1)[0] + "…"
