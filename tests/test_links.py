"""Platform links (``bot/operations/links.py``): a platform that cannot be reached is retried in the
background with backoff and connects once it answers; a rejected credential is not retried;
a stop cancels a pending attempt."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import discord
import pytest
import yarl

from bot.errors import ConfigError
from bot.operations.links import PlatformLink, link_states, not_connected
from bot.platforms.discord_adapter import DiscordRuntime
from bot.services import Services, open_services
from bot.settings import Settings
from tests.fake_discord import FakeDiscord


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    sv = await open_services(
        Settings.model_validate(
            {"database": {"path": str(tmp_path / "l.db")}, "seeds": {"folders": []}}
        )
    )
    yield sv
    await sv.close()


async def _until(predicate: Callable[[], bool], within: float = 10.0) -> None:
    async with asyncio.timeout(within):
        while True:
            if predicate():
                return
            await asyncio.sleep(0.05)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_discord_is_retried_until_it_answers_then_handed_over(services: Services) -> None:
    fake = FakeDiscord()
    route, ws = discord.http.Route, discord.gateway.DiscordWebSocket
    saved = route.BASE, ws.DEFAULT_GATEWAY
    port = _closed_port()
    route.BASE = f"http://127.0.0.1:{port}/api/v10"
    ws.DEFAULT_GATEWAY = yarl.URL(f"ws://127.0.0.1:{port}/gateway")
    up: list[Any] = []

    async def on_up(runtime: Any) -> None:
        up.append(runtime.gateway)

    runtime = DiscordRuntime(services, fake.token, guild_ready_timeout=0.1)
    link = PlatformLink(runtime, on_up, retry_first=0.1, retry_max=0.2)
    try:
        link.start()
        await _until(lambda: link.attempts >= 2)
        assert not_connected([link]) == ["discord"]
        assert "ClientConnectorError" in str(link_states([link])["discord"]["detail"])
        await fake.start()
        with fake.patch_discord():
            await _until(lambda: link.state == "connected")
            assert up == [runtime.gateway] and runtime.bot.is_ready()
            assert not_connected([link]) == []
            await link.stop()
    finally:
        route.BASE, ws.DEFAULT_GATEWAY = saved
        await fake.stop()


class Rejected:
    name = "chat"
    gateway = None

    def __init__(self) -> None:
        self.starts = 0

    async def start(self) -> None:
        self.starts += 1
        raise ConfigError("CHAT_TOKEN was rejected")

    async def stop(self) -> None:
        return None


class Hanging(Rejected):
    async def start(self) -> None:
        self.starts += 1
        await asyncio.Event().wait()


async def _never(runtime: Any) -> None:
    raise AssertionError("not connected")


async def test_a_rejected_credential_is_not_retried() -> None:
    runtime = Rejected()
    link = PlatformLink(runtime, _never, retry_first=0.01)
    link.start()
    await asyncio.sleep(0.2)
    assert runtime.starts == 1 and link.state == "failed" and "rejected" in link.detail
    await link.stop()


async def test_stop_cancels_an_attempt_that_never_answers() -> None:
    runtime = Hanging()
    link = PlatformLink(runtime, _never, connect_timeout=60)
    link.start()
    await asyncio.sleep(0.05)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await link.stop()
    assert loop.time() - started < 1.0
    assert link.state == "connecting"
