"""Parse feed bytes into :class:`RawArticle` items.

RSS 0.9x/1.0/2.0 and Atom go through :mod:`feedparser`; JSON Feed 1.0/1.1 (which feedparser
does not read) is parsed here with :mod:`json`. The entry body is the full text when the feed
has one (``content:encoded`` / Atom ``content`` / ``content_html``), else the summary; it stays
raw HTML (``is_html``), reduced to text later, so feedparser's HTML sanitizer and relative-URI
rewriting are switched off (both cost time and neither survives reduction to text).

Bad input is one :class:`~bot.errors.ParseError` line ``"<origin>: <problem>"``; a feed that
is damaged but still yields entries gives the entries plus one warning.
"""

from __future__ import annotations

import asyncio
import calendar
import io
import json
import re
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

from bot.errors import ParseError
from bot.models import IngestWarning, RawArticle
from bot.sources.http import GZIP_MAGIC, BodyTooLarge, gunzip_capped
from bot.text.dates import parse_datetime

MAX_DECOMPRESSED_BYTES = 64_000_000
"""Cap for a gzip file handed to :func:`parse_feed` (fetched bodies are capped earlier)."""
MAX_TITLE_CHARS = 512
"""Longer titles (hostile or broken feeds) are cut; nothing downstream needs more."""
MAX_RAW_TEXT_CHARS = 1_000_000
"""Raw entry text beyond this is cut before HTML reduction (the stored text is capped again)."""

_HTML_TYPES = ("html", "xhtml")
_WS = b" \t\r\n"
_UTF8_BOM = b"\xef\xbb\xbf"


def parse_feed(
    data: bytes, *, origin: str, max_items: int
) -> tuple[list[RawArticle], list[IngestWarning]]:
    """Parse RSS, Atom or JSON Feed ``data``; ``origin`` (URL or path) names it in messages.

    Each article's ``origin`` is ``"<origin>#<n>"`` with ``n`` the 1-based item index.
    Raises :class:`ParseError` when ``data`` holds no feed at all.
    """
    data = _prepare(data, origin)
    if data.lstrip(_UTF8_BOM + _WS)[:1] in (b"{", b"["):
        return _parse_json_feed(data, origin=origin, max_items=max_items)
    return _parse_xml_feed(data, origin=origin, max_items=max_items)


async def parse_feed_async(
    data: bytes,
    *,
    origin: str,
    max_items: int,
    timeout: float,  # noqa: ASYNC109 (bounds the worker thread, not an await)
) -> tuple[list[RawArticle], list[IngestWarning]]:
    """:func:`parse_feed` in a worker thread, so a big feed never blocks the event loop.

    Past ``timeout`` seconds this raises :class:`ParseError`; the worker thread cannot be
    killed and finishes in the background, its result discarded.
    """
    try:
        return await asyncio.wait_for(
            asyncio.to_thread(parse_feed, data, origin=origin, max_items=max_items), timeout
        )
    except TimeoutError:
        raise ParseError(f"{origin}: parsing took longer than {timeout:g}s") from None


def _prepare(data: bytes, origin: str) -> bytes:
    if data.startswith(GZIP_MAGIC):
        try:
            data = gunzip_capped(data, MAX_DECOMPRESSED_BYTES)
        except BodyTooLarge:
            raise ParseError(
                f"{origin}: gzip content larger than {MAX_DECOMPRESSED_BYTES} bytes"
            ) from None
        except Exception as exc:  # zlib.error, EOFError
            raise ParseError(f"{origin}: damaged gzip data ({exc})") from None
    bom = _UTF8_BOM if data.startswith(_UTF8_BOM) else b""
    body = data[len(bom) :].lstrip(_WS)
    if not body.strip(_WS + b"\x00"):
        raise ParseError(f"{origin}: empty document")
    # An XML declaration must come first; stray leading blank lines would make it "bozo".
    return bom + body


# --- RSS / Atom -------------------------------------------------------------------------------


_CHARREF_RE = re.compile(rb"&#([xX][0-9a-fA-F]{1,8}|[0-9]{1,10});")


def _charref_fix(match: re.Match[bytes]) -> bytes:
    ref = match.group(1)
    code = int(ref[1:], 16) if ref[:1] in (b"x", b"X") else int(ref)
    if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
        return b"&#xFFFD;"  # feedparser raises on a reference to a surrogate or beyond Unicode
    return match.group(0)


