"""Wire-service boilerplate: text that travels with a story but states nothing about it.

News agencies send their copy with photo credits ("(Jane Doe/New York Times Photo)",
"Photograph: Alex Wong/Getty Images"), advisories to editors ("For use by clients of ...",
"ATTENTION EDITORS: ...", delivery times "ETA: 6 p.m."), trim and end markers
("(END OPTIONAL TRIM)", "(MORE)", "ENDIT"), slugs ("BC-STORM-RECOVERY", "WEATHER-FLOODS, 10-28
--"), contact lines (phone, fax, e-mail) and lead-ins that only date an editorial ("The Times
said in an editorial for Tuesday, April 6:"). None of it may become a statement: quoted in a
summary it is noise, and compared across articles it "contradicts" itself (two photographers,
two delivery times, two editorial dates).

The patterns describe the *form* of these lines (a credit is "Name/Agency" with a picture
word; an advisory addresses editors or clients; a marker is an upper-case instruction in
brackets), not particular strings. :func:`clean_sentence` strips inline pieces (a credit after
the last sentence of a caption, a trim marker) and returns ``""`` when nothing of substance is
left.
"""

from __future__ import annotations

import re

_PICTURE = r"(?:Photos?|Photographs?|Pictures?|Graphics?|Illustrations?|Images?|Composites?)"
_BYLINE = rf"(?:{_PICTURE}|Staff|Pool|File)"
_AGENCY = (
    r"(?:AP|AFP|Reuters|Getty(?:\s+Images)?|EPA|Xinhua|Bloomberg|Shutterstock|REX|PA|"
    r"ZUMA(?:\s+Wire)?|Sipa(?:\s+USA)?|Corbis|Alamy|TASS|ANSA|dpa|Kyodo|Yonhap|UPI)"
)
# "(Jane Doe/New York Times Photo)", "(AP Photo/Jane Doe)", "(Jane Doe/Getty Images)" *LITE
_CREDIT_PAREN = re.compile(
    rf"\(\s*(?:[^()/]{{1,60}}/)+[^()]{{0,60}}\b(?:{_BYLINE}|{_AGENCY})\b[^()]{{0,40}}\)"
    rf"(?:\s*\*?[A-Z]{{2,}}\b)?"
    rf"|\(\s*(?:{_AGENCY}\s+)?{_PICTURE}\s*(?:by|:|/)\s*[^()]{{1,60}}\)",
)
# "Photograph: Alex Wong/Getty Images", "Photo by Jane Doe", "Credit: Reuters" as a whole line
_CREDIT_LINE = re.compile(
    rf"^\s*(?:{_PICTURE}|Credit|Courtesy|Caption)s?\s*(?::|by\b)\s*\S.{{0,100}}$"
    rf"|^\s*\(?[A-Z][\w.'’ -]{{1,50}}/(?:[\w.'’ -]{{1,40}}/)*[\w.'’ -]{{0,40}}\b"
    rf"(?:{_BYLINE}|{_AGENCY})\)?\s*$",
)
# Markers in brackets or alone: "(END OPTIONAL TRIM)", "(Optional add end)", "(MORE)", "ENDIT"
_MARKER = re.compile(
    r"\(\s*(?:(?:end|begin)\s+)?(?:optional|opt\.?)\s+(?:trim|add|insert|cut)\b[^()]{0,30}\)"
    r"|\(\s*(?:end\s+)?(?:optional\s+)?(?:add|insert|trim)\s+(?:end|follows|ends?)\s*\)"
    r"|\(\s*(?:more|end|endit|end advance|story ends|end of story|corrected|repeats?|"
    r"first add|second add|\d+(?:st|nd|rd|th) add)\s*\)"
    r"|(?-i:\(\s*[a-z]{1,4}/[a-z]{1,4}(?:/[a-z]{1,4})?\s*\))"  # operators' initials "(rn/sl)"
    r"|(?-i:\b(?:X\s*){3,}(?:END OF STORY)?\b|\bENDIT\b|\bEND (?:OF )?(?:STORY|ADVANCE)\b)"
    r"|(?-i:\bOPTIONAL TRIM FOLLOWS\b|&[A-Z]{2};)",
    re.IGNORECASE,
)
# A slug: upper-case words joined by hyphens, optionally with the wire's date "10-28 --".
_SLUG = re.compile(
    r"\b(?:BC-)?[A-Z][A-Z0-9]{1,}(?:-[A-Z0-9]{2,}){1,}(?:-[a-z]{2,4})?\b(?:,\s*\d{1,2}-\d{1,2}\b)?"
)
_SLUG_DATED = re.compile(
    r"\b[A-Z][A-Z0-9&]+(?:[- ][A-Z0-9&]+)*,\s*\d{1,2}-\d{1,2}\s*(?:--|—)|\bBC-[A-Z0-9-]{3,}"
    r"|^\(\s*[A-Z]{2,5}\d{1,4}\s*\)\s"  # a numbered photo caption: "(NYT35) CITY -- ..."
)
# Delivery advisories: "ETA: 6 p.m.", "will have an E.T.A. of 9:30 P.M."
_ETA = re.compile(
    r"\bE\.?T\.?A\.?(?:\s*:|\s+of|\s+is)?\s*\d{1,2}(?::\d\d)?\s*[ap]\.?\s*m\.?(?:\s*[ECMP][SD]?T\.?)?",
    re.IGNORECASE,
)
# Lines addressed to editors or clients, not to readers.
_ADVISORY = re.compile(
    r"^\s*\(?\s*(?:attention\s+editors?|editors?(?:'s|’s)?\s+note|note\s+to\s+editors?|"
    r"editors?\s*:|please\s+note\s*:|for\s+use\s+by|for\s+release|not\s+for\s+publication|"
    r"embargoed|distributed\s+by|(?:story\s+)?filed\s+by|this\s+article\s+is\s+excerpted|"
    r"this\s+(?:story|article|\"?separate\s+buy\"?)\s+(?:is\s+)?(?:from|moved|was\s+moved)|"
    r"visit\s+(?:the\s+)?[\w.'’ -]{1,40}\s+online|all\s+times\s+are|on\s+the\s+net\b|"
    r"(?:the\s+)?following\s+(?:photos|graphics|stories)\b|photo\s+clients|"
    r"(?:the\s+)?following\s+(?:is|are)\s+(?:the\s+)?(?:\w+\s+){0,2}(?:news\s+items|headlines|"
    r"highlights|stories|briefs)\b|"
    r"(?:an\s+)?eta\s+is\s+given|copyright\s+(?:\d{4}|\(c\)|©|by\b)|©)",
    re.IGNORECASE,
)
_WIRE_TALK = re.compile(
    r"\b(?:stor(?:y|ies)|budget(?:\s+line)?s?)\s+(?:will\s+|is\s+|are\s+)?(?:mov(?:e|es|ing)|"
    r"(?:is|are)\s+marked)\b|\bbudget\s+moves\b|\b(?:clients|subscribers)\s+of\s+the\b|"
    r"\bnews\s+service\s+at\s+\d|\bpage\s*express\b|"
    r"\b(?:photos?|graphics?|pictures?)\s+(?:to\s+accompany|(?:is|are)\s+available)\b",
    re.IGNORECASE,
)
# Contact lines: phone and fax numbers, e-mail addresses, "(at)" addresses.
_CONTACT = re.compile(
    r"\b\d{3}[-.\s]\d{3}[-.\s]\d{4}\b|\(\d{3}\)\s*\d{3}-\d{4}|\b(?:fax|telex|tel)\b[:,]?\s*\(?\d|"
    r"[\w.+-]+(?:@|\(at\))[\w-]+\.[\w.]+",
    re.IGNORECASE,
)
# A lead-in that only dates an opinion piece: "X said in an editorial for Tuesday, April 6:"
_EDITORIAL = re.compile(
    r"\b(?:said|says|wrote|writes|commented|argued)\s+(?:in\s+)?(?:an?|its|the|his|her)\s+"
    r"(?:\w+\s+)?(?:editorial|commentary|column|op-ed|leader)\b[^.!?]{0,60}[:]\s*$",
    re.IGNORECASE,
)
_WORDS = re.compile(r"[A-Za-z][a-z’'-]+")
_LATIN = re.compile(r"[A-Za-z]")


