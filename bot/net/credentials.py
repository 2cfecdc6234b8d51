"""Credentials in URLs (``https://user:password@host/feed``): kept in the source row only.

A feed URL may carry HTTP Basic credentials; the fetcher reads them from ``sources.locator``
and nowhere else. Everything derived from a fetch (article origins, links, GUIDs) is stored
:func:`without_credentials`, and every place that shows a feed URL shows it :func:`masked`.

The shapes of a credential in a URL (``user:password@``, a secret-looking query parameter such
as ``?api_key=``) are defined here once: :func:`mask_in_text` masks them in free text (the log
redaction of ``bot.operations.logs`` applies it to every record) and :func:`is_secret_param` is
what the
fetcher's :func:`~bot.sources.http.safe_url` masks.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

MASK = "***"
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s?#@]*@")
# A query parameter whose name contains one of these is a credential (``api_key``, ``token``).
SECRET_PARAM_WORDS = (
    "key",
    "token",
    "secret",
    "password",
    "passwd",
    "pwd",
    "auth",
    "sig",
    "session",
    "sid",
)
_SECRET_PARAM = re.compile(
    r"(?i)([?&;][^=&;#\s'\"<>]*(?:" + "|".join(SECRET_PARAM_WORDS) + r")[^=&;#\s'\"<>]*=)"
    r"[^&;#\s'\"<>]+"
)


def is_secret_param(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in SECRET_PARAM_WORDS)


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
    """Every ``scheme://user:password@`` and secret-looking query value in free text masked."""
    return _SECRET_PARAM.sub(rf"\1{MASK}", _USERINFO.sub(rf"\1{MASK}@", text))
