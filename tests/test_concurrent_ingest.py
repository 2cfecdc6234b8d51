"""Several `newsbot ingest` processes on one database (a cron job beside `newsbot run`), with
read commands running meanwhile: every article is counted once, nothing fails, and the stories
are exactly those of the same articles ingested by one process in arrival order.

Inputs are small (tens of articles) so the processes' start-up dominates; the full-size
measurement is scripts/concurrent_ingest.py.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.queries.views import export_rows, list_stories, search_articles, story_detail
from bot.services import open_services
from bot.settings import Settings
from bot.storage.backup import integrity
from bot.stories.evaluate import bcubed, gold_labels
from tests.conftest import DUC, need
from tests.ingest_procs import Run, concurrent_ingests, story_consistency, write_jsonl


def _rows(n: int) -> list[dict[str, Any]]:
    with need(DUC).open(encoding="utf-8") as fh:
        return [json.loads(line) for _, line in zip(range(n), fh, strict=False)]


def _settings(db: Path | str) -> Settings:
    return Settings.model_validate({"database": {"path": str(db)}, "seeds": {"folders": []}})


async def _serial_stories(db: Path, archive: Path) -> dict[str, str]:
    """Article id -> story id after one process ingests ``archive``."""
    sv = await open_services(_settings(db))
    try:
        await sv.ingestor.ingest(str(archive))
        return {r["id"]: r["story"] for r in await export_rows(sv, "stories")}
    finally:
        await sv.close()


def _assert_clean(run: Run) -> None:
    for proc in [*run.ingests, *run.reads]:
        assert proc.returncode == 0, (proc.args[-4:], proc.stderr)
        assert proc.stderr == "", (proc.args[-4:], proc.stderr)  # no warning, error, traceback


def _assert_sound(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        assert integrity(conn) == "ok"
        ext_ids = [r[0] for r in conn.execute("SELECT ext_id FROM articles")]
        originals = "SELECT content_hash FROM articles WHERE duplicate_of IS NULL"
        hashes = [r[0] for r in conn.execute(originals)]
        ungrouped = conn.execute(
            "SELECT count(*) FROM articles WHERE duplicate_of IS NULL AND story_id IS NULL"
        ).fetchone()[0]
    assert len(ext_ids) == len(set(ext_ids))
    assert len(hashes) == len(set(hashes))  # no original stored twice
    assert ungrouped == 0
    live, wrong = story_consistency(db)
    assert live > 0 and wrong == 0  # every story's article_count is its originals' number


async def _stored(db: Path | str) -> tuple[list[str], dict[str, str]]:
    """Article ids in arrival (id) order, and article id -> story id."""
    sv = await open_services(_settings(db), write=False)
    try:
        rows = await export_rows(sv, "stories")
        return [r["id"] for r in rows], {r["id"]: r["story"] for r in rows}
    finally:
        await sv.close()


def _same_stories_as_arrival_order(
    db: Path | str, rows: list[dict[str, Any]], tmp: Path
) -> None:
    by_id = {r["id"]: r for r in rows}
    order, concurrent = asyncio.run(_stored(db))
    arrived = write_jsonl(tmp / "arrival.jsonl", [by_id[i] for i in order])
    serial = asyncio.run(_serial_stories(tmp / "serial.db", arrived))
    assert set(concurrent) == set(serial)
    assert bcubed(concurrent, serial).f1 == 1.0  # the same partition
    assert len(set(concurrent.values())) == len(set(serial.values()))
    gold = gold_labels(rows)
    assert bcubed(concurrent, gold).f1 == pytest.approx(bcubed(serial, gold).f1)


def test_two_ingests_of_the_same_and_overlapping_files_count_each_article_once(
    tmp_path: Path,
) -> None:
    rows = _rows(36)
    first = write_jsonl(tmp_path / "first.jsonl", rows[:24])
    second = write_jsonl(tmp_path / "second.jsonl", rows[12:])  # 12 rows in both files
    db = tmp_path / "n.db"
    run = concurrent_ingests(db, [[first, second], [second, first]], readers=1, max_reads=3)
    _assert_clean(run)
    reports = [p.report() for p in run.ingests]
    for report in reports:  # each process saw 48 lines; each is stored, a copy or known
        assert report["stored"] + report["duplicates"] + report["unchanged"] == 48
        assert report["warnings"] == []
    assert sum(r["stored"] + r["duplicates"] for r in reports) == len(rows)
    _assert_sound(db)
    _same_stories_as_arrival_order(db, rows, tmp_path)


def test_three_ingests_and_readers_end_with_the_stories_of_one_process(tmp_path: Path) -> None:
    rows = _rows(45)
    parts = [write_jsonl(tmp_path / f"part{i}.jsonl", rows[i::3]) for i in range(3)]
    db = tmp_path / "n.db"
    run = concurrent_ingests(db, [[p] for p in parts], readers=1, max_reads=3)
    _assert_clean(run)
    assert sum(p.report()["stored"] + p.report()["duplicates"] for p in run.ingests) == len(rows)
    _assert_sound(db)
    _same_stories_as_arrival_order(db, rows, tmp_path)


def test_three_ingests_on_postgresql_end_with_the_stories_of_one_process(
    tmp_path: Path, pg_url: str
) -> None:
    """The one-story-writer rule across processes on PostgreSQL: each write transaction holds
    the writer lock (``pg_advisory_xact_lock``) and catches its grouper up inside it, so the
    stories equal a serial ingest (on SQLite) of the articles in their arrival order."""
    rows = _rows(45)
    parts = [write_jsonl(tmp_path / f"part{i}.jsonl", rows[i::3]) for i in range(3)]
    run = concurrent_ingests(pg_url, [[p] for p in parts], workdir=tmp_path)
    _assert_clean(run)
    assert sum(p.report()["stored"] + p.report()["duplicates"] for p in run.ingests) == len(rows)
    live, wrong = story_consistency(pg_url)
    assert live > 0 and wrong == 0
    _same_stories_as_arrival_order(pg_url, rows, tmp_path)


def _digest_of_files(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for path in paths:
        if path.exists():
            h.update(path.read_bytes())
    return h.hexdigest()


async def test_read_commands_write_nothing_and_never_wait_for_the_write_lock(
    tmp_path: Path,
) -> None:
    from bot.digest.local import local_digest
    from bot.models import utcnow

    db = tmp_path / "n.db"
    archive = write_jsonl(tmp_path / "a.jsonl", _rows(12))
    sv = await open_services(_settings(db))
    try:
        await sv.ingestor.ingest(str(archive))
        # later articles than the story snapshot, and analyses missing: a reader used to
        # regroup and re-analyse, writing both
        await sv.store.conn.execute("DELETE FROM engine_state")
        await sv.store.conn.execute("DELETE FROM article_analysis")
        story = (await list_stories(sv))["stories"][0]["id"]
    finally:
        await sv.close()
    files = [db, db.with_name(db.name + "-wal")]
    before = _digest_of_files(files)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock throughout
    try:
        reader = await open_services(_settings(db), write=False)
        try:
            assert (await list_stories(reader))["stories"]
            assert (await export_rows(reader, "stories"))[0]["story"]
            await search_articles(reader, "the")
            assert (await story_detail(reader, story, explain=True))["article_list"]
            digest = await local_digest(reader, channel="console", now=utcnow())
            assert digest.stories
            total = await reader.store.scalar("SELECT total_changes()")
            assert total == 0
        finally:
            await reader.close()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert _digest_of_files(files) == before
