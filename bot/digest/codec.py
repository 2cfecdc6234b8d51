"""The one digest codec: a :class:`~bot.digest.model.Digest` to JSON data and back.

Used for the outbox's stored payloads, the channel memory's delivery records and the
``--format json`` output. Fields come from the model's dataclasses (cattrs reads them), so a
field added to the model is encoded and decoded with no edit here; a field missing from stored
data (a payload written before the field existed) takes its default. Times are ISO 8601 text
in UTC, exact to the microsecond when there is one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from cattrs import Converter

from bot.digest.model import Digest

_converter = Converter(forbid_extra_keys=False)
_converter.register_unstructure_hook(datetime, lambda dt: dt.astimezone(UTC).isoformat())
_converter.register_structure_hook(datetime, lambda text, _: datetime.fromisoformat(text))


def encode_digest(digest: Digest) -> dict[str, Any]:
    """The digest as JSON-ready data that :func:`decode_digest` turns back into an equal one."""
    data: dict[str, Any] = _converter.unstructure(digest)
    return data


def decode_digest(data: Mapping[str, Any]) -> Digest:
    """A digest from :func:`encode_digest`'s data, or from a payload stored by an older
    version (statements shown without their time get the digest's time)."""
    return _converter.structure(_upgrade(data), Digest)


def _upgrade(data: Mapping[str, Any]) -> dict[str, Any]:
    """Older payloads (the former ``Digest.to_json``) left out the time of summary and
    "what's new" statements: they take the digest's ``generated_at``."""
    out = dict(data)
    when = out.get("generated_at")
    stories = []
    for story in out.get("stories", []):
        story = dict(story)
        for part in ("summary", "new"):
            story[part] = [
                s if "published" in s else {**s, "published": when} for s in story.get(part, [])
            ]
        stories.append(story)
    out["stories"] = stories
    return out
