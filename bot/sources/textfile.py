"""Plain-text article files (the seed corpus): headline + body saved from a news page.

An optional sidecar ``NAME.meta.json`` may give ``outlet``, ``url``, ``published`` and ``title``.
Without one, the outlet is the one the text names (a desk or agency byline, "By NAME, OUTLET",
a wire dateline "(AP) --", a closing credit "— Reuters", "Distributed by …", a copyright
line), else the file's name (``000_b00dc54c.txt``, so it reads as a file, not an outlet).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

from bot.models import IngestWarning, RawArticle
from bot.sources import Item, SourceContext
from bot.text.dates import parse_datetime


def decode_text(data: bytes) -> str | None:
    """Decode article bytes as UTF-8 (BOM ok) or cp1252; ``None`` for binary content."""
    if b"\x00" in data[:8192]:
        return None
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        controls = sum(1 for ch in text[:8192] if ord(ch) < 32 and ch not in "\t\r\n\f")
        if controls > max(4, len(text[:8192]) // 100):
            return None
        return text
    return None


async def read_text_file(locator: str, ctx: SourceContext) -> AsyncIterator[Item]:
    from bot.text.article_text import parse_text_article

    path = Path(locator)
    try:
        data = await asyncio.to_thread(path.read_bytes)
    except OSError as exc:
        yield IngestWarning(str(path), f"cannot read file: {exc.strerror or exc}")
        return
    if not data.strip():
        yield IngestWarning(str(path), "empty file")
        return
    text = decode_text(data)
    if text is None:
        yield IngestWarning(str(path), "binary file, not article text")
        return
    parsed = parse_text_article(text)
    if not parsed.title or not parsed.body.strip():
        yield IngestWarning(str(path), "no headline and body found")
        return
    meta = _sidecar(path)
    if isinstance(meta, IngestWarning):
        yield meta
        meta = {}
    published = parsed.dateline
    if meta.get("published"):
        published = parse_datetime(str(meta["published"])) or published
    yield RawArticle(
        title=str(meta.get("title") or parsed.title),
        text=parsed.body,
        origin=str(path),
        url=meta.get("url"),
        ext_id=path.stem,
        outlet=meta.get("outlet") or parsed.byline_outlet or path.name,
        published=published,
    )
    if ctx.progress:
        ctx.progress(str(path.parent), 1, None)


def _sidecar(path: Path) -> dict[str, str] | IngestWarning:
    meta_path = path.with_name(path.name + ".meta.json")
    if not meta_path.exists():
        return {}
    try:
        data = json.loads(meta_path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        return IngestWarning(str(meta_path), f"ignored unreadable metadata: {exc}")
    if not isinstance(data, dict):
        return IngestWarning(str(meta_path), "ignored metadata: expected a JSON object")
    return {k: str(v) for k, v in data.items() if v is not None}
