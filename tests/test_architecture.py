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
# Modules allowed to hold SQL outside bot/storage/: none (issue 11 moved every statement; keep
# it empty).
SQL_ALLOWLIST: set[str] = set()
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
    assert users == ["bot/operations/jobs.py"]


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


# ------------------------------------------------------------- no module-level registries
# Explicit wiring: state lives on objects the composition root builds (``Services``: outbox,
# events, clock; ``Store.derived``), never in a module. A module-level container is a constant:
# nothing mutates it. ``global`` rebinding and object-keyed weak maps (registries by another
# name) are refused outright. Memoised pure functions (``functools.cache``) are not state.
MUTABLE_CONTAINERS = {
    "dict",
    "list",
    "set",
    "bytearray",
    "defaultdict",
    "OrderedDict",
    "deque",
    "Counter",
}
WEAK_REGISTRIES = {"WeakKeyDictionary", "WeakValueDictionary", "WeakSet"}
MUTATORS = {
    "append",
    "appendleft",
    "extend",
    "insert",
    "add",
    "update",
    "setdefault",
    "pop",
    "popitem",
    "remove",
    "discard",
    "clear",
    "move_to_end",
    "__setitem__",
}


def _callee(node: ast.expr) -> str | None:
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)


def _module_level(tree: ast.Module) -> list[tuple[str, ast.expr, int]]:
    """(name, value, line) of every assignment at module level (inside if/try too)."""
    found: list[tuple[str, ast.expr, int]] = []
    stack: list[ast.stmt] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If):
            stack.extend([*node.body, *node.orelse])
        elif isinstance(node, ast.Try):
            stack.extend([*node.body, *node.orelse, *node.finalbody])
            stack.extend(s for h in node.handlers for s in h.body)
        elif isinstance(node, ast.Assign):
            found += [
                (t.id, node.value, node.lineno) for t in node.targets if isinstance(t, ast.Name)
            ]
        elif isinstance(node, ast.AnnAssign) and node.value and isinstance(node.target, ast.Name):
            found.append((node.target.id, node.value, node.lineno))
    return found


def _is_container(value: ast.expr) -> bool:
    displays = (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp)
    return isinstance(value, displays) or _callee(value) in MUTABLE_CONTAINERS


def _mutated(tree: ast.Module, name: str) -> int | None:
    """The line where a function mutates ``name`` (a module-level container), if any (the
    module's own top-level statements build the constant)."""

    def is_name(node: ast.expr) -> bool:
        return isinstance(node, ast.Name) and node.id == name

    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    for node in (inner for f in functions for inner in ast.walk(f)):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign | ast.Delete):
            targets = list(node.targets)
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            if isinstance(target, ast.Subscript) and is_name(target.value):
                return target.lineno
            if isinstance(node, ast.AugAssign) and is_name(target):
                return target.lineno
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in MUTATORS
            and is_name(node.func.value)
        ):
            return node.lineno
    return None


def module_state(source: str) -> list[str]:
    """Module-level mutable state in ``source``: each finding as ``line: what``."""
    tree = ast.parse(source)
    problems = [
        f"{node.lineno}: global {', '.join(node.names)}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Global)
    ]
    for name, value, line in _module_level(tree):
        if _callee(value) in WEAK_REGISTRIES:
            problems.append(f"{line}: {name} is an object-keyed registry")
        elif _is_container(value) and (where := _mutated(tree, name)) is not None:
            problems.append(f"{where}: module-level {name} is mutated")
    return sorted(problems)


def test_no_module_level_mutable_registries_in_bot_or_handlers() -> None:
    bad = {
        str(path.relative_to(REPO)): found
        for path in _modules("bot") + _modules("handlers")
        if (found := module_state(path.read_text("utf-8")))
    }
    assert not bad, f"module-level mutable state (put it on Services or its owner): {bad}"


def test_the_registry_rule_detects_hidden_registries_and_spares_constants() -> None:
    sample = """
import weakref
_OUTBOXES: weakref.WeakKeyDictionary[object, object] = weakref.WeakKeyDictionary()
_LISTENERS: dict[object, list[object]] = {}
HOOKS = []
_installed = False
TABLE = {"a": 1}
TABLE |= {"b": 2}
NAMES = ["x", "y"]

def watch(store, listener):
    _LISTENERS.setdefault(store, []).append(listener)

def install():
    global _installed
    _installed = True

def register(hook):
    HOOKS.append(hook)

def lookup(key):
    return TABLE.get(key), [n for n in NAMES if n], dict(TABLE)

def local():
    counts = {}
    counts["a"] = 1
    return counts
"""
    assert module_state(sample) == [
        "12: module-level _LISTENERS is mutated",
        "15: global _installed",
        "19: module-level HOOKS is mutated",
        "3: _OUTBOXES is an object-keyed registry",
    ]


# ------------------------------------------------------------- ARCHITECTURE.md matches the tree
_TABLE_ROW = re.compile(r"^\| `([^`]+\.py)`", re.MULTILINE)


def _table_modules() -> set[str]:
    return set(_TABLE_ROW.findall((REPO / "ARCHITECTURE.md").read_text("utf-8")))


def test_architecture_md_lists_every_module_and_only_existing_ones() -> None:
    listed = _table_modules()
    modules = {
        str(p.relative_to(REPO))
        for p in _modules("bot") + _modules("handlers")
        if p.name != "__init__.py"
    }
    assert not modules - listed, f"modules missing from ARCHITECTURE.md: {sorted(modules - listed)}"
    stale = {m for m in listed if not (REPO / m).exists()}
    assert not stale, f"ARCHITECTURE.md lists modules that do not exist: {sorted(stale)}"


def test_the_table_rule_reads_module_rows() -> None:
    sample = "| `bot/a.py` | one |\n| not a row `bot/b.py` |\n| `handlers/c.py` | two |\n"
    assert set(_TABLE_ROW.findall(sample)) == {"bot/a.py", "handlers/c.py"}
