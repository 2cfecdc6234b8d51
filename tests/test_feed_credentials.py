"""Credentials in a feed URL (``user:password@``) stay in the source row: the fetcher sends them
(HTTP Basic) from there, nothing derived from the fetch stores them, and every place that shows
the URL masks them (issue 17 item 5)."""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.ingestion.ingest import Ingestor
from bot.ingestion.polling import FeedPoller
from bot.models import utcnow
from bot.net.credentials import masked, without_credentials
from bot.net.ssrf import NetworkPolicy
from bot.operations.logs import install_redaction
from bot.services import open_services
from bot.settings import FetchSettings, PollSettings, Settings
from bot.sources.http import Fetcher
from bot.sources.opml import export_feeds, write_opml
from bot.storage import Store
from tests.feedserver import FeedServer

USER, SECRET = "reader", "s3cret-pw-91c"
FEED = b"""<?xml version="1.0"?>
<rss version="2.0"><channel><title>Private wire</title><link>/</link>
<item><title>Harbour reopens after storm</title><link>/news/harbour</link><guid>/news/harbour</guid>
<description>The harbour reopened on Tuesday after a storm closed it for three days, the port
authority said, and the first ferries left on schedule in the afternoon.</description>
<pubDate>Tue, 05 Mar 2024 10:00:00 GMT</pubDate></item>
</channel></rss>
"""


@pytest.fixture
def server() -> Iterator[FeedServer]:
    s = FeedServer().start()
    s.add_file("private.xml", FEED, "application/rss+xml")
    yield s
    s.close()


def _with_credentials(url: str) -> str:
    return url.replace("http://", f"http://{USER}:{SECRET}@", 1)


async def _everything(store: Store) -> str:
    """Every text value of every table except ``sources`` (where the credentials belong)."""
    tables = [
        r[0] for r in await store.fetchall("SELECT name FROM sqlite_master WHERE type='table'")
    ]
    out: list[str] = []
    for table in tables:
        if table == "sources" or table.startswith(("articles_fts", "sqlite_")):
            continue
        for row in await store.fetchall(f"SELECT * FROM {table}"):
            out.extend(str(v) for v in row if isinstance(v, str))
    return "\n".join(out)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(tmp_path / "creds.db")
    yield s
    await s.close()


async def test_a_polled_feed_sends_the_source_rows_credentials_and_stores_none(
    store: Store, server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    url = _with_credentials(server.file_url("private.xml"))
    async with store.transaction() as conn:
        source_id = await store.upsert_source(conn, kind="feed", locator=url, now=utcnow())
    port = server.base_url.rsplit(":", 1)[1]
    poller = FeedPoller(
        store,
        Ingestor(store, Settings()),
        PollSettings(first_fetch_new_items=5),
        Fetcher(FetchSettings(), policy=NetworkPolicy([f"127.0.0.1:{port}"])),
    )
    install_redaction()  # as open_services does for every command and for run
    caplog.set_level(logging.INFO)
    try:
        result = await poller.poll_source_id(source_id)
    finally:
        await poller.aclose()
    assert result.outcome.kind == "ok", result
    expected = "Basic " + base64.b64encode(f"{USER}:{SECRET}".encode()).decode()
    sent = [
        {k.lower(): v for k, v in r.headers.items()}.get("authorization") for r in server.requests
    ]
    assert sent == [expected]
    row = await store.fetchone("SELECT url, origin FROM articles")
    assert row is not None and row[0].startswith("http://127.0.0.1:") and "@" not in row[1]
    stored = await _everything(store)
    assert SECRET not in stored and USER + ":" not in stored
    assert await store.scalar("SELECT locator FROM sources WHERE id = ?", (source_id,)) == url
    assert SECRET not in caplog.text


async def test_newsbot_ingest_of_a_url_with_credentials_stores_none(
    tmp_path: Path, server: FeedServer
) -> None:
    port = server.base_url.rsplit(":", 1)[1]
    settings = Settings.model_validate(
        {
            "database": {"path": str(tmp_path / "i.db")},
            "network": {"allow": [f"127.0.0.1:{port}"]},
        }
    )
    sv = await open_services(settings)
    try:
        report = await sv.ingestor.ingest_many([_with_credentials(server.file_url("private.xml"))])
        assert report.stored == 1, report
        assert SECRET not in await _everything(sv.store)
        assert all(SECRET not in str(w) for w in report.warnings)
    finally:
        await sv.close()


async def test_feed_urls_are_shown_masked(store: Store) -> None:
    url = "https://reader:s3cret-pw-91c@feeds.example/private.xml"
    assert masked(url) == "https://***@feeds.example/private.xml"
    assert without_credentials(url) == "https://feeds.example/private.xml"
    assert masked("https://feeds.example/a@b") == "https://feeds.example/a@b"
    async with store.transaction() as conn:
        await store.upsert_source(conn, kind="feed", locator=url, now=utcnow())
    exported = write_opml(await export_feeds(store)).decode()
    assert SECRET not in exported and "https://***@feeds.example/private.xml" in exported


def test_a_bad_feed_url_in_the_config_is_reported_masked(tmp_path: Path) -> None:
    from bot.errors import ConfigError
    from bot.settings import load_settings

    path = tmp_path / "newsbot.toml"
    path.write_text(f'[[feeds]]\nurl = "{USER}:{SECRET}@feeds.example/rss"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_settings(path, env={})
    assert SECRET not in str(exc.value)
