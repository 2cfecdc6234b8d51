"""A folder of article files (the seed corpus): every matching file, in name order."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from bot.models import IngestWarning
from bot.sources import Item, SourceContext, detect_kind, reader_for


def folder_files(folder: Path, patterns: list[str]) -> list[Path]:
    found: set[Path] = set()
    for pattern in patterns:
        found.update(p for p in folder.rglob(pattern) if p.is_file())
    return sorted(p for p in found if not p.name.endswith(".meta.json") and p.name[0] != ".")


async def read_folder(locator: str, ctx: SourceContext) -> AsyncIterator[Item]:
    folder = Path(locator)
    files = folder_files(folder, ctx.settings.seeds.patterns)
    if not files:
        yield IngestWarning(str(folder), "no article files in folder")
        return
    for path in files:
        kind = detect_kind(str(path))
        async for item in reader_for(kind)(str(path), ctx):
            yield item
