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


STORAGE = REPO / "bot" / "storage"
SQL_TEXT = re.compile(  # the project writes SQL keywords in capitals
    r"\b(SELECT\s.+\sFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b",
    re.DOTALL,
)
# Modules whose SQL has moved into bot/storage/ (issue 11); the rest join as theirs moves.
SQL_FREE = ("bot/ingest.py", "bot/stories")


def _text(node: ast.AST) -> str | None:
    """A string literal's text; an f-string's with ``{}`` for each value."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(_text(v) or "{}" for v in node.values)
    return None


def _sql_strings(path: Path) -> list[str]:
    """String literals that read as SQL statements."""
    texts = (_text(node) for node in ast.walk(ast.parse(path.read_text("utf-8"))))
    return [t for t in texts if t and SQL_TEXT.search(t)]


def test_only_storage_modules_import_the_database_driver() -> None:
    users = [
        str(p.relative_to(REPO))
        for folder in ("bot", "handlers")
        for p in _modules(folder)
        if STORAGE not in p.parents and _forbidden(_imports(p), ("aiosqlite",))
    ]
    assert users == []


def test_modules_whose_sql_moved_to_storage_hold_no_sql() -> None:
    bad = {}
    for entry in SQL_FREE:
        target = REPO / entry
        for path in [target] if target.is_file() else sorted(target.rglob("*.py")):
            if found := _sql_strings(path):
                bad[str(path.relative_to(REPO))] = found
    assert not bad, f"SQL outside bot/storage/: {bad}"


def test_the_sql_rule_detects_statements(tmp_path: Path) -> None:
    sample = tmp_path / "m.py"
    sample.write_text(
        'a = "SELECT id FROM stories"\n'
        'b = f"SELECT {cols} FROM articles"\n'
        'c = "INSERT OR REPLACE INTO t (x) VALUES (1)"\n'
        'd = "Select a story from the list"\n'
    )
    assert _sql_strings(sample) == [
        "SELECT id FROM stories",
        "SELECT {} FROM articles",
        "INSERT OR REPLACE INTO t (x) VALUES (1)",
    ]
