"""Sentence splitting for clean article text, and a test for sentences that stand alone.

The splitter is a rule-based (regex-class) one: fast, deterministic, and aware of the
abbreviations, initials, decimals and quotations that newswire text is full of.
Lines without terminal punctuation are headings (or page furniture): they are not
sentences, and :func:`split_blocks` returns them separately.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.analysis.boilerplate import clean_sentence, strip_inline

# Words after which a period never ends a sentence (titles, month abbreviations, "No. 1").
_NEVER_FINAL = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "sen",
        "rep",
        "gov",
        "gen",
        "col",
        "lt",
        "sgt",
        "capt",
        "adm",
        "maj",
        "cmdr",
        "cpl",
        "pvt",
        "st",
        "rev",
        "hon",
        "pres",
        "jr",
        "sr",
        "sec",
        "supt",
        "messrs",
        "mme",
        "mt",
        "ft",
        "gens",
        "reps",
        "sens",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "no",
        "nos",
        "vol",
        "vols",
        "fig",
        "figs",
        "approx",
        "est",
        "dept",
        "univ",
        "assn",
        "ave",
        "blvd",
        "vs",
        "v",
        "ca",
        "cf",
    ]
)
# Company suffixes: a period after them ends a sentence only before a sentence starter
# ("Merck & Co. said" goes on; "bought by Merck & Co. The deal" breaks), as after "U.S.".
_COMPANY = frozenset(["co", "corp", "inc", "ltd", "bros", "plc", "llc", "cos"])
# Words that start sentences: after an ambiguous abbreviation ("U.S.", "a.m.") they mark a break.
_STARTERS = frozenset(
    [
        "the",
        "a",
        "an",
        "he",
        "she",
        "it",
        "they",
        "we",
        "i",
        "this",
        "that",
        "these",
        "those",
        "but",
        "and",
        "in",
        "on",
        "at",
        "however",
        "meanwhile",
        "his",
        "her",
        "their",
        "its",
        "there",
        "officials",
        "police",
    ]
)
_CANDIDATE = re.compile(r"([.!?…]+)([\"'”’)\]]*)(\s+)")
_NEXT_OK = re.compile(r"[\"'“‘(\[]*[A-Z0-9]")
_TERMINAL = re.compile(r"(?:[.!?…]|\.\.\.)[\"'”’)\]]*$")
_DATELINE = re.compile(
    r"^(?:[A-Z][A-Z.'’-]+(?:\s+[A-Z][A-Z.'’-]+)*"  # CITY (upper case, maybe several words)
    r"(?:,\s*[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*)*)*"  # , Country / , State
    r"(?:,\s*[A-Z][a-z]+\.?\s+\d{1,2})?"  # , January 13
    r"(?:\s*\([^()]{1,40}\)|\s*\([A-Za-z ]{1,20}(?=\s*--))?"  # (Xinhua), "(AP --"
    r"|[A-Z][\w.'’-]*(?:\s*/\s*[A-Z][\w.,'’ -]*)+)"  # Moscow/Washington, D.C.
    r"\s*(?:--|–|—|-)\s+(?=[\"“A-Z])"
)
_WORD = re.compile(r"[A-Za-z0-9][\w'’.-]*")


@dataclass(frozen=True, slots=True)
class Block:
    """One unit of an article body: a sentence, or a heading line (``is_heading``)."""

    text: str
    is_heading: bool
    paragraph: int


def strip_dateline(text: str) -> str:
    """Drop a wire dateline such as ``MOSCOW –`` or ``PARIS, May 3 (AP) --`` from the front."""
    match = _DATELINE.match(text)
    if match and match.end() < len(text) - 20:
        return text[match.end() :]
    return text


def is_heading(line: str) -> bool:
    """A line that does not end like a sentence (no terminal punctuation) is a heading."""
    line = line.strip()
    return bool(line) and not _TERMINAL.search(line) and not line.endswith((":", ";"))


def _quote_open_at(text: str, index: int) -> bool:
    """Whether a double quotation opened before ``index`` is still open there."""
    before = text[:index]
    curly = before.count("“") - before.count("”")
    straight = before.count('"') % 2
    return curly > 0 or straight == 1


def _closes_later(text: str, index: int) -> bool:
    after = text[index:]
    return "”" in after or '"' in after


def _prev_word(text: str, end: int) -> str:
    start = end
    while start > 0 and not text[start - 1].isspace() and text[start - 1] not in "(“\"'‘":
        start -= 1
    return text[start:end]


def _is_boundary(line: str, match: re.Match[str]) -> bool:
    punct = match.group(1)
    after = match.end()
    if after >= len(line) or not _NEXT_OK.match(line, after):
        return False
    if _quote_open_at(line, match.start(3)) and _closes_later(line, after):
        return False
    if punct != ".":
        return True
    word = _prev_word(line, match.start())
    bare = word.lower().strip(".")
    if bare in _NEVER_FINAL:
        return False
    if re.fullmatch(r"[A-Z]", word):  # an initial: "John F. Kennedy"
        return False
    if bare in _COMPANY or re.fullmatch(r"(?:[A-Za-z]\.)+[A-Za-z]", word):  # "Co", "U.S", "a.m"
        nxt = _WORD.match(line, after + len(line[after:]) - len(line[after:].lstrip("\"'“‘(")))
        next_word = nxt.group(0).lower() if nxt else ""
        return next_word in _STARTERS
    return True


def _split_line(line: str) -> list[str]:
    parts: list[str] = []
    start = 0
    for match in _CANDIDATE.finditer(line):
        if _is_boundary(line, match):
            piece = line[start : match.end()].strip()
            if piece:
                parts.append(piece)
            start = match.end()
    tail = line[start:].strip()
    if tail:
        parts.append(tail)
    return parts


def split_blocks(text: str) -> list[Block]:
    """Sentences and headings of ``text`` in order (paragraphs are lines)."""
    blocks: list[Block] = []
    paragraph = 0
    for raw in text.splitlines():
        line = strip_inline(" ".join(raw.split()))  # a credit after a caption is no heading
        if not line:
            continue
        if is_heading(line) and len(line.split()) < 25:
            blocks.append(Block(line, True, paragraph))
        else:
            line = strip_dateline(line)
            for piece in _split_line(line):
                sentence = clean_sentence(piece)  # wire boilerplate is never a sentence
                if sentence:
                    blocks.append(Block(sentence, False, paragraph))
        paragraph += 1
    return blocks


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text``; heading lines are dropped (see :func:`split_blocks`)."""
    return [b.text for b in split_blocks(text) if not b.is_heading]


