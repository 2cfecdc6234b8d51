"""Digest schedules: presets, cron, time zones (DST), quiet hours, and the words of a command."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.delivery.schedules import Timing, parse_quiet, parse_schedule, parse_timezone
from bot.errors import UserError


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_hourly_fires_on_the_hour() -> None:
    t = Timing.parse("hourly", "UTC")
    assert t.next_fires(utc(2024, 5, 1, 10, 15), 3) == [
        utc(2024, 5, 1, 11),
        utc(2024, 5, 1, 12),
        utc(2024, 5, 1, 13),
    ]


def test_daily_preset_is_wall_clock_time_in_the_subscribers_zone_across_dst() -> None:
    t = Timing.parse("daily 08:00", "Europe/Paris")
    # Paris leaves winter time on 31 March 2024: 08:00 is 07:00 UTC before, 06:00 UTC after.
    assert t.next_fires(utc(2024, 3, 30, 12), 2) == [utc(2024, 3, 31, 6), utc(2024, 4, 1, 6)]
    assert t.next_fire(utc(2024, 3, 29, 12)) == utc(2024, 3, 30, 7)


def test_weekdays_preset_skips_the_weekend() -> None:
    t = Timing.parse("weekdays 09:00", "America/New_York")
    fires = t.next_fires(utc(2024, 5, 3, 14), 2)  # Friday 10:00 in New York
    assert [f.astimezone(t.tz).strftime("%a %H:%M") for f in fires] == ["Mon 09:00", "Tue 09:00"]


def test_cron_day_of_week_follows_crontab_where_zero_is_sunday() -> None:
    t = Timing.parse("30 7 * * 0", "UTC")
    fire = t.next_fire(utc(2024, 5, 1))
    assert fire == utc(2024, 5, 5, 7, 30) and fire.strftime("%a") == "Sun"
    assert Timing.parse("0 8 * * 1-5", "UTC").next_fire(utc(2024, 5, 4)) == utc(2024, 5, 6, 8)


def test_quiet_hours_postpone_a_digest_to_their_end_and_merge_the_skipped_ones() -> None:
    t = Timing.parse("hourly", "Europe/Berlin", "22:00-07:00")
    fires = t.next_fires(utc(2024, 6, 1, 18, 30), 3)  # 20:30 in Berlin (UTC+2)
    local = [f.astimezone(t.tz).strftime("%d %H:%M") for f in fires]
    assert local == ["01 21:00", "02 07:00", "02 08:00"]


def test_a_daily_digest_inside_quiet_hours_moves_to_their_end() -> None:
    t = Timing.parse("daily 06:30", "UTC", "06:00-08:00")
    assert t.next_fire(utc(2024, 1, 1)) == utc(2024, 1, 1, 8)


def test_last_fire_is_the_latest_due_time_not_before_a_bound() -> None:
    t = Timing.parse("daily 08:00", "UTC")
    assert t.last_fire(utc(2024, 1, 10, 12)) == utc(2024, 1, 10, 8)
    assert t.last_fire(utc(2024, 1, 10, 12), not_before=utc(2024, 1, 10, 8)) is None
    assert Timing.parse("weekly mon 09:00", "UTC").last_fire(utc(2024, 1, 10)) == utc(2024, 1, 8, 9)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("Daily", "daily 08:00"),
        ("daily 7:05", "daily 07:05"),
        ("weekly Friday 5pm", "weekly fri 17:00"),
        ("hourly :30", "hourly :30"),
        ("weekends 10:00", "weekends 10:00"),
    ],
)
def test_presets_have_a_canonical_form(text: str, canonical: str) -> None:
    assert parse_schedule(text).text == canonical


@pytest.mark.parametrize("text", ["daily 25:00", "sometimes", "* * *", "61 * * * *", "weekly 9"])
def test_a_bad_schedule_is_a_user_error_naming_the_accepted_forms(text: str) -> None:
    with pytest.raises(UserError, match="daily 08:00"):
        parse_schedule(text)


def test_time_zones_are_iana_names_case_insensitively() -> None:
    assert parse_timezone("europe/paris").key == "Europe/Paris"
    with pytest.raises(UserError):
        parse_timezone("Mars/Olympus")
    with pytest.raises(UserError):
        parse_quiet("22-22")
