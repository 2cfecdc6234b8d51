"""Config is checked when settings load, so ``doctor`` and ``run`` fail the same way: one line
``FILE:LINE: key: reason`` on stderr, exit 2, no traceback (issue 17 item 3)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.settings import SECRET_NAMES, load_settings, parse_duration
from tests.conftest import REPO

BAD = {
    "cron out of range": ('[digest]\nschedule = "61 25 * * *"\n', 2, "digest.schedule"),
    "unknown time zone": ('[digest]\ntimezone = "Mars/Olympus"\n', 2, "digest.timezone"),
    "file URL": (
        '[[feeds]]\nurl = "https://a.example/rss"\n\n[[feeds]]\nurl = "file:///etc/passwd"\n',
        5,
        "feeds.1.url",
    ),
    "not a URL": ('[[feeds]]\nurl = "not a url"\n', 2, "feeds.0.url"),
    "infinite timeout": ("[fetch]\nread_timeout = inf\n", 2, "fetch.read_timeout"),
    "nan timeout": ("[fetch]\n\nconnect_timeout = nan\n", 3, "fetch.connect_timeout"),
    "nan threshold": ("[stories]\nthreshold = nan\n", 2, "stories.threshold"),
    "inf ratio": ("[polling]\njitter = inf\n", 2, "polling.jitter"),
    "interval bounds crossed": (
        '[polling]\nmin_interval = "2h"\nmax_interval = "1h"\n',
        3,
        "polling.max_interval",
    ),
    "timeout too long": ('[fetch]\nconnect_timeout = "2d"\n', 2, "fetch.connect_timeout"),
}


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "newsbot.toml"
    path.write_text(f'[database]\npath = "{tmp_path / "x.db"}"\n' + text, encoding="utf-8")
    return path


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_value_is_refused_at_load_naming_file_line_and_key(tmp_path: Path, case: str) -> None:
    text, line, key = BAD[case]
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as exc:
        load_settings(path, env={})
    message = str(exc.value)
    assert message.startswith(f"{path}:{line + 2}: {key}: "), message
    assert "\n" not in message


@pytest.mark.parametrize("value", [float("inf"), float("nan"), "inf", -1, 0, 400 * 86400])
def test_durations_are_finite_positive_and_at_most_a_year(value: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(value)


def test_good_values_still_load(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        '[digest]\nschedule = "0 8 * * 1-5"\ntimezone = "europe/paris"\n'
        '[[feeds]]\nurl = "https://user:pw@feeds.example/rss"\ninterval = "15m"\n',
    )
    settings = load_settings(path, env={})
    assert settings.digest.timezone == "Europe/Paris"
    assert settings.feeds[0].interval == 900


@pytest.mark.parametrize("command", ["doctor", "run"])
@pytest.mark.parametrize("case", ["cron out of range", "file URL", "infinite timeout"])
def test_doctor_and_run_fail_the_same_way(tmp_path: Path, command: str, case: str) -> None:
    text, line, key = BAD[case]
    path = _write(tmp_path, text)
    env = {k: v for k, v in os.environ.items() if k not in SECRET_NAMES}
    env["NEWSBOT_CONFIG"] = str(path)
    result = subprocess.run(
        [sys.executable, "-m", "bot", command],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{path}:{line + 2}: {key}: "), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
