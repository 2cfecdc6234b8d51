"""SIGTERM stops ``newsbot run`` within 10 s in every platform mode, whatever the network does
(issue 17 item 4): Discord and Slack Socket Mode against local ports that refuse connections
or accept and never answer, Slack HTTP mode, and both platforms at once. Meanwhile the health
endpoint says which platform is not connected."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.settings import SECRET_NAMES
from tests.conftest import REPO

STOP_WITHIN_S = 10.0


@pytest.fixture
def refused() -> str:
    """A local port nothing listens on (connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def silent() -> Iterator[str]:
    """A local port that accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        yield f"http://127.0.0.1:{s.getsockname()[1]}"


def _env(tmp_path: Path, secrets: dict[str, str], extra: dict[str, str]) -> dict[str, str]:
    config = tmp_path / "newsbot.toml"
    config.write_text(
        f'[database]\npath = "{tmp_path / "run.db"}"\n[seeds]\nfolders = []\n[health]\nport = 0\n',
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if k not in SECRET_NAMES}
    for name in SECRET_NAMES:
        env.pop(f"{name}_FILE", None)
    env.update({"NEWSBOT_CONFIG": str(config), "NEWSBOT_LOG_LEVEL": "INFO", "SLACK_HTTP_PORT": "0"})
    env.update(secrets)
    env.update(extra)
    return env


def _run_then_stop(env: dict[str, str]) -> tuple[dict[str, object], float, str, int]:
    """Start the bot, read /healthz once it runs, SIGTERM it: (health, seconds to exit, log, rc)."""
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "run_bot.py")],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    port = None
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if m := re.search(r"health: http://127\.0\.0\.1:(\d+)/healthz", line):
                port = int(m.group(1))
            if "newsbot running" in line:
                break
        assert port is not None and "newsbot running" in lines[-1], "".join(lines)
        time.sleep(1.0)  # connection attempts under way
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            health = json.loads(response.read())
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
        took = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return health, took, "".join(lines) + out, proc.returncode


DISCORD = {"DISCORD_TOKEN": "clean-stop-discord-token"}
SOCKET = {"SLACK_BOT_TOKEN": "xoxb-clean-stop", "SLACK_APP_TOKEN": "xapp-1-clean-stop"}
HTTP = {"SLACK_BOT_TOKEN": "xoxb-clean-stop", "SLACK_SIGNING_SECRET": "clean-stop-secret"}


@pytest.mark.parametrize(
    ("mode", "secrets", "down"),
    [
        ("discord and slack socket mode, refused", {**DISCORD, **SOCKET}, ["discord", "slack"]),
        ("discord and slack socket mode, silent", {**DISCORD, **SOCKET}, ["discord", "slack"]),
        ("slack http mode", HTTP, []),
    ],
)
def test_sigterm_stops_run_within_10s_and_health_names_what_is_not_connected(
    tmp_path: Path,
    refused: str,
    silent: str,
    mode: str,
    secrets: dict[str, str],
    down: list[str],
) -> None:
    target = silent if "silent" in mode else refused
    env = _env(
        tmp_path,
        secrets,
        {"NEWSBOT_TEST_DISCORD_URL": target, "SLACK_API_URL": target + "/api/"},
    )
    health, took, log, code = _run_then_stop(env)
    print(f"{mode}: stopped {took:.1f}s after SIGTERM, exit {code}")
    assert code == 0, log
    assert took < STOP_WITHIN_S, f"{mode}: stopped after {took:.1f}s\n{log}"
    assert "Traceback" not in log, log
    assert health["not_connected"] == down, health
    assert health["status"] == ("degraded" if down else "ok")
    assert set(health["platforms"]) == {
        "discord" if "DISCORD_TOKEN" in secrets else "",
        "slack" if "SLACK_BOT_TOKEN" in secrets else "",
    } - {""}
    for secret in secrets.values():
        assert secret not in log
