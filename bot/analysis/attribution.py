"""Who a statement is a claim by: the speaker of reported speech, resolved to a surname."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

_SPEECH = (
    r"(?:said|says|say|told|tells|stated|states|stating|claimed|claims|claiming|insisted|"
    r"insists|telling|asserted|announced|added|noted|warned|wrote|argued|declared|tweeted|posted)"
)
_CAP = r"(?:[A-Z][\w.’'-]*)"
_CAPSEQ = rf"{_CAP}(?:\s+{_CAP})*"
_TITLES = (
    "President|Chancellor|Minister|Secretary|spokesman|spokeswoman|spokesperson|Director|"
    "envoy|Adviser|Advisor|Senator|Sen\\.|Governor|Gov\\.|Mayor|Chairman|Chairwoman|King|Queen|"
    "Premier|leader|Prince|Pope|Gen\\.|General|Ambassador|Judge|CEO|Chief"
)
_TITLED_NAME = re.compile(rf"\b({_TITLES})\s+(?:[A-Z][a-z][\w’'-]*\s+)?([A-Z][a-z][\w’'-]+)\b")
_ACCORDING = re.compile(rf"\baccording to\s+(?:the\s+)?({_CAPSEQ})")
_POST = re.compile(rf"\b{_SPEECH}\s+(?:the\s+)?({_CAPSEQ})")
_PRE = re.compile(rf"({_CAPSEQ})\s*,?\s+(?:has\s+|had\s+|also\s+)?{_SPEECH}\b")
_ANY_SPEECH = re.compile(rf"\b{_SPEECH}\b")
_PRONOUN = re.compile(r"^(?:He|She)\b|[,”\"]\s*(?:he|she)\s+" + _SPEECH)
_TITLE_SUBJECT = re.compile(rf"^(?:The\s+)?(?:[A-Z][\w.]*\s+)?({_TITLES})\b")
_NOT_SPEAKERS = frozenset({"The", "He", "She", "It", "They", "We", "I", "In", "On", "But"})


def article_people(texts: Iterable[str]) -> tuple[Counter[str], dict[str, Counter[str]]]:
    """Surname mention counts of titled people, and surnames per title, in an article."""
    mentions: Counter[str] = Counter()
    by_title: dict[str, Counter[str]] = {}
    joined = " ".join(texts)
    for title, surname in _TITLED_NAME.findall(joined):
        by_title.setdefault(title.lower(), Counter())[surname] += 1
    for surname in {s for c in by_title.values() for s in c}:
        mentions[surname] = len(re.findall(rf"\b{re.escape(surname)}\b", joined))
    return mentions, by_title


_ORG_WORDS = frozenset(
    [
        "Agency",
        "Airways",
        "Airlines",
        "Association",
        "Bank",
        "Commission",
        "Committee",
        "Company",
        "Corp",
        "Council",
        "Court",
        "Department",
        "Fleet",
        "Fund",
        "Government",
        "House",
        "Inc",
        "Institute",
        "Ministry",
        "Navy",
        "News",
        "Office",
        "Organization",
        "Party",
        "Police",
        "Post",
        "Press",
        "Service",
        "Times",
        "Union",
        "University",
    ]
)
_CALENDAR = frozenset(
    [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
        "Today",
        "Yesterday",
    ]
)


def _surname(phrase: str) -> str | None:
    """A person's surname, or an organisation's full name, from a speaker phrase."""
    words = [w.rstrip(".,") for w in phrase.split() if w not in _NOT_SPEAKERS]
    words = [w for w in words if w and w not in _CALENDAR]
    if not words or not words[-1][:1].isupper():
        return None
    if any(w in _ORG_WORDS for w in words):
        return " ".join(words)
    return words[-1]


def speaker(
    sentence: str,
    people: tuple[Counter[str], dict[str, Counter[str]]] | None = None,
) -> str | None:
    """The speaker when ``sentence`` is reported speech ("Trump said ..."), else ``None``.

    A pronoun or title subject ("He said", "The US President ... stating") resolves to the
    article's most mentioned person (with that title), given ``people`` from
    :func:`article_people`.
    """
    if not _ANY_SPEECH.search(sentence):
        return None
    for pattern in (_ACCORDING, _POST, _PRE):
        for match in pattern.finditer(sentence):
            name = _surname(match.group(1))
            if name and name.lower() not in _TITLES.lower().split("|"):
                return name
    if people is None:
        return None
    mentions, by_title = people
    title = _TITLE_SUBJECT.match(sentence)
    if title:
        pool = by_title.get(title.group(1).lower(), Counter())
        if pool:
            return max(pool, key=lambda s: (mentions[s], s))
    if _PRONOUN.search(sentence) and mentions:
        return max(mentions, key=lambda s: (mentions[s], s))
    return None
