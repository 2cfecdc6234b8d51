"""How datetimes are stored: ISO 8601 UTC text (whole seconds), so text order is time order."""

from __future__ import annotations

from datetime import UTC, datetime


def to_iso(dt: datetime) -> str:
    """Datetimes are stored as ISO 8601 UTC text, so text order is time order."""
    return dt.astimezone(UTC).isoformat(timespec="seconds")


def from_iso(text: str) -> datetime:
    return datetime.fromisoformat(text)
