"""JSONL archives: one ``{"id","title","text","url","source","published"}`` object a line.

Read as a stream in file order (constant memory); a bad line is one warning naming
``file:line`` and the rest of the file still goes through.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from bot.models import IngestWarning, RawArticle
from bot.sources import Item, SourceContext
from bot.text.dates import parse_datetime

_OPTIONAL_STR = ("url", "source", "published", "summary")


def parse_archive_line(line: str, where: str) -> RawArticle | IngestWarning:
    """Validate one JSONL line into a RawArticle, or say what was wrong with it."""
    try:
        obj: Any = json.loads(line)
    except json.JSONDecodeError as exc:
        return IngestWarning(where, f"invalid JSON ({exc.msg} at column {exc.colno})")
    if not isinstance(obj, dict):
        return IngestWarning(where, f"expected a JSON object, got {type(obj).__name__}")
    title, text = obj.get("title"), obj.get("text")
    if not isinstance(title, str) or not title.strip():
        return IngestWarning(where, "missing or empty 'title'")
    if not isinstance(text, str) or not text.strip():
        return IngestWarning(where, "missing or empty 'text'")
    ext_id = obj.get("id")
    if ext_id is not None and not isinstance(ext_id, str | int):
        return IngestWarning(where, "'id' must be a string or an integer")
    for key in _OPTIONAL_STR:
        if obj.get(key) is not None and not isinstance(obj[key], str):
            return IngestWarning(where, f"'{key}' must be a string")
    published = None
    if obj.get("published"):
        published = parse_datetime(obj["published"])
        if published is None:
            return IngestWarning(where, f"'published' is not a date: {obj['published'][:40]!r}")
    return RawArticle(
        title=title,
        text=text,
        origin=where,
        url=obj.get("url") or None,
        ext_id=str(ext_id) if ext_id is not None and str(ext_id).strip() else None,
        outlet=obj.get("source") or None,
        published=published,
        summary_raw=obj.get("summary"),
    )


def _open_batches(path: Path, batch_bytes: int = 1 << 20) -> Iterator[list[bytes]]:
    """Lines of ``path`` in batches of about ``batch_bytes`` (constant memory)."""
    with path.open("rb") as fh:
        while batch := fh.readlines(batch_bytes):
            yield batch


async def read_jsonl(locator: str, ctx: SourceContext) -> AsyncIterator[Item]:
    path = Path(locator)
    try:
        size = (await asyncio.to_thread(path.stat)).st_size
        batches = await asyncio.to_thread(_open_batches, path)
    except OSError as exc:
        yield IngestWarning(str(path), f"cannot read file: {exc.strerror or exc}")
        return
    if size == 0:
        yield IngestWarning(str(path), "empty file")
        return
    lineno = 0
    done = object()
    while True:
        try:
            batch = await asyncio.to_thread(next, batches, done)
        except OSError as exc:
            yield IngestWarning(f"{path}:{lineno + 1}", f"cannot read file: {exc.strerror or exc}")
            return
        if batch is done:
            return
        assert isinstance(batch, list)
        for raw in batch:
            lineno += 1
            if ctx.progress:
                ctx.progress(str(path), len(raw), size)
            if not raw.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                line = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                yield IngestWarning(where, f"not UTF-8 text (byte {exc.start})")
                continue
            yield parse_archive_line(line, where)
