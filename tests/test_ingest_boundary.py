"""Text is valid Unicode without control characters once it is past the readers, whatever a
source holds: lone surrogates, NUL, ESC sequences, C1 controls, in every source kind."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from bot.cli import app
from bot.ingestion.ingest import Ingestor
from bot.settings import Settings
from bot.storage import Store
from bot.text.sanitize import clean_unicode, escape_controls

runner = CliRunner()
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
# every code point, surrogates and controls included, with the dangerous ones often
HOSTILE = st.lists(
    st.one_of(
        st.characters(codec=None, exclude_categories=()),
        st.sampled_from(["\ud800", "\udfff", "\x00", "\x1b", "\x07", "\x9b", "\r", "\u202e"]),
        st.sampled_from(["\x1b[2J", "\x1b]0;title\x07", "\ud83d\ude00", "[bold]x[/bold]"]),
    ),
    min_size=1,
    max_size=30,
).map("".join)
_names = itertools.count()


def _settings(tmp_path: Path) -> Settings:
    return Settings.model_validate(
        {"database": {"path": str(tmp_path / "n.db")}, "seeds": {"folders": []}}
    )


def _body(noise: str) -> str:
    return f"Harbour officials said on Monday {noise} that the new ferry line opens in May."


def _xml_text(text: str) -> str:
    """Every non-ASCII or control code point as a numeric character reference (XML forbids
    some of them: the feed parser's lenient mode has to cope)."""
    return "".join(
        ch if 32 <= ord(ch) < 127 and ch not in "<>&" else f"&#x{ord(ch):X};" for ch in text
    )


def write_source(folder: Path, kind: str, title: str, noise: str) -> Path:
    """One article holding ``title`` and ``noise`` as the ``kind`` of source."""
    n = next(_names)
    body = _body(noise)
    if kind == "jsonl":
        path = folder / f"a{n}.jsonl"
        row = {"id": f"x{n}-{noise}", "title": title, "text": body, "source": noise}
        path.write_text(json.dumps(row) + "\n", "ascii")  # surrogates as \\ud800 escapes
    elif kind == "text":
        path = folder / f"a{n}.txt"
        path.write_bytes(f"{title}\n\n{body}\n".encode("utf-8", "surrogatepass"))
    elif kind == "rss":
        path = folder / f"a{n}.xml"
        path.write_text(
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
            f"<item><title>{_xml_text(title)}</title><guid>{_xml_text(noise)}</guid>"
            f"<link>https://example.org/{n}</link>"
            f"<description>{_xml_text(body)}</description></item></channel></rss>",
            "ascii",
        )
    elif kind == "jsonfeed":
        path = folder / f"a{n}.json"
        feed = {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "T",
            "items": [{"id": f"{n}{noise}", "title": title, "content_text": body,
                       "url": f"https://example.org/j{n}"}],
        }  # fmt: skip
        path.write_text(json.dumps(feed), "ascii")
    else:  # a folder holding one text file and one JSONL archive
        path = folder / f"dir{n}"
        path.mkdir()
        write_source(path, "text", title, noise)
        write_source(path, "jsonl", title, noise)
    return path


KINDS = ["jsonl", "text", "rss", "jsonfeed", "folder"]


async def _ingest_and_check(tmp_path: Path, kind: str, path: Path) -> int:
    store = await Store.open(tmp_path / "n.db")
    try:
        report = await Ingestor(store, _settings(tmp_path)).ingest(str(path))  # never raises
        for warning in report.warnings:
            assert "not stored" not in warning.message, warning
        for article in await store.list_articles():
            for value in (article.title, article.text, article.outlet, article.url,
                          article.guid, article.ext_id, article.origin):  # fmt: skip
                if value is not None:
                    value.encode("utf-8")  # strict: no surrogate
                    assert not UNSAFE.search(value), (kind, value)
        return (await store.count_articles())[0]
    finally:
        await store.close()


@pytest.mark.parametrize("kind", KINDS)
def test_arbitrary_code_points_reach_the_store_as_clean_text(kind: str, tmp_path: Path) -> None:
    stored = []

    @settings(
        max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(title=HOSTILE, noise=HOSTILE)
    @example(title="Ferry \ud800 news\x1b[2J", noise="\x00\x9b\u202e")
    # stored by every reader (a text file holding NUL is read as binary and skipped: this one
    # holds none, so the property is always checked on a stored article)
    @example(title="Ferry \ud800 news\x1b[2J", noise="\x9b\u202e\x07")
    def check(title: str, noise: str) -> None:
        path = write_source(tmp_path, kind, title, noise)
        stored.append(asyncio.run(_ingest_and_check(tmp_path, kind, path)))

    check()
    assert max(stored) > 0  # the property was checked on stored articles, not only warnings


def test_a_jsonl_line_with_a_lone_surrogate_is_stored_with_the_character_replaced(
    tmp_path: Path,
) -> None:
    archive = tmp_path / "a.jsonl"
    archive.write_text(
        '{"id": "ok", "title": "Fine", "text": "A fine line of text here."}\n'
        '{"id": "surrogate", "title": "Lone surrogate", '
        '"text": "\\ud800 lone surrogate text here"}\n'
        '{"id": "nul", "title": "Nul\\u0000 and \\u001b[2J escape", '
        '"text": "The harbour text\\u0000 holds\\u009b controls in its first paragraph today.'
        "\\r\\nThe second paragraph says "
        'the ferry line opens in May."}\n',
        "ascii",
    )
    db = tmp_path / "n.db"
    result = runner.invoke(app, ["--db", str(db), "ingest", str(archive), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["stored"] == 3
    assert "Traceback" not in result.output and "warning" not in result.stderr
    rows = runner.invoke(app, ["--db", str(db), "export", "articles"]).stdout.splitlines()
    by_id = {r["id"]: r for r in map(json.loads, rows)}
    assert by_id["surrogate"]["text"] == "\ufffd lone surrogate text here"
    assert by_id["nul"]["title"] == "Nul and [2J escape"
    assert by_id["nul"]["text"] == (
        "The harbour text holds controls in its first paragraph today.\n"
        "The second paragraph says the ferry line opens in May."
    )


def test_clean_unicode_joins_spelled_pairs_and_keeps_newline_and_tab() -> None:
    assert clean_unicode("a\ud83d\ude00b") == "a\U0001f600b"
    assert clean_unicode("x\ud800y\udc00") == "x\ufffdy\ufffd"
    assert clean_unicode("one\ttwo\nthree\r\nfour\rfive\x00\x1b\x7f\x85") == (
        "one\ttwo\nthree\nfour\nfive"
    )
    assert clean_unicode("plain ascii and é ü 中文") == "plain ascii and é ü 中文"


def test_escape_controls_shows_what_it_will_not_print() -> None:
    assert escape_controls("a\x1b[2Jb\x07\u009b\u202e\ud800\n\t") == (
        "a\\x1b[2Jb\\x07\\x9b\\u202e\ufffd\n\t"
    )


def test_each_warning_is_printed_once_as_one_line(tmp_path: Path) -> None:
    from tests.ingest_procs import newsbot

    archive = tmp_path / "a.jsonl"
    archive.write_text(
        'not json\n{"id": "ok", "title": "Fine", "text": "A fine line of text here."}\n'
        '{"id": "x", "title": "No text"}\n',
        "utf-8",
    )
    done = newsbot(tmp_path / "n.db", "ingest", str(archive), "--no-progress")
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        f"warning: {archive}:1: invalid JSON (Expecting value at column 1)",
        f"warning: {archive}:3: missing or empty 'text'",
    ]


def test_every_bad_file_of_a_folder_or_seed_sync_is_one_warning_line(tmp_path: Path) -> None:
    """Text files, their sidecars and a seed folder synced by `digest`: one line per bad
    input, naming the file, whatever the log level (no log record repeats it)."""
    from tests.ingest_procs import newsbot

    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "binary.txt").write_bytes(b"\x00\x01\x02 not text")
    (folder / "empty.txt").write_text("", "utf-8")
    good = "Council Approves New Budget\n\nThe council approved the budget on Tuesday."
    (folder / "good.txt").write_text(good, "utf-8")
    (folder / "good.txt.meta.json").write_text("{broken", "utf-8")
    expected = {
        f"warning: {folder / 'binary.txt'}: binary file, not article text",
        f"warning: {folder / 'empty.txt'}: empty file",
    }
    for args in (("ingest", str(folder), "--no-progress"), ("-v", "ingest", str(folder))):
        done = newsbot(tmp_path / f"n{len(args)}.db", *args)
        assert done.returncode == 0, done.stderr
        warnings = [
            line
            for line in done.stderr.splitlines()
            if "binary" in line or "empty" in line or "meta.json" in line
        ]
        assert set(warnings) >= expected and len(warnings) == 3, done.stderr
        assert len(set(warnings)) == 3  # each once
    config = tmp_path / "c.toml"
    config.write_text(f'[seeds]\nfolders = ["{folder}"]\n', "utf-8")
    done = newsbot(tmp_path / "d.db", "--config", str(config), "digest")
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 3 and set(lines) >= expected, done.stderr


def test_an_article_that_fails_is_one_line_and_its_traceback_only_verbose(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.ingestion.ingest

    real = bot.ingestion.ingest.normalize

    def failing(raw, **kwargs):  # type: ignore[no-untyped-def]
        if raw.ext_id == "bad":
            raise RuntimeError("boom")
        return real(raw, **kwargs)

    monkeypatch.setattr(bot.ingestion.ingest, "normalize", failing)
    archive = tmp_path / "a.jsonl"
    archive.write_text(
        '{"id": "bad", "title": "Bad", "text": "This one fails inside."}\n'
        '{"id": "ok", "title": "Fine", "text": "A fine line of text here."}\n',
        "utf-8",
    )
    db = str(tmp_path / "n.db")
    result = runner.invoke(app, ["--db", db, "ingest", str(archive), "--no-progress"])
    assert result.exit_code == 0
    assert result.stderr.splitlines() == [f"warning: {archive}:1: not stored: RuntimeError: boom"]
    assert "1 stored" in result.stdout
    assert "Traceback" not in result.output
    report = asyncio.run(_ingest_verbose(tmp_path, archive))
    assert [str(w) for w in report] == [f"{archive}:1: not stored: RuntimeError: boom"]


async def _ingest_verbose(tmp_path: Path, archive: Path) -> list[object]:
    import logging

    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(logging.DEBUG)
    logger = logging.getLogger("bot.ingestion.ingest")
    logger.addHandler(handler)
    old = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        store = await Store.open(tmp_path / "v.db")
        try:
            report = await Ingestor(store, _settings(tmp_path)).ingest(str(archive))
        finally:
            await store.close()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)
    # the traceback is there for --verbose (debug), never at warning level or above
    assert any(r.exc_info and r.levelno == logging.DEBUG for r in records)
    assert not any(r.levelno >= logging.WARNING for r in records)
    return list(report.warnings)
