"""Slash-command text to a command and its options, for every platform that sends text.

Slack's ``/news subscribe "ukraine election" daily 08:00 Europe/Paris`` and the console's
commands are parsed here, once; an adapter only undoes its platform's own escaping first
(Slack's ``&amp;`` and ``<https://…>``). Discord sends typed options and never gets here, but
the values meet the same handlers, so a bad schedule reads the same on both.

For ``subscribe``/``follow``, trailing schedule words are peeled off the topic
(:func:`peel_schedule_words`). Trailing words that *try* to be a schedule and are not one
("every tuesday", "at 9am", "weekly", "daily 25:00", "Europe/Pariss") are not silently left
in the topic: they become the schedule (or time zone) option, which the handler rejects with
the error Discord gives for the same value. Quote a topic to keep such words in it:
``/news subscribe "super tuesday at noon"``. ``thread:story`` (or ``thread=story``) sets the
thread option, as Discord's ``thread:`` option does.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence

from bot.delivery.schedules import PRESET_WORDS, is_timezone, parse_schedule
from bot.errors import UserError
from handlers.base import CommandSpec

SCHEDULED_COMMANDS = ("subscribe", "follow")
_THREAD_WORD = "thread:"  # subscribe/follow: ``thread:digest`` or ``thread:story`` anywhere

_PHRASE_RE = re.compile(r'"[^"]*\s[^"]*"')
_BARE_QUOTE_RE = re.compile(r'(?<!\\)"')
_SMART_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'"})
_CRON_FIELD_RE = re.compile(r"[\d*/,-]+")
_QUIET_RE = re.compile(r"^\s*\d{1,2}(?::\d{2})?\s*-\s*\d{1,2}(?::\d{2})?\s*$")

# Words that start an attempt at a schedule: "every tuesday", "each morning", "at 9am",
# "on mondays".
_LEADS = frozenset({"every", "each", "at", "on"})
# A clock time written as one: "08:00", "9am", "9:30pm", "noon" (a bare number is not one:
# "covid 19").
_CLOCK_RE = re.compile(
    r"^(?:\d{1,2}:\d{2}(?:\s*[ap]\.?m\.?)?|\d{1,2}\s*[ap]\.?m\.?|noon|midnight)$"
)
_DAYS = frozenset(
    {
        "mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "sun", "monday",
        "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    }
)  # fmt: skip
# Other words a schedule attempt is made of; alone they never make one ("election day").
_SCHEDULE_WORDS = frozenset(
    {
        "day", "days", "week", "weeks", "weekday", "weekend", "hour", "hours", "minute",
        "minutes", "month", "months", "monthly", "morning", "mornings", "evening", "evenings",
        "night", "nights", "afternoon", "afternoons", "am", "pm", "and", "other", "second",
        "twice", "once", "a", "an", "the", "in", "of", "per",
    }
)  # fmt: skip
# The areas of IANA zone names: "Europe/Pariss" is a misspelt zone, "AC/DC" is not one.
_ZONE_AREAS = frozenset(
    {
        "africa", "america", "antarctica", "arctic", "asia", "atlantic", "australia",
        "europe", "indian", "pacific", "etc", "us", "canada", "brazil", "mexico", "chile",
    }
)  # fmt: skip


def split_words(text: str) -> list[str]:
    """Shell-like words: a quoted phrase stays one word *with* its quotes (``search "peace
    talks" AND kyiv`` searches the phrase); smart quotes count as quotes, an apostrophe
    (``Trump's``) and an unbalanced quote are plain characters."""
    text = text.translate(_SMART_QUOTES).strip()
    text = text.replace("\\", "\\\\").replace("'", "\\'")
    text = _PHRASE_RE.sub(_shield, text)
    if len(_BARE_QUOTE_RE.findall(text)) % 2:
        text = _BARE_QUOTE_RE.sub('\\\\"', text)
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def _shield(match: re.Match[str]) -> str:
    return "".join("\\" + c if c.isspace() or c == '"' else c for c in match.group(0))


def looks_like_zone(token: str) -> bool:
    """A word shaped like an IANA zone name (``Area/City``), valid or misspelt."""
    area, sep, rest = token.partition("/")
    return bool(sep and rest) and area.casefold() in _ZONE_AREAS


def _is_schedule_word(token: str) -> bool:
    word = token.casefold().strip(",.")
    return (
        word in _LEADS
        or word in _DAYS
        or word.rstrip("s") in _DAYS
        or word in PRESET_WORDS
        or word in _SCHEDULE_WORDS
        or bool(_CLOCK_RE.match(word))
        or word.lstrip(":").isdigit()
        or bool(_CRON_FIELD_RE.fullmatch(word))
    )


def _starts_schedule(token: str) -> bool:
    word = token.casefold().strip(",.")
    return word in _LEADS or word in PRESET_WORDS or bool(_CLOCK_RE.match(word))


def schedule_attempt(tokens: Sequence[str]) -> int | None:
    """Where trailing words that try to be a schedule begin, or ``None``.

    The tail must consist of schedule words only and begin with a word that starts a
    schedule (``every``, ``at``, a preset such as ``weekly``, or a clock time). At least one
    word of topic is kept before it.
    """
    start: int | None = None
    for i in range(len(tokens) - 1, 0, -1):
        if not _is_schedule_word(tokens[i]):
            break
        if _starts_schedule(tokens[i]):
            start = i
    cron = len(tokens) - 5
    if start is None and cron >= 1 and all(_CRON_FIELD_RE.fullmatch(t) for t in tokens[cron:]):
        start = cron  # five crontab-shaped fields that are not a valid line
    return start


def peel_schedule_words(tokens: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """Split trailing schedule words off a command's words.

    ``["ukraine", "election", "weekdays", "09:00", "Europe/Paris", "22:00-07:00"]`` ->
    ``(["ukraine", "election"], {"schedule": "weekdays 09:00", "timezone": "Europe/Paris",
    "quiet": "22:00-07:00"})``. A trailing attempt at a schedule that is not one
    (:func:`schedule_attempt`) is returned as the schedule all the same, so that it is
    rejected, not kept as topic words; a misspelt zone name likewise. Other words stay in the
    topic ("daily mail", "election day").
    """
    rest = list(tokens)
    found: dict[str, str] = {}
    changed = True
    while rest and changed:
        changed = False
        last = rest[-1]
        zone = is_timezone(last) or (len(rest) > 1 and looks_like_zone(last))
        if "timezone" not in found and zone:
            found["timezone"] = rest.pop()
            changed = True
        elif "quiet" not in found and ":" in last and _QUIET_RE.match(last) and len(rest) > 1:
            found["quiet"] = rest.pop()
            changed = True
        elif "schedule" not in found:
            width = _schedule_width(rest)
            if width:
                found["schedule"] = " ".join(rest[-width:])
                del rest[-width:]
                changed = True
    start = schedule_attempt(rest)
    if start is not None:
        attempt = rest[start:]
        del rest[start:]
        found["schedule"] = " ".join(
            [*attempt, found["schedule"]] if "schedule" in found else attempt
        )
    return rest, found


def _schedule_width(rest: Sequence[str]) -> int:
    """How many trailing words form a valid schedule (0: none), keeping a word of topic."""
    for width in (5, 3, 2, 1):
        if len(rest) <= width:
            continue
        words = rest[-width:]
        candidate = " ".join(words)
        if width == 1 and candidate.lower() not in PRESET_WORDS:
            continue
        if width in (2, 3) and words[0].lower() not in PRESET_WORDS:
            continue
        try:
            parse_schedule(candidate)
        except UserError:
            continue
        return width
    return 0


def parse_text(text: str, commands: Mapping[str, CommandSpec]) -> tuple[str, dict[str, str]]:
    """``subscribe "ukraine election" daily 08:00 Europe/Paris`` -> (command, options).

    Options may be given as ``name=value``; otherwise positional words fill the options in
    order, the last free-text option taking the rest. For subscribe/follow, trailing schedule,
    time zone and quiet hours are recognised (:func:`peel_schedule_words`).
    """
    tokens = split_words(text)
    if not tokens:
        return "help", {}
    command = tokens[0].lower()
    spec = commands.get(command)
    if spec is None:
        return command, {}
    names = {o.name for o in spec.options if not o.file}  # a file is never text
    args: dict[str, str] = {}
    rest: list[str] = []
    for token in tokens[1:]:
        name, sep, value = token.partition("=")
        if sep and name.lower() in names:
            if len(value) > 1 and value[0] == value[-1] == '"':
                value = value[1:-1]  # name="a AND b": the quotes delimit the value
            args[name.lower()] = value
        elif command in SCHEDULED_COMMANDS and token.casefold().startswith(_THREAD_WORD):
            args["thread"] = token[len(_THREAD_WORD) :]  # thread:story, as Discord shows it
        else:
            rest.append(token)
    if command in SCHEDULED_COMMANDS:
        rest, found = peel_schedule_words(rest)
        for name, value in found.items():
            args.setdefault(name, value)
    free = [o for o in spec.options if o.name not in args and not o.file]
    if command in SCHEDULED_COMMANDS:
        free = free[:1]  # the topic / story; schedule and zone were peeled off above
    if command == "sources":
        free = [o for o in free if o.name != "filter"]  # only as filter="...": words go to name
    for i, option in enumerate(free):
        if not rest:
            break
        if i == len(free) - 1 or command == "search":
            args[option.name] = " ".join(rest)
            rest = []
        else:
            args[option.name] = rest.pop(0)
    return command, args


__all__ = [
    "looks_like_zone",
    "parse_text",
    "peel_schedule_words",
    "schedule_attempt",
    "split_words",
]
