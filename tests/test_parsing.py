"""Slash-command text to a request (``handlers.parsing``): phrases, options, schedule words."""

from __future__ import annotations

import pytest

from handlers import parse_text
from handlers.parsing import peel_schedule_words, schedule_attempt, split_words


def test_trailing_schedule_words_are_peeled_off_a_topic() -> None:
    words = ["ukraine", "grain", "deal", "weekdays", "09:00", "Europe/Kyiv", "22:00-07:00"]
    rest, found = peel_schedule_words(words)
    assert rest == ["ukraine", "grain", "deal"]
    assert found == {
        "schedule": "weekdays 09:00",
        "timezone": "Europe/Kyiv",
        "quiet": "22:00-07:00",
    }
    assert peel_schedule_words(["daily", "mail"]) == (["daily", "mail"], {})
    rest, found = peel_schedule_words(["nasa", "0", "8", "*", "*", "1-5"])
    assert rest == ["nasa"] and found == {"schedule": "0 8 * * 1-5"}


@pytest.mark.parametrize(
    ("text", "schedule"),
    [
        ("ukraine every tuesday", "every tuesday"),
        ("ukraine every day", "every day"),
        ("grain deal at 9am", "at 9am"),
        ("ukraine on mondays", "on mondays"),
        ("ukraine weekly", "weekly"),
        ("ukraine daily 25:00", "daily 25:00"),
        ("ukraine 9:30", "9:30"),
        ("nasa 0 25 * * *", "0 25 * * *"),
        ("ukraine every tuesday daily 08:00", "every tuesday daily 08:00"),
    ],
)
def test_trailing_words_that_try_to_be_a_schedule_become_the_schedule_option(
    text: str, schedule: str
) -> None:
    command, args = parse_text(f"subscribe {text}")
    assert command == "subscribe"
    assert args["schedule"] == schedule
    assert args["topic"] == text[: -len(schedule)].strip()


@pytest.mark.parametrize(
    "topic",
    [
        "super tuesday",
        "covid 19",
        "daily mail",
        "election day",
        "black friday sales",
        "g 20 summit",
        "ac/dc tour",
        "war on terror",
        "news of the week",
        '"super tuesday at noon"',
    ],
)
def test_topic_words_that_only_look_like_schedule_words_stay_in_the_topic(topic: str) -> None:
    assert parse_text(f"subscribe {topic}") == ("subscribe", {"topic": topic})


def test_a_misspelt_zone_is_the_time_zone_option_and_a_slash_word_is_not() -> None:
    assert parse_text("subscribe ukraine daily 08:00 Europe/Pariss") == (
        "subscribe",
        {"topic": "ukraine", "schedule": "daily 08:00", "timezone": "Europe/Pariss"},
    )
    assert parse_text("subscribe ac/dc") == ("subscribe", {"topic": "ac/dc"})


def test_an_attempt_keeps_one_word_of_topic() -> None:
    assert schedule_attempt(["ukraine", "every", "tuesday"]) == 1
    assert schedule_attempt(["every", "tuesday"]) is None
    assert schedule_attempt(["weekly"]) is None
    assert parse_text("subscribe weekly") == ("subscribe", {"topic": "weekly"})


def test_quotes_keep_phrases_and_delimit_option_values() -> None:
    assert split_words('search "peace talks" AND kyiv') == [
        "search",
        '"peace talks"',
        "AND",
        "kyiv",
    ]
    assert split_words("search “peace talks”") == ["search", '"peace talks"']
    assert split_words("search Trump's call") == ["search", "Trump's", "call"]
    assert split_words('search "unbalanced') == ["search", '"unbalanced']
    assert parse_text('sources add https://x.example/f filter="a AND b"') == (
        "sources",
        {"action": "add", "url": "https://x.example/f", "filter": "a AND b"},
    )
