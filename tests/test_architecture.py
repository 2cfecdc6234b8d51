"""The dependency rule: the core never imports a chat SDK, handlers never import adapters."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

CHAT_SDKS = ("discord", "slack_bolt", "slack_sdk", "aiohttp")
ADAPTERS = ("bot.platforms",)
COMPOSITION_ROOT = REPO / "bot" / "app.py"
# The platform registry is data the core reads (secret names, doctor checks, redaction
# patterns); it imports no SDK and no adapter (factories are "module:function" strings).
REGISTRY = "bot.platforms.registry"


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
        hits = _forbidden(_imports(path), rule) - {REGISTRY}
        if hits:
            bad[str(path.relative_to(REPO))] = hits
    assert not bad, f"core modules import chat-platform code: {bad}"


def test_the_platform_registry_imports_no_sdk_adapter_or_core_module_at_run_time() -> None:
    path = REPO / "bot" / "platforms" / "registry.py"
    tree = ast.parse(path.read_text("utf-8"))
    guarded = {  # `if TYPE_CHECKING:` blocks hold annotations only
        id(n)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
        for n in ast.walk(node)
    }
    runtime = {
        alias.name if isinstance(node, ast.Import) else str(node.module)
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom) and id(node) not in guarded
        for alias in node.names
    }
    assert not _forbidden(runtime, (*CHAT_SDKS, "bot", "handlers")), runtime


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
