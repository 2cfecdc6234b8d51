"""The core services a command or a platform adapter works with, opened from Settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.digest.analyses import analysis_hook
from bot.ingest import Ingestor
from bot.logs import install_redaction
from bot.models import IngestReport, IngestWarning
from bot.settings import Secrets, Settings
from bot.storage import Store
from bot.storage.scope import sync_shared
from bot.stories.service import StoryService


@dataclass(slots=True)
class Services:
    settings: Settings
    store: Store
    ingestor: Ingestor
    stories: StoryService

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
