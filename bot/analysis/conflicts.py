"""Conflicts between earlier and newer statements about the same fact.

Method (rule-based, no language model): statements are aligned by the overlap of their
content words (with the previous sentence added for anaphoric openers such as "The
discussion, ..."). Typed slots (:mod:`.slots`) are then compared:

* near-identical wordings (a re-report with something changed) are diffed token by token;
  a changed figure, date, weekday, named actor or a flipped negation is a conflict unless
  the two values are compatible ("over an hour" / "about 90 minutes");
* paraphrases are compared slot by slot when the slots count the same thing (deaths,
  a duration) or date the same event (the shared event word: call, meeting, attack ...).

A later report raising a growing count (deaths, injured, arrested ...) with an update cue
or a later time is a *revision*; other disagreements are *contradictions*. Statements
that are reported speech carry "claim by NAME". The pair judge is swappable: pass any
:class:`PairJudge` to :func:`find_conflicts`.
"""

from __future__ import annotations

import difflib
import functools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, overload

import numpy as np
from scipy import sparse

from bot.analysis import Statement
from bot.analysis.attribution import article_people, speaker
from bot.analysis.sentences import _DANGLING
from bot.analysis.slots import (
    MONTHS,
    NUMBER_WORDS,
    WEEKDAYS,
    Slot,
    compatible,
    extract_slots,
    negation_count,
    tokenize,
    weekday_of,
)
from bot.analysis.textvec import STOP_WORDS, TermRows, stem, term_id

NEAR_IDENTICAL = 0.6  # content overlap above which two statements are diffed token by token
SAME_ACTORS = 0.8  # overlap, names set aside, above which a swapped name is another actor
MIN_WORDS = 6  # shorter statements (bylines, captions) state no comparable fact
VERBATIM = 0.75  # token-sequence similarity for a token diff to align values
RESTATES = 0.85  # content overlap at which a newer statement is a copy of an earlier one
SAME_FACT = 0.3  # context overlap needed to compare paraphrased dates and durations
SAME_COUNT = 0.2  # context overlap needed to compare paraphrased counts of one class
SAME_NEWS_CYCLE = timedelta(days=3)  # paraphrases further apart in time are not compared
SAME_PERIOD = timedelta(days=14)  # near-identical wordings further apart are not diffed
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
GROWING = frozenset({"deaths", "injured", "arrested", "missing", "displaced", "people", "case"})
_UPDATE_CUES = re.compile(
    r"\b(?:rose|risen|rising|climbed|increased|jumped|reached|now|at least|so far|updated|"
    r"revised|latest|toll)\b",
    re.IGNORECASE,
)
# Words that name the same event or thing in different outlets' wording.
_SYNONYMS = {
    "talk": "call conversation discussion discuss dialogue phone spoke speak talk talks",
    "meet": "meeting meet met summit",
    "war": "war conflict fighting hostilities invasion",
    "attack": "attack bombing blast explosion strike raid shooting",
    "crash": "crash collision derailment",
    "storm": "storm hurricane typhoon cyclone flood flooding earthquake quake",
    "election": "election vote poll ballot",
    "deaths": "killed dead died death deaths lives fatalities",
}
_CANON = {stem(w): key for key, words in _SYNONYMS.items() for w in words.split()}
_SLOT_WORDS = frozenset(MONTHS) | frozenset(WEEKDAYS) | NUMBER_WORDS
_CAPWORD = re.compile(r"[A-Z][\w’'.-]*")
_NAME_SKIP = frozenset(MONTHS) | frozenset(WEEKDAYS) | {"the", "a", "an", "i"}


@dataclass(frozen=True, slots=True)
class Conflict:
    """Two statements disagreeing about one fact.

    ``kind`` is ``contradiction`` or ``revision``; ``fact`` says what is disputed;
    ``statements`` is [earlier, newer]; ``values`` the two wordings of the disputed value;
    ``claims`` holds "claim by NAME" (or ``None``) for each statement.
    """

    kind: str
    fact: str
    statements: list[Statement]
    slot: str = ""
    values: tuple[str, str] = ("", "")
    claims: tuple[str | None, str | None] = (None, None)


@dataclass(slots=True)
class Prepared:
    """A statement with everything the judges need, computed once per article.

    ``term_ids``/``context_ids`` are the stable ids (:func:`term_id`) of ``terms``/``context``;
    ``templated`` marks a statement with a near-twin in its own article (transcripts, lists,
    tables): the article itself gives the fact several values, so it is not compared.
    """

    statement: Statement
    tokens: list[str]
    lower: list[str]
    slots: list[Slot]
    terms: set[str]
    context: set[str]
    claim: str | None
    term_ids: tuple[int, ...] = ()
    context_ids: tuple[int, ...] = ()
    templated: bool = False
    words: int = 0  # word tokens (numbers included)


