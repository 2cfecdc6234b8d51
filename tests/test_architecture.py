"""The dependency rule: the core never imports a chat SDK, handlers never import adapters."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.conftest import REPO

CHAT_SDKS = ("discord", "slack_bolt", "slack_sdk", "aiohttp")
ADAPTERS = ("bot.platforms",)
COMPOSITION_ROOT = REPO / "bot" / "app.py"


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


SQL_TEXT = re.compile(
    r"\b(SELECT\s.+\sFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|BEGIN\s+IMMEDIATE)\b",
    re.S,
)
# Modules whose SQL moved into repositories in bot/storage/ (the list grows to every module).
SQL_FREE = ("bot/polling.py", "bot/health.py", "handlers/sources.py", "bot/sources")


def _sql_strings(path: Path) -> list[str]:
    tree = ast.parse(path.read_text("utf-8"))
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        if SQL_TEXT.search(node.value)
    ]


def test_feed_polling_sources_and_health_leave_sql_to_storage() -> None:
    paths = [p for name in SQL_FREE for p in sorted(REPO.glob(name)) or [REPO / name]]
    files = [f for p in paths for f in (sorted(p.rglob("*.py")) if p.is_dir() else [p])]
    assert len(files) > 10  # the folder was found and read
    bad = {
        str(f.relative_to(REPO)): (_sql_strings(f), _forbidden(_imports(f), ("aiosqlite",)))
        for f in files
    }
    assert {k: v for k, v in bad.items() if v[0] or v[1]} == {}


def test_the_sql_rule_detects_sql_text_and_aiosqlite(tmp_path: Path) -> None:
    sample = tmp_path / "m.py"
    sample.write_text(
        "import aiosqlite\n"
        "Q = 'SELECT id, name\\n FROM sources WHERE id = ?'\n"
        "U = f'UPDATE sources SET enabled = {0}'\n"
        "TEXT = 'Select the feeds you want; update your settings'\n"
    )
    assert len(_sql_strings(sample)) == 2
    assert _forbidden(_imports(sample), ("aiosqlite",)) == {"aiosqlite"}