# --- standing alone ---------------------------------------------------------------

_DANGLING = re.compile(
    r"^(?:he|she|it|they|we|you|him|his|her|hers|its|their|them|our|this|that|these|those|"
    r"such|both|either|neither|another|however|meanwhile|but|and|or|nor|also|still|yet|so|"
    r"thus|hence|therefore|moreover|furthermore|additionally|instead|nevertheless|nonetheless|"
    r"otherwise|then|later|afterwards?|besides|likewise|similarly|consequently|accordingly|"
    r"indeed|here|others|in addition|in fact|in contrast|in turn|on the other hand|as a result|"
    r"for example|for instance|despite this|despite that|after that|at the same time|"
    r"by contrast|even so|all this|the latter|the former|the same)\b",
    re.IGNORECASE,
)
# A pronoun subject right after an opening clause: "According to X, this marks ...",
# "While he has not ..., he said".
_LATE_PRONOUN = re.compile(
    r"^(?:(?:while|although|though|as|when|after|before|because|since|if|once|until)\s+"
    r"(?:he|she|it|they|this|these)\b|[^,]{3,80},\s+(?:he|she|it|they|this|these)\s+"
    r"(?!is\b|was\b)[a-z]+)",
    re.IGNORECASE,
)
_PRONOUN_SPEAKER = re.compile(
    r"[,”\"]\s*(?:he|she|they|it)\s+(?:said|says|added|adds|noted|stated|remarked|told|"
    r"explained|insisted|argued|warned|continued|wrote)\b",
)
_FURNITURE = re.compile(
    r"\b(?:click here|read more|also read|subscribe|sign up|newsletter|follow us|share this|"
    r"advertisement|all rights reserved|copyright|cookie|terms of use|privacy policy|"
    r"add a comment|spread the love|latest news|related (?:sources|articles|stories)|"
    r"more details to follow|story develops|loading \.\.\.)\b|©|\|\|",
)


def is_furniture(sentence: str) -> bool:
    """Page furniture: sharing prompts, newsletter plugs, 'more to follow', copyright lines."""
    return bool(_FURNITURE.search(sentence.lower()))


def quotes_balanced(sentence: str) -> bool:
    """Double quotes open and close in the sentence (curly pairs, or an even count of ``"``)."""
    if sentence.count('"') % 2:
        return False
    depth = 0
    for ch in sentence:
        if ch == "“":
            depth += 1
        elif ch == "”":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def is_self_contained(sentence: str, *, min_words: int = 6, max_words: int = 70) -> bool:
    """Whether a reader could understand ``sentence`` shown alone.

    Rejects fragments and teasers, questions, lead-ins ending in ``:``, sentences that start
    with a pronoun or connective pointing at text they lack, pronoun speakers ("..., he
    said"), unbalanced quotes and page furniture.
    """
    s = sentence.strip()
    words = s.split()
    if not (min_words <= len(words) <= max_words):
        return False
    if not s[0].isupper() and s[0] not in "“\"'‘":
        return False
    if not _TERMINAL.search(s) or s.endswith(("…", "...")):
        return False
    if re.search(r"\?[\"'”’)]*$", s):
        return False
    if not quotes_balanced(s) or s[0] in "”’":
        return False
    if s[0] not in "(\"'“‘" and (_DANGLING.match(s) or _LATE_PRONOUN.match(s)):
        return False
    if s[0] in '“"' and (_PRONOUN_SPEAKER.search(s) or len(_outside_quotes(s).split()) < 3):
        return False
    return not is_furniture(s) and not _title_case(words)


def _outside_quotes(sentence: str) -> str:
    """The sentence with its double-quoted passages removed (the attribution, if any)."""
    return re.sub(r"“[^”]*”|\"[^\"]*\"", " ", sentence)


def _title_case(words: list[str]) -> bool:
    """Slogans and headlines: every word of four letters or more capitalised."""
    long_words = [w for w in words if w[:1].isalpha() and len(w.strip(".,;:!?")) >= 4]
    return len(long_words) >= 3 and all(w[0].isupper() for w in long_words)


__all__ = [
    "Block",
    "is_furniture",
    "is_heading",
    "is_self_contained",
    "quotes_balanced",
    "split_blocks",
    "split_sentences",
    "strip_dateline",
]