def is_boilerplate(text: str) -> bool:
    """Whether ``text`` (a line or a sentence) is wire boilerplate as a whole."""
    s = text.strip()
    if not s:
        return True
    if _CREDIT_LINE.search(s) or _ADVISORY.search(s) or _EDITORIAL.search(s):
        return True
    if _SLUG_DATED.search(s) or _WIRE_TALK.search(s):
        return True
    if _CONTACT.search(s) and len(s.split()) < 40:
        return True
    stripped = strip_inline(s)
    return stripped != " ".join(s.split()) and not _substance(stripped)


def strip_inline(text: str) -> str:
    """``text`` without inline credits, trim/end markers and delivery times."""
    out = _CREDIT_PAREN.sub(" ", text)
    out = _MARKER.sub(" ", out)
    out = _ETA.sub(" ", out)
    return " ".join(out.split())


def _substance(text: str) -> bool:
    """Something a reader could learn from: at least three lower-case words, slugs aside
    (text in a script without letter case counts as substance)."""
    rest = _SLUG.sub(" ", text)
    if not _LATIN.search(rest):
        return bool(re.search(r"\w", rest))
    return sum(1 for w in _WORDS.findall(rest) if w[0].islower()) >= 3


def clean_sentence(text: str) -> str:
    """``text`` without inline credits, markers and delivery times; ``""`` when it is
    boilerplate as a whole (see :func:`is_boilerplate`)."""
    if is_boilerplate(text):
        return ""
    cleaned = strip_inline(text)
    return cleaned if cleaned != " ".join(text.split()) else text


__all__ = ["clean_sentence", "is_boilerplate", "strip_inline"]
