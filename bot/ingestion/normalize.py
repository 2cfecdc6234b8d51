"""RawArticle -> Article: clean text, canonical URL, outlet, UTC time, stable id, content hash."""

from __future__ import annotations

import hashlib
import html
import re
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from courlan import normalize_url

from bot.models import Article, RawArticle
from bot.net.credentials import without_credentials
from bot.settings import Settings
from bot.text.article_text import is_wire_slug
from bot.text.fingerprint import content_hash
from bot.text.sanitize import clean_optional, clean_unicode

_SPACE_RE = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000]+")


def canonical_url(url: str | None) -> str | None:
    """Lower-case host, default port, fragment and tracking parameters removed; http(s) only."""
    if not url:
        return None
    url = url.strip()
    if not url.lower().startswith(("http://", "https://")):
        return None
    try:
        return str(normalize_url(url, strict=True))
    except (ValueError, AttributeError):
        return url


def outlet_from_url(url: str | None) -> str | None:
    if not url:
        return None
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.") or None


def clean_title(title: str) -> str:
    title = html.unescape(title)
    title = re.sub(r"<[^>]{0,200}>", " ", title)
    return _SPACE_RE.sub(" ", title).strip()


def clean_text(raw: RawArticle, max_chars: int) -> str:
    from bot.text.article_text import clean_body_lines, normalize_text
    from bot.text.html import html_to_text

    text = html_to_text(raw.text) if raw.is_html else raw.text
    text = normalize_text(text)
    lines = [ln for ln in text.split("\n")]
    text = "\n".join(clean_body_lines(lines, clean_title(raw.title)))
    if len(text) > max_chars:
        cut = text.rfind(" ", 0, max_chars)
        text = text[: cut if cut > 0 else max_chars]
    return text.strip()


def make_ext_id(raw: RawArticle, locator: str, canonical: str | None, chash: str) -> str:
    """The given id, else a stable id from the source and the item's GUID, URL or content."""
    if raw.ext_id:
        return raw.ext_id
    key = raw.guid or canonical or chash
    return "a-" + hashlib.sha1(f"{locator}\n{key}".encode()).hexdigest()[:16]


def sanitize_raw(raw: RawArticle) -> RawArticle:
    """Every text field of ``raw`` as valid Unicode without control characters (in place)."""
    raw.title = clean_unicode(raw.title)
    raw.text = clean_unicode(raw.text)
    raw.origin = clean_unicode(raw.origin)
    raw.url = clean_optional(raw.url)
    raw.guid = clean_optional(raw.guid)
    raw.ext_id = clean_optional(raw.ext_id)
    raw.outlet = clean_optional(raw.outlet)
    raw.summary_raw = clean_optional(raw.summary_raw)
    return raw


def normalize(
    raw: RawArticle, *, locator: str, settings: Settings, now: datetime
) -> Article | None:
    """Build the stored form of ``raw``; ``None`` when nothing readable is left.

    Text is made safe first (:func:`sanitize_raw`) and again after HTML and entity decoding,
    which can produce control characters of their own (``&#27;``).
    """
    raw = sanitize_raw(raw)
    locator = clean_unicode(locator)
    title = clean_unicode(clean_title(raw.title))
    text = clean_unicode(clean_text(raw, settings.ingest.max_article_chars))
    if not text and raw.summary_raw:
        text = clean_unicode(
            clean_text(
                RawArticle(title=raw.title, text=raw.summary_raw, origin=raw.origin, is_html=True),
                settings.ingest.max_article_chars,
            )
        )
    if title and is_wire_slug(title):
        title = ""  # a desk's slug ("BC-NJ--Budget-Vote") is no headline
    if not title and text:
        title = text.split("\n", 1)[0][:120]
    if not title or not text:
        return None
    url = without_credentials(raw.url) if raw.url else raw.url
    canonical = canonical_url(url)
    chash = content_hash(text)
    published = raw.published or now
    if published > now + timedelta(seconds=settings.ingest.future_tolerance):
        published = now
    return Article(
        ext_id=make_ext_id(raw, locator, canonical, chash),
        title=title,
        text=text,
        outlet=(raw.outlet or "").strip() or outlet_from_url(canonical) or "unknown",
        published_at=published,
        first_seen_at=now,
        content_hash=chash,
        url=url,
        canonical_url=canonical,
        guid=without_credentials(raw.guid) if raw.guid else raw.guid,
        summary_raw=raw.summary_raw,
        source_id=raw.source_id,
        origin=without_credentials(raw.origin),
        dated=raw.published is not None,
        backfill=raw.backfill,
    )