def _micros(at: datetime) -> int:
    return (at - (_EPOCH if at.tzinfo else _EPOCH.replace(tzinfo=None))) // _MICROSECOND


ANY_SLOT, TEMPORAL_SLOT, DURATION_SLOT = 1, 2, 4  # bits of :func:`slot_kinds`


def slot_kinds(slots: Sequence[Slot]) -> int:
    """The kinds of typed values a statement holds, as bits: any value, a date or weekday, a
    duration, and one bit per counted class (deaths, injured ...). The pair filter reads them
    for the same early exits the default judge takes, so it judges only pairs that can
    conflict."""
    bits = 0
    for x in slots:
        bits |= ANY_SLOT
        if x.kind in _TEMPORAL:
            bits |= TEMPORAL_SLOT
        elif x.kind == "duration":
            bits |= DURATION_SLOT
        elif x.kind == "quantity" and x.what in _CLASS_BIT:
            bits |= _CLASS_BIT[x.what]
    return bits


class PreparedArticle(Sequence[Prepared]):
    """One article's statements in conflict-detection form, column by column.

    What the pair filter reads of every statement (its text, word count, whether it is
    templated or holds typed values, its term and context ids) is kept as arrays; a full
    :class:`Prepared` is built only when a pair needs it (``decode``: from a stored analysis,
    which keeps one blob per statement), so a story's long window of earlier articles costs
    little more than its arrays.
    """

    __slots__ = ("_decode", "_items", "_times", "context", "kinds", "statements", "templated",
                 "terms", "words")  # fmt: skip

    def __init__(
        self,
        statements: Sequence[Statement],
        words: np.ndarray,
        templated: np.ndarray,
        kinds: np.ndarray,
        terms: TermRows,
        context: TermRows,
        items: list[Prepared | None],
        decode: Callable[[int], Prepared] | None = None,
    ) -> None:
        self.statements = statements
        self.words = words
        self.templated = templated
        self.kinds = kinds  # :func:`slot_kinds` of each statement
        self.terms = terms
        self.context = context
        self._items = items
        self._decode = decode
        self._times: tuple[np.ndarray, np.ndarray] | None = None

    def times(self) -> tuple[np.ndarray, np.ndarray]:
        """Each statement's time (microseconds since the epoch) and whether it is dated."""
        if self._times is None:
            self._times = (
                np.fromiter(
                    (_micros(s.published) for s in self.statements),
                    dtype=np.int64,
                    count=len(self.statements),
                ),
                np.fromiter((s.dated for s in self.statements), bool, len(self.statements)),
            )
        return self._times

    @staticmethod
    def of(prepared: Sequence[Prepared]) -> PreparedArticle:
        """The column form of statements already prepared (one article, or any sequence)."""
        if isinstance(prepared, PreparedArticle):
            return prepared
        items = list(prepared)
        n = len(items)
        return PreparedArticle(
            [p.statement for p in items],
            np.fromiter((p.words for p in items), dtype=np.int64, count=n),
            np.fromiter((p.templated for p in items), dtype=bool, count=n),
            np.fromiter((slot_kinds(p.slots) for p in items), dtype=np.int64, count=n),
            TermRows.from_rows([p.term_ids for p in items]),
            TermRows.from_rows([p.context_ids for p in items]),
            list(items),
        )

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, i: int) -> Prepared: ...
    @overload
    def __getitem__(self, i: slice) -> list[Prepared]: ...
    def __getitem__(self, i: int | slice) -> Prepared | list[Prepared]:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        item = self._items[i]
        if item is None:
            if self._decode is None:
                raise ValueError("prepared statement missing and no decoder")
            item = self._items[i] = self._decode(i)
        return item

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class Finding:
    """What a judge reports for one pair: the slot type, fact and the two values."""

    slot: str
    fact: str
    values: tuple[str, str]
    low_high: tuple[float, float, float, float] | None = None
    what: str = ""


PairJudge = Callable[[Prepared, Prepared, float, float], list[Finding]]


def _terms(tokens: list[str]) -> set[str]:
    out: set[str] = set()
    for tok in tokens:
        t = tok.lower().replace("’", "'").removesuffix("'s").replace(".", "")
        if not t or not t[0].isalpha() or t in STOP_WORDS or t in _SLOT_WORDS:
            continue
        s = stem(t)
        out.add(_CANON.get(s, s))
    return out


