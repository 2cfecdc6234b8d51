"""Health endpoint: /healthz and Prometheus /metrics on a local port, scraped over HTTP."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.delivery.console import ConsoleGateway
from bot.delivery.gateway import ChannelRef
from bot.delivery.outbox import Outbox
from bot.digest.compose import Composed
from bot.digest.model import Digest, StoryDigest
from bot.models import utcnow
from bot.operations.health import REGISTRY, HealthServer, health_config, start_health
from bot.services import Services, open_services
from bot.settings import Settings
from bot.storage.sources import FetchRecord, SourceRepo
from handlers import dispatch
from handlers.base import CommandRequest
from tests.conftest import SEEDS, need


@pytest.fixture
async def sv(tmp_path: Path) -> AsyncIterator[Services]:
    need(SEEDS)
    settings = Settings.model_validate(
        {"database": {"path": str(tmp_path / "h.db")}, "seeds": {"folders": [str(SEEDS)]}}
    )
    services = await open_services(settings)
    yield services
    await services.close()


@pytest.fixture
async def server(sv: Services) -> AsyncIterator[HealthServer]:
    health = HealthServer(sv.store)
    await health.start("127.0.0.1", 0)
    yield health
    await health.close()


def digest_of(title: str) -> Composed:
    story = StoryDigest(id="s-0001", title=title, known=False, outlets=["AP"])
    return Composed(Digest(channel="c", generated_at=utcnow(), stories=[story]), [])


async def scrape(port: int, path: str = "/metrics") -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.get(f"http://127.0.0.1:{port}{path}", timeout=5)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


async def add_feeds(sv: Services) -> None:
    """Four URL feeds: polled fine, failing, disabled, never polled."""
    now = utcnow()
    ids = []
    async with sv.store.transaction() as conn:
        for name in ("ok", "failing", "disabled", "new"):
            ids.append(
                await sv.store.upsert_source(
                    conn, kind="feed", locator=f"https://example.org/{name}.xml", now=now
                )
            )
    sources = SourceRepo(sv.store)
    await sources.record(ids[0], FetchRecord(at=now, ok=True))
    await sources.record(
        ids[1], FetchRecord(at=now - timedelta(hours=1), ok=False, error="HTTP 500")
    )
    async with sv.store.transaction() as conn:
        await conn.execute("UPDATE sources SET enabled = 0 WHERE id = ?", (ids[2],))


async def test_metrics_report_feeds_articles_stories_digests_and_command_latency(
    sv: Services, server: HealthServer
) -> None:
    report = await sv.sync_seeds()
    await add_feeds(sv)
    outbox = Outbox(sv.store, {"console": ConsoleGateway(sink=lambda text: None)}, min_interval=0)
    console = ChannelRef("console", "", "console")
    await outbox.deliver(digest_of("sent"), channel=console, idempotency_key="a")
    await outbox.enqueue(
        digest_of("waiting"), channel=ChannelRef("slack", "T", "C"), idempotency_key="b"
    )
    request = CommandRequest(
        platform="slack", workspace="T", channel="C", user="U", is_admin=False, command="topics"
    )
    count = "newsbot_command_duration_seconds_count"
    before = REGISTRY.get_sample_value(count, {"command": "topics"}) or 0
    await dispatch(request, sv)

    response = await scrape(server.port)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    got = samples(response.text)
    assert got[("newsbot_articles", (("kind", "original"),))] == report.stored
    assert got[("newsbot_articles", (("kind", "duplicate"),))] == report.duplicates
    active = await sv.store.scalar("SELECT count(*) FROM stories WHERE active = 1")
    assert got[("newsbot_stories_active", ())] == active > 0
    for state in ("ok", "failing", "disabled", "new"):
        assert got[("newsbot_feeds", (("state", state),))] == 1, state
    assert got[("newsbot_feed_last_poll_timestamp_seconds", ())] > 0
    assert got[("newsbot_digests", (("status", "sent"),))] == 1
    assert got[("newsbot_digests", (("status", "pending"),))] == 1
    assert got[("newsbot_digests", (("status", "failed"),))] == 0
    assert got[("newsbot_digest_oldest_pending_age_seconds", ())] >= 0
    assert got[(count, (("command", "topics"),))] == before + 1
    assert got[("newsbot_command_duration_seconds_sum", (("command", "topics"),))] > 0

    await outbox.deliver(digest_of("more"), channel=console, idempotency_key="c")
    again = samples((await scrape(server.port)).text)  # counts are read at scrape time
    assert again[("newsbot_digests", (("status", "sent"),))] == 2


async def test_healthz_is_ok_while_the_database_answers(sv: Services, server: HealthServer) -> None:
    response = await scrape(server.port, "/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok" and response.json()["database"] == "ok"
    await sv.store.close()  # the database goes away
    broken = await scrape(server.port, "/healthz")
    assert broken.status_code == 503 and broken.json()["status"] == "error"
    sv.store = await type(sv.store).open(sv.settings.db_path)  # for the fixture's close


async def test_other_paths_and_methods_are_refused_and_junk_is_survived(
    server: HealthServer,
) -> None:
    assert (await scrape(server.port, "/")).status_code == 404
    async with httpx.AsyncClient() as client:
        posted = await client.post(f"http://127.0.0.1:{server.port}/metrics", content=b"x")
    assert posted.status_code == 405
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"\x00garbage without an end" * 1000)  # over the head limit, never finished
    await writer.drain()
    assert await asyncio.wait_for(reader.read(), 10) == b""  # closed, no answer
    writer.close()
    assert (await scrape(server.port, "/healthz")).status_code == 200  # still serving


async def test_health_settings_fall_back_and_a_taken_port_does_not_stop_the_bot(
    sv: Services, caplog: pytest.LogCaptureFixture
) -> None:
    assert health_config(sv.settings) == health_config(SimpleNamespace())  # defaults
    assert health_config(SimpleNamespace()).host == "127.0.0.1"
    off = SimpleNamespace(health=SimpleNamespace(enabled=False, host="127.0.0.1", port=0))
    assert await start_health(off, sv.store) is None
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = SimpleNamespace(health=SimpleNamespace(enabled=True, host="127.0.0.1", port=port))
        with caplog.at_level(logging.WARNING, logger="newsbot.health"):
            assert await start_health(busy, sv.store) is None
    assert "health endpoint not started" in caplog.text
    free = SimpleNamespace(health=SimpleNamespace(enabled=True, host="127.0.0.1", port=0))
    health = await start_health(free, sv.store)
    assert health is not None
    assert (await scrape(health.port, "/healthz")).status_code == 200
    await health.close()
