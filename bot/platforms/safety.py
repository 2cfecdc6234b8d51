"""Output safety shared by renderers: links only http(s), shown with their real host."""

from __future__ import annotations

from urllib.parse import urlsplit


def safe_url(url: str | None) -> str | None:
    """The URL when it is an absolute http(s) URL with a host, else ``None``."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    if any(ch in url for ch in "\r\n\t <>\"'`"):
        return None
    return url.strip()


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").removeprefix("www.")


def clip(text: str, limit: int) -> str:
    """Cut ``text`` to at most ``limit`` characters at a word boundary, marking the cut."""
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit - 1)
    if cut < limit // 2:
        cut = limit - 1
    return text[:cut].rstrip() + "…"
