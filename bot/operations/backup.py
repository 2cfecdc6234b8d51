"""``newsbot backup FILE``: a consistent copy of the live database, safe while the bot writes.

The copy is made by SQLite's online backup API (:mod:`bot.storage.backup`): the database as of
one commit even while another process keeps writing. Copying the ``.db`` file with ``cp`` is not
safe: it can catch a half-checkpointed file and miss what is still in the ``-wal`` file.

The copy is written to a temporary file beside ``FILE``, switched to a single-file journal
mode, checked with ``PRAGMA integrity_check`` and only then renamed over ``FILE``; a failed
backup leaves no partial file behind.

On PostgreSQL (a ``postgresql://`` database) the copy is ``pg_dump -Fc`` (custom format; restore
with ``pg_restore``), written and renamed the same way; without ``pg_dump`` on ``PATH`` the
command says so and what to run.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from bot.errors import StorageError, UserError
from bot.net.credentials import mask_in_text, masked
from bot.storage.backend import POSTGRESQL, kind_of, pg_conninfo, pg_password
from bot.storage.backup import copy_database


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
    if kind_of(source) == POSTGRESQL:
        return _pg_dump(str(source), Path(dest), overwrite=overwrite, started=started)
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
        copy = copy_database(source, tmp, busy_timeout_s=busy_timeout_s)
        if copy.integrity != "ok":
            raise StorageError(f"{dest}: the copy failed its integrity check: {copy.integrity}")
        os.replace(tmp, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return BackupReport(
        dest, dest.stat().st_size, copy.integrity, time.monotonic() - started, copy.rows
    )


PG_DUMP_TIMEOUT_S = 3600.0


def _pg_dump(url: str, dest: Path, *, overwrite: bool, started: float) -> BackupReport:
    """``pg_dump`` of a PostgreSQL database to ``dest`` (custom format); the password goes to
    it in ``PGPASSWORD``, never on its command line."""
    conninfo = pg_conninfo(url)
    if dest.exists() and not overwrite:
        raise UserError(f"{dest} exists (use --force to replace it)")
    if not dest.parent.is_dir():
        raise UserError(f"{dest.parent}: no such folder")
    tool = shutil.which("pg_dump")
    if tool is None:
        raise UserError(
            "the database is PostgreSQL and pg_dump is not on PATH: install PostgreSQL's "
            f"client tools, or run: pg_dump -Fc -f {dest} '{conninfo}'"
        )
    env = dict(os.environ)
    if password := pg_password():
        env["PGPASSWORD"] = password
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    try:
        done = subprocess.run(
            [tool, "-Fc", "-f", str(tmp), "-d", conninfo],
            env=env,
            capture_output=True,
            text=True,
            timeout=PG_DUMP_TIMEOUT_S,
            check=False,
        )
        if done.returncode != 0:
            reason = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise StorageError(f"{masked(url)}: pg_dump failed: {mask_in_text(reason)}")
        os.replace(tmp, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return BackupReport(dest, dest.stat().st_size, "pg_dump ok", time.monotonic() - started)