def _parse_xml_feed(
    data: bytes, *, origin: str, max_items: int
) -> tuple[list[RawArticle], list[IngestWarning]]:
    headers = {"content-location": origin} if _is_http(origin) else {}
    if b"&#" in data:
        data = _CHARREF_RE.sub(_charref_fix, data)
    # A BytesIO, never bytes: feedparser.parse(bytes) would open a local file of that name.
    parsed = feedparser.parse(
        io.BytesIO(data),
        response_headers=headers,
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    entries: list[Any] = parsed.get("entries") or []
    version = parsed.get("version") or ""
    problem = _bozo_text(parsed) if _is_damaged(parsed) else None
    if not entries:
        if not version:
            raise ParseError(
                f"{origin}: not an RSS, Atom or JSON feed ({_what_is_it(data, problem)})"
            )
        if problem:
            raise ParseError(f"{origin}: malformed feed with no entries ({problem})")
        return [], []
    warnings: list[IngestWarning] = []
    if problem:
        warnings.append(IngestWarning(origin, f"feed is damaged, read leniently: {problem}"))
    entries = _cap(entries, max_items, origin, warnings)
    feed = parsed.get("feed") or {}
    outlet = _clean(feed.get("title"))
    base = _feed_base(feed, origin)
    articles = []
    for n, entry in enumerate(entries, start=1):
        item = _xml_entry(entry, origin=origin, n=n, outlet=outlet, base=base)
        if isinstance(item, IngestWarning):
            warnings.append(item)
        else:
            articles.append(item)
    if not articles:
        raise ParseError(f"{origin}: none of the {len(entries)} entries has a title or text")
    return articles, warnings


def _xml_entry(
    entry: Any, *, origin: str, n: int, outlet: str | None, base: str | None
) -> RawArticle | IngestWarning:
    title = _clip(_clean(entry.get("title")) or "", MAX_TITLE_CHARS)
    text, is_html = _best_text(entry)
    text = text[:MAX_RAW_TEXT_CHARS]
    where = f"{origin}#{n}"
    if not title and not text:
        return IngestWarning(where, f"item {n}{_label(entry)} has no title or text; skipped")
    summary_raw = (entry.get("summary") or "").strip()[:MAX_RAW_TEXT_CHARS] or None
    if summary_raw == text and entry.get("content"):
        summary_raw = None  # feedparser copies the content into a missing summary
    return RawArticle(
        title=title,
        text=text,
        origin=where,
        url=_entry_link(entry, base),
        guid=_clean(entry.get("id")),
        outlet=outlet,
        published=_struct_time(entry, "published_parsed", "updated_parsed", "created_parsed"),
        summary_raw=summary_raw,
        is_html=is_html,
    )


def _feed_base(feed: Any, origin: str) -> str | None:
    """Base for relative entry links: the fetched URL, else the feed's own absolute URL."""
    if _is_http(origin):
        return origin
    candidates = [link.get("href") for link in feed.get("links") or [] if link.get("rel") == "self"]
    candidates.append(feed.get("link"))
    for candidate in candidates:
        if (url := _absolute_http(candidate, None)) is not None:
            return url
    return None


def _entry_link(entry: Any, base: str | None) -> str | None:
    """The entry's web page: ``link``, else an http(s) ``alternate`` link (not a tag:/urn: id)."""
    candidates = [entry.get("link")]
    candidates += [
        link.get("href")
        for link in entry.get("links") or []
        if link.get("rel", "alternate") == "alternate"
    ]
    for candidate in candidates:
        if (url := _absolute_http(candidate, base)) is not None:
            return url
    return None


def _best_text(entry: Any) -> tuple[str, bool]:
    """Full content when present (the longest ``content`` part), else the summary."""
    best: tuple[str, bool] = ("", False)
    for part in entry.get("content") or []:
        value = (part.get("value") or "").strip()
        if len(value) > len(best[0]):
            best = (value, _is_html_type(part.get("type")))
    if best[0]:
        return best
    summary = (entry.get("summary") or "").strip()
    detail = entry.get("summary_detail") or {}
    return summary, bool(summary) and _is_html_type(detail.get("type"))


def _is_html_type(content_type: str | None) -> bool:
    return any(t in (content_type or "").lower() for t in _HTML_TYPES)


def _struct_time(entry: Any, *keys: str) -> datetime | None:
    for key in keys:
        value = entry.get(key)
        if isinstance(value, time.struct_time):
            try:
                return datetime.fromtimestamp(calendar.timegm(value), UTC)
            except (OverflowError, ValueError, OSError):
                continue
    return None


def _is_damaged(parsed: Any) -> bool:
    # NonXMLContentType only complains about the HTTP headers we pass (just a base URL).
    exc = parsed.get("bozo_exception")
    return bool(parsed.get("bozo")) and not isinstance(exc, feedparser.NonXMLContentType)


def _bozo_text(parsed: Any) -> str:
    exc = parsed.get("bozo_exception")
    if exc is None:
        return "not well-formed"
    line = getattr(exc, "getLineNumber", None)
    message = getattr(exc, "getMessage", None)
    if callable(line) and callable(message):
        return f"line {line()}: {message()}"
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


def _what_is_it(data: bytes, problem: str | None) -> str:
    head = data[:2048].lower()
    if b"<html" in head or b"<!doctype html" in head or b"<body" in head or b"<head" in head:
        return "looks like an HTML page"
    if not data.lstrip(_UTF8_BOM + _WS).startswith(b"<"):
        return "not XML or JSON"
    return f"malformed XML: {problem}" if problem else "no RSS or Atom root element"


def _label(entry: Any) -> str:
    ident = _clean(entry.get("id")) or _clean(entry.get("link"))
    return f" ({ident[:120]})" if ident else ""


# --- JSON Feed --------------------------------------------------------------------------------


def _parse_json_feed(
    data: bytes, *, origin: str, max_items: int
) -> tuple[list[RawArticle], list[IngestWarning]]:
    try:
        doc: Any = json.loads(data.removeprefix(_UTF8_BOM))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ParseError(f"{origin}: not a feed: invalid JSON ({_first_line(exc)})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("items"), list):
        raise ParseError(f"{origin}: JSON but not a JSON Feed (no 'items' list)")
    warnings: list[IngestWarning] = []
    version = doc.get("version")
    if not (isinstance(version, str) and "jsonfeed.org/version/" in version):
        warnings.append(IngestWarning(origin, "no JSON Feed 'version'; read as JSON Feed 1.1"))
    items = _cap(doc["items"], max_items, origin, warnings)
    outlet = _clean(doc.get("title")) if isinstance(doc.get("title"), str) else None
    articles = []
    for n, item in enumerate(items, start=1):
        result = _json_item(item, origin=origin, n=n, outlet=outlet)
        if isinstance(result, IngestWarning):
            warnings.append(result)
        else:
            articles.append(result)
    if items and not articles:
        raise ParseError(f"{origin}: none of the {len(items)} items has a title or text")
    return articles, warnings


def _json_item(item: Any, *, origin: str, n: int, outlet: str | None) -> RawArticle | IngestWarning:
    where = f"{origin}#{n}"
    if not isinstance(item, dict):
        return IngestWarning(where, f"item {n} is not a JSON object; skipped")
    title = _clip(" ".join(_str(item.get("title")).split()), MAX_TITLE_CHARS)
    html = _str(item.get("content_html"))[:MAX_RAW_TEXT_CHARS]
    plain = _str(item.get("content_text"))[:MAX_RAW_TEXT_CHARS]
    summary = _str(item.get("summary"))[:MAX_RAW_TEXT_CHARS]
    if html:
        text, is_html = html, True
    elif plain:
        text, is_html = plain, False
    else:
        text, is_html = summary, False
    ident = _str(item.get("id")) or (str(item["id"]) if isinstance(item.get("id"), int) else "")
    if not title and not text:
        label = ident or _str(item.get("url"))
        return IngestWarning(
            where, f"item {n}{f' ({label[:120]})' if label else ''} has no title or text; skipped"
        )
    published = None
    for key in ("date_published", "date_modified"):
        if value := _str(item.get(key)):
            published = parse_datetime(value)
            if published is not None:
                break
    link = _str(item.get("url")) or _str(item.get("external_url"))
    return RawArticle(
        title=title,
        text=text,
        origin=where,
        url=_absolute_http(link, origin if _is_http(origin) else None),
        guid=ident or None,
        outlet=outlet,
        published=published,
        summary_raw=summary or None,
        is_html=is_html,
    )


# --- shared helpers ---------------------------------------------------------------------------


def _cap(
    entries: list[Any], max_items: int, origin: str, warnings: list[IngestWarning]
) -> list[Any]:
    if len(entries) > max_items:
        warnings.append(
            IngestWarning(
                origin,
                f"feed has {len(entries)} items; kept the first {max_items}, "
                f"dropped {len(entries) - max_items}",
            )
        )
        return entries[:max_items]
    return entries


def _clean(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    value = " ".join(value.split())
    return value or None


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit - 1)
    return text[: cut if cut > limit // 2 else limit - 1].rstrip() + "…"


def _str(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _is_http(url: str) -> bool:
    try:
        return urlsplit(url).scheme.lower() in ("http", "https")
    except ValueError:
        return False


def _absolute_http(link: object, base: str | None) -> str | None:
    """``link`` as an absolute http(s) URL (resolved against an http ``base``), else None."""
    if not isinstance(link, str) or not link.strip():
        return None
    try:
        if base is not None and _is_http(base):
            link = urljoin(base, link.strip())
        return link.strip() if _is_http(link) and urlsplit(link).hostname else None
    except ValueError:
        return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__
