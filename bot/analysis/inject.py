"""Conflict injection for evaluating :func:`bot.analysis.conflicts.find_conflicts`.

Takes real sentences and makes a modified copy with one fact changed (a figure, a count of
any unit — days, years, percent, countries, people —, a date, a weekday, a named actor
swapped, a negation added or removed), the way a disagreeing report would. Deterministic for
a given seed.
"""

from __future__ import annotations

import calendar
import random
import re
from dataclasses import dataclass, replace

from bot.analysis import Statement
from bot.analysis.slots import MONTHS, WEEKDAYS, extract_slots, spelled_number, tokenize

KINDS = ("figure", "count", "date", "weekday", "actor", "negation")
_OTHER_NAMES = (
    "Maria Delgado", "Peter Lindqvist", "Amina Okafor", "Henrik Vos", "Lucia Ferraro",
    "Tomasz Nowak", "Kenji Arakawa", "Sofia Marquez", "Omar Haddad", "Ingrid Solberg",
)  # fmt: skip
_DAY_NAMES = [d.capitalize() for d in sorted(WEEKDAYS, key=WEEKDAYS.__getitem__)]
_AUX = re.compile(
    r"\b(is|are|was|were|has|have|had|will|would|can|could|should|did|does)\s+(?!not\b|n't\b)(?=[a-z])"
)
_NEG = re.compile(r"\b(is|are|was|were|has|have|had|will|would|can|could|should|did|does) not\b")
_PERSON = re.compile(r"(?<=[a-z,] )([A-Z][a-z]+ [A-Z][a-z]{2,})\b(?! [A-Z])")


@dataclass(frozen=True, slots=True)
class Injection:
    kind: str
    original: Statement
    modified: Statement


def _figure(text: str, rng: random.Random) -> str | None:
    for slot in extract_slots(text):
        if slot.kind != "quantity" or slot.low != slot.high:
            continue
        match = re.search(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?", slot.text)
        if not match or re.fullmatch(r"(19|20)\d\d", match.group(0)):
            continue
        raw = match.group(0)
        value = float(raw.replace(",", ""))
        new = value * rng.choice((1.5, 2.0, 3.0, 0.5)) + rng.choice((1, 2, 3))
        shown = (
            f"{new:,.0f}"
            if "," in raw
            else f"{new:.{len(raw.split('.')[1])}f}"
            if "." in raw
            else f"{new:.0f}"
        )
        if shown == raw:
            return None
        for found in re.finditer(rf"(?<![\d,.:]){re.escape(raw)}(?![\d:]|,\d)", text):
            before = text[: found.start()].rstrip().split()[-1:]
            if not before or before[0].lower().rstrip(".") not in MONTHS:
                return text[: found.start()] + shown + text[found.end() :]
        return None
    return None


def _count(text: str, rng: random.Random) -> str | None:
    """Another count of the same unit: "for three days" -> "for five days", "12 percent" ->
    "25 percent", "seven countries" -> "four countries" (numbers in words stay words)."""
    toks = tokenize(text)
    options = []
    for slot in extract_slots(text, toks):
        if slot.kind not in ("quantity", "duration") or slot.end - slot.start > 3:
            continue
        if slot.kind == "quantity" and slot.what in ("number", "year"):
            continue  # a bare number: no unit to count
        first = toks[slot.start]
        if re.fullmatch(r"\d{1,3}", first) or spelled_number(first) is not None:
            options.append(slot)
    if not options:
        return None
    slot = rng.choice(options)
    first = tokenize(slot.text)[0]
    spelled = spelled_number(first)
    if spelled is not None:
        choices = [w for w in _SPELLED if w != first.lower() and _SPELLED[w] != spelled]
        new = rng.choice(choices)
        new = new.capitalize() if first[0].isupper() else new
    else:
        value = int(first)
        new = str(value * rng.choice((2, 3)) + rng.choice((1, 2, 3)))
        if re.fullmatch(r"1[89]\d\d|20\d\d", new):  # would read as a year
            new = str(value + rng.choice((1, 2, 3)))
    # replace that occurrence of the slot's first word (the number), nothing else
    pattern = re.compile(rf"(?<![\w.,$£€-]){re.escape(first)}(?![\w,]|\.\d)")
    occurrences = list(pattern.finditer(text))
    if not occurrences:
        return None
    rank = sum(1 for s in extract_slots(text, toks) if s.start < slot.start and
               tokenize(s.text)[:1] == [first])  # fmt: skip
    found = occurrences[min(rank, len(occurrences) - 1)]
    return text[: found.start()] + new + text[found.end() :]


_SPELLED = {
    "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20,
}  # fmt: skip


def _date(text: str, rng: random.Random) -> str | None:
    for slot in extract_slots(text):
        if slot.kind != "date":
            continue
        day = re.search(r"\b(\d{1,2})\b", slot.text)
        if day:
            new_day = (int(day.group(1)) + rng.choice((3, 5, 9)) - 1) % 28 + 1
            new_text = slot.text.replace(day.group(1), str(new_day), 1)
        else:
            month = slot.text.split()[0]
            names = list(calendar.month_name)[1:]
            target = (
                names[(names.index(month.capitalize()) + rng.choice((3, 5))) % 12]
                if month.capitalize() in names
                else None
            )
            if target is None:
                continue
            new_text = slot.text.replace(month, target, 1)
        return text.replace(slot.text, new_text, 1)
    return None


def _weekday(text: str, rng: random.Random) -> str | None:
    for day in _DAY_NAMES:
        if re.search(rf"\b{day}\b", text):
            other = _DAY_NAMES[(_DAY_NAMES.index(day) + rng.choice((1, 2, 3))) % 7]
            return re.sub(rf"\b{day}\b", other, text, count=1)
    return None


def _actor(text: str, rng: random.Random) -> str | None:
    match = _PERSON.search(text)
    if not match or any(
        w.lower() in MONTHS or w.lower() in WEEKDAYS for w in match.group(1).split()
    ):
        return None
    return text[: match.start()] + rng.choice(_OTHER_NAMES) + text[match.end() :]


def _negation(text: str, rng: random.Random) -> str | None:
    if _NEG.search(text):
        return _NEG.sub(r"\1", text, count=1)
    if _AUX.search(text):
        return _AUX.sub(r"\1 not ", text, count=1)
    return None


_MAKERS = {
    "figure": _figure,
    "count": _count,
    "date": _date,
    "weekday": _weekday,
    "actor": _actor,
    "negation": _negation,
}


def inject(statement: Statement, kind: str, rng: random.Random) -> Statement | None:
    """A copy of ``statement`` with one fact of type ``kind`` changed, or ``None``."""
    if not tokenize(statement.text):
        return None
    text = _MAKERS[kind](statement.text, rng)
    if text is None or text == statement.text:
        return None
    return replace(statement, text=text)


def injections(statements: list[Statement], kind: str, rng: random.Random) -> list[Injection]:
    """Every statement of the list that can take an injection of ``kind``."""
    out = []
    for st in statements:
        mod = inject(st, kind, rng)
        if mod is not None:
            out.append(Injection(kind, st, mod))
    return out
