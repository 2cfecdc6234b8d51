"""Jobs the crash-safety tests run in child processes and SIGKILL at random moments.

The children come from a ``forkserver`` that imported newsbot once (:func:`forkserver`), so
each start costs milliseconds instead of the seconds a fresh interpreter needs. A job opens the
database like ``newsbot run`` does (:func:`bot.services.open_services`) and does real work:

* :func:`ingest_job` ingests a JSONL archive;
* :func:`deliver_job` does what ``newsbot run`` does at start: flush the outbox, then run each
  subscription's digest for one schedule period, posting to a :class:`SinkGateway`.

The sink stands for the chat platform: it survives the kill because every message is one line
appended to a file and fsynced before the post returns. Like a platform honouring an
idempotency key (Discord's ``nonce`` with ``enforce_nonce``, a Slack message-metadata lookup),
a post carrying a key it has already recorded is answered with the first message's id and
written as a ``replayed`` line instead of a second message.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
from datetime import datetime
from multiprocessing.context import ForkServerContext
from pathlib import Path

from bot.delivery.channel import run_subscription
from bot.delivery.gateway import ChannelRef
from bot.delivery.outbox import Outbox
from bot.delivery.subscriptions import Subscriptions
from bot.digest.model import Digest
from bot.services import open_services
from bot.settings import Settings

PRELOAD = ["bot.services", "bot.delivery.outbox", "bot.digest.compose", "tests.crash_worker"]
CRASH_EXIT = 137  # what a SIGKILLed process reports to a shell


def forkserver() -> ForkServerContext:
    """A forkserver that has imported newsbot, already started (so timings exclude it)."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    warm = ctx.Process(target=noop)
    warm.start()
    warm.join()
    return ctx


def noop() -> None:
    return None


def settings_for(db: str) -> Settings:
    return Settings.model_validate({"database": {"path": db}, "seeds": {"folders": []}})


# ---------------------------------------------------------------------------------- ingest
def ingest_job(db: str, jsonl: str) -> None:
    asyncio.run(_ingest(db, jsonl))


async def _ingest(db: str, jsonl: str) -> None:
    sv = await open_services(settings_for(db))
    try:
        await sv.ingestor.ingest(jsonl)
    finally:
        await sv.close()


# -------------------------------------------------------------------------------- delivery
class SinkGateway:
    """A chat platform whose messages are durable lines in ``path`` (see the module doc).

    ``crash_after``: exit the process (as SIGKILL would) right after the n-th message is
    durable and before the post returns: the window between a successful post and its "sent"
    mark.
    """

    platform = "sink"

    def __init__(self, path: str, *, crash_after: int | None = None) -> None:
        self.path = Path(path)
        self.crash_after = crash_after
        self.posts = 0

    def _messages(self) -> dict[str, str]:
        if not self.path.exists():
            return {}
        found: dict[str, str] = {}
        for line in self.path.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            if rec.get("key") and not rec.get("replayed"):
                found.setdefault(rec["key"], rec["id"])
        return found

    def _append(self, rec: dict[str, object]) -> None:
        # One write(2) of the whole line: a kill cannot leave half a line behind.
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (json.dumps(rec) + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    async def post_digest(self, channel: ChannelRef, digest: Digest) -> str:
        return await self.post_digest_once(channel, digest, None)

    async def post_digest_once(
        self, channel: ChannelRef, digest: Digest, key: str | None, tried: datetime | None = None
    ) -> str:
        if key is not None:
            earlier = self._messages().get(key)
            if earlier is not None:
                self._append({"key": key, "id": earlier, "replayed": True})
                return earlier
        message_id = f"m-{os.getpid()}-{self.posts}"
        self._append(
            {
                "key": key,
                "id": message_id,
                "channel": channel.key,
                "stories": sorted(s.id for s in digest.stories),
            }
        )
        self.posts += 1
        if self.crash_after is not None and self.posts >= self.crash_after:
            os._exit(CRASH_EXIT)
        return message_id

    async def notify_admins(self, workspace: str, text: str) -> None:
        return None


def deliver_job(
    db: str, sink: str, period: datetime, now: datetime, crash_after: int | None = None
) -> None:
    asyncio.run(_deliver(db, sink, period, now, crash_after))


async def _deliver(
    db: str, sink: str, period: datetime, now: datetime, crash_after: int | None
) -> None:
    sv = await open_services(settings_for(db))
    try:
        gateway = SinkGateway(sink, crash_after=crash_after)
        outbox = Outbox(sv.store, {"sink": gateway}, min_interval=0, now=lambda: now)
        await outbox.recover()  # as newsbot run starts: the leases a crashed run left
        await outbox.flush()  # what a crash left pending
        for sub in await Subscriptions(sv.store).all_enabled():
            await run_subscription(
                sv.store, sv.settings.digest, outbox, sub, period=period, now=now
            )
    finally:
        await sv.close()
