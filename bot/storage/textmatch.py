"""Which query terms one text contains, decided by SQLite FTS5 with the articles' tokenizer.

A feed's item filter (:mod:`bot.sources.filters`) must match what ``search`` and topics match
(``porter unicode61``: "elections" finds "election", case and accents folded), so a single
item is put in a private in-memory FTS5 table and each term is a ``MATCH`` against it.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence


class TextMatcher:
    """One in-memory FTS5 table holding one document at a time (thread-safe)."""

    def __init__(self) -> None:
        self._conn = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        self._conn.execute(
            "CREATE VIRTUAL TABLE doc USING fts5(title, text, tokenize='porter unicode61')"
        )
        self._lock = threading.Lock()

    def matching(self, phrases: Sequence[tuple[str, ...]], title: str, text: str) -> list[bool]:
        """For each phrase (a tuple of words), whether ``title``/``text`` contains it."""
        with self._lock:
            self._conn.execute("DELETE FROM doc")
            self._conn.execute(
                "INSERT INTO doc (rowid, title, text) VALUES (1, ?, ?)", (title, text)
            )
            out = []
            for words in phrases:
                # Words are \w+ tokens (bot.queries.language): quoting them can never inject FTS5
                # syntax.
                expr = '"' + " ".join(w.replace('"', "") for w in words) + '"'
                row = self._conn.execute("SELECT 1 FROM doc WHERE doc MATCH ?", (expr,)).fetchone()
                out.append(row is not None)
            return out

    def close(self) -> None:
        self._conn.close()