def prepare(statements: Sequence[Statement]) -> list[Prepared]:
    """Tokens, slots, content terms, context and attribution for each statement.

    Everything a statement needs comes from its own article, so each article's preparation is
    computed once and cached (a story's articles are compared again as new ones arrive).
    """
    by_article: dict[int, list[Statement]] = {}
    for st in statements:
        by_article.setdefault(st.article_id, []).append(st)
    prepared: dict[Statement, Prepared] = {}
    for sts in by_article.values():
        prepared.update(zip(sts, _prepared_article(tuple(sts)), strict=True))
    return [prepared[st] for st in statements]


PREPARED_MAX = 2048  # articles whose preparation is kept (least recently used dropped)


@functools.lru_cache(maxsize=PREPARED_MAX)
def _prepared_article(statements: tuple[Statement, ...]) -> list[Prepared]:
    return prepare_article(list(statements))


def prepare_article(sts: list[Statement]) -> list[Prepared]:
    """Prepare one article's statements (all of them, so anaphora can borrow context)."""
    by_position = {st.position: st for st in sts}
    people = article_people(s.text for s in sts)
    out: list[Prepared] = []
    for st in sts:
        toks = tokenize(st.text)
        terms = _terms(toks)
        context = set(terms)
        prev = by_position.get(st.position - 1)
        if prev is not None and _anaphoric(st.text, prev.text):
            context |= _terms(tokenize(prev.text))
        who = speaker(st.text, people)
        out.append(
            Prepared(st, toks, [t.lower() for t in toks], extract_slots(st.text, toks), terms,
                     context, f"claim by {who}" if who else None,
                     tuple(sorted(map(term_id, terms))), tuple(sorted(map(term_id, context))),
                     False, sum(1 for t in toks if t[:1].isalnum()))
        )  # fmt: skip
    _mark_templated([p for p in out if p.words >= MIN_WORDS])
    return out


def astuple_shallow(obj: Any) -> tuple[object, ...]:
    """A slots dataclass's field values in order (not recursing like ``dataclasses.astuple``)."""
    return tuple(getattr(obj, f) for f in obj.__slots__)


def _anaphoric(text: str, previous: str) -> bool:
    """Whether ``text`` leans on the sentence before it ("It ...", "The discussion, ...")."""
    if _DANGLING.match(text):
        return True
    match = re.match(r"The\s+(\w+)", text)
    if not match:
        return False
    head = _terms([match.group(1)])
    return bool(head) and bool(head & _terms(tokenize(previous)))


