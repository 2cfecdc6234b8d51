"""Platform-neutral data model shared by ingest, storage, stories and digests.

Nothing here imports a chat SDK; adapters translate these into their own shapes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (one place to patch in tests)."""
    return datetime.now(UTC)


@dataclass(slots=True)
class RawArticle:
    """One article as a source produced it, before cleaning and deduplication.

    ``origin`` names where it came from (``file:line`` or feed URL) for warnings;
    ``backfill`` marks an old item (a feed's first fetch, a stale one) that digests skip.
    """

    title: str
    text: str
    origin: str
    url: str | None = None
    guid: str | None = None
    ext_id: str | None = None
    outlet: str | None = None
    published: datetime | None = None
    summary_raw: str | None = None
    is_html: bool = False
    source_id: int | None = None
    backfill: bool = False


@dataclass(slots=True)
class Article:
    """A cleaned article ready to store (or already stored when ``id`` is set)."""

    ext_id: str
    title: str
    text: str
    outlet: str
    published_at: datetime
    first_seen_at: datetime
    content_hash: str
    url: str | None = None
    canonical_url: str | None = None
    guid: str | None = None
    summary_raw: str | None = None
    source_id: int | None = None
    origin: str = ""
    id: int | None = None
    duplicate_of: int | None = None
    story_id: int | None = None
    dated: bool = True  # False: the source gave no time; published_at is the first-seen time
    backfill: bool = False  # old when it arrived: stored, never news in a digest


@dataclass(slots=True)
class Story:
    id: int
    public_id: str
    title: str
    terms: list[str]
    first_seen_at: datetime
    last_seen_at: datetime
    article_count: int
    outlets: list[str] = field(default_factory=list)
    active: bool = True


@dataclass(slots=True)
class IngestWarning:
    """One bad input: ``where`` is ``file:line`` or a URL, ``message`` says what was wrong."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass(slots=True)
class IngestReport:
    """What one ingest call did; the CLI turns this into output and an exit code."""

    seen: int = 0
    stored: int = 0
    duplicates: int = 0
    unchanged: int = 0
    backfill: int = 0  # of the stored and duplicates, those stored as backfill
    warnings: list[IngestWarning] = field(default_factory=list)

    def merge(self, other: IngestReport) -> None:
        self.seen += other.seen
        self.stored += other.stored
        self.duplicates += other.duplicates
        self.unchanged += other.unchanged
        self.backfill += other.backfill
        self.warnings.extend(other.warnings)
