"""The one digest codec: every field of the model round-trips (including fields added later,
with no codec edit), and payloads stored by older versions still decode."""

from __future__ import annotations

import dataclasses
import json
import types
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.digest.codec import decode_digest, encode_digest
from bot.digest.model import Digest, StatementRef, StoryDigest

_ZONES = st.just(UTC) | st.builds(
    timezone, st.timedeltas(min_value=timedelta(hours=-14), max_value=timedelta(hours=14))
)
_TIMES = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=_ZONES
)


def strategy_for(tp: Any) -> st.SearchStrategy[Any]:
    """Values for a model type, every dataclass field filled (defaulted ones too), so a field
    added to the model is exercised without editing this test."""
    if dataclasses.is_dataclass(tp):
        hints = get_type_hints(tp)
        assert isinstance(tp, type)
        return st.builds(
            tp, **{f.name: strategy_for(hints[f.name]) for f in dataclasses.fields(tp)}
        )
    origin = get_origin(tp)
    if origin is list:
        return st.lists(strategy_for(get_args(tp)[0]), max_size=3)
    if origin is dict:
        key, value = get_args(tp)
        return st.dictionaries(strategy_for(key), strategy_for(value), max_size=3)
    if origin in (Union, types.UnionType):
        return st.one_of(*(strategy_for(a) for a in get_args(tp)))
    if origin is Literal:
        return st.sampled_from(get_args(tp))
    if tp is datetime:
        return _TIMES
    if tp is type(None):
        return st.none()
    return st.from_type(tp)


def assert_every_field_encoded(obj: Any, data: Any) -> None:
    """Each dataclass in ``obj`` is encoded as an object holding exactly its fields."""
    if dataclasses.is_dataclass(obj):
        names = [f.name for f in dataclasses.fields(obj)]
        assert isinstance(data, dict) and sorted(data) == sorted(names), (type(obj), data)
        for name in names:
            assert_every_field_encoded(getattr(obj, name), data[name])
    elif isinstance(obj, list):
        assert isinstance(data, list) and len(data) == len(obj)
        for item, encoded in zip(obj, data, strict=True):
            assert_every_field_encoded(item, encoded)


@settings(max_examples=60, deadline=None)
@given(strategy_for(Digest))
def test_every_digest_field_round_trips_through_json(digest: Digest) -> None:
    data = json.loads(json.dumps(encode_digest(digest), ensure_ascii=False))
    assert decode_digest(data) == digest


@settings(max_examples=25, deadline=None)
@given(strategy_for(Digest))
def test_the_encoding_names_every_field_of_the_model(digest: Digest) -> None:
    # A field the codec left out would decode to its default and could go unnoticed above.
    assert_every_field_encoded(digest, encode_digest(digest))


def test_an_undated_statement_stays_undated() -> None:
    when = datetime(2024, 5, 6, 8, 0, tzinfo=UTC)
    undated = StatementRef("Text.", "a1", "Wire", when, dated=False)
    story = StoryDigest("s-1", "T", known=False, summary=[undated])
    data = json.loads(json.dumps(encode_digest(Digest("c", when, stories=[story]))))
    assert data["stories"][0]["summary"][0]["dated"] is False
    assert decode_digest(data).stories[0].summary[0].dated is False


# A payload as the outbox stored it before this codec (no ``dated``, no ``more_stories``).
OLD_OUTBOX_PAYLOAD = {
    "channel": "C1",
    "generated_at": "2024-05-06T08:00:00+00:00",
    "topic": "quake",
    "stories": [
        {
            "id": "s-0001",
            "title": "Quake hits the coast",
            "known": False,
            "outlets": ["Reuters"],
            "articles": [
                {
                    "id": "a1",
                    "title": "Quake hits the coast",
                    "url": "https://r.example/1",
                    "source": "Reuters",
                    "published": "2024-05-06T05:00:00+00:00",
                }
            ],
            "summary": [
                {
                    "text": "At least 12 people died.",
                    "article_id": "a1",
                    "source": "Reuters",
                    "published": "2024-05-06T05:00:00+00:00",
                    "url": "https://r.example/1",
                    "claim_by": None,
                }
            ],
            "new": [],
            "conflicts": [
                {
                    "kind": "contradiction",
                    "fact": "death toll",
                    "statements": [
                        {
                            "text": "At least 15 people died.",
                            "article_id": "a2",
                            "source": "AP",
                            "published": "2024-05-06T06:00:00+00:00",
                            "url": None,
                            "claim_by": "police",
                        }
                    ],
                }
            ],
        }
    ],
}

# A delivery record as the channel memory stored it (the former ``Digest.to_json``): summary and
# "what's new" statements without their time.
OLD_MEMORY_PAYLOAD = {
    "channel": "news",
    "generated_at": "2024-05-06T08:00:00+00:00",
    "topic": None,
    "stories": [
        {
            "id": "s-0002",
            "title": "Storm",
            "known": True,
            "outlets": ["AP"],
            "articles": [],
            "summary": [],
            "new": [{"text": "Winds eased.", "article_id": "b1", "source": "AP"}],
            "conflicts": [],
        }
    ],
}


def test_a_payload_stored_by_the_former_outbox_codec_decodes() -> None:
    digest = decode_digest(OLD_OUTBOX_PAYLOAD)
    story = digest.stories[0]
    assert digest.more_stories == 0 and digest.topic == "quake"
    assert story.summary[0].dated is True and story.summary[0].url == "https://r.example/1"
    assert story.conflicts[0].statements[0].claim_by == "police"
    assert story.articles[0].published == datetime(2024, 5, 6, 5, 0, tzinfo=UTC)
    assert decode_digest(encode_digest(digest)) == digest


def test_a_record_stored_by_the_former_to_json_decodes() -> None:
    digest = decode_digest(OLD_MEMORY_PAYLOAD)
    new = digest.stories[0].new[0]
    assert new.text == "Winds eased." and new.published == digest.generated_at