def _overlap(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / float(np.sqrt(len(a) * len(b)))


# --- near-identical pairs: token diff ----------------------------------------------


def _in_span(slots: list[Slot], lo: int, hi: int) -> list[Slot]:
    return [s for s in slots if s.start < max(hi, lo + 1) and s.end > lo]


def _names(tokens: list[str], lo: int, hi: int, slots: list[Slot]) -> list[str]:
    taken = {i for s in slots for i in range(s.start, s.end)}
    return [
        t.rstrip(".,")
        for i, t in enumerate(tokens[lo:hi], start=lo)
        if i not in taken and _CAPWORD.fullmatch(t) and t.lower().rstrip(".") not in _NAME_SKIP
        and i > 0 and tokens[i - 1] not in ("“", '"', ":", "(", "-", "--", "—", ".")
    ]  # fmt: skip


def _same_name(a: list[str], b: list[str]) -> bool:
    """Same actor under two spellings: "Trump"/"Donald Trump", "Republicans"/"Republican Party"."""
    x, y = (" ".join(stem(w.lower()) for w in n).replace(".", "") for n in (a, b))
    if x in y or y in x:
        return True
    return difflib.SequenceMatcher(None, x.lower(), y.lower()).ratio() >= 0.8


def diff_judge(a: Prepared, b: Prepared, sim: float, ctx_sim: float) -> list[Finding]:
    """Conflicts in the changed spans of two near-identical statements.

    Statements further apart than ``SAME_PERIOD`` (both dated) are not diffed: a sentence
    re-used weeks later with another figure or name tells of another moment ("the latest
    of four", a running total, a yearly report), not of a disagreement.
    """
    if sim < NEAR_IDENTICAL:
        return []
    gap = abs(a.statement.published - b.statement.published)
    if gap > SAME_PERIOD and a.statement.dated and b.statement.dated:
        return []
    findings: list[Finding] = []
    matcher = difflib.SequenceMatcher(None, a.lower, b.lower, autojunk=False)
    if matcher.ratio() < VERBATIM:
        return []
    context = _context_words(a, b)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        sa, sb = _in_span(a.slots, i1, i2), _in_span(b.slots, j1, j2)
        for x in sa:
            for y in sb:
                f = _compare(x, y, a, b, context, same_bound=True)
                if f:
                    findings.append(f)
        short = max(i2 - i1, j2 - j1) <= 3
        if short and negation_count(a.lower[i1:i2]) % 2 != negation_count(b.lower[j1:j2]) % 2:
            changed = " ".join(a.tokens[i1:i2]) or "—", " ".join(b.tokens[j1:j2]) or "—"
            findings.append(Finding("negation", f"whether {context}", changed))
            continue
        na, nb = _names(a.tokens, i1, i2, a.slots), _names(b.tokens, j1, j2, b.slots)
        if (
            na
            and nb
            and short
            and not _same_name(na, nb)
            and not _name_forms(a, b, (i1, i2), (j1, j2))
            and _rest_overlap(a, b, na, nb)
        ):
            findings.append(Finding("actor", f"who/where: {context}", (" ".join(na), " ".join(nb))))
    return findings


_ADJECTIVAL = re.compile(r"[A-Z][a-z]+(?:ian|ean|an|ese|ish|ic|i)$")


def _name_forms(a: Prepared, b: Prepared, span_a: tuple[int, int], span_b: tuple[int, int]) -> bool:
    """One name as noun and as adjective before the same word: "Jupiter moons" / "Jovian
    moons", "Kenya authorities" / "Kenyan authorities" — one referent, not two actors."""
    (i1, i2), (j1, j2) = span_a, span_b
    if i2 - i1 != 1 or j2 - j1 != 1 or i2 >= len(a.lower) or j2 >= len(b.lower):
        return False
    x, y = a.tokens[i1], b.tokens[j1]
    head = a.lower[i2]
    if head != b.lower[j2] or not head.isalpha() or head in _REPORTING or head.endswith("ed"):
        return False  # an adjective modifies the noun after it
    return bool(_ADJECTIVAL.fullmatch(x)) != bool(_ADJECTIVAL.fullmatch(y))


def _rest_overlap(a: Prepared, b: Prepared, na: list[str], nb: list[str]) -> bool:
    """Whether the statements agree once the swapped names are set aside (same role)."""
    rest_a, rest_b = a.terms - _terms(na), b.terms - _terms(nb)
    return len(rest_a) >= 3 and _overlap(rest_a, rest_b) >= SAME_ACTORS


def _context_words(a: Prepared, b: Prepared, limit: int = 6) -> str:
    shared = [t for t in a.lower if _terms([t]) and _terms([t]) <= b.terms]
    seen: list[str] = []
    for w in shared:
        if w not in seen:
            seen.append(w)
    return " ".join(seen[:limit])


def _bound_value(x: Slot) -> float:
    """The figure a one-sided bound was written with (its finite end)."""
    return float(f"{(x.high if x.low == 0.0 else x.low):.4g}")


def _digits(text: str) -> str:
    return "".join(re.findall(r"\d", text))


def _one_sided(x: Slot, y: Slot) -> bool:
    """Both bounds of one side: "more than 100" / "more than 300", "under 5" / "under 9"."""
    return (x.high == y.high == math.inf or x.low == y.low == 0.0) and x.low != x.high


def _compare(
    x: Slot, y: Slot, a: Prepared, b: Prepared, context: str, *, same_bound: bool = False
) -> Finding | None:
    """A finding when slots ``x`` (of a) and ``y`` (of b) disagree.

    ``same_bound`` (a re-report of the same wording): "more than 100" changed to "more than
    300" is another figure although both bounds can hold.
    """
    year_a, year_b = a.statement.published.year, b.statement.published.year
    if (x.kind == "weekday" and y.kind == "date") or (x.kind == "date" and y.kind == "weekday"):
        day, other = (x, y) if x.kind == "weekday" else (y, x)
        wd = weekday_of(other, year_b if other is y else year_a)
        if wd is None or wd == int(day.low):
            return None
        return Finding("weekday", f"day of {context}", (x.text, y.text))
    if {x.kind, y.kind} == {"quantity", "year"}:  # a figure replaced by a year-like figure
        x, y = replace(x, kind="quantity"), replace(y, kind="quantity")
    if x.kind != y.kind:
        return None
    if compatible(x, y) and not (
        same_bound
        and x.kind in ("quantity", "duration")
        and _one_sided(x, y)
        and _bound_value(x) != _bound_value(y)
    ):
        return None
    if (
        x.kind == "quantity"
        and x.what != y.what
        and ("number" not in (x.what, y.what) or {x.what, y.what} & {"money", "percent"})
    ):
        return None
    if x.kind == "quantity" and _digits(x.text) and _digits(x.text) == _digits(y.text):
        return None  # same figure written at another scale: "$3.7 trillion" / "3.7"
    label = {"quantity": f"{x.what} figure", "duration": "duration", "date": "date",
             "weekday": "day", "year": "year", "time": "time"}[x.kind]  # fmt: skip
    return Finding(x.kind, f"{label}: {context}", (x.text, y.text),
                   (x.low, x.high, y.low, y.high), x.what)  # fmt: skip


# --- paraphrased pairs: typed slots about the same thing ----------------------------

_TEMPORAL = ("weekday", "date")


_REPORTING = frozenset(
    [
        "said",
        "say",
        "says",
        "told",
        "reported",
        "report",
        "announced",
        "added",
        "stated",
        "met",
        "spoke",
        "quoted",
        "late",
        "early",
        "earlier",
        "later",
        "last",
        "since",
        "until",
    ]
)


def _window(p: Prepared, slot: Slot, width: int = 8) -> set[str]:
    """Content terms near ``slot``; empty when a date only tells when something was said."""
    lo = max(0, slot.start - width)
    before = [w for w in p.lower[max(0, slot.start - 2) : slot.start] if w != "on"]
    if slot.kind in _TEMPORAL and before and before[-1] in _REPORTING:
        return set()
    return _terms(p.tokens[lo : slot.start] + p.tokens[slot.end : slot.end + width])


_SKIP_BEFORE = frozenset(["on", "last", "this", "the", "early", "late", ",", "of"])
_HAPPENED = frozenset(
    ["place", "occurred", "happened", "held", "took", "began", "started", "ended"]
)


def _attached_event(p: Prepared, slot: Slot) -> set[str]:
    """The event a date or weekday belongs to: "the call on Thursday", "the July 25 crash",
    "the talks, which took place on Wednesday" (never "said Thursday", "met Friday")."""
    k = slot.start - 1
    while k >= 0 and p.lower[k] in _SKIP_BEFORE:
        k -= 1
    events: set[str] = set()
    if k >= 0:
        before = _terms([p.tokens[k]])
        events |= before & _EVENTS
        if p.lower[k] in _HAPPENED:
            events |= _terms(p.tokens[max(0, k - 8) : k]) & _EVENTS
            if not events and _anaphoric(p.statement.text, ""):
                events |= p.context & _EVENTS
    m = slot.end
    while m < len(p.lower) and p.lower[m] in ("'s", "’s", "s"):
        m += 1
    if m < len(p.tokens):
        events |= _terms([p.tokens[m]]) & _EVENTS
    return events


def slot_judge(a: Prepared, b: Prepared, sim: float, ctx_sim: float) -> list[Finding]:
    """Conflicts between paraphrases: same counted thing, or same event dated differently."""
    if sim >= NEAR_IDENTICAL or ctx_sim < SAME_COUNT:
        return []
    gap = abs(a.statement.published - b.statement.published)
    if gap > SAME_NEWS_CYCLE and a.statement.dated and b.statement.dated:
        return []  # weekdays and running counts refer to different moments
    findings: list[Finding] = []
    for x in a.slots:
        for y in b.slots:
            if (x.kind in _TEMPORAL and y.kind in _TEMPORAL) or x.kind == y.kind == "duration":
                if ctx_sim < SAME_FACT:
                    continue
            elif not (x.kind == y.kind == "quantity" and x.what == y.what and x.what in _CLASSES):
                continue
            if x.kind in _TEMPORAL:
                shared = _attached_event(a, x) & _attached_event(b, y)
            else:
                shared = _window(a, x) & _window(b, y) & _EVENTS
            if not shared:
                continue
            event = sorted(shared)[0]
            if x.kind == "quantity" and _anchors_differ(a, b):
                continue
            if _places_differ(a, x, b, y):
                continue  # "Peru's elections of May 28" / "Haiti's May 16 elections"
            f = _compare(x, y, a, b, f"the {event}" if x.kind != "quantity" else f"{event} toll")
            if f:
                findings.append(f)
    return findings


_EVENTS = frozenset({"talk", "meet", "attack", "election", "war", "crash", "storm"})


def _names_near(p: Prepared, slot: Slot, width: int = 6) -> set[str]:
    """Stems of the capitalised names within ``width`` tokens of ``slot``."""
    lo, hi = max(0, slot.start - width), min(len(p.tokens), slot.end + width)
    names = _names(p.tokens, lo, slot.start, p.slots) + _names(p.tokens, slot.end, hi, p.slots)
    return {stem(n.lower().removesuffix("'s").removesuffix("’s")) for n in names}


def _places_differ(a: Prepared, x: Slot, b: Prepared, y: Slot) -> bool:
    """Both values sit beside names and the names have nothing in common: the two
    statements are about two events of one kind (two elections, two attacks)."""
    na, nb = _names_near(a, x), _names_near(b, y)
    return bool(na and nb) and not (na & nb)


def _anchors_differ(a: Prepared, b: Prepared) -> bool:
    """Both statements are dated (weekday/date) and no date of one fits the other."""
    ta = [s for s in a.slots if s.kind in _TEMPORAL]
    tb = [s for s in b.slots if s.kind in _TEMPORAL]
    return bool(ta and tb) and not any(
        x.kind == y.kind and compatible(x, y) for x in ta for y in tb
    )


_CLASSES = frozenset({"deaths", "injured", "arrested", "missing", "displaced"})
_CLASS_BIT = {c: 8 << k for k, c in enumerate(sorted(_CLASSES))}
_CLASS_BITS = sum(_CLASS_BIT.values())


def default_judge(a: Prepared, b: Prepared, sim: float, ctx_sim: float) -> list[Finding]:
    return diff_judge(a, b, sim, ctx_sim) + slot_judge(a, b, sim, ctx_sim)


# --- driver -------------------------------------------------------------------------


def _overlaps(a: TermRows, b: TermRows) -> np.ndarray:
    """``|A ∩ B| / sqrt(|A| |B|)`` for every pair of id sets of ``a`` and ``b``.

    Only ids of ``b`` can be shared, so ``a``'s rows are cut to them before the product (the
    counts are the same); ``b`` is built column-major, so the product needs no transpose."""
    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)))
    if b.ids.size == 0:
        return np.zeros((len(a), len(b)))
    cols, b_cols = np.unique(b.ids, return_inverse=True)
    pos = np.minimum(np.searchsorted(cols, a.ids), cols.size - 1)
    shared = cols[pos] == a.ids
    owner = np.repeat(np.arange(len(a)), a.lens)
    a_ptr = np.zeros(len(a) + 1, dtype=np.int64)
    np.cumsum(np.bincount(owner[shared], minlength=len(a)), out=a_ptr[1:])
    b_ptr = np.zeros(len(b) + 1, dtype=np.int64)
    np.cumsum(b.lens, out=b_ptr[1:])
    rows_a = sparse.csr_matrix(
        (np.ones(int(a_ptr[-1])), pos[shared], a_ptr), shape=(len(a), cols.size)
    )
    cols_b = sparse.csc_matrix(
        (np.ones(b.ids.size), b_cols.reshape(-1), b_ptr), shape=(cols.size, len(b))
    )
    inter = np.asarray((rows_a @ cols_b).toarray(), dtype=np.float64)
    na = np.sqrt(np.maximum(a.lens, 1).astype(np.float64))[:, None]
    nb = np.sqrt(np.maximum(b.lens, 1).astype(np.float64))[None, :]
    return np.divide(inter, na * nb, out=inter)


