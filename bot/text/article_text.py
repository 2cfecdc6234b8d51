"""Plain-text article reader: headline, body without page furniture, dateline, desk byline.

Article files saved from news web pages carry the page around the story: site slogans and
separators before the headline, share widgets, avatar and byline lines, image captions,
"Also Read" blocks, a teaser copy of the lead. Every rule here is a general shape of such
furniture, tested on real newswire text wrapped in furniture, never a list of seed strings.

Body convention (what downstream sentence splitters can rely on):

* one paragraph per line, no blank lines, every line is prose: it ends like a sentence
  (``. ! ? …``, possibly followed by closing quotes or brackets), or it is a quotation line
  (starts with a quote mark), or it is long (``PROSE_MIN_WORDS`` words or more), or it
  introduces what follows or is one item of a list sentence (ends with ``:`` or ``;``
  after a few words);
* short lines that are none of these -- section headings ("A Renewed Dialogue"), image
  captions ("US President Donald Trump and Russian President Vladimir Putin"), avatar
  lines, labels -- are dropped: they are not statements, and kept without a full stop a
  splitter would glue them onto the next sentence. The exception: when a text has no prose
  at all (a one-phrase feed summary), its non-furniture lines are kept rather than nothing.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from itertools import chain

from bot.text.fingerprint import words

PROSE_MIN_WORDS = 16
HEADLINE_MIN_WORDS = 3
HEADLINE_MAX_WORDS = 25
HEADLINE_SEARCH_LINES = 12
NAME_SHAPED_MAX_WORDS = 4
BYLINE_AREA_LINES = 8
NEAR_DUP_MIN_WORDS = 15
TEASER_MIN_CHARS = 40
NEAR_DUP_CONTAINMENT = 0.8
MAX_PAIRWISE_PARAGRAPHS = 600


@dataclass(slots=True)
class ParsedText:
    """A saved article: its headline, cleaned body (one paragraph a line) and byline facts."""

    title: str
    body: str
    dateline: datetime | None = None
    byline_outlet: str | None = None


# --------------------------------------------------------------------------- normalisation

_SPACES_RE = re.compile(r"[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000\x0b\x0c]+")
_INVISIBLE_RE = re.compile(r"[\u00ad\u200b-\u200d\u2060\ufeff\x00-\x08\x0e-\x1f\x7f]")
_LINE_BREAKS_RE = re.compile(r"\r\n?|[\u2028\u2029\x85]")
_BLANK_RUN_RE = re.compile(r"\n{3,}")


def normalize_text(text: str) -> str:
    """Unicode NFC, one space between words, stripped lines, at most one blank line in a row.

    Typographic quotes, dashes and ellipses are kept as written.
    """
    text = unicodedata.normalize("NFC", text)
    text = _LINE_BREAKS_RE.sub("\n", text)
    text = _INVISIBLE_RE.sub("", text)
    lines = [_SPACES_RE.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_RUN_RE.sub("\n\n", "\n".join(lines)).strip()


# --------------------------------------------------------------------------- line shapes

_OPEN_QUOTES = "“\"‘'«„‹「"
_CLOSERS = "”\"’'»›」)]}*"
_TERMINAL_RE = re.compile(r"(?:[.!?…]|\.\.\.)$")
_HAS_LETTER_RE = re.compile(r"[^\W\d_]")
_ELLIPSIS_END_RE = re.compile(r"\s*(?:…|\.{3,})\s*$")
_ABBREVIATION_END_RE = re.compile(
    r"(?:\b(?:[A-Za-z]\.){2,}|\b(?:Inc|Co|Cos|Corp|Ltd|Jr|Sr|Bros|St|Dr|Mr|Mrs|Ms|No)\.)$"
)


def _word_count(line: str) -> int:
    return len(line.split())


def _ends_sentence(line: str) -> bool:
    return bool(_TERMINAL_RE.search(line.rstrip(_CLOSERS + " ")))


def _ends_full_stop(line: str) -> bool:
    """Ends with a single full stop (not an ellipsis, not an abbreviation such as U.S.)."""
    core = line.rstrip(_CLOSERS + " ")
    return core.endswith(".") and not core.endswith("..") and not _ABBREVIATION_END_RE.search(core)


def is_prose(line: str) -> bool:
    """Whether a line reads as running text rather than a heading, caption or label."""
    n = _word_count(line)
    if n >= PROSE_MIN_WORDS or _ends_sentence(line):
        return True
    if line[:1] in _OPEN_QUOTES and n >= 4:
        return True
    return line.endswith((":", ";")) and n >= 5


# --------------------------------------------------------------------------- furniture rules

# Widget and navigation labels: matched at the start of a short line, after bullets.
_WIDGET_LABEL_RE = re.compile(
    r"""^(?:\d+\s+)?(?:
        shares?(?:\s+(?:this|it|on|via|with|to|the\s+(?:story|article|post|love)))?
      | spread\s+the\s+love | like\s+this | likes? | tweet | pin\s+it | print(?:\s+this)?
      | e-?mail(?:\s+this)? | save(?:\s+(?:this|article|story))? | bookmark | copy\s+link
      | (?:add|leave|post|write|view|show|load|hide|read)\s+(?:a\s+|your\s+|all\s+|\d+\s+)?
        (?:comments?|repl(?:y|ies)|responses?)
      | comments? | repl(?:y|ies) | advertisement | advert | sponsored(?:\s+content)?
      | promoted(?:\s+content)? | loading | please\s+wait | continue\s+reading
      | (?:read|see|view|load|show)\s+(?:more|also|next|full\s+(?:story|article))
      | also\s+read | see\s+also | related(?:\s+\w+)? | latest(?:\s+(?:news|stories|posts|updates))?
      | trending(?:\s+now)? | most\s+(?:read|popular|viewed|shared|recent)
      | more\s+(?:from|on|in|stories|news|articles) | recommended(?:\s+for\s+you)?
      | you\s+(?:may|might)\s+(?:also\s+)?like | don.t\s+miss | top\s+stories | editor.s\s+picks?
      | (?:tags?|topics?|categories|filed\s+under) | follow\s+us | subscribe | newsletter
      | sign\s+(?:up|in) | log\s*in | register | skip\s+to(?:\s+\w+)? | back\s+to\s+top
      | source\s+\d+ | menu | search | home
    )\b""",
    re.IGNORECASE | re.VERBOSE,
)
_WIDGET_LABEL_MAX_WORDS = 6

# A label ending in a colon or dash that introduces a link list: "Also Read: <headline>".
_LEAD_IN_RE = re.compile(
    r"^(?:also\s+read|read\s+(?:also|more|next)|see\s+also|related(?:\s+\w+)?|more\s+from"
    r"|recommended|watch|listen|trending|most\s+read)(?:\s*[:|]|\s+[–—>»-]\s)",
    re.IGNORECASE,
)

# Notices written to the reader about the site itself, whatever their length.
_SITE_NOTICE_RE = re.compile(
    r"\bwe\s+use\s+cookies\b|\b(?:accept|manage)\s+(?:all\s+)?cookies\b"
    r"|\b(?:our|your)\s+(?:newsletter|inbox|cookie|privacy\s+policy|app)\b"
    r"|^subscribe\b|\bsubscribe\s+to\s+our\b|\bsign\s+up\s+(?:for|to)\s+(?:our|the)\s+newsletter\b"
    r"|\bfollow\s+us\s+on\b|\bclick\s+here\b|\bopens?\s+in\s+(?:a\s+)?new\s+(?:window|tab)\b"
    r"|\ball\s+rights\s+reserved\b|\benable\s+javascript\b|\byour\s+browser\b"
    r"|^(?:more\s+details\s+(?:to\s+follow|soon)|this\s+(?:is\s+a\s+)?(?:developing|breaking)\s+story"
    r"|this\s+story\s+is\s+(?:developing|being\s+updated))\b",
    re.IGNORECASE,
)
_SITE_NOTICE_MAX_WORDS = 30

# Photo credits and caption markers.
_CREDIT_RE = re.compile(
    r"\((?:file\s+)?(?:photos?|images?|pictures?|photograph|credit|video|illustration)\b[^)]*\)"
    r"\s*$"
    r"|^(?:file\s+)?(?:photos?|images?|pictures?|photograph|credit|illustration|video)s?"
    r"(?:\s+credit)?\s*:"
    r"|\b(?:photos?|images?|pictures?|photograph|credit)(?:\s+credit)?\s*:\s*"
    r"[A-Z][\w.'’-]*(?:\s+[A-Z/][\w.'’/-]*){0,4}\s*$"
    r"|\b(?:getty\s+images|shutterstock|istock(?:photo)?)\b",
    re.IGNORECASE,
)
_CREDIT_MAX_WORDS = 40

# "By Jane Doe", "By", "Written by ...", "Posted on ...".
_BYLINE_START_RE = re.compile(
    r"^(?:by|(?:written|posted|reported|edited|compiled|published|updated|reviewed)\s+(?:by|on|at))"
    r"\b\s*:?\s*(?P<rest>.*)$",
    re.IGNORECASE,
)
_NAME_CONNECTORS = frozenset({"and", "&", "of", "the", "de", "da", "del", "van", "von", "al", "|"})
_BYLINE_MAX_WORDS = 10

_NAV_SPLIT_RE = re.compile(r"\s*(?:[|•·»›]|\s>\s|\s/\s)\s*")
_NAV_SEPARATOR_RE = re.compile(r"[|•·»›]|\s[>/]\s")
_NAV_ITEM_MAX_WORDS = 4


def _strip_bullets(line: str) -> str:
    return line.lstrip("•·*-–—>»|#+ ").strip()


def _is_widget(line: str, n_words: int) -> bool:
    bare = _strip_bullets(line)
    if not bare:
        return False
    if _LEAD_IN_RE.match(bare):
        return True
    if n_words <= _WIDGET_LABEL_MAX_WORDS and not _ends_full_stop(bare):
        match = _WIDGET_LABEL_RE.match(bare)
        # The label must be most of the line: "Comments" yes, "Comments from the mayor?" no.
        if match and (n_words <= 3 or match.end() >= len(bare) * 0.5):
            return True
    return n_words <= _SITE_NOTICE_MAX_WORDS and bool(_SITE_NOTICE_RE.search(line))


def _is_byline(line: str) -> bool:
    match = _BYLINE_START_RE.match(line)
    if not match:
        return False
    rest = match.group("rest").strip()
    tokens = rest.replace(",", " ").split()
    if len(tokens) > _BYLINE_MAX_WORDS or (_ends_full_stop(rest) and len(tokens) > 4):
        return False
    if _find_date(rest) is not None:
        return True
    return all(
        t.strip("()[]").casefold() in _NAME_CONNECTORS or t.strip("()[]\"'“‘")[:1].isupper()
        for t in tokens
    )


def _is_nav_list(line: str) -> bool:
    if not _NAV_SEPARATOR_RE.search(line):
        return False
    parts = [p for p in _NAV_SPLIT_RE.split(line) if p.strip()]
    if len(parts) < 2:
        return False
    return all(_word_count(p) <= _NAV_ITEM_MAX_WORDS and not _ends_full_stop(p) for p in parts)


# Wire slugs: the desk's label of a story ("BC-NJ--Budget-Vote", "NBA-LABOR-2",
# "GUADALAJARA-ARCHITECTURE, 10-28", "a0123 AM-Mideast-Peace, 1st Ld-Writethru 0543").
_SLUG_PART = r"[A-Za-z0-9&]+"
_SLUG_WORD_RE = re.compile(rf"^{_SLUG_PART}(?:-{{1,2}}{_SLUG_PART})+$")
_SLUG_CODE_RE = re.compile(
    r"^(?:\d{1,2}-\d{1,2}|\d{3,4}|[a-z]\d{4}|\d+(?:st|nd|rd|th)|\(?undated\)?|\d{1,2})$",
    re.IGNORECASE,
)
_SLUG_QUALIFIERS = frozenset(
    {
        "ld", "writethru", "ld-writethru", "lead", "urgent", "advisory", "adv", "correction",
        "corrected", "sub", "insert", "add", "bjt", "update", "takes", "--", "-",
    }
)  # fmt: skip
_WIRE_PREFIX_RE = re.compile(r"^(?:BC|AM|PM|BN|BP)-", re.IGNORECASE)
SLUG_MAX_TOKENS = 8


def _strong_slug_word(token: str) -> bool:
    """A word only a wire desk writes: all capitals joined by hyphens ("NBA-LABOR-2"), a
    wire prefix ("BC-…", "AM-…") or a double hyphen ("NJ--Budget")."""
    if not _SLUG_WORD_RE.match(token):
        return False
    letters = [p for p in re.split(r"-+", token) if any(c.isalpha() for c in p)]
    all_caps = bool(letters) and all(p.isupper() for p in letters) and len(letters) >= 2
    return all_caps or bool(_WIRE_PREFIX_RE.match(token)) or "--" in token


def is_wire_slug(line: str) -> bool:
    """Whether ``line`` is a wire slug line: slug words, dates ("10-28"), word counts and
    version marks ("1st Ld-Writethru") only, with at least one word a desk's slug. An
    all-capitals headline ("NATIVE-AMERICANS HOPE FOR A NEW WORLD") has ordinary words too."""
    tokens = [t for t in re.split(r"[\s,;:]+", line.strip().strip("()")) if t]
    if not tokens or len(tokens) > SLUG_MAX_TOKENS:
        return False
    strong = False
    for token in tokens:
        if _strong_slug_word(token):
            strong = True
        elif not (
            _SLUG_CODE_RE.match(token)
            or token.casefold() in _SLUG_QUALIFIERS
            or (_SLUG_WORD_RE.match(token) and token.split("-")[0].casefold() in _SLUG_QUALIFIERS)
        ):
            return False
    return strong


def furniture_reason(line: str, title: str = "") -> str | None:
    """Why ``line`` is page furniture (a short name for the rule), or ``None`` for content."""
    if not _HAS_LETTER_RE.search(line):
        return "no-letters"
    if is_wire_slug(line):
        return "wire-slug"
    if title and line.casefold() == title.casefold():
        return "repeated-title"
    n = _word_count(line)
    if _is_widget(line, n):
        return "widget"
    if n <= _CREDIT_MAX_WORDS and _CREDIT_RE.search(line):
        return "credit"
    if _is_byline(line):
        return "byline"
    if _is_date_line(line):
        return "date-line"
    if _is_nav_list(line):
        return "navigation"
    return None


# --------------------------------------------------------------------------- blocks and repeats

_BLOCK_MARKER_RE = re.compile(
    r"^(?:also\s+read|read\s+(?:also|more|next)|see\s+also|related(?:\s+\w+)?"
    r"|latest(?:\s+(?:news|stories|posts|updates))?|more\s+(?:from|on|in|stories|news)(?:\s+\w+)?"
    r"|recommended(?:\s+for\s+you)?|you\s+(?:may|might)\s+(?:also\s+)?like|trending(?:\s+now)?"
    r"|most\s+(?:read|popular|viewed|shared)|top\s+stories|editor.s\s+picks?)\s*:?$",
    re.IGNORECASE,
)
_BLOCK_MAX_ITEMS = 12


def _drop_link_blocks(lines: Sequence[str]) -> list[str]:
    """Drop a standalone "Also Read"/"Latest News" marker and the link lines after it.

    Link lines are short and do not end with a full stop (headlines, teasers cut with "…");
    the first line that does, or a long one, is the article again.
    """
    kept: list[str] = []
    in_block = 0
    for line in lines:
        if _BLOCK_MARKER_RE.match(_strip_bullets(line)):
            in_block = _BLOCK_MAX_ITEMS
            continue
        if in_block and _word_count(line) < PROSE_MIN_WORDS and not _ends_full_stop(line):
            in_block -= 1
            continue
        in_block = 0
        kept.append(line)
    return kept


def _teaser_key(line: str) -> str:
    """The text a truncated teaser shares with its full paragraph (cut word and "…" removed)."""
    stripped = _ELLIPSIS_END_RE.sub("", line)
    if stripped != line:
        stripped = stripped.rsplit(" ", 1)[0] if " " in stripped else stripped
    return stripped.casefold()


def _trigrams(tokens: list[str]) -> set[tuple[str, ...]]:
    return {tuple(tokens[i : i + 3]) for i in range(len(tokens) - 2)}


def _drop_repeats(lines: Sequence[str]) -> list[str]:
    """Drop paragraphs repeated elsewhere: exact copies, truncated teasers, near-copies.

    Of two copies the longer is kept (the earlier one when they are equally long); a copy is a
    paragraph whose text, without a trailing ellipsis, starts the other one, or whose word
    3-grams are at least ``NEAR_DUP_CONTAINMENT`` contained in it (a lightly edited standfirst).
    """
    seen: set[str] = set()
    unique: list[str] = []
    for line in lines:
        key = line.casefold()
        if key not in seen:
            seen.add(key)
            unique.append(line)
    if len(unique) > MAX_PAIRWISE_PARAGRAPHS:
        return unique
    tokens = [words(line) for line in unique]
    grams = [_trigrams(t) for t in tokens]
    keys = [_teaser_key(line) for line in unique]
    folded = [line.casefold() for line in unique]
    postings: dict[object, list[int]] = {}
    for j, gram_set in enumerate(grams):
        for gram in gram_set:
            postings.setdefault(gram, []).append(j)
    dropped: set[int] = set()
    for i, line in enumerate(unique):
        check_prefix = len(keys[i]) >= TEASER_MIN_CHARS
        check_grams = len(tokens[i]) >= NEAR_DUP_MIN_WORDS
        if not (check_prefix or check_grams):
            continue
        # Shared 3-gram counts through an inverted index: linear in the text, not quadratic.
        shared: Counter[int] = (
            Counter(chain.from_iterable(postings[gram] for gram in grams[i]))
            if check_grams
            else Counter()
        )
        for j, other in enumerate(unique):
            if i == j or j in dropped:
                continue
            longer = len(other) > len(line) or (len(other) == len(line) and j < i)
            if not longer:
                continue
            if check_prefix and folded[j].startswith(keys[i]):
                dropped.add(i)
                break
            if check_grams and shared[j] >= NEAR_DUP_CONTAINMENT * len(grams[i]):
                dropped.add(i)
                break
    return [line for i, line in enumerate(unique) if i not in dropped]


def clean_body_lines(lines: Iterable[str], title: str) -> list[str]:
    """Remove page furniture from article lines; returns the kept paragraphs, one per item.

    Blank lines are dropped, whitespace is normalised, a repeat of ``title`` is furniture.
    """
    normalized = [normalize_text(line).replace("\n", " ") for line in lines]
    candidates = _drop_link_blocks([line for line in normalized if line])
    title = normalize_text(title)
    kept: list[str] = []
    fallback: list[str] = []
    for line in candidates:
        if furniture_reason(line, title) is not None:
            continue
        if is_prose(line):
            kept.append(line)
        else:
            fallback.append(line)
    return _drop_repeats(kept or fallback)


# --------------------------------------------------------------------------- dates and bylines

_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
_TIME = (
    r"(?:\s*,?\s*(?:at\s+|[|·•-]\s*)?(?P<hour>\d{1,2})[:.](?P<minute>\d{2})(?::\d{2})?"
    r"(?:\s*(?P<ampm>[ap])\.?\s?m\b\.?)?(?:\s*(?P<tz>UTC|GMT|[A-Z]{1,3}[SD]?T|[+-]\d{2}:?\d{2})\b)?)?"
)
_DATE_RE = re.compile(
    rf"\b(?:(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<m1>{_MONTH})\.?,?\s+(?P<y1>(?:19|20)\d{{2}})"
    rf"|(?P<m2>{_MONTH})\.?\s+(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y2>(?:19|20)\d{{2}})"
    rf"|(?P<y3>(?:19|20)\d{{2}})-(?P<m3>\d{{2}})-(?P<d3>\d{{2}})(?=[T\s]|$)T?)"
    rf"{_TIME}",
    re.IGNORECASE,
)
_YEAR_RE = re.compile(r"(?:19|20)\d\d")
# Offsets of common zone abbreviations in news bylines (standard and daylight forms).
_ZONE_HOURS = {
    "UTC": 0.0, "GMT": 0.0, "Z": 0.0, "BST": 1.0, "CET": 1.0, "CEST": 2.0, "EET": 2.0,
    "EEST": 3.0, "MSK": 3.0, "IST": 5.5, "PKT": 5.0, "JST": 9.0, "KST": 9.0, "AEST": 10.0,
    "AEDT": 11.0, "ET": -5.0, "EST": -5.0, "EDT": -4.0, "CT": -6.0, "CST": -6.0, "CDT": -5.0,
    "MT": -7.0, "MST": -7.0, "MDT": -6.0, "PT": -8.0, "PST": -8.0, "PDT": -7.0,
}  # fmt: skip
_DATE_FILLER = frozenset(
    {
        "published", "updated", "posted", "last", "modified", "edited", "on", "at", "by",
        "and", "am", "pm", "a.m.", "p.m.", "|", "-", "·", "•", ",", ":", "read", "min",
        "mins", "minute", "minutes", "hour", "hours", "day", "days", "ago", "time",
    }
)  # fmt: skip
_DATE_LINE_MAX_NAME_WORDS = 4


def _zone(tz: str | None) -> timezone:
    if not tz:
        return UTC
    tz = tz.upper()
    if tz[0] in "+-":
        digits = tz[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4]))
        return timezone(-offset if tz[0] == "-" else offset)
    hours = _ZONE_HOURS.get(tz)
    return UTC if hours is None else timezone(timedelta(hours=hours))


def _date_from_match(match: re.Match[str]) -> datetime | None:
    g = match.groupdict()
    try:
        if g["y3"]:
            year, month, day = int(g["y3"]), int(g["m3"]), int(g["d3"])
        else:
            year = int(g["y1"] or g["y2"])
            month = _MONTHS[(g["m1"] or g["m2"])[:3].casefold()]
            day = int(g["d1"] or g["d2"])
        hour = int(g["hour"]) if g["hour"] else 0
        minute = int(g["minute"]) if g["minute"] else 0
        if g["ampm"]:
            if hour > 12:
                return None
            hour = hour % 12 + (12 if g["ampm"].casefold() == "p" else 0)
        local = datetime(year, month, day, hour, minute, tzinfo=_zone(g["tz"]))
    except (ValueError, KeyError, OverflowError):
        return None
    return local.astimezone(UTC)


def _find_date(line: str) -> tuple[datetime, re.Match[str]] | None:
    if not _YEAR_RE.search(line):
        return None
    for match in _DATE_RE.finditer(line):
        found = _date_from_match(match)
        if found is not None:
            return found, match
    return None


def _is_date_line(line: str) -> bool:
    """A line that is a date plus filler words and at most a short name ("EPN Desk")."""
    hit = _find_date(line)
    if hit is None:
        return False
    _, match = hit
    rest = (line[: match.start()] + " " + line[match.end() :]).split()
    others = [t for t in rest if t.casefold().strip(",.:;()") not in _DATE_FILLER]
    names = [t for t in others if t.strip("()[],.:;")[:1].isupper() or t.strip("|-·•") == ""]
    return len(others) == len(names) and len(names) <= _DATE_LINE_MAX_NAME_WORDS


_DESK_RE = re.compile(
    r"^(?:[Bb]y\s+)?(?P<name>[A-Z][\w&.'’-]*(?:\s+[A-Z][\w&.'’-]*){0,3}?)\s+"
    r"(?:(?:News|Web|Digital|Online|Editorial|Political|Foreign|City)\s+)?"
    r"(?:Desk|Bureau|Newsroom|Staff|Team|News\s+Service|Wire)\b",
)
_WIRE_DATELINE_RE = re.compile(
    r"^[A-Z][A-Za-z .'’/-]*(?:,\s*[\w .'’-]+){0,2}\s*"
    r"\((?P<name>[A-Z][A-Za-z]{1,15})\)\s*(?:--|[–—-])"
)
_DATELINE_DASH_RE = re.compile(r"\s(?:--|[–—-])\s")
_BYLINE_SCAN_CHARS = 200
_GENERIC_BYLINE_WORDS = frozenset(
    {
        "news", "web", "digital", "online", "editorial", "staff", "our", "the", "a", "by",
        "team", "desk", "political", "foreign", "city", "metro", "local", "national", "world",
        "international", "business", "sports", "features", "opinion",
    }
)  # fmt: skip


def _desk_outlet(line: str, *, wire_dateline: bool = False) -> str | None:
    """The outlet a desk byline ("EPN Desk") or a wire dateline ("BEIJING (AP) --") names."""
    pattern = _WIRE_DATELINE_RE if wire_dateline else _DESK_RE
    match = pattern.match(line[:_BYLINE_SCAN_CHARS])
    if not match:
        return None
    name = match.group("name").strip()
    if name.casefold() in _GENERIC_BYLINE_WORDS:
        return None
    return name


# --------------------------------------------------------------------------- headline


def _looks_like_headline(line: str) -> bool:
    n = _word_count(line)
    if not HEADLINE_MIN_WORDS <= n <= HEADLINE_MAX_WORDS:
        return False
    first = line.lstrip(_OPEN_QUOTES)[:1]
    if not (first.isupper() or first.isdigit()):
        return False
    if _ends_full_stop(line) or line.endswith((",", ";", ":")) or _ELLIPSIS_END_RE.search(line):
        return False
    return furniture_reason(line) is None


_STOPWORDS = frozenset(
    {
        "this", "that", "with", "from", "have", "will", "were", "they", "their", "about",
        "after", "into", "over", "more", "your", "what", "when", "which", "would", "there",
        "been", "than", "them", "then", "also", "said", "says", "just", "only", "some", "such",
        "very", "each", "every", "most", "other", "here", "where", "while", "these", "those",
    }
)  # fmt: skip
_TOPIC_LOOKAHEAD_LINES = 60


def _topic_words(line: str) -> set[str]:
    """Content words cut to five letters, a crude stem: "Venezuelan" meets "Venezuela"."""
    return {w[:5] for w in words(line) if len(w) >= 4 and w not in _STOPWORDS}


def _is_name_shaped(line: str) -> bool:
    """A few capitalised words, like a site name ("The Riverside Ledger") or a short headline."""
    tokens = line.split()
    return len(tokens) <= NAME_SHAPED_MAX_WORDS and all(
        not t[:1].isalpha() or t[:1].isupper() for t in tokens
    )


def _headline_index(lines: Sequence[str]) -> int | None:
    """The first headline-shaped line that is about the story after it.

    Candidates are searched before the first long paragraph. "About the story" means sharing
    a content word with the non-furniture text that follows, or two for a name-shaped line
    (a masthead may share a place name with the story). Without such a line, the first
    candidate; without a candidate, the first line that is not furniture.
    """
    story_words: dict[int, set[str]] = {}

    def words_at(k: int) -> set[str]:
        if k not in story_words:
            is_story = furniture_reason(lines[k]) is None
            story_words[k] = _topic_words(lines[k]) if is_story else set()
        return story_words[k]

    candidates: list[int] = []
    for i, line in enumerate(lines[:HEADLINE_SEARCH_LINES]):
        if _looks_like_headline(line):
            candidates.append(i)
        elif _word_count(line) >= PROSE_MIN_WORDS and furniture_reason(line) is None:
            break
    for i in candidates:
        following: set[str] = set()
        for k in range(i + 1, min(len(lines), i + 1 + _TOPIC_LOOKAHEAD_LINES)):
            if lines[k] != lines[i]:
                following |= words_at(k)
        needed = 2 if _is_name_shaped(lines[i]) else 1
        if len(_topic_words(lines[i]) & following) >= needed:
            return i
    if candidates:
        return candidates[0]
    for i, line in enumerate(lines):
        if furniture_reason(line) is None:
            return i
    return None


# An outlet's name as credits write it: capitalised words ("Knight Ridder Newspapers",
# "The New York Times Syndicate", "AFP"), a few connectors between them.
_OUTLET_CONNECTORS = frozenset({"of", "the", "and", "&", "de", "la", "el", "for"})
_OUTLET_MAX_WORDS = 6
_ROLE_WORDS = frozenset(
    {"writer", "writers", "correspondent", "reporter", "editor", "columnist", "contributor"}
)
_ROLE_MODIFIERS = frozenset(
    {
        "staff", "senior", "chief", "special", "science", "medical", "political", "business",
        "sports", "diplomatic", "military", "legal", "health", "economics", "environment",
        "religion", "technology", "national", "foreign", "financial", "news", "contributing",
    }
)  # fmt: skip
# "By Jane Doe, Reuters", "By Jane Doe | The Riverside Ledger", "By JANE DOE Knight Ridder
# Newspapers", "By Jane Doe, Associated Press Writer".
_BY_OUTLET_RE = re.compile(
    r"^By\s+(?:(?P<person>[^,|(]{2,60}?)\s*[,|]\s*(?P<name>[^,|()]+?)"
    r"|(?:[A-Z][A-Z.'’-]+\s+){1,4}(?P<after_caps>[A-Z][a-z][^,|()]*?))\s*\.?$"
)
# Credits that name the outlet: "(Distributed by New York Times Special Features)", "For use
# by clients of the New York Times News Service", "Copyright 1999 Slate", "© 2025 The Ledger".
_CREDIT_OUTLET_RES = (
    re.compile(
        r"^\(?\s*(?:distributed|syndicated|supplied)\s+by\s+(?P<name>[^()]+?)\s*\)?\.?$",
        re.IGNORECASE,
    ),
    re.compile(
        r"^\(?\s*for\s+use\s+by\s+(?:clients\s+of\s+(?P<name>[^()]+?)"
        r"|(?P<name2>[^()]+?)\s+clients)\s*\)?\.?(?:\s*\([a-z]\))?$",
        re.IGNORECASE,
    ),
    re.compile(
        r"^(?:copyright\s*(?:\(c\)|©)?|©|\(c\))\s*(?:\d{4}(?:\s*[-–]\s*\d{4})?\s*,?\s*)?"
        r"(?:by\s+)?(?P<name>[^.,]+?)[.,]?(?:\s+all\s+rights\s+reserved\.?)?$",
        re.IGNORECASE,
    ),
    # A closing credit line: "— Reuters", "-- The New York Times Syndicate."
    re.compile(r"^(?:--|[—–-])\s*(?P<name>[^-—–].*?)\s*\.?$"),
)
CREDIT_SCAN_LINES = 4
# Words that make a name an outlet's, where a person or a place could stand in the same spot
# ("By Jane Doe, Washington", "— Abraham Lincoln").
_OUTLET_WORDS = frozenset(
    {
        "news", "newspaper", "newspapers", "times", "post", "press", "journal", "tribune",
        "herald", "gazette", "telegraph", "guardian", "agency", "service", "services",
        "syndicate", "daily", "weekly", "magazine", "review", "chronicle", "observer",
        "independent", "star", "sun", "mail", "express", "standard", "courier", "ledger",
        "register", "record", "bulletin", "monitor", "examiner", "dispatch", "inquirer",
        "wire", "media", "network", "radio", "tv", "television", "broadcasting", "online",
        "features", "reuters", "bloomberg", "xinhua", "tass", "kyodo", "yonhap", "interfax",
        "post-dispatch", "star-telegram", "post-intelligencer", "constitution", "globe",
        "world", "report", "reporter", "insider", "today", "digest", "current", "bureau",
    }
)  # fmt: skip
_NOT_OUTLETS = frozenset({"m.d", "md", "ph.d", "phd", "jr", "sr", "ii", "iii", "esq"})


def _named_outlet(name: str) -> str | None:
    """:func:`outlet_name`, but only a name with an outlet's word in it, or an acronym
    ("AP", "AFP"): where a person or a place could stand instead."""
    found = outlet_name(name)
    if found is None:
        return None
    tokens = found.replace(".", "").split()
    if len(tokens) == 1 and tokens[0].isupper() and 2 <= len(tokens[0]) <= 6:
        return None if tokens[0].casefold() in _NOT_OUTLETS else found
    return found if any(t.casefold() in _OUTLET_WORDS for t in found.split()) else None


def outlet_name(text: str) -> str | None:
    """``text`` if it is shaped like an outlet's name (trailing job titles removed:
    "Associated Press Science Writer" -> "Associated Press"), else ``None``."""
    tokens = text.strip().strip(".").split()
    if tokens and tokens[-1].casefold() in _ROLE_WORDS:
        tokens.pop()
        while tokens and tokens[-1].casefold() in _ROLE_MODIFIERS:
            tokens.pop()
    while tokens and tokens[0].casefold() == "the" and not tokens[0][0].isupper():
        tokens.pop(0)
    if not tokens or len(tokens) > _OUTLET_MAX_WORDS:
        return None
    for token in tokens:
        if token.casefold() in _OUTLET_CONNECTORS:
            continue
        if not token[0].isupper() or not re.fullmatch(r"[\w.&'’-]+", token) or token.isdigit():
            return None
    if tokens[-1].casefold() in _OUTLET_CONNECTORS:
        return None
    if all(t.casefold() in _GENERIC_BYLINE_WORDS for t in tokens):
        return None
    return " ".join(tokens)


def _by_outlet(line: str) -> str | None:
    """The outlet a byline names after the author ("By Jane Doe, Reuters")."""
    match = _BY_OUTLET_RE.match(line[:_BYLINE_SCAN_CHARS])
    if not match:
        return None
    name = match.group("name") or match.group("after_caps") or ""
    return _named_outlet(name)


def credit_outlet(lines: Sequence[str]) -> str | None:
    """The outlet a credit among the last lines names ("— Reuters", "Distributed by …",
    "Copyright 2025 …", "For use by clients of …")."""
    for line in reversed(lines[-CREDIT_SCAN_LINES:]):
        if _word_count(line) > 14:
            continue
        for i, pattern in enumerate(_CREDIT_OUTLET_RES):
            match = pattern.match(line.strip())
            if match:
                name = next((g for g in match.groups() if g), "")
                dash = i == len(_CREDIT_OUTLET_RES) - 1  # "— NAME" could be anyone's name
                found = _named_outlet(name) if dash else outlet_name(name)
                if found:
                    return found
    return None


def _byline_facts(
    head: Sequence[str], first_paragraph: str | None
) -> tuple[datetime | None, str | None]:
    """The dateline and outlet from the byline area (short lines near the headline): a desk
    ("EPN Desk"), a byline naming its outlet ("By Jane Doe, Reuters"), a wire dateline."""
    dateline: datetime | None = None
    outlet: str | None = None
    area = [line for line in head if not is_prose(line) or furniture_reason(line) is not None]
    for line in area:
        if dateline is None and (hit := _find_date(line[:_BYLINE_SCAN_CHARS])) is not None:
            dateline = hit[0]
        if outlet is None:
            outlet = _desk_outlet(line) or _by_outlet(line)
    if first_paragraph and (dash := _DATELINE_DASH_RE.search(first_paragraph[:120])):
        wire = first_paragraph[: dash.end()]
        if dateline is None and (hit := _find_date(wire)) is not None:
            dateline = hit[0]
        if outlet is None:
            outlet = _desk_outlet(wire, wire_dateline=True)
    return dateline, outlet


def parse_text_article(text: str) -> ParsedText:
    """Split a saved article into headline and cleaned body, and read its byline area.

    The headline is the first line that reads as one (3-25 words, starts with a capital or a
    digit, no full stop or trailing comma/colon, not furniture); lines before it are site
    furniture. The rest, cleaned by :func:`clean_body_lines`, is the body.
    """
    lines = [line for line in normalize_text(text).split("\n") if line]
    index = _headline_index(lines)
    if index is None:
        return ParsedText(title="", body="")
    title = lines[index]
    rest = lines[index + 1 :]
    body_lines = clean_body_lines(rest, title)
    head = rest[:BYLINE_AREA_LINES]
    first_paragraph = body_lines[0] if body_lines else None
    dateline, outlet = _byline_facts(head, first_paragraph)
    if outlet is None:
        outlet = credit_outlet(rest) or credit_outlet(lines[:index])
    return ParsedText(
        title=title, body="\n".join(body_lines), dateline=dateline, byline_outlet=outlet
    )
