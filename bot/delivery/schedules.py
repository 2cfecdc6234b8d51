"""Digest schedules: presets or cron, in the subscriber's time zone, with quiet hours.

Accepted schedules (case-insensitive)::

    hourly                 every hour at :00         (``hourly :30`` at half past)
    daily [HH:MM]          every day (default 08:00)
    weekdays [HH:MM]       Monday to Friday
    weekends [HH:MM]       Saturday and Sunday
    weekly DAY [HH:MM]     one day a week, e.g. ``weekly mon 09:00``
    0 8 * * 1-5            a standard 5-field crontab line (0 or 7 = Sunday)

Times are wall-clock times in the subscription's IANA time zone (``zoneinfo``; the ``tzdata``
package supplies the zone database where the OS has none), so ``daily 08:00`` in
Europe/Paris stays at 08:00 across daylight-saving changes. Quiet hours (``22:00-07:00``)
postpone a digest that falls inside them to their end; the digests skipped that way become one.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.errors import UserError
from bot.operations.jobs import DeferringTrigger, crontab_trigger, fire_times

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CRON_DOW = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")  # crontab 0..7
_TIME_RE = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*(am|pm)?$", re.IGNORECASE)
_QUIET_RE = re.compile(r"^\s*(\d{1,2}(?::\d{2})?)\s*-\s*(\d{1,2}(?::\d{2})?)\s*$")
_DAY_ALIASES = {d: d for d in DAYS} | {
    "monday": "mon",
    "tuesday": "tue",
    "tues": "tue",
    "wednesday": "wed",
    "thursday": "thu",
    "thur": "thu",
    "thurs": "thu",
    "friday": "fri",
    "saturday": "sat",
    "sunday": "sun",
}
PRESET_WORDS = ("hourly", "daily", "weekdays", "weekends", "weekly")
DEFAULT_TIME = time(8, 0)


def _parse_time(text: str) -> time:
    m = _TIME_RE.match(text.strip())
    if not m:
        raise UserError(f"{text!r} is not a time such as 08:00")
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    if m.group(3):
        if not 1 <= hour <= 12:
            raise UserError(f"{text!r} is not a time such as 08:00")
        hour = hour % 12 + (12 if m.group(3).lower() == "pm" else 0)
    if hour > 23 or minute > 59:
        raise UserError(f"{text!r} is not a time such as 08:00")
    return time(hour, minute)


def _dow_field(field: str) -> str:
    """A crontab day-of-week field (0 or 7 = Sunday) as day names, which APScheduler 3 reads
    unambiguously (its own numbers start at Monday)."""
    out: list[str] = []
    for part in field.lower().split(","):
        body, _, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() else 1
        if step_text and not step_text.isdigit():
            raise ValueError(f"bad step in {field!r}")
        if body == "*":
            lo, hi = 0, 6
        elif "-" in body:
            a, b = body.split("-", 1)
            lo, hi = _dow_number(a), _dow_number(b)
            if hi == 0:
                hi = 7
        else:
            lo = hi = _dow_number(body)
            if step_text:
                hi = 6
        if lo > hi:
            raise ValueError(f"bad day range in {field!r}")
        for n in range(lo, hi + 1, step):
            name = _CRON_DOW[n]
            if name not in out:
                out.append(name)
    return ",".join(out) if len(out) < 7 else "*"


def _dow_number(token: str) -> int:
    if token.isdigit() and 0 <= int(token) <= 7:
        return int(token)
    name = _DAY_ALIASES.get(token)
    if name is None:
        raise ValueError(f"bad day of week {token!r}")
    return _CRON_DOW.index(name)


@dataclass(frozen=True, slots=True)
class Schedule:
    """A parsed schedule: ``text`` is its canonical form, ``crontab`` what the trigger runs."""

    text: str
    crontab: str

    def __str__(self) -> str:
        return self.text


def parse_schedule(text: str | None, default: str = "daily 08:00") -> Schedule:
    """Parse a preset or crontab line; raises :class:`UserError` with the accepted forms."""
    raw = " ".join((text or default).split()).lower()
    words = raw.split(" ")
    try:
        schedule = _parse_words(words)
        crontab_trigger(schedule.crontab, UTC)  # validates every field
    except (ValueError, UserError) as exc:
        raise UserError(
            f"bad schedule {text!r} ({exc}): use hourly, 'daily 08:00', 'weekdays 09:00', "
            "'weekly mon 09:00' or a cron line such as '0 8 * * 1-5'"
        ) from None
    return schedule


def _parse_words(words: list[str]) -> Schedule:
    head, rest = words[0], words[1:]
    if head == "hourly":
        minute = 0
        if rest:
            if len(rest) > 1 or not re.fullmatch(r":?\d{1,2}", rest[0]):
                raise ValueError("hourly takes a minute such as :30")
            minute = int(rest[0].lstrip(":"))
            if minute > 59:
                raise ValueError("minute out of range")
        return Schedule("hourly" if minute == 0 else f"hourly :{minute:02d}", f"{minute} * * * *")
    if head in ("daily", "weekdays", "weekends"):
        if len(rest) > 1:
            raise ValueError(f"{head} takes one time")
        at = _parse_time(rest[0]) if rest else DEFAULT_TIME
        dow = {"daily": "*", "weekdays": "mon-fri", "weekends": "sat,sun"}[head]
        return Schedule(f"{head} {at:%H:%M}", f"{at.minute} {at.hour} * * {dow}")
    if head == "weekly":
        if not rest or len(rest) > 2 or rest[0] not in _DAY_ALIASES:
            raise ValueError("weekly takes a day and a time, e.g. weekly mon 09:00")
        day = _DAY_ALIASES[rest[0]]
        at = _parse_time(rest[1]) if len(rest) > 1 else DEFAULT_TIME
        return Schedule(f"weekly {day} {at:%H:%M}", f"{at.minute} {at.hour} * * {day}")
    if len(words) == 5:
        crontab = " ".join([*words[:4], _dow_field(words[4])])
        return Schedule(" ".join(words), crontab)
    raise ValueError("unknown form")


def parse_timezone(name: str | None, default: str = "UTC") -> ZoneInfo:
    value = (name or default).strip()
    if value.upper() in ("UTC", "Z", "GMT"):
        value = "UTC"
    if not value or ".." in value or value.startswith("/"):
        raise UserError(f"unknown time zone {name!r}: use an IANA name such as Europe/Paris")
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        match = _zone_names_casefold().get(value.casefold())
        if match:
            return ZoneInfo(match)
        raise UserError(
            f"unknown time zone {name!r}: use an IANA name such as Europe/Paris"
        ) from None


@functools.cache
def _zone_names_casefold() -> dict[str, str]:
    return {z.casefold(): z for z in available_timezones()}


@dataclass(frozen=True, slots=True)
class QuietHours:
    start: time
    end: time

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    def contains(self, local: time) -> bool:
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def defer(self, when: datetime, tz: ZoneInfo) -> datetime:
        """``when`` if outside quiet hours, else the end of the quiet window it falls in."""
        local = when.astimezone(tz)
        wall = local.time().replace(tzinfo=None)
        if not self.contains(wall):
            return when
        end_day = local.date()
        if self.start > self.end and wall >= self.start:
            end_day += timedelta(days=1)
        end = datetime.combine(end_day, self.end, tzinfo=tz)
        return end.astimezone(when.tzinfo or UTC)


def parse_quiet(text: str | None) -> QuietHours | None:
    if not text or not text.strip() or text.strip().lower() in ("none", "off", "-"):
        return None
    m = _QUIET_RE.match(text)
    if not m:
        raise UserError(f"bad quiet hours {text!r}: use a range such as 22:00-07:00")
    start, end = _parse_time(m.group(1)), _parse_time(m.group(2))
    if start == end:
        raise UserError(f"bad quiet hours {text!r}: start and end are the same")
    return QuietHours(start, end)


@dataclass(frozen=True)
class Timing:
    """When one subscription's digests are due."""

    schedule: Schedule
    tz: ZoneInfo
    quiet: QuietHours | None = None

    @classmethod
    def parse(cls, schedule: str | None, tz: str | None, quiet: str | None = None) -> Timing:
        return cls(parse_schedule(schedule), parse_timezone(tz), parse_quiet(quiet))

    @cached_property
    def trigger(self) -> DeferringTrigger:
        quiet = self.quiet
        tz = self.tz
        return DeferringTrigger(
            crontab_trigger(self.schedule.crontab, tz),
            (lambda when: quiet.defer(when, tz)) if quiet else (lambda when: when),
        )

    def next_fires(self, after: datetime, count: int = 1) -> list[datetime]:
        """The next ``count`` times a digest is due strictly after ``after`` (aware, in UTC)."""
        return [t.astimezone(UTC) for t in fire_times(self.trigger, after, limit=count)]

    def next_fire(self, after: datetime) -> datetime | None:
        times = self.next_fires(after, 1)
        return times[0] if times else None

    def last_fire(self, now: datetime, *, not_before: datetime | None = None) -> datetime | None:
        """The latest due time at or before ``now`` (and after ``not_before``), or None."""
        for span in (
            timedelta(hours=2),
            timedelta(days=2),
            timedelta(days=9),
            timedelta(days=40),
            timedelta(days=400),
        ):
            start = now - span
            if not_before is not None and start < not_before:
                start = not_before
            last: datetime | None = None
            prev = start
            while True:
                nxt = self.next_fire(prev)
                if nxt is None or nxt > now:
                    break
                last, prev = nxt, nxt
            if last is not None or (not_before is not None and start == not_before):
                return last
        return None

    def describe(self) -> str:
        quiet = f", quiet {self.quiet}" if self.quiet else ""
        return f"{self.schedule} {self.tz.key}{quiet}"


def is_timezone(token: str) -> bool:
    if "/" not in token and token.upper() not in ("UTC", "GMT"):
        return False
    try:
        parse_timezone(token)
    except UserError:
        return False
    return True
