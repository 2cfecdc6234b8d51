"""Typed slots of a sentence: quantities, durations, dates, weekdays, years, names, negation.

Each slot carries an interval so that compatible wordings compare as compatible:
"over an hour" is (60, inf) minutes, "about 90 minutes" is [76.5, 103.5], "in February"
is the whole month while "on 12 February" is one day, "tens of thousands" is
[10,000, 100,000). Nothing here knows about articles; :mod:`.conflicts` aligns slots.
"""

from __future__ import annotations

import calendar
import math
import re
from dataclasses import dataclass
from datetime import date

_TOKEN = re.compile(
    r"\d{1,2}:\d\d(?::\d\d)?|\d+(?:[-/]\d+)+|\$|£|€|%|\d+(?:,\d{3})*(?:\.\d+)?(?:-[a-z]+)*|[A-Za-z]+(?:[’'.-][A-Za-z]+)*\.?|[^\sA-Za-z\d]"
)

MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
MONTHS |= {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9,
    "sept": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
WEEKDAYS = {name.lower(): i for i, name in enumerate(calendar.day_name)}
_SMALL = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90, "hundred": 100, "thousand": 1000, "dozen": 12,
}  # fmt: skip
NUMBER_WORDS = frozenset(_SMALL) | {
    "hundreds", "thousands", "millions", "billions", "trillions", "dozens", "tens",
    "million", "billion", "trillion",
}  # fmt: skip
_SCALE = {"hundred": 1e2, "thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
# Vague plurals: "dozens", "hundreds", "thousands of", "tens of thousands", "millions".
_VAGUE = {"dozens": (24.0, 100.0), "scores": (40.0, 100.0)}
_DURATION = {
    "second": 1 / 60, "minute": 1.0, "min": 1.0, "hour": 60.0, "hr": 60.0, "day": 1440.0,
    "week": 10080.0, "month": 43200.0, "year": 525600.0,
}  # fmt: skip
_OFFSET_WORDS = frozenset(["ago", "after", "before", "later", "earlier", "since", "from", "into"])
_APPROX = frozenset(
    [
        "about",
        "around",
        "approximately",
        "roughly",
        "some",
        "nearly",
        "almost",
        "estimated",
        "an-estimated",
        "close",
    ]
)
_ABOVE = frozenset(["over", "more", "above", "exceeding", "beyond", "upwards", "least"])
_BELOW = frozenset(["under", "less", "fewer", "below", "most"])
# Counted nouns that name the same quantity (lives lost = deaths ...).
_CLASSES = {
    "deaths": [
        "dead",
        "deaths",
        "death",
        "killed",
        "lives",
        "fatalities",
        "died",
        "victims",
        "bodies",
        "toll",
    ],
    "injured": ["injured", "wounded", "hurt", "injuries", "injuring"],
    "arrested": ["arrested", "arrests", "detained", "detainees", "detentions"],
    "missing": ["missing"],
    "displaced": ["displaced", "refugees", "homeless", "evacuated", "evacuees"],
    "percent": ["percent", "%", "per-cent", "pct"],
    "money": ["dollars", "dollar", "$", "£", "€", "euros", "euro", "pounds", "yuan", "yen", "usd"],
}
_CLASS_OF = {w: c for c, words in _CLASSES.items() for w in words}
_GENERIC = frozenset(
    [
        "people",
        "persons",
        "civilians",
        "soldiers",
        "troops",
        "residents",
        "children",
        "women",
        "men",
        "workers",
        "passengers",
        "police",
        "officers",
        "others",
    ]
)
NEGATIONS = frozenset(
    [
        "not",
        "n't",
        "no",
        "never",
        "none",
        "nobody",
        "nothing",
        "neither",
        "nor",
        "denied",
        "denies",
        "deny",
        "denying",
    ]
)
_STOP = frozenset(
    [
        "the",
        "a",
        "an",
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "and",
        "or",
        "by",
        "with",
        "as",
        "from",
        "its",
        "their",
        "his",
        "her",
        "has",
        "have",
        "had",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "will",
        "would",
        "who",
        "which",
        "that",
    ]
)


@dataclass(frozen=True, slots=True)
class Slot:
    """One typed value in a sentence; ``start``/``end`` are token indices (end exclusive).

    ``kind`` is quantity | duration | date | weekday | year | time (minutes of the day).
    For quantities ``what`` names what is counted (a class such as ``deaths`` or the
    counted noun), for durations it is ``minutes``; dates use ``low``/``high`` as
    day-of-year and ``year`` when known.
    """

    kind: str
    low: float
    high: float
    what: str
    text: str
    start: int
    end: int
    year: int | None = None


# "150, 000" (a space slipped into the thousands separator) is 150,000; "1998, 300" is not
_SPLIT_THOUSANDS = re.compile(r"(?<![\d,.])(\d{1,3}(?:,\d{3})*),\s+(\d{3})(?![\d,]|\.\d)")


def tokenize(sentence: str) -> list[str]:
    """Word, number and punctuation tokens (a number's thousands written one way)."""
    if ", " in sentence:
        sentence = _SPLIT_THOUSANDS.sub(r"\1,\2", sentence)
    return _TOKEN.findall(sentence)


def _singular(noun: str) -> str:
    """Counted nouns compared in one form: "countries" -> "country", "votes" -> "vote"."""
    noun = _UNIT_ALIASES.get(noun, noun)
    if noun.endswith("ies") and len(noun) > 4:
        return noun[:-3] + "y"
    if noun.endswith("ss"):
        return noun
    return noun.rstrip("s")


# Units written several ways, and units of one dimension (value in the first unit of each).
_UNIT_ALIASES = {
    "km": "kilometer", "kms": "kilometer", "kilometre": "kilometer", "kilometres": "kilometer",
    "m": "meter", "metre": "meter", "metres": "meter", "cm": "centimeter", "mm": "millimeter",
    "mi": "mile", "ft": "foot", "feet": "foot", "kg": "kilogram", "kgs": "kilogram",
    "kilo": "kilogram", "kilos": "kilogram", "lb": "pound-weight", "lbs": "pound-weight",
    "t": "tonne", "tons": "ton", "sq": "square",
}  # fmt: skip
_DIMENSION = {
    "kilometer": ("length", 1000.0), "meter": ("length", 1.0), "centimeter": ("length", 0.01),
    "millimeter": ("length", 0.001), "mile": ("length", 1609.344), "foot": ("length", 0.3048),
    "yard": ("length", 0.9144), "inche": ("length", 0.0254), "inch": ("length", 0.0254),
    "kilogram": ("mass", 1.0), "gram": ("mass", 0.001), "tonne": ("mass", 1000.0),
    "ton": ("mass", 907.18), "pound-weight": ("mass", 0.45359),
}  # fmt: skip
CONVERSION_SLACK = 0.03  # "10 km (6 miles)": converted figures are rounded


def _num(tok: str) -> float | None:
    t = tok.lower().replace(",", "")
    if re.fullmatch(r"\d+(?:\.\d+)?", t):
        return float(t)
    if t in _SMALL:
        return float(_SMALL[t])
    tens, _, unit = t.partition("-")  # "twenty-five"
    if unit and _SMALL.get(tens, 0) >= 20 and _SMALL[tens] % 10 == 0 and _SMALL.get(unit, 10) < 10:
        return float(_SMALL[tens] + _SMALL[unit])
    return None


def spelled_number(word: str) -> int | None:
    """The value of a number written in words ("seven", "twenty-five"), else ``None``."""
    if not word[:1].isalpha():
        return None
    value = _num(word)
    return None if value is None else int(value)


def _modifier(low_toks: list[str], i: int) -> str:
    """``approx``, ``above``, ``below`` or ``exact`` from the words before token ``i``."""
    prev = [w for w in low_toks[max(0, i - 3) : i]]
    if prev and prev[-1] in ("a", "an") and len(prev) > 1:
        prev = prev[:-1]
    last = prev[-1] if prev else ""
    two = " ".join(prev[-2:])
    if two in ("at least", "no fewer", "no less"):
        return "atleast"
    if two in ("more than", "greater than", "in excess", "upwards of"):
        return "above"
    if two in ("less than", "fewer than", "up to", "at most", "no more"):
        return "below"
    if two in ("close to", "an estimated"):
        return "approx"
    if last in ("nearly", "almost"):
        return "nearly"
    if last in _APPROX:
        return "approx"
    if last in _ABOVE:
        return "above"
    if last in _BELOW:
        return "below"
    return "exact"


def _interval(value: float, modifier: str, vague: bool = False) -> tuple[float, float]:
    if modifier == "atleast":
        return (value, math.inf)
    if modifier == "above":
        return (value * 1.0000001, math.inf)
    if modifier == "below":
        return (0.0, value)
    if modifier == "nearly":
        return (value * 0.85, value)
    if modifier == "approx" or vague:
        return (value * 0.85, value * 1.15)
    return (value, value)


def _what(low_toks: list[str], j: int) -> str:
    """What the number before token ``j`` counts: a class, else the next content word."""
    window = low_toks[j : j + 6]
    noun = ""
    for k, w in enumerate(window):
        w = w.strip(".")
        if w in _CLASS_OF:
            return _CLASS_OF[w]
        if w in (",", ";", "(", ")", ".", "-", "–", "—") or (w in ("and", "but") and k > 0):
            break
        if not noun and w.isalpha() and w not in _STOP and w not in _SCALE:
            noun = w
            if w not in _GENERIC:
                return _singular(w)
    return _singular(noun) if noun else "number"


def extract_slots(sentence: str, toks: list[str] | None = None) -> list[Slot]:
    """All slots of ``sentence`` in token order."""
    toks = tokenize(sentence) if toks is None else toks
    low = [t.lower() for t in toks]
    slots: list[Slot] = []
    i = 0
    n = len(toks)
    while i < n:
        if not _may_start(low[i]):
            i += 1
            continue
        slot, nxt = _slot_at(toks, low, i)
        if slot is not None:
            slots.append(slot)
            i = nxt
        else:
            i += 1
    return slots


_STARTERS = (
    frozenset(MONTHS)
    | frozenset(WEEKDAYS)
    | frozenset(_SMALL)
    | frozenset(_VAGUE)
    | frozenset(["a", "an", "$", "£", "€", "tens", "hundreds", "thousands", "millions", "billions"])
)


def _may_start(low_tok: str) -> bool:
    """Cheap test: can a slot start at this token? (most tokens cannot; skip them fast)."""
    w = low_tok.rstrip(".")
    if w in _STARTERS or w.partition("-")[0] in _SMALL:
        return True
    if w.isalpha():
        return False
    return (
        _DIGIT.search(w) is not None
        or w.removesuffix("'s") in WEEKDAYS
        or (w.removesuffix("’s") in WEEKDAYS)
    )


_DIGIT = re.compile(r"\d")


def _slot_at(toks: list[str], low: list[str], i: int) -> tuple[Slot | None, int]:
    w = low[i].rstrip(".")
    n = len(toks)
    nxt = low[i + 1].rstrip(".") if i + 1 < n else ""
    # clock time: 4:43 (p.m.)
    clock = re.fullmatch(r"(\d{1,2}):(\d\d)(?::\d\d)?", w)
    if clock:
        minutes = int(clock.group(1)) * 60 + int(clock.group(2))
        end = i + 1
        if nxt in ("p.m", "pm") and minutes < 720:
            minutes += 720
        if nxt in ("a.m", "am", "p.m", "pm"):
            end += 1
        m = float(minutes)
        return Slot("time", m, m, "time", " ".join(toks[i:end]), i, end), end
    # weekday
    day_name = w.removesuffix("'s").removesuffix("’s")
    if day_name in WEEKDAYS and toks[i][0].isupper():
        d = float(WEEKDAYS[day_name])
        return Slot("weekday", d, d, "day", toks[i], i, i + 1), i + 1
    # month [day] [, year]  |  day month [year]
    if w in MONTHS and toks[i][0].isupper() and (w not in ("may", "march") or _dateish(low, i)):
        return _date_from_month(toks, low, i)
    if re.fullmatch(r"\d{1,2}", w) and nxt in MONTHS and i + 1 < n and toks[i + 1][0].isupper():
        day = int(w)
        month = MONTHS[nxt]
        end = i + 2
        year = None
        if end < n and re.fullmatch(r"\d{4}", low[end]):
            year, end = int(low[end]), end + 1
        return _date_slot(month, day, day, year, toks, i, end), end
    # year
    if re.fullmatch(r"(1[89]|20)\d\d", w) and not (nxt in _CLASS_OF or nxt in _DURATION):
        y = float(w)
        return Slot("year", y, y, "year", toks[i], i, i + 1), i + 1
    # quantities and durations
    return _quantity_at(toks, low, i)


def _dateish(low: list[str], i: int) -> bool:
    nxt = low[i + 1] if i + 1 < len(low) else ""
    prev = low[i - 1] if i > 0 else ""
    return bool(re.fullmatch(r"\d{1,4}", nxt)) or prev in _BEFORE_MONTH


_BEFORE_MONTH = frozenset(
    [
        "in",
        "since",
        "until",
        "till",
        "of",
        "early",
        "late",
        "mid",
        "last",
        "next",
        "this",
        "by",
        "through",
        "from",
        "to",
        "during",
    ]
)


def _date_from_month(toks: list[str], low: list[str], i: int) -> tuple[Slot, int]:
    month = MONTHS[low[i].rstrip(".")]
    end = i + 1
    n = len(toks)
    day: int | None = None
    year: int | None = None
    if end < n and re.fullmatch(r"\d{1,2}(?:st|nd|rd|th)?", low[end]):
        day = int(re.sub(r"\D", "", low[end]))
        end += 1
        if end + 1 < n and low[end] == "," and re.fullmatch(r"\d{4}", low[end + 1]):
            year, end = int(low[end + 1]), end + 2
    elif end < n and re.fullmatch(r"\d{4}", low[end]):
        year, end = int(low[end]), end + 1
    if day is None:
        last = calendar.monthrange(year or 2001, month)[1]
        return _date_slot(month, 1, last, year, toks, i, end), end
    return _date_slot(month, day, day, year, toks, i, end), end


def _date_slot(
    month: int, first: int, last: int, year: int | None, toks: list[str], start: int, end: int
) -> Slot:
    ref = year or 2001
    last = min(last, calendar.monthrange(ref, month)[1])
    first = min(first, last)
    lo = date(ref, month, first).timetuple().tm_yday
    hi = date(ref, month, last).timetuple().tm_yday
    text = " ".join(toks[start:end])
    return Slot("date", float(lo), float(hi), "date", text, start, end, year)


def _quantity_at(toks: list[str], low: list[str], i: int) -> tuple[Slot | None, int]:
    n = len(toks)
    w = low[i]
    start = i
    value: float | None = None
    vague = False
    j = i
    if w in ("a", "an") and i + 1 < n and low[i + 1].rstrip(".").removesuffix("s") in _DURATION:
        value, j = 1.0, i + 1
        vague = True
    elif w in ("$", "£", "€") and i + 1 < n and _num(low[i + 1]) is not None:
        value, j = _num(low[i + 1]), i + 2
        while j < n and low[j] in _SCALE:
            value = (value or 0) * _SCALE[low[j]]
            j += 1
        text = " ".join(toks[i:j])
        lo, hi = _interval(value or 0.0, _modifier(low, i))
        return Slot("quantity", lo, hi, "money", text, start, j), j
    elif w == "tens" and low[i + 1 : i + 3] == ["of", "thousands"]:
        value, j, vague = 10000.0, i + 3, True
        lo_hi = (1e4, 1e5)
        return _finish(toks, low, start, j, lo_hi), j + (1 if j < n and low[j] == "of" else 0)
    elif w in ("hundreds", "thousands", "millions", "billions") or w in _VAGUE:
        if w in _VAGUE:
            lo_hi = _VAGUE[w]
        else:
            base = _SCALE[w[:-1]]
            lo_hi = (2 * base, 1000 * base if w != "hundreds" else 1000.0)
            if low[i + 1 : i + 3] == ["of", "thousands"]:
                lo_hi = (base * 1e3, base * 1e6 if w != "hundreds" else 1e6)
                return _finish(toks, low, start, i + 3, lo_hi), i + 3
        return _finish(toks, low, start, i + 1, lo_hi), i + 1
    else:
        value = _num(w)
        if value is None:
            return None, i + 1
        j = i + 1
        if w in ("one",) and (j >= n or low[j] in ("of", "another", "side")):
            return None, i + 1
        while j < n and (
            low[j] in _SCALE or low[j] == "dozen" or (low[j] in _SMALL and _SMALL[low[j]] < 10)
        ):
            if low[j] in _SCALE:
                value *= _SCALE[low[j]]
            elif low[j] == "dozen":  # "two dozen" is 24
                value *= 12
            else:
                value += _SMALL[low[j]]
            j += 1
    unit = low[j].rstrip(".").removesuffix("s") if j < n else ""
    unit = unit.split("-")[0]
    if unit in ("a.m", "p.m", "am", "pm") and value is not None and value <= 12:
        m = (value % 12) * 60 + (720 if unit.startswith("p") else 0)
        return Slot("time", m, m, "time", " ".join(toks[start : j + 1]), start, j + 1), j + 1
    attached = re.fullmatch(r"\d[\d,]*(?:\.\d+)?-(\w+)(?:-.*)?", w)
    if attached and attached.group(1).removesuffix("s") in _DURATION:
        unit = attached.group(1).removesuffix("s")
        j -= 1
    mod = _modifier(low, start)
    after = low[j + 1].rstrip(".") if j + 1 < n else ""
    if unit in _DURATION and after in _OFFSET_WORDS:
        return None, j + 1  # "a week ago", "a day after the crash": a point in time
    if unit in _DURATION and (value or 0) > 0:
        minutes = (value or 0.0) * _DURATION[unit]
        lo, hi = _interval(minutes, mod, vague)
        if unit in ("year", "month", "week", "day") and mod == "exact":
            lo, hi = minutes, minutes
        text = " ".join(toks[start : j + 1])
        return Slot("duration", lo, hi, "minutes", text, start, j + 1), j + 1
    lo, hi = _interval(value or 0.0, mod)
    what = _what(low, j)
    if what == "percent" and j < n:
        j += 1
    if what in _DIMENSION:  # one dimension, one unit: "10 km" == "10 kilometers" ~ "6 miles"
        dimension, factor = _DIMENSION[what]
        lo, hi = lo * factor * (1 - CONVERSION_SLACK), hi * factor * (1 + CONVERSION_SLACK)
        what = dimension
    return Slot("quantity", lo, hi, what, " ".join(toks[start:j]), start, j), j


def _finish(
    toks: list[str], low: list[str], start: int, end: int, lo_hi: tuple[float, float]
) -> Slot:
    k = end + (1 if end < len(low) and low[end] == "of" else 0)
    what = _what(low, k)
    return Slot("quantity", lo_hi[0], lo_hi[1], what, " ".join(toks[start:end]), start, end)


def compatible(a: Slot, b: Slot) -> bool:
    """Whether two slots of one kind can both be true (their intervals overlap)."""
    if a.kind != b.kind:
        return True
    if a.kind == "date" and a.year is not None and b.year is not None and a.year != b.year:
        return False
    lo = max(a.low, b.low)
    hi = min(a.high, b.high)
    if a.kind in ("quantity", "duration") and a.low == a.high and b.low == b.high:
        return abs(a.low - b.low) <= 0.005 * max(abs(a.low), abs(b.low))
    return lo <= hi


def weekday_of(slot: Slot, year: int | None) -> int | None:
    """The weekday of a one-day date slot, when a year is known (its own or ``year``)."""
    if slot.kind != "date" or slot.low != slot.high:
        return None
    y = slot.year or year
    if y is None:
        return None
    try:
        return (date(y, 1, 1).toordinal() + int(slot.low) - 1 - 1) % 7
    except ValueError:
        return None


def negation_count(words: list[str]) -> int:
    """Negation cues among ``words`` (lower-cased tokens)."""
    return sum(1 for w in words if w in NEGATIONS or w.endswith("n't"))


__all__ = [
    "MONTHS",
    "NEGATIONS",
    "NUMBER_WORDS",
    "WEEKDAYS",
    "Slot",
    "compatible",
    "extract_slots",
    "negation_count",
    "spelled_number",
    "tokenize",
    "weekday_of",
]
