"""The dependency rules: the core never imports a chat SDK, handlers never import adapters,
and only ``bot/storage/`` holds SQL or imports the database driver."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.conftest import REPO

CHAT_SDKS = ("discord", "slack_bolt", "slack_sdk", "aiohttp")
ADAPTERS = ("bot.platforms",)
COMPOSITION_ROOT = REPO / "bot" / "app.py"
STORAGE = REPO / "bot" / "storage"
# A statement's first words (an f-string's column list too, ``SELECT {COLS}``) or the driver.
SQL_OR_DRIVER = re.compile(
    r"(^|[^A-Za-z_])(import (aiosqlite|sqlite3)|from (aiosqlite|sqlite3) import)"
    r"|\b(SELECT [A-Za-z_*({]|INSERT (OR [A-Z]+ )?INTO |UPDATE [a-z_]+ SET |DELETE FROM )",
    re.MULTILINE,
)
# Modules whose SQL other branches of issue 11 (item 1) are moving into bot/storage/ right
# now. The lead removes each entry once its branch is merged; the list ends empty.
SQL_ALLOWLIST = {
    "bot/stories/service.py",
    "bot/ingest.py",
    "bot/digest/analyses.py",
    "bot/digest/memory.py",
    "bot/polling.py",
    "bot/health.py",
    "handlers/sources.py",
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _modules(folder: str) -> list[Path]:
    return sorted((REPO / folder).rglob("*.py"))


def _forbidden(names: set[str], prefixes: tuple[str, ...]) -> set[str]:
    return {n for n in names if any(n == p or n.startswith(p + ".") for p in prefixes)}


def test_core_modules_import_no_chat_platform() -> None:
    bad = {}
    for path in _modules("bot"):
        if "platforms" in path.relative_to(REPO).parts:
            continue
        # The composition root may wire the registry (which imports SDKs lazily, by name).
        rule = CHAT_SDKS + ("handlers",) + (() if path == COMPOSITION_ROOT else ADAPTERS)
        hits = _forbidden(_imports(path), rule)
        if hits:
            bad[str(path.relative_to(REPO))] = hits
    assert not bad, f"core modules import chat-platform code: {bad}"


def test_handlers_import_no_adapter_or_sdk() -> None:
    bad = {}
    for path in _modules("handlers"):
        hits = _forbidden(_imports(path), CHAT_SDKS + ADAPTERS)
        if hits:
            bad[str(path.relative_to(REPO))] = hits
    assert not bad, f"handlers import platform code: {bad}"


def test_only_the_scheduler_module_imports_apscheduler() -> None:
    users = [
        str(p.relative_to(REPO))
        for p in _modules("bot")
        if _forbidden(_imports(p), ("apscheduler",))
    ]
    assert users == ["bot/scheduler.py"]


def test_the_rule_detects_a_forbidden_import(tmp_path: Path) -> None:
    sample = tmp_path / "m.py"
    sample.write_text("import discord\nfrom slack_sdk.web import WebClient\nimport json\n")
    assert _forbidden(_imports(sample), CHAT_SDKS) == {"discord", "slack_sdk.web"}


def test_platform_sdks_are_imported_only_by_their_adapters() -> None:
    for path in _modules("bot/platforms"):
        hits = _forbidden(_imports(path), CHAT_SDKS)
        name = path.name
        if hits:
            assert name.startswith(("discord_", "slack_")), f"{name} imports {hits}"


def _holds_sql(path: Path) -> bool:
    return SQL_OR_DRIVER.search(path.read_text("utf-8")) is not None


def _sql_holders_outside_storage() -> set[str]:
    return {
        str(path.relative_to(REPO))
        for path in _modules("bot") + _modules("handlers")
        if not path.is_relative_to(STORAGE) and _holds_sql(path)
    }


def test_only_storage_holds_sql_or_imports_the_database_driver() -> None:
    outside = _sql_holders_outside_storage() - SQL_ALLOWLIST
    assert not outside, (
        f"SQL text or an aiosqlite/sqlite3 import outside bot/storage/: {sorted(outside)} "
        "(move it into a repository in bot/storage/ that returns typed objects)"
    )


def test_the_sql_allowlist_lists_only_modules_that_still_hold_sql() -> None:
    done = SQL_ALLOWLIST - _sql_holders_outside_storage()
    assert not done, f"these hold no SQL any more: remove them from SQL_ALLOWLIST: {sorted(done)}"


def test_the_sql_rule_detects_a_sample(tmp_path: Path) -> None:
    caught = [
        "import aiosqlite",
        "    import sqlite3",
        "from sqlite3 import Row",
        'row = await store.fetchone("SELECT id FROM stories WHERE public_id = ?", (ref,))',
        'sql = f"SELECT {COLS} FROM sources"',
        '"SELECT count(*) FROM deliveries"',
        '"INSERT INTO sources (kind) VALUES (?)"',
        '"INSERT OR IGNORE INTO article_sources VALUES (?, ?)"',
        '"UPDATE subscriptions SET enabled = 0"',
        '"DELETE FROM delivered_items WHERE delivery_id = ?"',
    ]
    passed = [
        "from bot.storage import Store",
        "import json",
        "# users select a story; UPDATE the README; deleted from the list",
        '"Select A Story"',
        "aiosqlite logs SQL parameters at DEBUG",
    ]
    for line in caught:
        sample = tmp_path / "caught.py"
        sample.write_text(f"x = 1\n{line}\n", "utf-8")
        assert _holds_sql(sample), line
    for line in passed:
        sample = tmp_path / "passed.py"
        sample.write_text(f"x = 1\n{line}\n", "utf-8")
        assert not _holds_sql(sample), line
