"""Per-channel memory: which articles and statements each channel has been given.

The SQL is in :mod:`bot.storage.memory` (reads) and :mod:`bot.storage.deliveries` (the rows
written with a delivery); this module names channels and records a digest as delivered.
"""

from __future__ import annotations

import json
from datetime import datetime

from bot.digest.codec import encode_digest
from bot.digest.model import Digest
from bot.storage import Store
from bot.storage.deliveries import insert_delivery


def channel_key(platform: str, workspace: str, channel: str) -> str:
    return f"{platform}:{workspace}:{channel}"


async def record_delivery(
    store: Store,
    *,
    key: str,
    digest: Digest,
    shown: list[tuple[int, list[int], list[str]]],
    idempotency_key: str,
    subscription_id: int | None = None,
    status: str = "sent",
    now: datetime,
) -> int | None:
    """Store the digest and what it showed: ``shown`` is (story id, article ids, statements).

    Returns the delivery id, or ``None`` when this idempotency key was already recorded.
    """
    return await insert_delivery(
        store,
        channel_key=key,
        idempotency_key=idempotency_key,
        payload=json.dumps({"digest": encode_digest(digest), "shown": shown}, ensure_ascii=False),
        shown=shown,
        subscription_id=subscription_id,
        status=status,
        now=now,
    )
