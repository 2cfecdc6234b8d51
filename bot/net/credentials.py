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


def _with_userinfo(url: str, userinfo: str) -> str:
    """``url`` with its ``user:password@`` replaced by ``userinfo`` (other text unchanged)."""
    if "@" not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return _USERINFO.sub(lambda m: m.group(1) + userinfo, url)
    if "@" not in parts.netloc:
        return url
    netloc = userinfo + parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def without_credentials(url: str) -> str:
    """``url`` with any ``user:password@`` removed (other text unchanged)."""
    return _with_userinfo(url, "")


def masked(url: str) -> str:
    """``url`` fit to show: ``https://***@host/feed`` when it carries credentials."""
    return _with_userinfo(url, MASK + "@")


def mask_in_text(text: str) -> str:
    """Every ``scheme://user:password@`` in free text masked."""
    return _USERINFO.sub(rf"\1{MASK}@", text)