def _take(rows: TermRows, keep: np.ndarray) -> TermRows:
    """The rows ``keep`` (ascending indices) of ``rows``."""
    mask = np.zeros(len(rows), dtype=bool)
    mask[keep] = True
    return TermRows(rows.ids[np.repeat(mask, rows.lens)], rows.lens[keep])


def _mark_templated(prepared: list[Prepared]) -> None:
    """Flag the statements of one article that have a near-twin in it (see ``Prepared``)."""
    if len(prepared) < 2:
        return
    rows = TermRows.from_rows([p.term_ids for p in prepared])
    sims = _overlaps(rows, rows)
    np.fill_diagonal(sims, 0.0)
    for i, k in zip(*np.nonzero(sims >= 0.9), strict=True):
        if prepared[int(i)].statement.text != prepared[int(k)].statement.text:
            prepared[int(i)].templated = True


def classify(finding: Finding, a: Prepared, b: Prepared) -> str:
    """``revision`` for a later, higher count of a growing quantity; else ``contradiction``."""
    if finding.slot != "quantity" or finding.low_high is None or finding.what not in GROWING:
        return "contradiction"
    _, a_hi, b_lo, _ = finding.low_high
    if not b_lo > a_hi or b_lo > 10 * max(a_hi, 1.0):
        return "contradiction"
    later = b.statement.published > a.statement.published
    if later or _UPDATE_CUES.search(b.statement.text):
        return "revision"
    return "contradiction"


