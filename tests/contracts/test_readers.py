"""Contract of a source reader (``bot.sources.reader_for``), run over every kind.

A reader turns a locator into ``RawArticle`` items or one-line ``IngestWarning`` items that
name where the problem is; it never raises for bad input (a missing path, junk bytes, an empty
file), and a good input's articles have a title and a text. ``detect_kind`` recognises each
kind's sample. A new source kind adds one :class:`Kind` case.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.models import IngestWarning, RawArticle
from bot.settings import Settings
from bot.sources import Item, SourceContext, detect_kind, reader_for
from tests.conftest import FEEDS

ARTICLE = (
    "Flood waters rise in the river town\n\n"
    "RIVERTON (Wire) - Flood waters rose through the night in Riverton, officials said on "
    "Monday, and two hundred people left their homes as the river passed its record level.\n"
)


def _text(folder: Path) -> Path:
    path = folder / "flood.txt"
    path.write_text(ARTICLE, encoding="utf-8")
    return path


def _archive(folder: Path) -> Path:
    path = folder / "flood.jsonl"
    rows = [
        {"id": f"a{i}", "title": f"Flood report {i}", "text": ARTICLE, "source": "Wire"}
        for i in range(3)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _feed(folder: Path) -> Path:
    source = next(p for p in sorted(FEEDS.rglob("*.rss")) if p.stat().st_size < 200_000)
    return Path(shutil.copy(source, folder / "feed.rss"))


def _folder(folder: Path) -> Path:
    inner = folder / "articles"
    inner.mkdir()
    _text(inner)
    _archive(inner)
    return inner


@dataclass(frozen=True)
class Kind:
    name: str
    sample: Callable[[Path], Path]
    suffix: str  # of a junk or empty file of this kind ("" for a folder)


KINDS = [
    Kind("text", _text, ".txt"),
    Kind("archive", _archive, ".jsonl"),
    Kind("feed", _feed, ".rss"),
    Kind("folder", _folder, ""),
]


@pytest.fixture(params=KINDS, ids=[k.name for k in KINDS])
def kind(request: pytest.FixtureRequest) -> Kind:
    return request.param


async def _read(kind: str, locator: str) -> list[Item]:
    ctx = SourceContext(Settings())
    return [item async for item in reader_for(kind)(locator, ctx)]


def _one_line_naming(warning: IngestWarning, locator: str) -> None:
    text = str(warning)
    assert "\n" not in text and locator in warning.where, text


async def test_a_reader_turns_a_good_sample_into_articles(kind: Kind, tmp_path: Path) -> None:
    path = kind.sample(tmp_path)
    assert detect_kind(str(path)) == kind.name
    items = await _read(kind.name, str(path))
    articles = [i for i in items if isinstance(i, RawArticle)]
    assert articles and all(isinstance(i, RawArticle | IngestWarning) for i in items)
    for article in articles:
        assert article.title.strip() and article.text.strip(), article


async def test_a_reader_reports_a_missing_locator_as_one_warning(
    kind: Kind, tmp_path: Path
) -> None:
    missing = str(tmp_path / f"missing{kind.suffix}")
    items = await _read(kind.name, missing)
    assert len(items) == 1 and isinstance(items[0], IngestWarning), items
    _one_line_naming(items[0], missing)


@pytest.mark.parametrize("content", [b"", b"\x00\xff\xfe junk \x00" * 50], ids=["empty", "junk"])
async def test_a_reader_never_raises_for_junk(kind: Kind, tmp_path: Path, content: bytes) -> None:
    if kind.suffix:
        path = tmp_path / f"junk{kind.suffix}"
        path.write_bytes(content)
    else:
        path = tmp_path / "junk"
        path.mkdir()
        (path / "junk.txt").write_bytes(content)
    items = await _read(kind.name, str(path))
    assert not [i for i in items if isinstance(i, RawArticle) and not i.text.strip()]
    for warning in (i for i in items if isinstance(i, IngestWarning)):
        _one_line_naming(warning, str(path))
