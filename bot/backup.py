"""``newsbot backup FILE``: a consistent copy of the live database, safe while the bot writes.

SQLite's online backup API copies every page inside one read transaction, so the copy is the
database as of one commit even while another process keeps writing (WAL lets that writer go
on). Copying the ``.db`` file with ``cp`` is not safe: it can catch a half-checkpointed file
and miss what is still in the ``-wal`` file.

The copy is written to a temporary file beside ``FILE``, switched to a single-file journal
mode, checked with ``PRAGMA integrity_check`` and only then renamed over ``FILE``; a failed
backup leaves no partial file behind.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from bot.errors import StorageError, UserError

COUNTED_TABLES = ("articles", "stories", "sources", "subscriptions", "deliveries")


@dataclass(frozen=True, slots=True)
class BackupReport:
    path: Path
    size_bytes: int
    integrity: str  # "ok", or the first problem integrity_check found
    seconds: float
    rows: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {
            "path": str(self.path),
            "size_bytes": self.size_bytes,
            "integrity": self.integrity,
            "seconds": round(self.seconds, 3),
            "rows": self.rows,
        }


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


def backup_database(
    source: str | Path,
    dest: str | Path,
    *,
    overwrite: bool = False,
    busy_timeout_s: float = 5.0,
) -> BackupReport:
    """Copy the database at ``source`` to ``dest`` consistently; raises :class:`UserError`
    for a bad destination and :class:`StorageError` when the copy cannot be made or fails
    its integrity check."""
    started = time.monotonic()
    source, dest = Path(source), Path(dest)
    if not source.is_file():
        raise UserError(f"{source}: no database there")
    if dest.exists():
        if dest.resolve() == source.resolve():
            raise UserError(f"{dest}: the backup cannot overwrite the database itself")
        if not overwrite:
            raise UserError(f"{dest} exists (use --force to replace it)")
    if not dest.parent.is_dir():
        raise UserError(f"{dest.parent}: no such folder")
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    try:
        src = sqlite3.connect(source, timeout=busy_timeout_s)
        try:
            dst = sqlite3.connect(tmp)
            try:
                # pages=-1: one step, one read transaction, hence one consistent snapshot. In
                # steps, every write by another process would restart the copy.
                src.backup(dst, pages=-1)
                dst.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
                status = integrity(dst)
                rows = row_counts(dst)
            finally:
                dst.close()
        finally:
            src.close()
        if status != "ok":
            raise StorageError(f"{dest}: the copy failed its integrity check: {status}")
        os.replace(tmp, dest)
    except sqlite3.Error as exc:
        raise StorageError(f"{source}: backup failed: {exc}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return BackupReport(dest, dest.stat().st_size, status, time.monotonic() - started, rows)
