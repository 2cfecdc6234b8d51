"""The `newsbot` CLI as a user runs it: exit codes, JSON shapes, config errors, seeds digest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.net.ssrf import BlockedAddress, NetworkPolicy
from bot.settings import Settings
from tests.conftest import FEEDS, SEEDS, need
from tests.feedserver import FeedServer

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


def test_digest_commit_delivers_through_the_one_path_and_the_next_has_nothing_new(
    env: dict[str, str],
) -> None:
    import asyncio

    from bot.storage import Store

    first = runner.invoke(app, ["digest", "--commit", "--channel", "desk"])
    assert first.exit_code == 0, first.output
    assert first.stdout.startswith("Catching up: the latest news for desk · ")
    assert "s-eb59" in first.stdout and first.stdout.count("newsbot digest") == 0
    again = runner.invoke(app, ["digest", "--commit", "--channel", "desk", "--no-sync"])
    assert "Nothing new since the last digest." in again.stdout

    async def rows() -> list[tuple[str, str, str]]:
        store = await Store.open(env["db"])
        try:
            found = await store.fetchall(
                "SELECT channel_key, status, idempotency_key FROM deliveries ORDER BY id"
            )
            return [(str(r[0]), str(r[1]), str(r[2])) for r in found]
        finally:
            await store.close()

    # One delivery, sent by the outbox through the console gateway (tell_channel's key).
    [(key, status, idempotency)] = asyncio.run(rows())
    assert (key, status) == ("console:local:desk", "sent")
    assert idempotency.startswith("manual:console:local:desk:")


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


FEED = (
    b"<?xml version='1.0'?><rss version='2.0'><channel><title>Loop Wire</title>"
    b"<item><guid>l1</guid><title>Harbour bridge reopens after storm repairs</title>"
    b"<link>https://loop.example/bridge</link>"
    b"<description>The harbour bridge reopened on Monday after storm repairs.</description>"
    b"</item></channel></rss>"
)


def sources_add_refusal(url: str) -> str:
    """What ``/news sources add`` answers for ``url`` (the policy ``run`` polls with too)."""
    with pytest.raises(BlockedAddress) as refused:
        NetworkPolicy(Settings().network.allow).check_url(url)
    return str(refused.value)


@pytest.mark.parametrize("host", ["127.0.0.1", "2130706433"])
def test_ingest_of_a_loopback_feed_url_is_refused_with_the_line_sources_add_gives(
    env: dict[str, str], feed_server: FeedServer, host: str
) -> None:
    url = feed_server.add_file("feed.xml", FEED).replace("127.0.0.1", host, 1)
    result = runner.invoke(app, ["ingest", url])
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines() == [f"warning: {url}: {sources_add_refusal(url)}"]
    assert "refusing to connect to 127.0.0.1: loopback address" in result.stderr
    assert feed_server.requests == []  # refused before any connection


def test_ingest_of_a_loopback_feed_url_listed_in_network_allow_stores_it(
    env: dict[str, str], feed_server: FeedServer
) -> None:
    url = feed_server.add_file("feed.xml", FEED)
    port = url.split(":")[2].split("/")[0]
    with Path(env["config"]).open("a") as fh:
        fh.write(f'[network]\nallow = ["127.0.0.1:{port}"]\n')
    result = runner.invoke(app, ["ingest", url, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["stored"] == 1
    assert [r.path for r in feed_server.requests] == ["/files/feed.xml"]


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
