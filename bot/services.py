"""The core services a command or a platform adapter works with, opened from Settings.

Everything a handler or a job needs is reached through :class:`Services` (explicit wiring, no
module-level registry): the store, the ingestor, the story grouper, the outbox (it has the
running platforms' gateways under ``newsbot run``; none in one-off CLI commands), the event
registry (subscription and source changes), the clock every "now" comes from and the log of
chat changes that may still be undone.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bot.delivery.outbox import Outbox
from bot.delivery.subscriptions import UndoLog
from bot.digest.stored import analysis_hook
from bot.events import Events
from bot.ingestion.ingest import Ingestor
from bot.models import IngestReport, IngestWarning, utcnow
from bot.operations.logs import install_redaction
from bot.settings import Secrets, Settings
from bot.storage import Store
from bot.storage.scope import sync_shared
from bot.stories.grouping import StoryService


def worker_identity() -> str:
    """This process's name among the workers sharing a database (host, pid and a random
    suffix, so a restarted process with a reused pid is a different worker): what feed claims,
    delivery leases and the leader lock record as their holder."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass(slots=True)
class Services:
    settings: Settings
    store: Store
    ingestor: Ingestor
    stories: StoryService
    events: Events = field(default_factory=Events)
    clock: Callable[[], datetime] = utcnow
    outbox: Outbox = field(init=False)
    undo: UndoLog = field(init=False)  # chat changes that may still be undone (stored)
    worker: str = field(default_factory=worker_identity)  # holder name in claims and leases

    def __post_init__(self) -> None:
        self.outbox = Outbox(
            self.store,
            now=lambda: self.clock(),
            events=self.events,
            worker=self.worker,
            lease=self.settings.outbox.lease,
        )
        self.undo = UndoLog(self.store)

    async def sync_seeds(self) -> IngestReport:
        """Ingest the configured seed folders (already-known files are skipped cheaply)."""
        report = IngestReport()
        for folder in self.settings.seeds.folders:
            if not Path(folder).is_dir():
                report.warnings.append(IngestWarning(folder, "seed folder not found"))
                continue
            report.merge(await self.ingestor.ingest(folder, kind="folder"))
        return report

    async def close(self) -> None:
        await self.store.close()


async def open_services(settings: Settings, *, write: bool = True) -> Services:
    """The services over the configured database.

    ``write=False`` (read commands: stories, story, search, export, digest previews): the
    store is query-only and the story grouper is not loaded (``story --explain`` loads it in
    memory), so reading never writes and never waits for the write lock. A writer groups
    every original in the write transaction that stores it (see ``StoryService``), so any
    number of writer processes share one database's stories.
    """
    install_redaction(Secrets().all_values())
    store = await Store.open(
        settings.db_target, busy_timeout_ms=settings.database.busy_timeout_ms, writable=write
    )
    try:
        if write:  # a read-only store (read commands: the operator's, unscoped) never writes
            await sync_shared(store, settings.sources.shared)
        ingestor = Ingestor(store, settings)
        stories = StoryService(store, settings)
        if write:
            await stories.load()
        ingestor.before_write.append(stories.follow)
        ingestor.hooks.append(stories.assign)
        ingestor.hooks.append(analysis_hook)
        ingestor.after_batch.append(stories.save)
    except BaseException:
        await store.close()
        raise
    return Services(settings=settings, store=store, ingestor=ingestor, stories=stories)
