"""A free-text topic gets the stories about it (central terms, a cut-off); boolean queries and
phrases keep their exact meaning; each story says which terms it matched."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.digest.codec import encode_digest
from bot.digest.compose import compose_digest
from bot.digest.render import render_digest
from bot.queries.relevance import score_topic, topic_matches
from bot.services import Services, open_services
from bot.settings import DigestSettings, Settings
from bot.storage.synthetic import SyntheticArticle, fill_stories
from handlers import dispatch, parse_text
from handlers.base import CommandRequest
from tests.conftest import DUC, SHARED, need

NOW = datetime(2030, 1, 2, tzinfo=UTC)
FILLER = (
    "The officials met on Tuesday to review the schedule and the figures for the coming "
    "months, and they promised a further statement after the meeting of the committee."
)
CONCORDE = [
    SyntheticArticle(
        "Concorde crash kills 113 near Paris",
        "An Air France Concorde crashed after take-off. The Concorde caught fire. " + FILLER,
    ),
    SyntheticArticle(
        "Investigators study the Concorde wreck",
        "Concorde investigators found a metal strip on the runway. " + FILLER,
    ),
    SyntheticArticle(
        "Concorde fleet grounded",
        "British Airways grounded its Concorde fleet after the crash. " + FILLER,
    ),
]
SURPLUS = [
    SyntheticArticle(
        "Budget surplus grows again",
        "The federal budget surplus grew, Greenspan said. " + FILLER + " " + FILLER,
    ),
    SyntheticArticle(
        "Congress argues over the surplus",
        "Congress argued over the budget surplus and tax cuts. " + FILLER + " " + FILLER,
    ),
    SyntheticArticle(
        "Greenspan warns on the surplus",
        "Greenspan warned about spending the surplus. " + FILLER + " " + FILLER,
    ),
    SyntheticArticle(
        "Surplus forecast raised",
        "The surplus forecast was raised; a lawmaker who flew on Concorde once joked about it. "
        + FILLER
        + " "
        + FILLER,
    ),
]
GARDEN = [
    SyntheticArticle("Garden show opens", "The garden show opened with roses and tulips. " + FILLER)
]


@pytest.fixture
async def sv(tmp_path: Path) -> AsyncIterator[Services]:
    settings = Settings.model_validate(
        {"database": {"path": str(tmp_path / "r.db")}, "seeds": {"folders": []}}
    )
    services = await open_services(settings)
    await fill_stories(services.store, [CONCORDE, SURPLUS, GARDEN])
    yield services
    await services.close()


CONCORDE_STORY, SURPLUS_STORY, GARDEN_STORY = 1, 2, 3


async def test_a_passing_mention_counts_little_against_the_story_about_the_term(
    sv: Services,
) -> None:
    scores = {m.story_id: m.score for m in await score_topic(sv.store, "concorde")}
    assert set(scores) == {CONCORDE_STORY, SURPLUS_STORY}
    assert scores[CONCORDE_STORY] > 0.5
    assert scores[SURPLUS_STORY] < 0.1


async def test_a_free_text_topic_gets_only_the_stories_above_the_cut(sv: Services) -> None:
    d = DigestSettings()
    got = await topic_matches(
        sv.store, "Concorde", threshold=d.topic_threshold, relative=d.topic_relative
    )
    assert [(m.story_id, m.matched_terms) for m in got] == [(CONCORDE_STORY, ["concorde"])]
    everything = await topic_matches(sv.store, "Concorde", threshold=0.0, relative=0.0)
    assert [m.story_id for m in everything] == [CONCORDE_STORY, SURPLUS_STORY]
    assert await topic_matches(sv.store, "Concorde", threshold=1.0, relative=0.0) == []


async def test_stop_words_and_punctuation_do_not_make_a_story_match(sv: Services) -> None:
    got = await topic_matches(sv.store, "the crash / of the Concorde", threshold=0.2, relative=0.7)
    assert [m.story_id for m in got] == [CONCORDE_STORY]
    assert got[0].matched_terms == ["concorde", "crash"]


async def test_a_newly_stored_story_is_scored_at_once(sv: Services) -> None:
    first = await score_topic(sv.store, "concorde")  # fills the term cache
    await fill_stories(sv.store, [CONCORDE[:1]])
    again = await score_topic(sv.store, "concorde")
    assert len(again) == len(first) + 1 and again[0].story_id in (CONCORDE_STORY, 4)


async def test_boolean_queries_and_a_lone_phrase_keep_their_exact_meaning(sv: Services) -> None:
    either = await topic_matches(sv.store, "concorde OR roses", threshold=0.9, relative=0.9)
    assert {m.story_id for m in either} == {CONCORDE_STORY, SURPLUS_STORY, GARDEN_STORY}
    phrase = await topic_matches(sv.store, '"flew on concorde"', threshold=0.9, relative=0.9)
    assert [m.story_id for m in phrase] == [SURPLUS_STORY]


async def test_a_topic_digest_lists_only_relevant_stories_with_their_matched_terms(
    sv: Services,
) -> None:
    composed = await compose_digest(
        sv.store, sv.settings.digest, key="t:1", channel="c", now=NOW, topic="concorde crash"
    )
    stories = composed.digest.stories
    assert [s.title for s in stories] == [CONCORDE[0].title]
    assert stories[0].matched_terms == ["concorde", "crash"]
    assert encode_digest(composed.digest)["stories"][0]["matched_terms"] == ["concorde", "crash"]
    assert "matched: concorde, crash" in render_digest(composed.digest)
    whole = await compose_digest(
        sv.store, sv.settings.digest, key="t:2", channel="c", now=NOW
    )  # no topic: every story, no matched terms
    assert len(whole.digest.stories) == 3
    assert all(s.matched_terms == [] for s in whole.digest.stories)


def _request(text: str) -> CommandRequest:
    command, args = parse_text(text)
    return CommandRequest(
        platform="slack", workspace="T", channel="C", user="U", is_admin=False,
        command=command, args=args,
    )  # fmt: skip


async def test_topics_previews_the_stories_a_topic_would_get_with_their_count(
    sv: Services,
) -> None:
    reply = await dispatch(_request("topics concorde crash"), sv)
    assert not reply.error
    assert reply.lines[0].startswith("1 story would match")
    assert "s-syn1" in reply.lines[1] and "matched: concorde, crash" in reply.lines[1]
    subscribed = await dispatch(_request("subscribe concorde crash"), sv)
    assert any(line.startswith("1 current stories match") for line in subscribed.lines)
    nothing = await dispatch(_request("topics zeppelin"), sv)
    assert nothing.lines == ["No stored story matches this topic yet."]
    listing = await dispatch(_request("topics"), sv)
    assert listing.title == "Active stories"


# ----------------------------------------------------------------- real news (development data)
TOPICS_JSON = SHARED / "data" / "dev" / "duc2006-summaries" / "topics.json"
WANTED = (
    "crash of the Air France Concorde",
    "spread of the West Nile virus",
    "computer viruses",
    "federal budget surplus",
)


@pytest.fixture(scope="module")
def real_db(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, dict[str, str], dict[str, str]]:
    """Four real topics (two of them about viruses), ingested; (db, id -> topic, title -> topic)."""
    need(DUC)
    need(TOPICS_JSON)
    import asyncio

    titles = {v["title"]: k for k, v in json.loads(TOPICS_JSON.read_text("utf-8")).items()}
    keys = {titles[t] for t in WANTED}
    folder = tmp_path_factory.mktemp("relevance")
    lines, label = [], {}
    with DUC.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if row["label"] in keys:
                lines.append(line)
                label[row["id"]] = row["label"]
    (folder / "four.jsonl").write_text("".join(lines), encoding="utf-8")
    db = folder / "four.db"

    async def build() -> None:
        services = await open_services(
            Settings.model_validate(
                {
                    "database": {"path": str(db)},
                    "seeds": {"folders": []},
                    "digest": {"max_stories": 100},
                }
            )
        )
        await services.ingestor.ingest(str(folder / "four.jsonl"), kind="archive")
        await services.close()

    asyncio.run(build())
    return db, label, titles


@pytest.mark.parametrize(
    ("query", "title"),
    [
        ("concorde", "crash of the Air France Concorde"),
        ("west nile virus", "spread of the West Nile virus"),
        ("computer viruses", "computer viruses"),
    ],
)
async def test_real_topics_get_their_own_articles_and_few_others(
    real_db: tuple[Path, dict[str, str], dict[str, str]], query: str, title: str
) -> None:
    db, label, titles = real_db
    services = await open_services(
        Settings.model_validate(
            {
                "database": {"path": str(db)},
                "seeds": {"folders": []},
                "digest": {"max_stories": 100},
            }
        )
    )
    try:
        composed = await compose_digest(
            services.store, services.settings.digest, key=f"r:{query}", channel="c", now=NOW,
            topic=query,
        )  # fmt: skip
    finally:
        await services.close()
    got = [a.id for s in composed.digest.stories for a in s.articles]
    mine = [a for a in got if label[a] == titles[title]]
    relevant = [a for a, t in label.items() if t == titles[title]]
    assert got and len(mine) / len(got) >= 0.9
    assert len(set(mine)) / len(relevant) >= 0.7
