"""Digest for one channel, on demand: compose it and, when asked, record it as delivered."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from bot.digest.compose import compose_digest
from bot.digest.memory import channel_key, record_delivery
from bot.digest.model import Digest
from bot.services import Services
from bot.storage.store import to_iso

EVERY_STORY = 1_000_000


def _fingerprint(shown: list[tuple[int, list[int], list[str]]]) -> str:
    return hashlib.sha256(json.dumps(shown, ensure_ascii=False).encode("utf-8")).hexdigest()[:16]


async def local_digest(
    sv: Services,
    *,
    channel: str,
    now: datetime,
    topic: str | None = None,
    story_ref: str | None = None,
    commit: bool = False,
    every_story: bool = False,
) -> Digest:
    """The digest of a local (console) channel; ``commit`` marks its content as delivered;
    ``every_story`` lifts ``max_stories`` (every story with news is shown)."""
    from bot.queries.views import resolve_story

    story_id = await resolve_story(sv, story_ref) if story_ref else None
    key = channel_key("console", "local", channel)
    settings = sv.settings.digest
    if every_story:
        settings = settings.model_copy(update={"max_stories": EVERY_STORY})
    composed = await compose_digest(
        sv.store,
        settings,
        key=key,
        channel=channel,
        now=now,
        topic=topic,
        story_id=story_id,
    )
    if commit and not composed.digest.empty:
        await record_delivery(
            sv.store,
            key=key,
            digest=composed.digest,
            shown=composed.shown,
            # the same digest committed twice is recorded once; another one, even in the
            # same second, is recorded too
            idempotency_key=f"{key}:manual:{to_iso(now)}:{_fingerprint(composed.shown)}",
            now=now,
        )
    return composed.digest
