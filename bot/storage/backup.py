"""The database side of ``newsbot backup``: SQLite's online backup API, checked.

The backup API copies every page inside one read transaction, so the copy is the database as
of one commit even while another process keeps writing (WAL lets that writer go on).
:mod:`bot.operations.backup` decides where the copy goes and when it replaces a file.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from bot.errors import StorageError

COUNTED_TABLES = ("articles", "stories", "sources", "subscriptions", "deliveries")


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What a copy holds: ``integrity`` is ``ok`` or the first problem the check found."""

    integrity: str
    rows: dict[str, int]


def integrity(conn: sqlite3.Connection) -> str:
    """``ok`` or the first problem ``PRAGMA integrity_check`` reports."""
    row = conn.execute("PRAGMA integrity_check").fetchone()
    return str(row[0]) if row else "no answer"


def row_counts(
    conn: sqlite3.Connection, tables: tuple[str, ...] = COUNTED_TABLES
) -> dict[str, int]:
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return {
        t: int(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0])
        for t in tables
        if t in names
    }


def copy_database(source: Path, dest: Path, *, busy_timeout_s: float = 5.0) -> Snapshot:
    """Copy the database at ``source`` into the new file ``dest`` as of one commit, as a
    single self-contained file (no ``-wal``), and check the copy. Raises
    :class:`StorageError` naming ``source`` when SQLite cannot make it."""
    try:
        src = sqlite3.connect(source, timeout=busy_timeout_s)
        try:
            dst = sqlite3.connect(dest)
            try:
                # pages=-1: one step, one read transaction, hence one consistent snapshot. In
                # steps, every write by another process would restart the copy.
                src.backup(dst, pages=-1)
                dst.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
                return Snapshot(integrity(dst), row_counts(dst))
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.Error as exc:
        raise StorageError(f"{source}: backup failed: {exc}") from None
