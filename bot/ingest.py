"""One ingest path for every source: read -> normalize -> deduplicate -> store (+ hooks).

Each article is stored in its own write transaction together with whatever the registered
hooks write for it (story assignment, analysis), so a crash leaves no half article. A bad
item becomes one warning and the batch goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

import aiosqlite

from bot.dedup import NearDuplicateIndex
from bot.models import Article, IngestReport, IngestWarning, RawArticle, utcnow
from bot.normalize import normalize
from bot.settings import Settings
from bot.sources import Progress, SourceContext, detect_kind, is_url, reader_for
from bot.storage import Store

log = logging.getLogger(__name__)

Status = Literal["stored", "duplicate", "unchanged", "rejected"]
ArticleHook = Callable[[aiosqlite.Connection, Article], Awaitable[None]]
"""Called inside the article's write transaction after the article row exists."""


@dataclass(slots=True)
class Outcome:
    status: Status
    article: Article | None = None
    how: str | None = None  # guid | url | content | near
    reason: str | None = None


def source_locator(locator: str) -> str:
    return locator if is_url(locator) else str(Path(locator).resolve())


class Ingestor:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.near = NearDuplicateIndex(settings.dedup)
        self.hooks: list[ArticleHook] = []
        self.after_batch: list[Callable[[], Awaitable[None]]] = []
        self._loaded = False

    async def load(self) -> None:
        """Rebuild the in-memory near-duplicate index from stored signatures (once)."""
        if self._loaded:
            return
        for article_id, blob in await self.store.iter_minhashes():
            self.near.add(article_id, self.near.from_bytes(blob))
        self._loaded = True

    # ------------------------------------------------------------------ items
    async def ingest_item(self, raw: RawArticle, *, locator: str) -> Outcome:
        """Normalize, deduplicate and store one article in one transaction."""
        await self.load()
        now = self.clock()
        article = normalize(raw, locator=locator, settings=self.settings, now=now)
        if article is None:
            return Outcome("rejected", reason="no title or text left after cleaning")
        if known := await self.store.article_by_ext_id(article.ext_id):
            # The same item through another source (one URL added in two workspaces): its
            # owner sees it too (bot.storage.scope).
            await self.store.link_source(known, article.source_id)
            return Outcome("unchanged", article)
        how: str | None = None
        original: Article | None = None
        match = await self.store.find_exact(
            source_id=article.source_id,
            guid=article.guid,
            canonical_url=article.canonical_url,
            content_hash=article.content_hash,
        )
        if match:
            how, original = match
            same_item = raw.ext_id is None and original.source_id == article.source_id
            if same_item:
                return Outcome("unchanged", original, how=how)
        sig = None
        if original is None:
            sig = self.near.signature(article.text)
            near = self.near.find(sig) if sig is not None else None
            if near is not None:
                original = await self.store.article(near.article_id)
                how = "near"
        if original is not None:
            article.duplicate_of = original.duplicate_of or original.id
            article.story_id = original.story_id
        async with self.store.transaction() as conn:
            await self.store.insert_article(
                conn, article, self.near.to_bytes(sig) if sig is not None else None
            )
            if article.duplicate_of is not None and article.story_id is not None:
                # A copy joins its original's story (insert_article does not store story_id).
                await conn.execute(
                    "UPDATE articles SET story_id = ? WHERE id = ?", (article.story_id, article.id)
                )
            for hook in self.hooks:
                await hook(conn, article)
        if article.duplicate_of is None and sig is not None and article.id is not None:
            self.near.add(article.id, sig)
        return Outcome("duplicate" if article.duplicate_of else "stored", article, how=how)

    # ---------------------------------------------------------------- sources
    async def ingest(
        self,
        locator: str,
        *,
        progress: Progress | None = None,
        kind: str | None = None,
        name: str | None = None,
        interval_s: float | None = None,
    ) -> IngestReport:
        """Ingest everything one path or URL yields; never raises for bad input."""
        report = IngestReport()
        if not is_url(locator) and not Path(locator).exists():
            report.warnings.append(IngestWarning(locator, "no such file or folder"))
            return report
        kind = kind or detect_kind(locator)
        loc = source_locator(locator)
        async with self.store.transaction() as conn:
            source_id = await self.store.upsert_source(
                conn, kind=kind, locator=loc, name=name, interval_s=interval_s, now=self.clock()
            )
        state = await self.store.source_state(source_id) or {}
        ctx = SourceContext(
            settings=self.settings,
            progress=progress,
            fetch_state={"etag": state.get("etag"), "last_modified": state.get("last_modified")},
        )
        async for item in reader_for(kind)(locator, ctx):
            if isinstance(item, IngestWarning):
                log.warning("%s", item)
                report.warnings.append(item)
                continue
            report.seen += 1
            item.source_id = source_id
            try:
                outcome = await self.ingest_item(item, locator=loc)
            except Exception as exc:  # one bad article never stops the batch
                log.exception("failed to ingest %s", item.origin)
                report.warnings.append(IngestWarning(item.origin, f"not stored: {exc}"))
                continue
            if outcome.status == "stored":
                report.stored += 1
            elif outcome.status == "duplicate":
                report.duplicates += 1
            elif outcome.status == "unchanged":
                report.unchanged += 1
            else:
                report.warnings.append(IngestWarning(item.origin, outcome.reason or "rejected"))
        if report.stored:
            for after in self.after_batch:
                await after()
        if is_url(locator):
            error = ctx.fetch_state.get("error")
            await self.store.record_fetch(
                source_id,
                now=self.clock(),
                ok=error is None,
                error=error,
                etag=ctx.fetch_state.get("etag"),
                last_modified=ctx.fetch_state.get("last_modified"),
            )
        return report

    async def ingest_many(
        self, locators: list[str], *, progress: Progress | None = None
    ) -> IngestReport:
        total = IngestReport()
        for locator in locators:
            total.merge(await self.ingest(locator, progress=progress))
        return total
