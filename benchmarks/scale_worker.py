"""A delivery worker process for ``bench_scale.py``.

``scale_worker.py fill DB COUNT``: ingest the seed corpus into DB, compose its digest once and
queue COUNT copies of it in the outbox, one per channel of a platform named ``bench``.

``scale_worker.py drain DB GO LOG POST_MS``: open DB as ``newsbot run`` does, wait for the file
GO, then flush the outbox (the real ``Outbox``: claims, leases, retries) until nothing is
pending, through a gateway that takes POST_MS per post (a chat API's round trip) and appends
each posted channel to LOG.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.delivery.channel import compose_for  # noqa: E402
from bot.delivery.gateway import ChannelRef  # noqa: E402
from bot.digest.model import Digest  # noqa: E402
from bot.models import utcnow  # noqa: E402
from bot.services import open_services  # noqa: E402
from bot.settings import Settings  # noqa: E402


class TimedGateway:
    """Posts nowhere: waits ``post_ms`` and records the channel (the platform ``bench``)."""

    platform = "bench"

    def __init__(self, post_ms: float, log: Path) -> None:
        self.post_s = post_ms / 1000
        self.log = log.open("a", encoding="utf-8")

    async def post_digest(self, channel: ChannelRef, digest: Digest) -> str:
        await asyncio.sleep(self.post_s)
        self.log.write(channel.key + "\n")
        self.log.flush()
        return f"m-{channel.channel}"

    async def notify_admins(self, workspace: str, text: str) -> None:
        return None


def settings_for(db: str) -> Settings:
    return Settings.model_validate(
        {"database": {"path": db}, "seeds": {"folders": [str(REPO / "seeds")]}}
    )


async def fill(db: str, count: int) -> None:
    sv = await open_services(settings_for(db))
    try:
        await sv.sync_seeds()
        first = ChannelRef("bench", "w", "c0")
        composed = await compose_for(sv.store, sv.settings.digest, first, [], now=utcnow())
        for i in range(count):
            channel = ChannelRef("bench", "w", f"c{i}")
            await sv.outbox.enqueue(composed, channel=channel, idempotency_key=f"bench-{i}")
    finally:
        await sv.close()


def wait_for_file(path: Path) -> None:
    while not path.exists():
        time.sleep(0.005)


async def drain(db: str, go: Path, log: Path, post_ms: float) -> None:
    sv = await open_services(settings_for(db))
    try:
        sv.outbox.add_gateway(TimedGateway(post_ms, log))
        sv.outbox.min_interval = 0.0
        await asyncio.to_thread(wait_for_file, go)
        while await sv.outbox.pending_ids():
            counts = await sv.outbox.flush()
            if not counts.get("sent"):  # what is left is leased to other workers
                await asyncio.sleep(0.05)
    finally:
        await sv.close()


if __name__ == "__main__":
    if sys.argv[1] == "fill":
        asyncio.run(fill(sys.argv[2], int(sys.argv[3])))
    else:
        asyncio.run(drain(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]), float(sys.argv[5])))
