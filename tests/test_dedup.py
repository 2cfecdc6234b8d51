"""Near-duplicate detection on real text: syndicated copies match, distinct articles do not."""

from __future__ import annotations

import json
import random

from bot.ingestion.dedup import NearDuplicateIndex
from bot.settings import DedupSettings
from bot.text.fingerprint import content_hash
from tests.conftest import DUC, need


def _duc(n: int) -> list[dict[str, str]]:
    with need(DUC).open() as fh:
        return [json.loads(line) for _, line in zip(range(n), fh, strict=False)]


def _syndicate(text: str, rng: random.Random) -> str:
    """A wire copy as another outlet runs it: own intro/outro boilerplate, a few words edited."""
    words = text.split()
    for _ in range(max(1, len(words) // 50)):
        i = rng.randrange(len(words))
        words[i] = words[i].upper()[::-1]
    return (
        "Published by the Valley Tribune staff with wire reports. "
        + " ".join(words)
        + " Copyright 2025 Valley Tribune. All rights reserved. Subscribe for more local news."
    )


def test_content_hash_ignores_case_spacing_and_punctuation() -> None:
    assert content_hash("The  cat, sat.") == content_hash("the cat sat")
    assert content_hash("the cat sat") != content_hash("the cat sat down")


def test_syndicated_copies_of_real_articles_are_found() -> None:
    docs = [d for d in _duc(200) if len(d["text"].split()) > 150][:60]
    index = NearDuplicateIndex(DedupSettings())
    for i, doc in enumerate(docs):
        sig = index.signature(doc["text"])
        assert sig is not None
        index.add(i, sig)
    rng = random.Random(7)
    found = 0
    for i, doc in enumerate(docs):
        sig = index.signature(_syndicate(doc["text"], rng))
        match = index.find(sig) if sig is not None else None
        found += match is not None and match.article_id == i
    assert found >= 0.95 * len(docs)


def test_distinct_articles_on_the_same_topic_are_not_duplicates() -> None:
    docs = _duc(400)
    index = NearDuplicateIndex(DedupSettings())
    by_label: dict[str, list[dict[str, str]]] = {}
    for d in docs:
        by_label.setdefault(d["label"], []).append(d)
    pairs = 0
    false = 0
    for group in by_label.values():
        for i, a in enumerate(group[:6]):
            sig_a = index.signature(a["text"])
            if sig_a is None:
                continue
            for b in group[i + 1 : 6]:
                sig_b = index.signature(b["text"])
                if sig_b is None or a["title"] == b["title"]:
                    continue  # same headline: often a real re-send of one wire story
                pairs += 1
                false += sig_a.jaccard(sig_b) >= index.settings.near_duplicate_threshold
    assert pairs > 50
    assert false <= pairs * 0.02


def test_signatures_survive_a_round_trip_through_bytes() -> None:
    index = NearDuplicateIndex(DedupSettings(min_words=3))
    sig = index.signature("one two three four five six seven eight nine ten")
    assert sig is not None
    again = index.from_bytes(index.to_bytes(sig))
    assert again.jaccard(sig) == 1.0


def test_short_texts_are_left_to_exact_matching() -> None:
    index = NearDuplicateIndex(DedupSettings())
    assert index.signature("Breaking: markets fall.") is None
