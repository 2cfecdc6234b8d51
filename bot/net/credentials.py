"""Credentials in URLs (``https://user:password@host/feed``): kept in the source row only.

A feed URL may carry HTTP Basic credentials; the fetcher reads them from ``sources.locator``
and nowhere else. Everything derived from a fetch (article origins, links, GUIDs) is stored
:func:`without_credentials`, and every place that shows a feed URL shows it :func:`masked`.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

MASK = "***"
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s?#@]*@")


def has_credentials(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return bool(_USERINFO.search(url))
    return "@" in parts.netloc


def without_credentials(url: str) -> str:
    """``url`` with any ``user:password@`` removed (other text unchanged)."""
    if "@" not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return _USERINFO.sub(r"\1", url)
    if "@" not in parts.netloc:
        return url
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def masked(url: str) -> str:
    """``url`` fit to show: ``https://***@host/feed`` when it carries credentials."""
    if "@" not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return _USERINFO.sub(rf"\1{MASK}@", url)
    if "@" not in parts.netloc:
        return url
    netloc = MASK + "@" + parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def mask_in_text(text: str) -> str:
    """Every ``scheme://user:password@`` in free text masked."""
    return _USERINFO.sub(rf"\1{MASK}@", text)
