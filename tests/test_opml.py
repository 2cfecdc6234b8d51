"""OPML import and export from the CLI: `newsbot sources import|export FILE.opml`."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.errors import ParseError
from bot.services import open_services
from bot.settings import Settings
from bot.sources.opml import CHECKS_AT_ONCE, OpmlFeed, read_opml, write_opml
from handlers import dispatch
from handlers.base import Attachment, CommandRequest
from handlers.sources import MAX_SOURCES_PER_WORKSPACE
from tests.feedserver import FeedServer

runner = CliRunner()

# The shape feed readers export (Feedly, Inoreader, NetNewsWire): folders of feed outlines.
READER_EXPORT = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>Subscriptions in Feedly</title></head>
  <body>
    <outline text="World" title="World">
      <outline type="rss" text="BBC News - World" title="BBC News - World"
               xmlUrl="https://feeds.bbci.co.uk/news/world/rss.xml"
               htmlUrl="https://www.bbc.co.uk/news/"/>
      <outline type="rss" text="Al Jazeera" xmlUrl="https://www.aljazeera.com/xml/rss/all.xml"/>
    </outline>
    <outline text="Tech">
      <outline type="rss" text="Ars Technica" xmlUrl="https://feeds.arstechnica.com/arstechnica/index"/>
      <outline type="rss" text="BBC again" xmlUrl="https://feeds.bbci.co.uk/news/world/rss.xml"/>
      <outline type="rss" text="Intranet" xmlUrl="http://10.1.2.3/feed.xml"/>
      <outline type="rss" text="Gopher" xmlUrl="gopher://old.example/feed"/>
    </outline>
  </body>
</opml>
"""


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("NEWSBOT_DB", raising=False)
    monkeypatch.delenv("NEWSBOT_CONFIG", raising=False)
    path = tmp_path / "newsbot.toml"
    path.write_text("[seeds]\nfolders = []\n")
    return path


def cli(config: Path, db: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--config", str(config), "--db", str(db), *args])
    return result.exit_code, result.stdout, result.stderr


def operator_feeds(db: Path) -> list[tuple[str, str | None]]:
    async def go() -> list[tuple[str, str | None]]:
        settings = Settings.model_validate(
            {"database": {"path": str(db)}, "seeds": {"folders": []}}
        )
        sv = await open_services(settings)
        try:
            return [(r["locator"], r["name"]) for r in await sv.store.feed_sources("")]
        finally:
            await sv.close()

    return asyncio.run(go())


def test_import_says_what_was_imported_and_what_was_skipped_and_why(
    config: Path, tmp_path: Path
) -> None:
    opml = tmp_path / "feedly.opml"
    opml.write_bytes(READER_EXPORT)
    code, out, _ = cli(config, tmp_path / "a.db", "sources", "import", str(opml))
    assert code == 0, out
    lines = out.splitlines()
    assert lines == [
        "imported: https://feeds.bbci.co.uk/news/world/rss.xml (BBC News - World)",
        "imported: https://www.aljazeera.com/xml/rss/all.xml (Al Jazeera)",
        "imported: https://feeds.arstechnica.com/arstechnica/index (Ars Technica)",
        "skipped: https://feeds.bbci.co.uk/news/world/rss.xml: listed 2 times in the file; "
        "read once",
        "skipped: gopher://old.example/feed: not an http(s) feed URL",
        "skipped: http://10.1.2.3/feed.xml: refusing to connect to 10.1.2.3: private address "
        "(only public addresses, or those in network.allow, are fetched)",
        "3 imported, 3 skipped",
    ]
    again = cli(config, tmp_path / "a.db", "sources", "import", str(opml), "--format", "json")
    assert again[0] == 1  # nothing new
    report = json.loads(again[1])
    assert report["imported"] == []
    assert {"what": "https://www.aljazeera.com/xml/rss/all.xml", "why": "already a source"} in (
        report["skipped"]
    )


def test_export_then_import_into_a_fresh_database_gives_the_same_feeds(
    config: Path, tmp_path: Path
) -> None:
    first, second = tmp_path / "first.db", tmp_path / "second.db"
    opml = tmp_path / "in.opml"
    opml.write_bytes(READER_EXPORT)
    assert cli(config, first, "sources", "import", str(opml))[0] == 0
    exported = tmp_path / "out.opml"
    code, _, err = cli(config, first, "sources", "export", str(exported))
    assert code == 0 and "3 feeds written" in err
    assert cli(config, first, "sources", "export", str(exported))[0] == 2  # no silent overwrite
    assert cli(config, second, "sources", "import", str(exported))[0] == 0
    assert operator_feeds(second) == operator_feeds(first)
    assert len(operator_feeds(first)) == 3
    stdout = cli(config, second, "sources", "export", "-")[1]
    assert (
        read_opml(stdout.encode(), origin="-")[0] == read_opml(exported.read_bytes(), origin="x")[0]
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<opml version='2.0'><body><outline text='a'></body></opml>", "not well-formed OPML"),
        (b"", "not well-formed OPML (line 1, column 1: no element found)"),
        (b'<?xml version="1.0"?><rss version="2.0"><channel/></rss>', "root element is <rss>"),
    ],
)
def test_a_malformed_opml_is_one_clear_line(
    config: Path, tmp_path: Path, data: bytes, message: str
) -> None:
    opml = tmp_path / "bad.opml"
    opml.write_bytes(data)
    code, out, err = cli(config, tmp_path / "a.db", "sources", "import", str(opml))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err and str(opml) in err


