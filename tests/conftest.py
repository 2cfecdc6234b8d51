"""Shared fixtures: the development data folder, a temp database, settings."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(__import__("os").environ.get("NEWSBOT_SHARED", str(REPO.parent / "shared"))).resolve()
SEEDS = REPO / "seeds"
DUC = SHARED / "data" / "dev" / "duc2006-topics.jsonl"
# Real feed files from two MIT-licensed parsers' test corpora (licences beside them), shipped
# with the tests so a fresh clone runs them.
FEEDS = REPO / "tests" / "data" / "feeds"


def need(path: Path) -> Path:
    """Skip (loudly) when the shared development data is not beside the repository."""
    if not path.exists():
        pytest.skip(f"development data missing: {path}")
    return path


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "newsbot.db"


from tests.feedserver import feed_server  # noqa: E402, F401  (fixture: a local feed HTTP server)
from tests.pgtest import (  # noqa: E402, F401  (fixtures: a store on each backend, or skip)
    db_target,
    pg_url,
)
