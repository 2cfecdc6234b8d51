"""Discord shards: ``[discord] shard_count``/``shard_ids`` split guilds between workers.

Two workers (each its own Services on one database, each a real discord.py
``AutoShardedClient``) run shard 0 and shard 1 of 2 against one fake Discord, which sends a
guild's events only to the shard owning it (``guild_id >> 22 % shard_count``): each worker
answers its own guilds' slash commands and never the other's; the same with two real
``newsbot run`` processes on PostgreSQL, their shards from the environment. Unset, the client asks
``GET /gateway/bot`` for the count and runs every shard itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import discord
import pytest

from bot.errors import ConfigError
from bot.platforms.discord_adapter import NewsBot, shard_options
from bot.services import Services, open_services
from bot.settings import SECRET_NAMES, DiscordSettings, Settings, load_settings
from handlers.base import CommandSpec
from tests.conftest import REPO
from tests.fake_discord import FakeDiscord, FakeMember, shard_of


class Worker(NewsBot):
    """The production bot, noting the guild of every command it answered."""

    def __init__(self, services: Services, **options: Any) -> None:
        super().__init__(services, **options)
        self.answered: list[str] = []
        self.done = asyncio.Condition()

    async def run_command(
        self,
        interaction: discord.Interaction,
        spec: CommandSpec,
        args: dict[str, str],
        files: Mapping[str, discord.Attachment] | None = None,
    ) -> None:
        try:
            await super().run_command(interaction, spec, args, files)
        finally:
            self.answered.append(str(interaction.guild_id))
            async with self.done:
                self.done.notify_all()


def _settings(tmp: Path, discord_section: dict[str, Any]) -> Settings:
    return Settings.model_validate(
        {
            "database": {"path": str(tmp / "newsbot.db")},
            "seeds": {"folders": []},
            "discord": discord_section,
        }
    )


async def _connect(fake: FakeDiscord, settings: Settings) -> tuple[Worker, asyncio.Task[None]]:
    services = await open_services(settings)
    bot = Worker(services, guild_ready_timeout=0.1)
    task = asyncio.create_task(bot.start(fake.token))
    await asyncio.wait_for(bot.wait_until_ready(), 10)
    return bot, task


async def _close(bot: Worker, task: asyncio.Task[None]) -> None:
    await bot.close()
    await asyncio.wait_for(task, 5)
    await bot.services.close()


async def _search(fake: FakeDiscord, member: FakeMember, guild: str) -> str:
    """``/news search`` in ``guild``; its interaction token."""
    leaf = {"type": 1, "name": "search", "options": [{"type": 3, "name": "query", "value": "x"}]}
    payload = await fake.interact(member, "general", [leaf], guild=guild)
    return str(payload["token"])


def _callbacks(fake: FakeDiscord, token: str) -> int:
    return len([r for r in fake.requests if r.path.endswith(f"/{token}/callback")])


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    server = FakeDiscord()
    await server.start()
    try:
        with server.patch_discord():
            yield server
    finally:
        await server.stop()


async def test_two_workers_with_one_shard_each_answer_only_their_guilds(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    guild_a = fake.add_guild(("general",), shard=(0, 2))
    guild_b = fake.add_guild(("general",), shard=(1, 2))
    assert (shard_of(guild_a, 2), shard_of(guild_b, 2)) == (0, 1)
    member = fake.add_member("reader", discord.Permissions(use_application_commands=True))
    first = await _connect(fake, _settings(tmp_path, {"shard_count": 2, "shard_ids": [0]}))
    second = await _connect(fake, _settings(tmp_path, {"shard_count": 2, "shard_ids": [1]}))
    workers = (first[0], second[0])
    try:
        assert sorted(s.shard for s in fake.sessions) == [(0, 2), (1, 2)]
        assert guild_a in {str(g.id) for g in workers[0].guilds}
        assert guild_b not in {str(g.id) for g in workers[0].guilds}
        assert {str(g.id) for g in workers[1].guilds} >= {guild_b}
        assert guild_a not in {str(g.id) for g in workers[1].guilds}
        tokens = []
        for _ in range(3):
            for guild in (guild_a, guild_b):
                tokens.append(await _search(fake, member, guild))
        await fake.wait_for(lambda: all(_callbacks(fake, t) for t in tokens), within=15)
        for w in workers:
            async with w.done:
                await asyncio.wait_for(w.done.wait_for(lambda w=w: len(w.answered) >= 3), 15)
        assert all(_callbacks(fake, t) == 1 for t in tokens), "a command answered twice"
        assert workers[0].answered == [guild_a] * 3
        assert workers[1].answered == [guild_b] * 3
    finally:
        for bot, task in (first, second):
            await _close(bot, task)


async def test_unset_shards_follow_discords_recommendation_in_one_process(
    tmp_path: Path, fake: FakeDiscord
) -> None:
    fake.recommended_shards = 2
    guild_a = fake.add_guild(("general",), shard=(0, 2))
    guild_b = fake.add_guild(("general",), shard=(1, 2))
    member = fake.add_member("reader", discord.Permissions(use_application_commands=True))
    bot, task = await _connect(fake, _settings(tmp_path, {}))
    try:
        assert fake.find("GET", r"^/gateway/bot$"), "the shard count was not asked for"
        assert bot.shard_count == 2 and sorted(bot.shards) == [0, 1]
        tokens = [await _search(fake, member, g) for g in (guild_a, guild_b)]
        await fake.wait_for(lambda: all(_callbacks(fake, t) for t in tokens), within=15)
        async with bot.done:
            await asyncio.wait_for(bot.done.wait_for(lambda: len(bot.answered) >= 2), 15)
        assert sorted(bot.answered) == sorted([guild_a, guild_b])
    finally:
        await _close(bot, task)


def _run_env(tmp_path: Path, db: str, fake: FakeDiscord, name: str, shard: int) -> dict[str, str]:
    config = tmp_path / f"{name}.toml"
    config.write_text(
        f'[database]\nurl = "{db}"\n[seeds]\nfolders = []\n[health]\nenabled = false\n',
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if k not in SECRET_NAMES}
    for secret in SECRET_NAMES:
        env.pop(f"{secret}_FILE", None)
    env.update(
        {
            "NEWSBOT_CONFIG": str(config),
            "PYTHONPATH": str(REPO),
            "DISCORD_TOKEN": name,  # the fake tells the workers apart by their token
            "NEWSBOT_TEST_DISCORD_URL": f"http://127.0.0.1:{fake.port}",
            "NEWSBOT_DISCORD_SHARD_COUNT": "2",
            "NEWSBOT_DISCORD_SHARD_IDS": str(shard),
        }
    )
    return env


async def test_two_run_processes_split_the_guilds_by_their_shard_environment(
    tmp_path: Path, pg_url: str
) -> None:
    """``newsbot run`` twice on one PostgreSQL database, shard 0 and 1 of 2 from the
    environment: each identifies as its shard and each command is answered once."""
    server = FakeDiscord()
    guilds = [server.add_guild(("general",), shard=(i, 2)) for i in (0, 1)]
    member = server.add_member("reader", discord.Permissions(use_application_commands=True))
    await server.start()
    procs = []
    try:
        for shard, name in enumerate(("worker-a", "worker-b")):
            log = (tmp_path / f"{name}.log").open("wb")
            procs.append(
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    str(REPO / "tests" / "run_bot.py"),
                    cwd=REPO,
                    env=_run_env(tmp_path, pg_url, server, name, shard),
                    stdout=log,
                    stderr=asyncio.subprocess.STDOUT,
                )
            )
        async with asyncio.timeout(30):  # both identified (no REST request tells of it)
            while len(server.sessions) < 2:
                server.identified.clear()
                await server.identified.wait()
        assert sorted((s.token, s.shard) for s in server.sessions) == [
            ("worker-a", (0, 2)),
            ("worker-b", (1, 2)),
        ]
        await asyncio.sleep(1.0)  # both command trees synced and listening
        tokens = [await _search(server, member, g) for g in guilds for _ in range(2)]
        await server.wait_for(lambda: all(_callbacks(server, t) for t in tokens), within=20)
        await asyncio.sleep(0.5)
        assert all(_callbacks(server, t) == 1 for t in tokens)
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(proc.wait(), timeout=15)
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        await server.stop()


def test_shard_settings_come_from_the_file_or_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "newsbot.toml"
    config.write_text("[discord]\nshard_count = 4\nshard_ids = [3, 1]\n")
    assert load_settings(config, env={}).discord == DiscordSettings(shard_count=4, shard_ids=[1, 3])
    env = {"NEWSBOT_DISCORD_SHARD_COUNT": "2", "NEWSBOT_DISCORD_SHARD_IDS": "1"}
    from_env = load_settings(config, env=env).discord
    assert from_env == DiscordSettings(shard_count=2, shard_ids=[1])
    assert shard_options(from_env) == {"shard_count": 2, "shard_ids": [1]}
    assert shard_options(DiscordSettings(shard_count=3)) == {"shard_count": 3}
    assert shard_options(DiscordSettings()) == {}  # automatic


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("shard_ids = [0]", "discord.shard_ids: needs shard_count"),
        ("shard_count = 2\nshard_ids = [2]", "shard ids go from 0 to 1; [2] is outside"),
        ("shard_count = 2\nshard_ids = [1, 1]", "lists a shard twice"),
        ("token = 'abc'", "secrets belong in the environment"),
    ],
)
def test_bad_shard_settings_are_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "newsbot.toml"
    config.write_text(f"[discord]\n{text}\n")
    with pytest.raises(ConfigError, match=re.escape(message)) as info:
        load_settings(config, env={})
    assert "abc" not in str(info.value)