def find_conflicts(
    earlier: Sequence[Statement],
    newer: Sequence[Statement],
    *,
    judge: PairJudge = default_judge,
) -> list[Conflict]:
    """Conflicts between ``earlier`` and ``newer`` statements, earlier first in each.

    Pass whole articles' statements (positions let anaphoric sentences borrow the context
    of the sentence before). A newer statement whose text already appears among the
    earlier ones is a re-report and never conflicts.
    """
    if not earlier or not newer:
        return []
    return conflicts_between(prepare(earlier), prepare(newer), judge=judge)


def conflicts_between(
    earlier: Sequence[Prepared],
    newer: Sequence[Prepared],
    *,
    judge: PairJudge = default_judge,
) -> list[Conflict]:
    """:func:`find_conflicts` over statements already prepared (e.g. loaded from the store)."""
    return conflicts_in_sequence([earlier, newer], first=1, window=1, judge=judge)


def conflicts_in_sequence(
    articles: Sequence[Sequence[Prepared]],
    *,
    first: int,
    window: int,
    judge: PairJudge = default_judge,
) -> list[Conflict]:
    """Conflicts each of ``articles[first:]`` (prepared statements of articles in time order)
    raises against the ``window`` articles just before it.

    The term overlaps of all the statements involved are computed once, not per article,
    from the articles' column form (:class:`PreparedArticle`); a statement is prepared in full
    only for a pair worth judging.
    """
    forms = [PreparedArticle.of(a) for a in articles]
    usable = [np.flatnonzero(f.words >= MIN_WORDS) for f in forms]
    starts = np.zeros(len(usable) + 1, dtype=np.int64)
    np.cumsum([u.size for u in usable], out=starts[1:])
    lo = int(starts[max(0, first - window)])
    old_side = _Side(forms, usable, range(max(0, first - window), len(forms) - 1))
    new_side = _Side(forms, usable, range(first, len(forms)))
    if not old_side.refs or not new_side.refs:
        return []
    # terms and contexts in one product: [terms; contexts] x [terms; contexts]^T
    old_terms, new_terms = old_side.rows("terms"), new_side.rows("terms")
    both = _overlaps(
        TermRows.concat([old_terms, old_side.rows("context")]),
        TermRows.concat([new_terms, new_side.rows("context")]),
    )
    na, nb = len(old_terms), len(new_terms)
    sims_all, ctx_all = both[:na, :nb], both[na:, nb:]
    norm = old_side.norm()
    norm_new = new_side.norm()
    short: dict[int, set[str]] = {}
    found: list[Conflict] = []
    col = 0
    for k in new_side.arts:
        w0 = max(0, k - window)
        rows_k = slice(int(starts[w0]) - lo, int(starts[k]) - lo)
        cols = slice(col, col + usable[k].size)
        col += usable[k].size
        if rows_k.stop <= rows_k.start or not usable[k].size:
            continue
        # a re-report of any statement of the earlier articles (short ones included) is no news
        known = set(norm[rows_k])
        for a in range(w0, k):
            if a not in short:
                f = forms[a]
                short[a] = {
                    " ".join(f.statements[i].text.split())
                    for i in np.flatnonzero(f.words < MIN_WORDS).tolist()
                }
            known |= short[a]
        keep = np.array(
            [j for j in range(cols.start, cols.stop) if norm_new[j] not in known], dtype=np.int64
        )
        if not keep.size:
            continue
        rows_i = np.arange(rows_k.start, rows_k.stop)
        found.extend(
            _judge_pairs(
                forms,
                old_side,
                new_side,
                rows_i,
                keep,
                sims_all[rows_k][:, keep],
                ctx_all[rows_k][:, keep],
                judge,
            )
        )
    return found


