"""Text made safe at the boundary: valid Unicode, no control characters.

Every string a source hands to ingest goes through :func:`clean_unicode`
(``bot.ingestion.normalize``
calls it on each field of a ``RawArticle`` and again on the cleaned title and text), so what is
stored always encodes as UTF-8 and can neither break the database nor drive a terminal:

* lone surrogates (a JSON ``"\\ud800"`` escape, an undecodable file name) become U+FFFD; a
  surrogate *pair* spelled as two code points is joined into its character;
* C0 and C1 control characters (NUL, ESC, BEL, CSI U+009B, ...) and DEL are removed, except
  newline and tab; a carriage return becomes a newline.

:func:`escape_controls` is the output side: whatever control characters remain in text about
to be printed (rows stored before this module existed, file names) are shown as visible
``\\xNN`` escapes instead of being sent to the terminal.
"""

from __future__ import annotations

import re

_SURROGATE_RE = re.compile("[\ud800-\udfff]")
# C0 except \t (0x09) and \n (0x0a); \r handled first; DEL; C1.
_CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Printed text: the same set plus the bidirectional overrides and isolates, which can make a
# line read differently from what it holds.
_UNSAFE_OUT_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_NEEDS_WORK_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def _fix_surrogates(text: str) -> str:
    if not _SURROGATE_RE.search(text):
        return text
    # Through UTF-16: pairs become their character, lone halves the replacement character.
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def clean_unicode(text: str) -> str:
    """``text`` as valid Unicode without control characters (newline and tab kept)."""
    if not _NEEDS_WORK_RE.search(text):
        return text
    text = _fix_surrogates(text)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL_RE.sub("", text)


def clean_optional(text: str | None) -> str | None:
    return None if text is None else clean_unicode(text)


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    """``text`` for a terminal: control characters (but newline and tab) and bidi overrides
    shown as ``\\xNN``/``\\uNNNN``, lone surrogates as U+FFFD."""
    text = _fix_surrogates(text)
    return _UNSAFE_OUT_RE.sub(_visible, text)


def escape_controls_json(text: str) -> str:
    """Serialized JSON for a terminal: C1 controls and bidi overrides (which ``json.dumps``
    with ``ensure_ascii=False`` leaves raw) as ``\\uNNNN`` escapes, still valid JSON."""
    text = _fix_surrogates(text)
    return _UNSAFE_OUT_RE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
