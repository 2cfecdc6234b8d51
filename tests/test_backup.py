"""`newsbot backup FILE`: a consistent copy of the database, even while another process writes."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.errors import StorageError, UserError
from bot.operations.backup import backup_database
from bot.storage import SCHEMA_VERSION
from tests.conftest import DUC, need
from tests.crash_worker import forkserver, ingest_job

runner = CliRunner()


def _schema_version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def consistency(db: Path) -> dict[str, int]:
    """Counts that one committed state keeps in step (an article commits with its full-text
    entry and its story)."""
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one file

        def one(sql: str) -> int:
            return int(conn.execute(sql).fetchone()[0])

        return {
            "articles": one("SELECT count(*) FROM articles"),
            "originals": one("SELECT count(*) FROM articles WHERE duplicate_of IS NULL"),
            "indexed": one("SELECT count(*) FROM articles_fts_docsize"),
            "without_story": one(
                "SELECT count(*) FROM articles WHERE story_id IS NULL AND duplicate_of IS NULL"
            ),
        }
    finally:
        conn.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork (POSIX)")
def test_backups_taken_while_another_process_ingests_are_each_one_consistent_state(
    tmp_path: Path,
) -> None:
    archive = tmp_path / "articles.jsonl"
    archive.write_text(
        "\n".join(need(DUC).read_text(encoding="utf-8").splitlines()[:150]) + "\n",
        encoding="utf-8",
    )
    db = tmp_path / "live.db"
    writer = forkserver().Process(target=ingest_job, args=(str(db), str(archive)))
    writer.start()
    seen: list[dict[str, int]] = []
    n = 0
    while writer.is_alive():
        if db.exists():
            n += 1
            try:
                report = backup_database(db, tmp_path / f"copy-{n}.db")
            except StorageError:  # the writer is still creating the file
                continue
            assert report.integrity == "ok"
            if _schema_version(report.path) < SCHEMA_VERSION:  # copied mid-migration
                continue
            counts = consistency(report.path)
            assert counts["articles"] == report.rows["articles"]
            seen.append(counts)
    writer.join()
    assert writer.exitcode == 0
    final = backup_database(db, tmp_path / "final.db")
    seen.append(consistency(final.path))
    for counts in seen:
        assert counts["indexed"] == counts["originals"]
        assert counts["without_story"] == 0
    articles = [c["articles"] for c in seen]
    assert articles == sorted(articles)  # each copy is a later state, never a mix
    assert articles[-1] == 150
    assert any(0 < a < 150 for a in articles), articles  # some copies caught the writer mid-way


@pytest.fixture
def live_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    db = tmp_path / "n.db"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE articles (id INTEGER PRIMARY KEY, title TEXT)")
    conn.executemany("INSERT INTO articles (title) VALUES (?)", [("a",), ("b",)])
    conn.commit()  # left open: the rows sit in the -wal file, which `cp` would miss
    monkeypatch.setenv("NEWSBOT_DB", str(db))
    monkeypatch.delenv("NEWSBOT_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    yield db
    conn.close()


def test_backup_command_writes_a_checked_copy_and_reports_it(live_db: Path) -> None:
    dest = live_db.with_name("copy.db")
    result = runner.invoke(app, ["backup", str(dest), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["integrity"] == "ok" and data["rows"] == {"articles": 2}
    conn = sqlite3.connect(dest)
    assert conn.execute("SELECT title FROM articles ORDER BY id").fetchall() == [("a",), ("b",)]
    conn.close()
    assert not list(live_db.parent.glob(".copy.db.*"))  # no temporary file left behind


def test_backup_never_overwrites_without_force_nor_the_database_itself(live_db: Path) -> None:
    dest = live_db.with_name("copy.db")
    dest.write_text("an older backup")
    refused = runner.invoke(app, ["backup", str(dest)])
    assert refused.exit_code == 2 and "--force" in refused.stderr
    assert dest.read_text() == "an older backup"
    forced = runner.invoke(app, ["backup", str(dest), "--force"])
    assert forced.exit_code == 0 and "integrity ok" in forced.stdout
    itself = runner.invoke(app, ["backup", str(live_db), "--force"])
    assert itself.exit_code == 2 and "database itself" in itself.stderr


def test_backup_of_a_missing_database_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no database"):
        backup_database(tmp_path / "nothing.db", tmp_path / "copy.db")
    assert not (tmp_path / "nothing.db").exists()
