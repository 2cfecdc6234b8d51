"""Sources: where articles come from. Each reader yields RawArticle or IngestWarning items.

To add a source type: write a reader ``async def read_x(locator, ctx) -> AsyncIterator[Item]`` in
a module here and register it in :data:`READERS` with a detector in :func:`detect_kind`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from bot.models import IngestWarning, RawArticle
from bot.settings import Settings
from bot.sources.retrieve import NO_VALIDATORS, FetchOutcome, Validators

Item = RawArticle | IngestWarning
Progress = Callable[[str, int, int | None], None]
"""progress(task_label, advance, total): advance by units (bytes or items) of a known total."""


@dataclass(slots=True)
class SourceContext:
    """What a reader is given, and (``fetched``) what a feed URL's fetch got."""

    settings: Settings
    progress: Progress | None = None
    validators: Validators = NO_VALIDATORS  # sent with a feed URL's conditional GET
    fetched: FetchOutcome | None = None  # set by the feed reader for a URL


Reader = Callable[[str, SourceContext], AsyncIterator[Item]]

FEED_SUFFIXES = {".xml", ".rss", ".atom", ".rdf", ".json"}
TEXT_SUFFIXES = {".txt", ".md", ".text"}
ARCHIVE_SUFFIXES = {".jsonl", ".ndjson"}


def is_url(locator: str) -> bool:
    return locator.lower().startswith(("http://", "https://"))


def detect_kind(locator: str) -> str:
    """``feed`` (URL or feed file), ``archive`` (JSONL), ``text`` (article file) or ``folder``."""
    if is_url(locator):
        return "feed"
    path = Path(locator)
    if path.is_dir():
        return "folder"
    suffix = path.suffix.lower()
    if suffix in ARCHIVE_SUFFIXES:
        return "archive"
    if suffix in FEED_SUFFIXES:
        return "feed"
    if suffix in TEXT_SUFFIXES:
        return "text"
    return _sniff(path)


def _sniff(path: Path) -> str:
    try:
        with path.open("rb") as fh:
            head = fh.read(512).lstrip(b"\xef\xbb\xbf \t\r\n")
    except OSError:
        return "text"  # the text reader reports the unreadable file
    if head.startswith(b"<"):
        return "feed"
    if head.startswith(b"{"):
        return "archive"
    return "text"


def reader_for(kind: str) -> Reader:
    from bot.sources import archive, feedsource, folder, textfile

    readers: dict[str, Reader] = {
        "text": textfile.read_text_file,
        "archive": archive.read_jsonl,
        "feed": feedsource.read_feed,
        "folder": folder.read_folder,
    }
    return readers[kind]
