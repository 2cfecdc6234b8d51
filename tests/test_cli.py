"""The `newsbot` CLI as a user runs it: exit codes, JSON shapes, config errors, seeds digest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from tests.conftest import FEEDS, SEEDS, need

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A config pointing at the repository's seeds and a temporary database."""
    config = tmp_path / "newsbot.toml"
    config.write_text(f'[database]\npath = "{tmp_path / "n.db"}"\n[seeds]\nfolders = ["{SEEDS}"]\n')
    monkeypatch.setenv("NEWSBOT_CONFIG", str(config))
    monkeypatch.delenv("NEWSBOT_DB", raising=False)
    return {"config": str(config), "db": str(tmp_path / "n.db")}


def test_digest_on_the_seed_corpus_shows_every_seed_with_its_outlet(env: dict[str, str]) -> None:
    result = runner.invoke(app, ["digest", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    ids = {a["id"] for s in data["stories"] for a in s["articles"]}
    assert ids == {p.stem for p in SEEDS.glob("*.txt")}
    for story in data["stories"]:
        for a in story["articles"]:
            assert a["source"] and a["title"]
        for s in story["summary"]:
            assert s["source"] and s["article_id"] in ids
    text = runner.invoke(app, ["digest"]).stdout
    assert "Trump, Putin hold ‘highly productive’ talks" in text
    for furniture in ("Spread the love", "Add a comment", "Liam Avatar", "Also Read", "||"):
        assert furniture not in text


def test_ingest_reports_counts_and_fails_only_when_nothing_was_ingested(
    env: dict[str, str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x"}\nnot json\n')
    result = runner.invoke(app, ["ingest", str(bad), "--format", "json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["stored"] == 0 and [w["where"] for w in data["warnings"]] == [
        f"{bad}:1",
        f"{bad}:2",
    ]
    ok = runner.invoke(app, ["ingest", str(bad), str(SEEDS)])
    assert ok.exit_code == 0
    assert "5 stored" in ok.stdout


def test_ingest_of_a_feed_file_and_export_of_articles(env: dict[str, str]) -> None:
    feed = need(FEEDS) / "rss-parser" / "guardian.rss"
    result = runner.invoke(app, ["ingest", str(feed), "--format", "json"])
    assert result.exit_code == 0, result.output
    stored = json.loads(result.stdout)["stored"]
    assert stored > 5
    rows = [
        json.loads(line) for line in runner.invoke(app, ["export", "articles"]).stdout.splitlines()
    ]
    assert len(rows) == stored
    keys = {
        "id",
        "title",
        "url",
        "source",
        "published",
        "outlets",
        "canonical_url",
        "first_seen",
        "duplicate_of",
        "text",
        "summary_raw",
    }
    assert all(keys <= set(r) for r in rows)
    assert all(r["published"].endswith("+00:00") for r in rows)


def test_export_stories_gives_every_article_a_story(env: dict[str, str]) -> None:
    runner.invoke(app, ["ingest", str(SEEDS)])
    lines = runner.invoke(app, ["export", "stories"]).stdout.splitlines()
    rows = [json.loads(line) for line in lines]
    assert len(rows) == 5 and all(r["story"] and r["story"].startswith("s-") for r in rows)
    assert 1 <= len({r["story"] for r in rows}) <= 2


def test_search_finds_seed_text_and_rejects_bad_queries(env: dict[str, str]) -> None:
    runner.invoke(app, ["ingest", str(SEEDS)])
    data = json.loads(
        runner.invoke(app, ["search", '"phone call" putin', "--format", "json"]).stdout
    )
    assert data["results"] and all("snippet" in r for r in data["results"])
    bad = runner.invoke(app, ["search", "(putin AND trump"])  # with an operator, () are syntax
    assert bad.exit_code == 2 and "not closed" in bad.output


def test_a_bad_config_value_is_one_line_with_exit_code_2(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[dedup]\nnum_perm = 'many'\n")
    result = runner.invoke(app, ["--config", str(config), "doctor"])
    assert result.exit_code == 2
    assert f"{config}:2: dedup.num_perm" in result.output


def test_doctor_names_credentials_without_showing_them(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "super-secret-token-value")
    result = runner.invoke(app, ["doctor", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert "super-secret-token-value" not in result.output
    checks = {c["name"]: c for c in json.loads(result.stdout)}
    assert "DISCORD_TOKEN" in checks["credentials"]["detail"]
    assert "Discord" in checks["run"]["detail"]
