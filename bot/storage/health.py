"""The SQL behind ``/healthz`` and ``/metrics``: a liveness query and the counts scraped.

:mod:`bot.operations.health` turns :class:`StoreCounts` into Prometheus gauges; this repository only
reads, and returns plain values, so a second database backend implements the same methods.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.storage.sources import FeedCounts, SourceRepo
from bot.storage.store import Store, from_iso
from bot.storage.stories import count_live


@dataclass(frozen=True, slots=True)
class StoreCounts:
    """What the database holds, as the metrics show it."""

    feeds: FeedCounts
    originals: int
    duplicates: int
    active_stories: int
    digests: dict[str, int] = field(default_factory=dict)  # by outbox status
    oldest_pending_at: datetime | None = None
    subscriptions_enabled: int = 0
    subscriptions_disabled: int = 0


class HealthRepo:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def ping(self) -> None:
        """Raises when the database does not answer a trivial query."""
        await self.store.scalar("SELECT 1")

    async def counts(self) -> StoreCounts:
        s = self.store
        originals, duplicates = await s.count_articles()
        stories = await count_live(s, active_only=True)
        digests = {
            str(status): int(n)
            for status, n in await s.fetchall(
                "SELECT status, count(*) FROM deliveries GROUP BY status"
            )
        }
        oldest = await s.scalar("SELECT min(created_at) FROM deliveries WHERE status = 'pending'")
        subs = await s.fetchone(
            "SELECT count(*) FILTER (WHERE enabled = 1), count(*) FILTER (WHERE enabled = 0) "
            "FROM subscriptions"
        )
        return StoreCounts(
            feeds=await SourceRepo(s).counts(),
            originals=originals,
            duplicates=duplicates,
            active_stories=int(stories or 0),
            digests=digests,
            oldest_pending_at=from_iso(oldest) if oldest else None,
            subscriptions_enabled=int(subs[0] or 0),
            subscriptions_disabled=int(subs[1] or 0),
        )
