"""Secrets canary: with every logger at DEBUG, no token, signing secret, feed credential or
response_url ever reaches a log line, an error message or the CLI's output.

Unique fake secrets (the canaries) are put where a user puts real ones (environment, secret
files, feed URLs); each scenario runs with a root handler recording every record (message and
traceback) at DEBUG, and the CLI's stdout/stderr are kept; none may contain a canary.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.errors import ConfigError
from bot.services import open_services
from bot.settings import SECRET_NAMES, Secrets, Settings, load_settings
from handlers import dispatch
from handlers.base import CommandRequest
from tests.conftest import REPO

CANARIES = {
    "DISCORD_TOKEN": "MTAxCanaryDiscordToken.GcXq.canary-d1sc0rd-9f3b",
    "SLACK_BOT_TOKEN": "xoxb-canary-bot-token-4b7e1",
    "SLACK_APP_TOKEN": "xapp-1-canary-app-token-77c2",
    "SLACK_SIGNING_SECRET": "canary-signing-secret-e5a90",
}
FEED_PASSWORD = "canary-feed-pw-31d8"
ALL_CANARIES = (*CANARIES.values(), FEED_PASSWORD)
runner = CliRunner()


# aiosqlite logs every statement with its parameters at DEBUG; bot.operations.logs redacts them, and
# test_the_database_driver_at_debug_logs_no_feed_credentials checks that with no logger skipped.
KNOWN_LEAKY: tuple[str, ...] = ()


class Recorder(logging.Handler):
    def __init__(self, *, skip: tuple[str, ...] = KNOWN_LEAKY) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.lines: list[str] = []
        self.skip = skip

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.split(".")[0] in self.skip:
            return
        self.lines.append(self.format(record))  # includes the formatted traceback, if any


@pytest.fixture
def logged() -> Iterator[Recorder]:
    yield from _debug_everything(Recorder())


@pytest.fixture
def logged_all() -> Iterator[Recorder]:
    yield from _debug_everything(Recorder(skip=()))


def _debug_everything(recorder: Recorder) -> Iterator[Recorder]:
    """Every logger at DEBUG (the SDKs' and the libraries' too), recorded at the root."""
    root = logging.getLogger()
    old_level = root.level
    loggers = [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)]
    old = [(lg, lg.level, lg.disabled) for lg in loggers]
    root.addHandler(recorder)
    root.setLevel(logging.DEBUG)
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
        lg.disabled = False
    yield recorder
    root.removeHandler(recorder)
    root.setLevel(old_level)
    for lg, level, disabled in old:
        lg.setLevel(level)
        lg.disabled = disabled


def assert_clean(*texts: str) -> None:
    for text in texts:
        for canary in ALL_CANARIES:
            assert canary not in text, (
                f"a secret leaked: ...{text[max(0, text.find(canary) - 80) :][:200]}"
            )


@pytest.fixture
def canary_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    config = tmp_path / "newsbot.toml"
    config.write_text(f'[database]\npath = "{tmp_path / "c.db"}"\n[seeds]\nfolders = []\n')
    monkeypatch.setenv("NEWSBOT_CONFIG", str(config))
    monkeypatch.delenv("NEWSBOT_DB", raising=False)
    for name, value in CANARIES.items():
        monkeypatch.setenv(name, value)
    return {"config": str(config), **CANARIES}


def test_config_errors_never_echo_a_secret(
    tmp_path: Path, logged: Recorder, canary_env: dict[str, str]
) -> None:
    messages = []
    # A secret wrongly put in the config file, and a bad value next to secrets in the env.
    for text in (
        f'[discord]\ntoken = "{CANARIES["DISCORD_TOKEN"]}"\n',
        f'[slack]\nbot_token = "{CANARIES["SLACK_BOT_TOKEN"]}"\n',
        f'[digest]\nschedule = "{CANARIES["SLACK_SIGNING_SECRET"]}"\nmax_stories = "x"\n',
        f'[database]\npath = "{CANARIES["SLACK_APP_TOKEN"]}\n',  # not valid TOML
    ):
        bad = tmp_path / "bad.toml"
        bad.write_text(text)
        with pytest.raises(ConfigError) as info:
            load_settings(bad)
        messages += [str(info.value), repr(info.value)]
        result = runner.invoke(app, ["--config", str(bad), "doctor"])
        assert result.exit_code == 2
        messages += [result.stdout, result.stderr]
    missing = {f"{name}_FILE": str(tmp_path / "no-such-secret") for name in SECRET_NAMES}
    with pytest.raises(ConfigError) as info:
        Secrets(missing)
    secrets = Secrets(dict(CANARIES))
    settings = load_settings(canary_env["config"])
    messages += [str(info.value), repr(secrets), str(secrets), repr(settings), str(settings)]
    assert_clean(*messages, *logged.lines)


def test_doctor_with_every_secret_set_shows_none(
    logged: Recorder, canary_env: dict[str, str]
) -> None:
    for fmt in ("text", "json"):
        result = runner.invoke(app, ["-v", "doctor", "--format", fmt])
        assert result.exit_code in (0, 1), result.output
        assert_clean(result.stdout, result.stderr)
    assert_clean(*logged.lines)


def test_fetch_errors_never_show_feed_credentials(
    tmp_path: Path, logged: Recorder, canary_env: dict[str, str]
) -> None:
    with socketless_port() as port:
        url = f"http://reader:{FEED_PASSWORD}@127.0.0.1:{port}/feed.xml?token={FEED_PASSWORD}"
        result = runner.invoke(app, ["-v", "ingest", url, "--format", "json"])
    assert result.exit_code == 1
    assert "127.0.0.1" in result.stderr  # the error names the feed, without its secrets
    assert_clean(result.stdout, result.stderr, *logged.lines)


async def failed_fetch_and_chat_add(db: Path) -> list[str]:
    """An operator feed with credentials fails to fetch; a chat admin tries to add one."""
    settings = Settings.model_validate({"database": {"path": str(db)}, "seeds": {"folders": []}})
    sv = await open_services(settings)
    try:
        with socketless_port() as port:
            url = f"https://reader:{FEED_PASSWORD}@127.0.0.1:{port}/private.xml"
            report = await sv.ingestor.ingest(url)
            texts = [str(w) for w in report.warnings]
            for action in ("add", "status"):
                request = CommandRequest(
                    platform="slack",
                    workspace="T",
                    channel="C",
                    user="U",
                    is_admin=True,
                    command="sources",
                    args={"action": action, "url": url},
                )
                reply = await dispatch(request, sv)
                texts += [reply.title, *reply.lines]
    finally:
        await sv.close()
    assert texts
    return texts


async def test_failed_fetches_and_chat_replies_show_no_feed_credentials(
    tmp_path: Path, logged: Recorder
) -> None:
    assert_clean(*await failed_fetch_and_chat_add(tmp_path / "f.db"), *logged.lines)


async def test_the_database_driver_at_debug_logs_no_feed_credentials(
    tmp_path: Path, logged_all: Recorder
) -> None:
    await failed_fetch_and_chat_add(tmp_path / "f.db")
    assert_clean(*logged_all.lines)


def test_run_with_fake_tokens_and_no_reachable_platform_logs_no_secret(
    tmp_path: Path, canary_env: dict[str, str]
) -> None:
    """`newsbot run` at DEBUG with every token set: the platforms fail to connect (no network
    to them), the bot runs on and stops on SIGTERM; its whole output holds no canary."""
    # aiosqlite's statement log is the known leak above; here no secret is in the database.
    env = dict(os.environ)
    env.update(canary_env)
    env.pop("SLACK_APP_TOKEN")  # Slack in HTTP mode: Socket Mode would retry its connection
    env.update(
        {
            "NEWSBOT_CONFIG": canary_env["config"],
            "NEWSBOT_LOG_LEVEL": "DEBUG",
            "SLACK_HTTP_PORT": "0",
            "https_proxy": "http://127.0.0.1:9",  # nothing leaves this machine
            "HTTPS_PROXY": "http://127.0.0.1:9",
        }
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "-v", "run"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "newsbot running" in line:
            break
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    log = "".join(lines) + out
    assert "newsbot running" in log, log[-3000:]
    assert_clean(log)


@contextlib.contextmanager
def socketless_port() -> Iterator[int]:
    """A local port with nothing listening (connections are refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # bound, never listening: refused
        yield int(sock.getsockname()[1])
