"""The CLI on PostgreSQL (``--db postgresql://...``): the seed digest comes out as on SQLite,
backup runs ``pg_dump``, doctor reports the backend. Runs when NEWSBOT_TEST_POSTGRES_DSN is set."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bot.cli import app
from tests.conftest import SEEDS

runner = CliRunner()


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "newsbot.toml"
    path.write_text(f'[seeds]\nfolders = ["{SEEDS}"]\n', encoding="utf-8")
    monkeypatch.setenv("NEWSBOT_CONFIG", str(path))
    monkeypatch.delenv("NEWSBOT_DB", raising=False)
    return path


def _digest(db: str) -> dict[str, Any]:
    result = runner.invoke(app, ["--db", db, "digest", "--format", "json"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    data.pop("generated_at")
    return data


def _undated(data: Any) -> Any:
    """Undated seed files are published when first seen: the two runs' clocks differ."""
    if isinstance(data, dict):
        return {k: ("<t>" if k == "published" else _undated(v)) for k, v in data.items()}
    if isinstance(data, list):
        return [_undated(v) for v in data]
    return data


def test_the_seed_digest_on_postgresql_is_the_sqlite_one(
    config: Path, tmp_path: Path, pg_url: str
) -> None:
    on_sqlite = _digest(str(tmp_path / "seed.db"))
    on_postgres = _digest(pg_url)
    assert on_postgres["stories"], "the seed digest is empty on PostgreSQL"
    assert _undated(on_postgres) == _undated(on_sqlite)
    text = json.dumps(on_postgres["stories"])
    assert "tens of thousands" in text and "millions" in text
    assert "on Wednesday" in text


def test_search_and_doctor_on_postgresql(config: Path, pg_url: str) -> None:
    assert runner.invoke(app, ["--db", pg_url, "ingest", str(SEEDS)]).exit_code == 0
    found = runner.invoke(app, ["--db", pg_url, "search", '"phone call" putin', "--format", "json"])
    assert found.exit_code == 0, found.output
    results = json.loads(found.stdout)["results"]
    assert results and all("snippet" in r for r in results)
    doctor = runner.invoke(app, ["--db", pg_url, "doctor", "--format", "json"])
    db = next(c for c in json.loads(doctor.stdout) if c["name"] == "database")
    assert db["status"] == "ok" and "(postgresql)" in db["detail"]


def test_backup_of_a_postgresql_database_is_a_pg_dump(
    config: Path, tmp_path: Path, pg_url: str
) -> None:
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not on PATH")
    assert runner.invoke(app, ["--db", pg_url, "ingest", str(SEEDS)]).exit_code == 0
    dest = tmp_path / "news.dump"
    result = runner.invoke(app, ["--db", pg_url, "backup", str(dest), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["integrity"] == "pg_dump ok"
    assert dest.read_bytes()[:5] == b"PGDMP"  # pg_restore's custom format


def test_backup_without_pg_dump_says_what_to_run(
    config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no pg_dump there
    url = "postgresql://bot@db.invalid:5432/news"
    result = runner.invoke(app, ["--db", url, "backup", str(tmp_path / "x.dump")])
    assert result.exit_code == 2
    assert "pg_dump is not on PATH" in result.output
    assert f"pg_dump -Fc -f {tmp_path / 'x.dump'} '{url}'" in result.output


def test_a_database_url_with_a_password_is_refused_without_showing_it(
    config: Path, tmp_path: Path
) -> None:
    url = "postgresql://bot:hunter2@db.invalid:5432/news"
    result = runner.invoke(app, ["--db", url, "stories"])
    assert result.exit_code != 0
    assert "hunter2" not in result.output
    assert "PGPASSWORD" in result.output