def test_names_with_markup_characters_survive_a_round_trip() -> None:
    feeds = [
        OpmlFeed("https://a.example/rss?x=1&y=2", 'Q&A <daily> "news"'),
        OpmlFeed("https://b.example/atom", None),
    ]
    assert read_opml(write_opml(feeds), origin="x") == (feeds, [])


def test_an_outline_linking_another_list_is_skipped_with_its_reason() -> None:
    data = (
        b'<opml version="2.0"><body><outline type="include" text="More" '
        b'url="https://lists.example/more.opml"/></body></opml>'
    )
    feeds, skipped = read_opml(data, origin="x")
    assert feeds == [] and [s.why for s in skipped] == [
        "a link to another subscription list, not a feed"
    ]
    with pytest.raises(ParseError, match="larger than"):
        read_opml(b" " * 5_000_001, origin="x")


# ------------------------------------------------------------------ chat: /news sources import


def _chat_request(action: str, files: dict[str, Attachment] | None = None) -> CommandRequest:
    return CommandRequest(
        platform="slack",
        workspace="T1",
        channel="C1",
        user="U1",
        is_admin=True,
        command="sources",
        args={"action": action},
        files=files or {},
    )


def _opml_of(urls: list[str]) -> bytes:
    return write_opml(OpmlFeed(u, f"Feed {i}") for i, u in enumerate(urls))


async def test_chat_import_checks_every_feed_and_stops_at_the_workspace_limit(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    port = feed_server.base_url.rsplit(":", 1)[1]
    settings = Settings.model_validate(
        {
            "database": {"path": str(tmp_path / "n.db")},
            "seeds": {"folders": []},
            "network": {"allow": [f"127.0.0.1:{port}"]},
        }
    )
    sv = await open_services(settings)
    try:
        good = feed_server.file_url("node-feedparser/rss2sample.xml")
        urls = [f"{good}?copy={i}" for i in range(MAX_SOURCES_PER_WORKSPACE + 20)]
        urls[3] = feed_server.file_url("missing.xml")
        upload = Attachment("big.opml", _opml_of(urls), "text/x-opml")
        reply = await dispatch(_chat_request("import", {"file": upload}), sv)
        assert not reply.error, reply.lines
        rows = await sv.store.feed_sources("slack:T1")
        assert len(rows) == MAX_SOURCES_PER_WORKSPACE
        skipped = [line for line in reply.lines if line.startswith("skipped: ")]
        assert len(skipped) == 20  # one 404, nineteen over the limit: one line each
        assert skipped[0] == f"skipped: {urls[3]}: HTTP 404 Not Found"
        assert all(line.endswith("the feed limit is reached") for line in skipped[1:])
        assert reply.lines[-1] == f"{MAX_SOURCES_PER_WORKSPACE} added, 20 skipped"
        # Once 100 passed, the feeds over the limit are not fetched at all.
        fetched = [r for r in feed_server.requests if "copy=" in r.path]
        assert len(fetched) <= MAX_SOURCES_PER_WORKSPACE + CHECKS_AT_ONCE
        # Imported again: every feed is a source already; nothing is fetched twice.
        again = await dispatch(_chat_request("import", {"file": upload}), sv)
        assert again.lines[-1] == f"0 added, {len(urls)} skipped"
        exported = await dispatch(_chat_request("export"), sv)
        [opml] = exported.attachments
        assert len(read_opml(opml.data, origin="x")[0]) == MAX_SOURCES_PER_WORKSPACE
    finally:
        await sv.close()


async def test_chat_import_without_a_file_or_with_a_broken_one_is_one_error_line(
    tmp_path: Path,
) -> None:
    settings = Settings.model_validate(
        {"database": {"path": str(tmp_path / "n.db")}, "seeds": {"folders": []}}
    )
    sv = await open_services(settings)
    try:
        reply = await dispatch(_chat_request("import"), sv)
        assert reply.error and len(reply.lines) == 1 and "attach an OPML file" in reply.lines[0]
        broken = Attachment("x.opml", b"<opml><body>", "text/x-opml")
        reply = await dispatch(_chat_request("import", {"file": broken}), sv)
        assert reply.error and reply.lines == [
            "x.opml: not well-formed OPML (line 1, column 13: no element found)"
        ]
        empty = await dispatch(_chat_request("export"), sv)
        assert empty.attachments == [] and empty.lines == ["No feeds added here yet."]
    finally:
        await sv.close()
