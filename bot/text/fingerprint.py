"""Text fingerprints for exact deduplication: word tokens, content hash, shingles."""

from __future__ import annotations

import hashlib
import re
import unicodedata

_WORD_RE = re.compile(r"\w+", re.UNICODE)


def words(text: str) -> list[str]:
    """Lower-cased word tokens after Unicode compatibility folding (quotes, ligatures...)."""
    return _WORD_RE.findall(unicodedata.normalize("NFKC", text).casefold())


def content_hash(text: str) -> str:
    """Hash of the words only, so whitespace, punctuation and case do not make a new article."""
    return hashlib.sha1(" ".join(words(text)).encode("utf-8")).hexdigest()


def shingles(tokens: list[str], size: int) -> list[bytes]:
    """Word ``size``-grams as bytes (the whole text as one shingle when it is shorter)."""
    if len(tokens) <= size:
        return [" ".join(tokens).encode("utf-8")] if tokens else []
    return [" ".join(tokens[i : i + size]).encode("utf-8") for i in range(len(tokens) - size + 1)]
