"""ruff and mypy run as part of the suite, so CI and `pytest` enforce them."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=REPO, capture_output=True, text=True, timeout=600
    )


def test_ruff_reports_no_problems() -> None:
    result = _run("ruff", "check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_reports_no_type_errors() -> None:
    result = _run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr
