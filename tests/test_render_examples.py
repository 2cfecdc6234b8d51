"""docs/examples/: each platform's rendered seed digest, kept current (and one message each)."""

from __future__ import annotations

import asyncio
import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import REPO, SEEDS, need


def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "render_examples", REPO / "scripts" / "render_examples.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def rendered() -> dict[str, str]:
    need(SEEDS)
    module = script()
    files: dict[str, str] = module.render_examples(asyncio.run(module.seed_digest()))
    return files


def test_docs_examples_are_what_the_renderers_write_for_the_seed_digest(
    rendered: dict[str, str],
) -> None:
    module = script()
    stale = module.stale(rendered)
    assert not stale, f"docs/examples/{', '.join(stale)} out of date: run {module.COMMAND}"


def test_a_stale_or_missing_example_is_named(rendered: dict[str, str], tmp_path: Path) -> None:
    module = script()
    for name, text in rendered.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    assert module.stale(rendered, tmp_path) == []
    (tmp_path / "slack.json").write_text("[]\n", encoding="utf-8")
    (tmp_path / "text.txt").unlink()
    assert module.stale(rendered, tmp_path) == ["slack.json", "text.txt"]


def test_the_seed_digest_is_one_message_on_discord_and_on_slack(rendered: dict[str, str]) -> None:
    (discord,) = json.loads(rendered["discord.json"])
    (slack,) = json.loads(rendered["slack.json"])
    assert discord["embeds"] and slack["blocks"]
    assert "Full story: newsbot story s-" in rendered["text.txt"]
