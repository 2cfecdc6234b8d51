"""A fresh PostgreSQL database per test, on the server ``NEWSBOT_TEST_POSTGRES_DSN`` names.

The variable holds a libpq URL of a role allowed to create databases (``.ci/run`` starts a
throwaway cluster and sets it); without it the PostgreSQL half of the store tests skips.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

ENV = "NEWSBOT_TEST_POSTGRES_DSN"
SKIP_REASON = f"PostgreSQL half skipped: set {ENV}=postgresql://USER@HOST:PORT/DB to run it"


def dsn() -> str | None:
    return os.environ.get(ENV) or None


@contextlib.contextmanager
def fresh_database(base: str, prefix: str = "newsbot_t_") -> Iterator[str]:
    """The URL of a new empty database on the server of ``base``, dropped afterwards (tests
    and benchmarks)."""
    import psycopg

    name = prefix + uuid.uuid4().hex[:12]
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"'.encode())
    parts = urlsplit(base)
    try:
        yield urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))
    finally:
        with psycopg.connect(base, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


@pytest.fixture
def pg_url() -> Iterator[str]:
    """The URL of an empty database, dropped after the test."""
    base = dsn()
    if base is None:
        pytest.skip(SKIP_REASON)
    with fresh_database(base) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_target(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Where a store lives, once per backend: a fresh SQLite file, then an empty PostgreSQL
    database (that half skips without ``NEWSBOT_TEST_POSTGRES_DSN``)."""
    if request.param == "sqlite":
        return str(tmp_path_factory.mktemp("db") / "newsbot.db")
    return str(request.getfixturevalue("pg_url"))
