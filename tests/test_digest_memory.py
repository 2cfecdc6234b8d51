"""Per-channel memory: a committed digest is never repeated; later ones say only what is new."""

from __future__ import annotations

import json
import random
import shutil
from datetime import UTC, datetime
from pathlib import Path

from bot.analysis import ArticleText, article_statements
from bot.analysis.inject import KINDS, inject
from bot.digest.local import local_digest
from bot.digest.render import render_digest
from bot.services import open_services
from bot.settings import Settings
from tests.conftest import DUC, SEEDS, need

NOW = datetime(2025, 3, 1, tzinfo=UTC)


def _folder(tmp_path: Path, name: str, prefixes: list[str]) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    for path in sorted(SEEDS.glob("*.txt")):
        if path.name[:3] in prefixes:
            shutil.copy(path, folder / path.name)
    return folder


async def test_second_digest_holds_only_new_coverage_and_never_repeats(tmp_path: Path) -> None:
    settings = Settings.model_validate(
        {"database": {"path": str(tmp_path / "n.db")}, "seeds": {"folders": []}}
    )
    sv = await open_services(settings)
    try:
        await sv.ingestor.ingest(str(_folder(tmp_path, "a", ["000", "001"])))
        first = await local_digest(sv, channel="news", now=NOW, commit=True)
        assert first.stories and not any(s.known for s in first.stories)
        assert first.catch_up  # the channel's first digest: a catch-up, worded as such
        assert render_digest(first).startswith("Catching up: the latest news for news · ")
        shown_first = {s.text for st in first.stories for s in st.summary}
        assert shown_first

        again = await local_digest(sv, channel="news", now=NOW)
        assert again.empty  # nothing new since the committed digest

        await sv.ingestor.ingest(str(_folder(tmp_path, "b", ["002", "003"])))
        second = await local_digest(sv, channel="news", now=NOW, commit=True)
        assert not second.catch_up
        assert render_digest(second).startswith("newsbot digest for news · ")
        ids = {a.id for st in second.stories for a in st.articles}
        assert ids == {p.stem for p in SEEDS.glob("00[23]*.txt")}
        texts = [s.text for st in second.stories for s in st.summary + st.new]
        assert texts and not shown_first & set(texts)
        for st in second.stories:
            for s in st.summary + st.new:
                assert s.source and s.article_id in ids

        other = await local_digest(sv, channel="other", now=NOW)
        assert other.catch_up
        assert {a.id for st in other.stories for a in st.articles} == {
            p.stem for p in SEEDS.glob("00[0-3]*.txt")
        }  # another channel's memory is its own
    finally:
        await sv.close()


async def test_seed_call_weekday_conflict_surfaces_with_both_outlets(tmp_path: Path) -> None:
    settings = Settings.model_validate(
        {"database": {"path": str(tmp_path / "n.db")}, "seeds": {"folders": []}}
    )
    sv = await open_services(settings)
    try:
        await sv.ingestor.ingest(str(SEEDS))
        digest = await local_digest(sv, channel="c", now=NOW)
        conflicts = [c for st in digest.stories for c in st.conflicts]
        weekday = [
            c
            for c in conflicts
            if any("Wednesday" in s.text for s in c.statements)
            and any("Thursday" in s.text for s in c.statements)
        ]
        assert weekday, [c.fact for c in conflicts]
        assert {s.article_id[:3] for s in weekday[0].statements} == {"002", "003"}
        # compatible statements are not flagged: "over an hour" vs "approximately 90 minutes"
        for c in conflicts:
            joined = " ".join(s.text for s in c.statements)
            assert not ("over an hour" in joined and "90 minutes" in joined)
    finally:
        await sv.close()


async def test_an_undated_report_is_still_compared_with_a_dated_one(tmp_path: Path) -> None:
    """Seed 003 has no date (first-seen time, months after seed 004): the casualty figures they
    give still meet, and Trump's figure is attributed to him."""
    settings = Settings.model_validate(
        {"database": {"path": str(tmp_path / "n.db")}, "seeds": {"folders": []}}
    )
    sv = await open_services(settings)
    try:
        await sv.ingestor.ingest(str(SEEDS))
        digest = await local_digest(sv, channel="c", now=NOW)
        toll = [
            c
            for st in digest.stories
            for c in st.conflicts
            if any("tens of thousands" in s.text for s in c.statements)
        ]
        assert toll, "the casualty figures of seeds 003 and 004 should conflict"
        claims = {s.article_id[:3]: s.claim_by for s in toll[0].statements}
        assert claims["004"] == "Trump" and claims["003"] is None
        undated = [s for s in toll[0].statements if s.article_id.startswith("003")]
        assert undated and not undated[0].dated
    finally:
        await sv.close()


async def test_an_edited_copy_that_changes_a_fact_surfaces_and_a_plain_copy_does_not(
    tmp_path: Path,
) -> None:
    """A syndicated copy is stored as a duplicate, yet the fact it changes is a conflict."""
    rows = [json.loads(line) for line in need(DUC).open(encoding="utf-8")][300:340]
    rng = random.Random(7)
    originals, copies, changed = [], [], {}
    for row in rows:
        statements = article_statements(
            ArticleText(0, row["title"], row["text"], row["source"], NOW)
        )
        for st in statements:
            edited = inject(st, rng.choice(KINDS), rng)
            if edited is not None and edited.text != st.text:
                copy_id = row["id"] + "-copy"
                text = row["text"].replace(st.text, edited.text, 1)
                copies.append(dict(row, id=copy_id, source="Copy Wire", text=text))
                changed[copy_id] = edited.text
                break
        else:
            continue
        originals.append(row)
        if len(originals) % 2:  # and an unchanged re-report under another outlet
            copies.append(dict(row, id=row["id"] + "-same", source="Same Wire"))
    for name, items in (("a", originals), ("b", copies)):
        (tmp_path / f"{name}.jsonl").write_text(
            "".join(json.dumps({k: v for k, v in r.items() if k != "label"}) + "\n" for r in items)
        )
    settings = Settings.model_validate(
        {
            "database": {"path": str(tmp_path / "n.db")},
            "seeds": {"folders": []},
            "digest": {"max_stories": 100},
        }
    )
    sv = await open_services(settings)
    try:
        await sv.ingestor.ingest(str(tmp_path / "a.jsonl"))
        await local_digest(sv, channel="c", now=NOW, commit=True)
        report = await sv.ingestor.ingest(str(tmp_path / "b.jsonl"))
        assert report.duplicates == len(copies)  # every copy is recognised as a copy
        digest = await local_digest(sv, channel="c", now=NOW, commit=True)
        quoted = [s for st in digest.stories for c in st.conflicts for s in c.statements]
        found = {s.article_id for s in quoted if s.article_id in changed}
        assert len(found) >= 0.8 * len(changed)
        assert not any(s.article_id.endswith("-same") for s in quoted)
        assert all(s.source == "Copy Wire" for s in quoted if s.article_id in changed)
        # the channel is not told the same disagreement twice
        again = await local_digest(sv, channel="c", now=NOW)
        assert not [c for st in again.stories for c in st.conflicts]
    finally:
        await sv.close()