class _Side:
    """The usable statements of some articles, in order, as one column set: (article,
    index) of each and their arrays, concatenated once."""

    def __init__(
        self, forms: Sequence[PreparedArticle], usable: Sequence[np.ndarray], arts: range
    ) -> None:
        self.forms = forms
        self.usable = usable
        self.arts = arts
        self.refs = [(a, int(i)) for a in arts for i in usable[a].tolist()]
        self._columns: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None

    def _cat(self, column: str) -> np.ndarray:
        parts = [getattr(self.forms[a], column)[self.usable[a]] for a in self.arts]
        return np.concatenate(parts) if parts else np.zeros(0, np.int64)

    def rows(self, column: str) -> TermRows:
        """The term (or context) ids of the side's statements."""
        return TermRows.concat(
            [_take(getattr(self.forms[a], column), self.usable[a]) for a in self.arts]
        )

    def norm(self) -> list[str]:
        return [" ".join(self.forms[a].statements[i].text.split()) for a, i in self.refs]

    def columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(templated, kinds, time in microseconds, dated) of each statement."""
        if self._columns is None:
            self._columns = self._gather()
        return self._columns

    def _gather(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        times = [self.forms[a].times() for a in self.arts]
        at = [t[0][self.usable[a]] for t, a in zip(times, self.arts, strict=True)]
        dated = [t[1][self.usable[a]] for t, a in zip(times, self.arts, strict=True)]
        return (
            self._cat("templated").astype(bool),
            self._cat("kinds").astype(np.int64),
            np.concatenate(at).astype(np.int64) if at else np.zeros(0, np.int64),
            np.concatenate(dated).astype(bool) if dated else np.zeros(0, bool),
        )


def _judged(
    a: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    b: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    sims: np.ndarray,
    ctx: np.ndarray,
) -> np.ndarray:
    """The pairs the default judge can find a conflict in, from its own early exits, checked
    for all pairs at once: a token diff (:func:`diff_judge`) needs near-identical wording
    within ``SAME_PERIOD``; comparing paraphrases (:func:`slot_judge`) needs related
    contexts within ``SAME_NEWS_CYCLE`` and values both sides can compare (dates or weekdays,
    or durations, with ``SAME_FACT`` context; or counts of one class)."""
    _, ka, ta, da = a
    _, kb, tb, db = b
    gap = np.abs(ta[:, None] - tb[None, :])
    dated = da[:, None] & db[None, :]
    near = sims >= NEAR_IDENTICAL
    diffed = near & ~(dated & (gap > SAME_PERIOD // _MICROSECOND))
    both = ka[:, None] & kb[None, :]
    comparable = ((both & (TEMPORAL_SLOT | DURATION_SLOT)) != 0) & (ctx >= SAME_FACT)
    comparable |= (both & _CLASS_BITS) != 0
    cycle = SAME_NEWS_CYCLE // _MICROSECOND
    paraphrased = ~near & (ctx >= SAME_COUNT) & ~(dated & (gap > cycle))
    return np.asarray(diffed | (paraphrased & comparable))


def _judge_pairs(
    forms: Sequence[PreparedArticle],
    old_side: _Side,
    new_side: _Side,
    rows: np.ndarray,
    cols: np.ndarray,
    sims: np.ndarray,
    ctx: np.ndarray,
    judge: PairJudge,
) -> list[Conflict]:
    """The conflicts of the pairs (earlier statement ``rows`` of ``old_side``, newer
    statement ``cols`` of ``new_side``) worth judging."""
    old_cols, new_cols = old_side.columns(), new_side.columns()
    a_cols = tuple(c[rows] for c in old_cols)
    b_cols = tuple(c[cols] for c in new_cols)
    best = sims.max(axis=0)  # how closely each new statement restates any earlier one
    worth = np.maximum(sims, ctx) >= SAME_COUNT
    worth &= ~a_cols[0][:, None]  # a templated statement is not compared
    if judge is default_judge:
        worth &= _judged(a_cols, b_cols, sims, ctx)
    pairs = [(float(sims[i, j]), int(i), int(j)) for i, j in zip(*np.nonzero(worth), strict=True)]
    conflicts: list[Conflict] = []
    seen: set[tuple[str, str, str, str]] = set()
    for sim, i, j in sorted(pairs, key=lambda p: (-p[0], p[1], p[2])):
        if sim < RESTATES <= best[j]:
            continue  # b restates another earlier statement: compare it with that one only
        (fa, ia), (fb, ib) = old_side.refs[int(rows[i])], new_side.refs[int(cols[j])]
        a, b = forms[fa][ia], forms[fb][ib]
        for f in judge(a, b, sim, float(ctx[i, j])):
            va, vb = f.values[0].lower(), f.values[1].lower()
            keys = [
                (f.slot, va, vb, "a" + a.statement.text),
                (f.slot, va, vb, "b" + b.statement.text),
            ]
            if any(k in seen for k in keys):
                continue
            seen.update(keys)
            conflicts.append(
                Conflict(classify(f, a, b), f.fact, [a.statement, b.statement], f.slot,
                         f.values, (a.claim, b.claim))
            )  # fmt: skip
    return conflicts


__all__ = [
    "Conflict",
    "Finding",
    "PairJudge",
    "Prepared",
    "PreparedArticle",
    "classify",
    "conflicts_between",
    "conflicts_in_sequence",
    "default_judge",
    "diff_judge",
    "find_conflicts",
    "prepare",
    "prepare_article",
    "slot_judge",
]
