"""scripts/evaluate_summaries.py: the product path's digests written for the DUC scorer."""

from __future__ import annotations

import importlib.util
import json
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

from bot.digest.model import Digest, StatementRef, StoryDigest
from bot.queries.language import parse_query
from tests.conftest import DUC, REPO, SHARED, need

T0 = datetime(2025, 2, 13, tzinfo=UTC)


def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "evaluate_summaries", REPO / "scripts" / "evaluate_summaries.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ref(text: str) -> StatementRef:
    return StatementRef(text, "a", "Outlet", T0)


def test_digest_lines_follow_digest_order_summary_then_new() -> None:
    digest = Digest("c", T0, stories=[
        StoryDigest("s-1", "One", False, summary=[ref("A one."), ref("A two.")]),
        StoryDigest("s-2", "Two", True, new=[ref("B new.")]),
    ])  # fmt: skip
    assert script().digest_lines(digest) == ["A one.", "A two.", "B new."]


def test_every_topic_title_becomes_a_topic_the_query_language_accepts() -> None:
    mod = script()
    for title in ("Reservation System - pros and cons", "wetlands protection", "(OCD)?", "- ?"):
        topic = mod.subscription_topic(title)
        assert topic.strip() == "" or parse_query(topic) is not None
    assert mod.subscription_topic("wetlands protection") == "wetlands protection"


def test_one_topic_through_the_product_path_gives_extracted_sentences(tmp_path: Path) -> None:
    need(DUC)
    data = need(SHARED / "data" / "dev" / "duc2006-summaries")
    args = ["--limit", "1", "--update", "--no-topic", "--data", str(data), "--articles", str(DUC)]
    assert script().main([str(tmp_path), *args]) == 0
    (written,) = tmp_path.glob("*.txt")
    lines = [x for x in written.read_text("utf-8").splitlines() if x]
    assert lines
    texts = " ".join(
        " ".join(json.loads(row)["text"].split()) for row in DUC.read_text("utf-8").splitlines()
    )
    assert all(line in texts for line in lines)  # extractive: every line is article text
