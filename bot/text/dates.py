"""Date parsing for metadata fields: ISO 8601, RFC 2822 and common free forms, always UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from dateutil import parser as dateutil_parser


def parse_datetime(value: str) -> datetime | None:
    """Parse a timestamp; naive values are taken as UTC. ``None`` when it is not a date."""
    value = value.strip()
    if not value:
        return None
    dt: datetime | None = None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            dt = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            try:
                dt = dateutil_parser.parse(value)
            except (ValueError, OverflowError):
                return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)
