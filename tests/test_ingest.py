"""The ingest path end to end on a real SQLite file: archives, duplicates, bad input, atomicity."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from bot.ingestion.ingest import Ingestor
from bot.models import Article, IngestWarning, RawArticle
from bot.net.ssrf import GuardSettings
from bot.queries.language import parse_query
from bot.settings import Settings
from bot.storage import Store
from bot.storage.txn import WriteTxn
from tests.conftest import DUC, FEEDS, need

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def ingestor(db_path: Path) -> Any:
    store = await Store.open(db_path)
    ing = Ingestor(store, Settings(), clock=lambda: NOW)
    yield ing
    await store.close()


def _duc_docs(n: int) -> list[dict[str, Any]]:
    with need(DUC).open() as fh:
        docs = [json.loads(line) for _, line in zip(range(400), fh, strict=False)]
    return [d for d in docs if len(d["text"].split()) > 120][:n]


def _jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


async def test_jsonl_keeps_given_ids_in_file_order(tmp_path: Path, ingestor: Ingestor) -> None:
    docs = _duc_docs(5)
    rows = [{"id": f"doc-{i}", "title": d["title"], "text": d["text"]} for i, d in enumerate(docs)]
    report = await ingestor.ingest(str(_jsonl(tmp_path / "a.jsonl", rows)))
    assert (report.stored, report.duplicates, report.warnings) == (5, 0, [])
    stored = await ingestor.store.list_articles()
    assert sorted(a.ext_id for a in stored) == [f"doc-{i}" for i in range(5)]
    ids_by_row = [
        r[0] for r in await ingestor.store.fetchall("SELECT ext_id FROM articles ORDER BY id")
    ]
    assert ids_by_row == [f"doc-{i}" for i in range(5)]


async def test_bad_jsonl_lines_are_named_and_the_rest_goes_through(
    tmp_path: Path, ingestor: Ingestor
) -> None:
    good = _duc_docs(2)
    rows: list[Any] = [
        {"id": "g1", "title": good[0]["title"], "text": good[0]["text"]},
        "{not json",
        {"id": "no-title", "text": "body"},
        '["a", "list"]',
        {"id": "g2", "title": good[1]["title"], "text": good[1]["text"], "published": "soon"},
        {"id": "g3", "title": good[1]["title"] + " (2)", "text": good[1]["text"][::-1]},
    ]
    path = _jsonl(tmp_path / "mixed.jsonl", rows)
    report = await ingestor.ingest(str(path))
    assert report.stored == 2
    where = [w.where for w in report.warnings]
    assert where == [f"{path}:2", f"{path}:3", f"{path}:4", f"{path}:5"]
    assert "invalid JSON" in report.warnings[0].message
    assert "'title'" in report.warnings[1].message
    assert "'published' is not a date" in report.warnings[3].message


async def test_reingesting_the_same_archive_stores_nothing_twice(
    tmp_path: Path, ingestor: Ingestor
) -> None:
    docs = _duc_docs(3)
    rows = [{"id": f"d{i}", "title": d["title"], "text": d["text"]} for i, d in enumerate(docs)]
    path = _jsonl(tmp_path / "a.jsonl", rows)
    await ingestor.ingest(str(path))
    again = await ingestor.ingest(str(path))
    assert (again.stored, again.duplicates, again.unchanged) == (0, 0, 3)
    assert await ingestor.store.count_articles() == (3, 0)


async def test_a_syndicated_copy_is_a_duplicate_listing_both_outlets(
    tmp_path: Path, ingestor: Ingestor
) -> None:
    doc = _duc_docs(1)[0]
    copy_text = "By Staff and wire reports.\n" + doc["text"] + "\nSubscribe to our newsletter."
    rows = [
        {
            "id": "orig",
            "title": doc["title"],
            "text": doc["text"],
            "source": "Wire Service",
            "url": "https://wire.example/story?utm_source=rss",
        },
        {
            "id": "copy",
            "title": "Local paper's headline for it",
            "text": copy_text,
            "source": "Valley Tribune",
            "url": "https://tribune.example/a/1",
        },
    ]
    report = await ingestor.ingest(str(_jsonl(tmp_path / "s.jsonl", rows)))
    assert (report.stored, report.duplicates) == (1, 1)
    orig = await ingestor.store.article_by_ext_id("orig")
    copy = await ingestor.store.article_by_ext_id("copy")
    assert orig is not None and copy is not None and orig.id is not None
    assert copy.duplicate_of == orig.id
    assert await ingestor.store.outlets_of(orig.id) == ["Wire Service", "Valley Tribune"]
    assert orig.canonical_url == "https://wire.example/story"


async def test_same_url_from_another_source_is_an_exact_duplicate(
    tmp_path: Path, ingestor: Ingestor
) -> None:
    a = {
        "title": "Dam bursts",
        "text": "A dam burst on Monday.",
        "source": "A",
        "url": "https://news.example/dam?utm_campaign=x",
    }
    b = dict(a, source="B", url="https://NEWS.example/dam#comments")
    await ingestor.ingest(str(_jsonl(tmp_path / "a.jsonl", [a])))
    report = await ingestor.ingest(str(_jsonl(tmp_path / "b.jsonl", [b])))
    assert report.duplicates == 1


async def test_missing_time_is_first_seen_and_future_time_is_clamped(
    tmp_path: Path, ingestor: Ingestor
) -> None:
    future = (NOW + timedelta(days=30)).isoformat()
    rows = [
        {"id": "t1", "title": "No date", "text": "Plain text one."},
        {"id": "t2", "title": "Future", "text": "Plain text two.", "published": future},
        {
            "id": "t3",
            "title": "Zoned",
            "text": "Plain text three.",
            "published": "2025-02-12T18:30:00-05:00",
        },
    ]
    await ingestor.ingest(str(_jsonl(tmp_path / "t.jsonl", rows)))
    t1 = await ingestor.store.article_by_ext_id("t1")
    t2 = await ingestor.store.article_by_ext_id("t2")
    t3 = await ingestor.store.article_by_ext_id("t3")
    assert t1 is not None and t1.published_at == NOW and not t1.dated
    assert t2 is not None and t2.published_at == NOW
    assert t3 is not None and t3.published_at == datetime(2025, 2, 12, 23, 30, tzinfo=UTC)
    assert t3.dated


async def test_a_crash_inside_an_article_transaction_leaves_no_half_article(
    tmp_path: Path, ingestor: Ingestor
) -> None:
    async def failing_hook(txn: WriteTxn, article: Article) -> None:
        if article.ext_id == "boom":
            raise RuntimeError("simulated crash after the article row was written")

    ingestor.hooks.append(failing_hook)
    rows = [
        {"id": "ok1", "title": "First", "text": "Alpha text."},
        {"id": "boom", "title": "Second", "text": "Beta text."},
        {"id": "ok2", "title": "Third", "text": "Gamma text."},
    ]
    report = await ingestor.ingest(str(_jsonl(tmp_path / "c.jsonl", rows)))
    assert report.stored == 2
    assert [w.where.endswith(":2") for w in report.warnings] == [True]
    assert await ingestor.store.article_by_ext_id("boom") is None
    assert await ingestor.store.count_articles() == (2, 0)
    hits = await ingestor.store.search(parse_query("beta"))
    assert hits == []


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.txt", b"", "empty file"),
        ("blank.txt", b"  \n\n ", "empty file"),
        ("binary.txt", bytes(range(256)) * 8, "binary file, not article text"),
        ("empty.jsonl", b"", "empty file"),
    ],
)
async def test_bad_files_give_one_warning_naming_the_file(
    tmp_path: Path, ingestor: Ingestor, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    report = await ingestor.ingest(str(path))
    assert [(w.where, w.message) for w in report.warnings] == [(str(path), message)]
    assert report.stored == 0


async def test_a_missing_path_is_a_warning(ingestor: Ingestor, tmp_path: Path) -> None:
    report = await ingestor.ingest(str(tmp_path / "nope.jsonl"))
    assert [w.message for w in report.warnings] == ["no such file or folder"]


async def test_a_feed_url_is_fetched_then_revalidated_without_duplicates(
    ingestor: Ingestor, feed_server: Any
) -> None:
    need(FEEDS)
    url = feed_server.file_url("rss-parser/guardian.rss")
    allow = [f"127.0.0.1:{urlsplit(url).port}"]
    ingestor.settings = ingestor.settings.model_copy(update={"network": GuardSettings(allow=allow)})
    first = await ingestor.ingest(url)
    assert first.stored > 5 and first.warnings == []
    again = await ingestor.ingest(url)  # conditional GET: 304, nothing parsed or stored
    assert (again.stored, again.duplicates, again.seen) == (0, 0, 0)
    sent = [r.headers for r in feed_server.requests if r.path.endswith("guardian.rss")]
    assert "If-None-Match" in sent[-1] or "if-none-match" in {k.lower() for k in sent[-1]}
    rows = await ingestor.store.list_sources()
    assert rows[0]["last_error"] is None and rows[0]["articles"] == first.stored


async def test_a_feed_url_on_loopback_is_refused_unless_allowed(
    ingestor: Ingestor, feed_server: Any
) -> None:
    for url in (
        feed_server.file_url("rss-parser/guardian.rss"),
        feed_server.file_url("rss-parser/guardian.rss").replace("127.0.0.1", "2130706433"),
    ):
        report = await ingestor.ingest(url)
        assert report.stored == 0 and len(report.warnings) == 1
        assert "refusing to connect to 127.0.0.1: loopback address" in report.warnings[0].message
    assert feed_server.requests == []


async def test_an_html_page_instead_of_a_feed_is_one_warning(ingestor: Ingestor) -> None:
    page = need(FEEDS) / "node-feedparser" / "notafeed.html"
    report = await ingestor.ingest(str(page), kind="feed")
    assert len(report.warnings) == 1 and report.warnings[0].where == str(page)
    assert report.stored == 0


async def test_the_ingest_loop_stores_each_items_backfill_flag_and_goes_past_bad_items(
    ingestor: Ingestor,
) -> None:
    async with ingestor.store.transaction() as conn:
        source_id = await ingestor.store.upsert_source(
            conn, kind="feed", locator="https://wire.example/feed", now=datetime.now(UTC)
        )

    def item(n: int, title: str, *, backfill: bool) -> RawArticle:
        text = f"{title}. The council said on day {n} that the harbour works go on."
        return RawArticle(title=title, text=text, origin=f"item{n}", backfill=backfill)

    items: list[RawArticle | IngestWarning] = [
        item(1, "Harbour bridge reopens after repairs", backfill=True),
        IngestWarning("https://wire.example/feed", "item 2: no title"),
        RawArticle(title=" ", text=" ", origin="item3"),  # nothing left after cleaning
        item(4, "Ferry timetable changes for the winter", backfill=False),
    ]
    report = await ingestor.ingest_items(
        items, source_id=source_id, locator="https://wire.example/feed"
    )
    assert (report.seen, report.stored, report.backfill) == (3, 2, 1)
    assert [w.where for w in report.warnings] == ["https://wire.example/feed", "item3"]
    rows = await ingestor.store.fetchall(
        "SELECT title, backfill, source_id FROM articles ORDER BY id"
    )
    assert [tuple(r) for r in rows] == [
        ("Harbour bridge reopens after repairs", 1, source_id),
        ("Ferry timetable changes for the winter", 0, source_id),
    ]


async def test_a_feed_url_fetch_failure_is_counted_in_its_row_and_a_success_ends_the_run(
    ingestor: Ingestor, feed_server: Any
) -> None:
    need(FEEDS)
    url = feed_server.file_url("rss-parser/guardian.rss")
    for _ in range(2):  # loopback, not allowed: refused twice
        assert len((await ingestor.ingest(url)).warnings) == 1
    (row,) = await ingestor.store.fetch_dicts("SELECT * FROM sources")
    assert row["consecutive_failures"] == 2 and "loopback" in row["last_error"]
    allow = [f"127.0.0.1:{urlsplit(url).port}"]
    ingestor.settings = ingestor.settings.model_copy(update={"network": GuardSettings(allow=allow)})
    assert (await ingestor.ingest(url)).stored > 5
    (row,) = await ingestor.store.fetch_dicts("SELECT * FROM sources")
    assert row["consecutive_failures"] == 0 and row["last_error"] is None
    assert row["first_failure_at"] is None and row["etag"]
