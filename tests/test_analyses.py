"""Stored article analyses: written at ingest, read back equal, recomputed when stale or bad."""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.analysis import ArticleText, article_statements
from bot.analysis.analyzed import (
    ANALYSIS_VERSION,
    AnalyzedArticle,
    KnownText,
    analyze,
    dump_detail,
    load_detail,
)
from bot.analysis.conflicts import Prepared, conflicts_in_sequence, find_conflicts, prepare
from bot.digest.local import local_digest
from bot.digest.stored import load_analyses
from bot.services import open_services
from bot.settings import Settings
from tests.conftest import DUC, SEEDS, need
from tests.test_summarize import seed_articles


def _settings(tmp_path: Path) -> Settings:
    return Settings.model_validate(
        {"database": {"path": str(tmp_path / "n.db")}, "seeds": {"folders": []}}
    )


def test_an_analysis_reads_back_equal_to_what_was_stored() -> None:
    for article in seed_articles():
        a = analyze(article)
        back = load_detail(a.id, dump_detail(a), KnownText.from_bytes(*a.known.to_bytes()))
        assert back.statements == a.statements
        assert back.prepared == a.prepared
        assert back.clean == a.clean and back.title_terms == a.title_terms
        assert (back.known.terms.ids == a.known.terms.ids).all()
        assert (back.known.vocab == a.known.vocab).all()


def test_a_stored_analysis_that_names_a_callable_is_refused() -> None:
    class Evil:
        def __reduce__(self) -> tuple[object, ...]:
            return (os.system, ("echo pwned",))

    with pytest.raises(pickle.UnpicklingError, match="not allowed"):
        load_detail(1, pickle.dumps(Evil()), KnownText.from_bytes(b"", b"", b""))


async def test_ingest_stores_one_analysis_per_original_and_none_for_copies(
    tmp_path: Path,
) -> None:
    rows = [json.loads(line) for line in need(DUC).open(encoding="utf-8")][:6]
    copy = dict(rows[0], id="copy-of-first", source="Other Wire")
    archive = tmp_path / "a.jsonl"
    archive.write_text("\n".join(json.dumps(r) for r in [*rows, copy]) + "\n", encoding="utf-8")
    sv = await open_services(_settings(tmp_path))
    try:
        report = await sv.ingestor.ingest(str(archive))
        assert report.stored == 6 and report.duplicates == 1
        stored = await sv.store.fetchall(
            "SELECT a.duplicate_of, x.version FROM articles a "
            "LEFT JOIN article_analysis x ON x.article_id = a.id"
        )
        assert (
            sorted((d is None, v) for d, v in stored)
            == [(False, None)] + [(True, ANALYSIS_VERSION)] * 6
        )
    finally:
        await sv.close()


async def test_stale_or_unreadable_analyses_are_recomputed_and_rewritten(tmp_path: Path) -> None:
    sv = await open_services(_settings(tmp_path))
    try:
        await sv.ingestor.ingest(str(SEEDS))
        articles = await sv.store.list_articles(include_duplicates=False)
        first, second = articles[0].id, articles[1].id
        expected = await load_analyses(sv.store, articles)
        async with sv.store.transaction() as conn:
            await conn.execute(
                "UPDATE article_analysis SET version = version - 1 WHERE article_id = ?", (first,)
            )
            await conn.execute(
                "UPDATE article_analysis SET detail = x'00' WHERE article_id = ?", (second,)
            )
        again = await load_analyses(sv.store, articles)
        assert again[first].statements == expected[first].statements
        assert again[second].prepared == expected[second].prepared
        versions = await sv.store.fetchall("SELECT DISTINCT version FROM article_analysis")
        assert versions == [(ANALYSIS_VERSION,)]
    finally:
        await sv.close()


def test_conflicts_over_a_sequence_equal_article_by_article_comparison() -> None:
    """One overlap computation for a story gives what comparing each article with the
    articles before it (within the window) gives."""
    statements = [article_statements(a) for a in seed_articles()]
    for window in (1, 2, 12):
        expected = []
        for k in range(1, len(statements)):
            earlier = [s for sts in statements[max(0, k - window) : k] for s in sts]
            expected.extend(find_conflicts(earlier, statements[k]))
        got = conflicts_in_sequence([prepare(s) for s in statements], first=1, window=window)
        assert got == expected
    assert any(c.slot == "weekday" for c in got)  # the seeds' call-day disagreement


async def test_an_article_whose_analysis_fails_is_still_stored_and_digests_go_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import bot.digest.stored as analyses

    real = analyses.analyze

    def flaky(article: ArticleText) -> AnalyzedArticle:
        if "Air Force One" in article.text:
            raise ValueError("boom")
        return real(article)

    monkeypatch.setattr(analyses, "analyze", flaky)
    sv = await open_services(_settings(tmp_path))
    try:
        report = await sv.ingestor.ingest(str(SEEDS))
        assert report.stored == len(list(SEEDS.glob("*.txt"))) and not report.warnings
        assert "analysis failed (ValueError: boom)" in caplog.text
        digest = await local_digest(sv, channel="c", now=datetime(2030, 1, 1, tzinfo=UTC))
        assert digest.stories and digest.stories[0].summary
    finally:
        await sv.close()


def test_a_stored_analysis_prepares_a_statement_for_conflicts_only_when_a_pair_needs_it() -> None:
    """Loading a stored analysis decodes no statement's conflict form; comparing two loaded
    articles decodes only the statements of pairs worth judging, and finds what comparing
    the freshly analysed articles finds."""
    fresh = [analyze(a) for a in seed_articles()]
    loaded = [
        load_detail(a.id, dump_detail(a), KnownText.from_bytes(*a.known.to_bytes())) for a in fresh
    ]
    decoded: list[int] = []
    for a in loaded:
        real = a.prepared._decode
        assert real is not None and all(x is None for x in a.prepared._items)

        def counting(i: int, real: Callable[[int], Prepared] = real) -> Prepared:
            decoded.append(i)
            return real(i)

        a.prepared._decode = counting
    got = conflicts_in_sequence([a.prepared for a in loaded], first=1, window=12)
    assert got == conflicts_in_sequence([a.prepared for a in fresh], first=1, window=12)
    assert got and 0 < len(decoded) < sum(len(a.statements) for a in loaded) / 2


def test_an_unreadable_stored_statement_is_prepared_again_from_its_text(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A statement blob that cannot be read (here: one naming a callable) costs no conflict:
    the article's statements are prepared again from their text, with one warning."""

    class Evil:
        def __reduce__(self) -> tuple[object, ...]:
            return (os.system, ("echo pwned",))

    fresh = [analyze(a) for a in seed_articles()]
    loaded = []
    for a in fresh:
        fields = list(pickle.loads(dump_detail(a)))
        columns = list(fields[7])
        columns[7] = [pickle.dumps(Evil())] * len(columns[7])
        fields[7] = tuple(columns)
        known = KnownText.from_bytes(*a.known.to_bytes())
        loaded.append(load_detail(a.id, pickle.dumps(tuple(fields)), known))
    got = conflicts_in_sequence([a.prepared for a in loaded], first=1, window=12)
    assert got and got == conflicts_in_sequence([a.prepared for a in fresh], first=1, window=12)
    assert "stored conflict form unreadable" in caplog.text
