"""How a statement's time reads in a digest, the same way on every platform.

- The year is shown when it is not the digest's year (1998 and 1999 must not read as a week
  apart).
- A date-only source (no time of day: stored at exactly 00:00:00 UTC) shows its date, no 00:00.
- An undated statement (the outlet gave no time: its time is when newsbot first saw it) reads
  "undated, first seen …".
- Discord gets ``<t:EPOCH:f>`` (shown in the reader's own time zone); Slack gets
  ``<!date^EPOCH^{date_short_pretty} {time}|fallback>``, the fallback being the plain text. A date
  has no time zone, so a date-only time stays plain text on every platform.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.digest.model import StatementRef

UNDATED = "undated, first seen "


def is_date_only(when: datetime) -> bool:
    """A time that carries only a date (the source gave no time of day)."""
    t = when.astimezone(UTC)
    return (t.hour, t.minute, t.second, t.microsecond) == (0, 0, 0, 0)


def plain(when: datetime, now: datetime) -> str:
    """``06 May 08:00 UTC``, ``06 May 1998 08:00 UTC``, or ``06 May 1998`` for a date."""
    t = when.astimezone(UTC)
    day = f"{t.day:02d} {t:%b}" + ("" if t.year == now.astimezone(UTC).year else f" {t.year}")
    return day if is_date_only(t) else f"{day} {t:%H:%M} UTC"


def when_text(published: datetime, dated: bool, now: datetime) -> str:
    """A time as plain text, "undated, first seen …" when the outlet gave none."""
    return plain(published, now) if dated else UNDATED + plain(published, now)


def statement_time(s: StatementRef, now: datetime) -> str:
    """A statement's time as plain text (console, fallbacks)."""
    return when_text(s.published, s.dated, now)


def discord_time(s: StatementRef, now: datetime) -> str:
    """A statement's time for Discord: a ``<t:…:f>`` timestamp in the reader's time zone."""
    text = (
        plain(s.published, now)
        if is_date_only(s.published)
        else f"<t:{int(s.published.timestamp())}:f>"
    )
    return text if s.dated else UNDATED + text


def slack_time(s: StatementRef, now: datetime) -> str:
    """A statement's time for Slack: ``<!date^…>`` in the reader's time zone, with the plain
    text as fallback."""
    fallback = plain(s.published, now)
    text = (
        fallback
        if is_date_only(s.published)
        else f"<!date^{int(s.published.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"
    )
    return text if s.dated else UNDATED + text
