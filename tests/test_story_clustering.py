"""Online story grouping: determinism, seeds, DUC quality floor, merges, quiet stories, BCubed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from bot.stories.cluster import ClusterParams, Doc, StoryClusterer
from bot.stories.evaluate import bcubed, docs_from_rows, gold_labels, read_jsonl, run_clusterer
from tests.conftest import DUC, SEEDS, need

T0 = datetime(2025, 2, 10, tzinfo=UTC)


def seed_docs() -> list[Doc]:
    docs = []
    for i, path in enumerate(sorted(need(SEEDS).glob("*.txt"))):
        text = path.read_text(encoding="utf-8")
        lines = [line.strip() for line in text.splitlines() if line.strip()][:5]
        docs.append(Doc(path.stem, max(lines, key=len), text, T0 + timedelta(hours=12 * i)))
    return docs


@pytest.fixture(scope="module")
def duc_rows() -> list[dict]:
    return read_jsonl(need(DUC))


def five_topics(rows: list[dict]) -> list[dict]:
    labels = sorted({r["label"] for r in rows})[:5]
    return [r for r in rows if r["label"] in labels]


def test_same_stream_gives_same_stories(duc_rows: list[dict]) -> None:
    docs = docs_from_rows(five_topics(duc_rows))
    first, _ = run_clusterer(docs, ClusterParams())
    second, _ = run_clusterer(docs, ClusterParams())
    assert first == second


def test_seed_articles_form_one_or_two_stories() -> None:
    engine = StoryClusterer()
    keys = {engine.add(doc).story_key for doc in seed_docs()}
    stories = {engine.resolve(k) for k in keys}
    assert 1 <= len(stories) <= 2
    for key in stories:
        terms = engine.story_terms(key, 5)
        assert 3 <= len(terms) <= 5
        assert any("putin" in t for t in terms) or any("trump" in t for t in terms)
        assert engine.story_title(key)


def dated_as_ingested(seeds: list[Doc]) -> list[Doc]:
    """Seeds as the product dates them: seed 004 carries 2025-02-13, the others have no date
    and get their ingest time, months later."""
    ingest = datetime(2025, 11, 22, 8, tzinfo=UTC)
    return [
        Doc(s.key, s.title, s.text, T0 + timedelta(days=3) if s.key.startswith("004") else ingest)
        for s in seeds
    ]


def test_seeds_dated_months_apart_still_form_one_or_two_stories() -> None:
    engine = StoryClusterer()
    stories = {engine.resolve(engine.add(d).story_key) for d in dated_as_ingested(seed_docs())}
    assert 1 <= len(stories) <= 2


@pytest.mark.parametrize("seeds_first", [True, False])
def test_other_real_articles_do_not_join_seed_stories(
    duc_rows: list[dict], seeds_first: bool
) -> None:
    seeds = dated_as_ingested(seed_docs())
    others = docs_from_rows(duc_rows[::4])  # 310 articles over all topics, their own dates
    stream = seeds + others if seeds_first else others + seeds
    engine = StoryClusterer()
    story_of = {d.key: engine.add(d).story_key for d in stream}
    seed_stories = {engine.resolve(story_of[s.key]) for s in seeds}
    assert 1 <= len(seed_stories) <= 2
    joined = [d.key for d in others if engine.resolve(story_of[d.key]) in seed_stories]
    assert joined == []


def test_a_story_takes_no_article_dated_outside_its_active_window() -> None:
    text = "Volcano Hekla erupts in Iceland, ash cloud over Reykjavik airport."
    engine = StoryClusterer(ClusterParams(active_days=30.0))
    now = engine.add(_doc("now", text, T0))
    old = engine.add(_doc("old", text, T0 - timedelta(days=400)))  # an archive ingested late
    assert old.is_new and old.story_key != now.story_key
    recent = engine.add(_doc("recent", text, T0 - timedelta(days=10)))
    assert recent.story_key == now.story_key


def test_small_duc_subset_clusters_above_floor(duc_rows: list[dict]) -> None:
    rows = five_topics(duc_rows)
    pred, _ = run_clusterer(docs_from_rows(rows), ClusterParams())
    score = bcubed(pred, gold_labels(rows))
    # default settings measured 0.845 (P 1.00, R 0.73, 18 clusters); the previous engine 0.742
    assert score.f1 >= 0.80 and score.precision >= 0.95


def test_defaults_are_the_topic_settings_and_settings_override_them() -> None:
    assert ClusterParams() == ClusterParams.topic_level()
    assert ClusterParams().time_decay_days is None

    class Section:
        threshold = 0.2
        centroid_terms = 50
        unrelated = "ignored"

    params = ClusterParams.from_settings(Section(), active_days=7.0)
    assert (params.threshold, params.centroid_terms, params.active_days) == (0.2, 50, 7.0)
    assert params.entity_weight == ClusterParams().entity_weight


def test_explain_names_shared_terms() -> None:
    seeds = seed_docs()
    engine = StoryClusterer()
    key = engine.add(seeds[0]).story_key
    assignment = engine.add(seeds[1])
    assert not assignment.is_new and assignment.story_key == key
    shared = engine.explain(seeds[1], key)
    assert shared and any("putin" in t for t in shared)
    assert assignment.matched_terms


def _doc(key: str, words: str, when: datetime) -> Doc:
    return Doc(key, words.split(".")[0], words, when)


def test_converging_stories_merge_and_the_merge_is_recorded() -> None:
    a = "The Zorvath dam on the Kelmar river flooded Ostrava valley. Zorvath dam engineers warned."
    b = "Tremlin bridge over the Kelmar river fell near Ostrava valley. Tremlin bridge inspectors."
    bridge = (
        "Zorvath dam and Tremlin bridge both failed on the Kelmar river in Ostrava valley; "
        "Zorvath dam engineers and Tremlin bridge inspectors blame the Kelmar floods."
    )
    engine = StoryClusterer(ClusterParams.story_level(threshold=0.45, merge_threshold=0.5))
    ka = engine.add(_doc("a", a, T0)).story_key
    kb = engine.add(_doc("b", b, T0)).story_key
    assert ka != kb
    engine.add(_doc("c", bridge, T0))
    assert engine.merges, "the bridging article should merge the two stories"
    merge = engine.merges[0]
    assert (merge.from_key, merge.into_key) == (kb, ka)
    assert engine.resolve(kb) == ka
    assert set(engine.story_members(ka)) == {"a", "b", "c"}


def test_quiet_stories_leave_the_active_set_but_stay_searchable() -> None:
    engine = StoryClusterer(ClusterParams.story_level(active_days=14.0))
    old = engine.add(_doc("x", "Volcano Hekla erupts in Iceland, ash cloud over Reykjavik.", T0))
    assert old.story_key in engine.stories
    engine.add(
        _doc(
            "y", "Central bank of Chile raises interest rates in Santiago.", T0 + timedelta(days=20)
        )
    )
    assert old.story_key not in engine.stories
    assert not engine.is_active(old.story_key)
    hits = engine.search("Hekla volcano ash Iceland")
    assert hits and hits[0][0] == old.story_key
    again = engine.add(
        _doc("z", "Volcano Hekla erupts in Iceland, ash over Reykjavik.", T0 + timedelta(days=21))
    )
    assert again.is_new  # a quiet story takes no new articles


def test_state_round_trip_continues_identically(duc_rows: list[dict]) -> None:
    docs = docs_from_rows(five_topics(duc_rows))
    half = len(docs) // 2
    engine = StoryClusterer()
    for d in docs[:half]:
        engine.add(d)
    restored = StoryClusterer.from_state(engine.to_state(), ClusterParams())
    tail_a = [engine.add(d).story_key for d in docs[half:]]
    tail_b = [restored.add(d).story_key for d in docs[half:]]
    assert tail_a == tail_b


def test_bcubed_on_hand_made_examples() -> None:
    gold = {"a": "x", "b": "x", "c": "y", "d": "y"}
    perfect = bcubed({"a": 1, "b": 1, "c": 2, "d": 2}, gold)
    assert (perfect.precision, perfect.recall, perfect.f1) == (1.0, 1.0, 1.0)
    one = bcubed({"a": 1, "b": 1, "c": 1, "d": 1}, gold)
    assert one.precision == pytest.approx(0.5) and one.recall == pytest.approx(1.0)
    singletons = bcubed({"a": 1, "b": 2, "c": 3, "d": 4}, gold)
    assert singletons.precision == 1.0 and singletons.recall == pytest.approx(0.5)
    assert singletons.n_pred_clusters == 4 and singletons.n_gold_clusters == 2
    # several labels: "e" is correct with either x or y items
    multi = bcubed({"a": 1, "e": 1, "c": 1}, {"a": "x", "e": {"x", "y"}, "c": "y"})
    # a: 2 of 3 correct (a, e); e: 3 of 3; c: 2 of 3 -> P = 7/9
    assert multi.precision == pytest.approx(7 / 9)
    assert multi.recall == pytest.approx(1.0)


def test_candidate_index_finds_the_brute_force_best(duc_rows: list[dict]) -> None:
    engine = StoryClusterer(ClusterParams.story_level(threshold=0.99))  # every article opens one
    docs = docs_from_rows(duc_rows[:400])
    for d in docs:
        engine.add(Doc(d.key, d.title, d.text, T0))
    keys = engine.stories
    for d in docs[400 - 60 :: 3] + docs[:30:3]:
        vec, _ = engine.vectorizer.transform(d.title, d.text, learn=False)
        dense = np.zeros(engine.vectorizer.dim, np.float32)
        dense[vec.idx] = vec.val
        brute = max(keys, key=lambda k: (float(engine.centroid(k).dot_dense(dense)), -k))
        found = engine.search(d.title, d.text, k=1, include_quiet=False)
        assert found[0][0] == brute


def test_vectors_ignore_case_of_headline_and_count_entities() -> None:
    from bot.stories.vectorize import entities

    ents = entities("Officials said President Vladimir Putin spoke. Then he left for Moscow.")
    assert "E:president vladimir putin" in ents and "e:moscow" in ents
    assert "e:then" not in ents and "e:officials" not in ents


def test_seed_paths_exist() -> None:
    assert isinstance(SEEDS, Path)
