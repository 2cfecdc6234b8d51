"""What differs between the SQLite and PostgreSQL dialects, in one place.

Repository SQL is written once, in SQLite's spelling of the common subset (``?`` placeholders,
``INSERT OR IGNORE``, ``cursor.lastrowid``). :func:`to_postgres` rewrites the few constructs
PostgreSQL spells differently, statement by statement (cached):

- ``?`` → ``%s`` (outside string literals; a literal ``%`` becomes ``%%``);
- ``INSERT OR IGNORE INTO t ...`` → ``INSERT INTO t ... ON CONFLICT DO NOTHING``;
- ``INSERT OR REPLACE INTO t (cols) ...`` → ``... ON CONFLICT (key) DO UPDATE SET col =
  EXCLUDED.col`` (``key`` from :data:`REPLACE_KEYS`);
- an ``INSERT`` into a table with an ``id`` column gets ``RETURNING id`` (the cursor's
  ``lastrowid``);
- ``x IS ?`` / ``x IS NOT ?`` (SQLite's null-safe comparison with a value) →
  ``IS NOT DISTINCT FROM`` / ``IS DISTINCT FROM``.

SQLite's scalar ``max(a, b)`` / ``min(a, b)`` and ``max(boolean)`` are functions the
PostgreSQL schema defines (``migrations_pg/0001_core.sql``), so they need no rewriting here.
Full-text search differs too much to rewrite: :mod:`bot.storage.fulltext` builds it per
dialect from a parsed query.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Tables whose rows INSERT OR REPLACE replaces, by the key that identifies a row.
REPLACE_KEYS: dict[str, str] = {
    "story_aliases": "public_id",
    "article_analysis": "article_id",
    "engine_state": "name",
}

_INSERT_RE = re.compile(r"^\s*INSERT\s+(?:OR\s+(IGNORE|REPLACE)\s+)?INTO\s+(\w+)", re.I)
_IS_NOT_RE = re.compile(r"\bIS\s+NOT\s+\?", re.I)
_IS_RE = re.compile(r"\bIS\s+\?", re.I)
_COLS_RE = re.compile(r"^\s*INSERT\s+(?:OR\s+\w+\s+)?INTO\s+\w+\s*\(([^)]*)\)", re.I)


def _placeholders(sql: str) -> str:
    out: list[str] = []
    quote: str | None = None
    for ch in sql:
        if quote:
            if ch == quote:
                quote = None
            out.append("%%" if ch == "%" else ch)
        elif ch in "'\"":
            quote = ch
            out.append(ch)
        elif ch == "?":
            out.append("%s")
        elif ch == "%":
            out.append("%%")
        else:
            out.append(ch)
    return "".join(out)


@lru_cache(maxsize=2048)
def to_postgres(sql: str, id_tables: frozenset[str], *, returning: bool = True) -> str:
    """``sql`` (SQLite spelling) as PostgreSQL runs it; ``id_tables``: tables with an ``id``
    column, whose inserts return it (``returning=False`` for ``executemany``)."""
    text = sql.strip().rstrip(";")
    m = _INSERT_RE.match(text)
    if m:
        mode, table = (m.group(1) or "").upper(), m.group(2)
        text = _INSERT_RE.sub(f"INSERT INTO {table}", text, count=1)
        if mode == "IGNORE":
            text += " ON CONFLICT DO NOTHING"
        elif mode == "REPLACE":
            key = REPLACE_KEYS.get(table)
            cols = _COLS_RE.match(text)
            if key is None or cols is None:
                raise ValueError(f"INSERT OR REPLACE INTO {table}: no conflict key known")
            names = [c.strip() for c in cols.group(1).split(",") if c.strip() != key]
            sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in names)
            text += f" ON CONFLICT ({key}) DO UPDATE SET {sets}"
        if returning and table in id_tables and not re.search(r"\bRETURNING\b", text, re.I):
            text += " RETURNING id"
    text = _IS_RE.sub("IS NOT DISTINCT FROM ?", _IS_NOT_RE.sub("IS DISTINCT FROM ?", text))
    return _placeholders(text)


def is_insert_returning(sql: str) -> bool:
    return bool(_INSERT_RE.match(sql)) and sql.rstrip().endswith("RETURNING id")
