"""Which modules of bot/ and handlers/ outside a platform's own ``bot/platforms/<name>_*.py``
name that platform in code (string literals and identifiers; docstrings and comments left out).

Usage: python scripts/platform_mentions.py [REPO]  (the "add a platform" figure of issue 11)
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

DOC_OWNERS = (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def mentions(root: Path, name: str) -> list[str]:
    hits: set[str] = set()
    for path in sorted([*(root / "bot").rglob("*.py"), *(root / "handlers").rglob("*.py")]):
        rel = path.relative_to(root).as_posix()
        if rel.startswith(f"bot/platforms/{name}_"):
            continue
        tree = ast.parse(path.read_text("utf-8"))
        docs = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, DOC_OWNERS)
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            text = None
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = None if id(node) in docs else node.value
            elif isinstance(node, ast.Name):
                text = node.id
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                text = node.name
            if text and name in text.lower():
                hits.add(rel)
    return sorted(hits)


if __name__ == "__main__":
    repo = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    for platform in ("discord", "slack"):
        found = mentions(repo, platform)
        print(f"{platform}: {len(found)} {found}")
