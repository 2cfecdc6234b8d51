"""One ingest path for every source: read -> normalize -> deduplicate -> store (+ hooks).

Each article is stored in its own write transaction together with whatever the registered
hooks write for it (story assignment, analysis), so a crash leaves no half article. A bad
item becomes one warning and the batch goes on.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from datasketch import MinHash

from bot.ingestion.dedup import NearDuplicateIndex
from bot.ingestion.normalize import normalize
from bot.models import Article, IngestReport, IngestWarning, RawArticle, utcnow
from bot.settings import Settings
from bot.sources import Item, Progress, SourceContext, detect_kind, is_url, reader_for
from bot.storage import Store
from bot.storage.sources import FetchRecord, SourceRepo
from bot.storage.txn import WriteTxn
from bot.text.sanitize import clean_unicode

log = logging.getLogger(__name__)

Status = Literal["stored", "duplicate", "unchanged", "rejected"]
ArticleHook = Callable[[WriteTxn, Article], Awaitable[None]]
"""Called inside the article's write transaction after the article row exists."""


@dataclass(slots=True)
class Outcome:
    status: Status
    article: Article | None = None
    how: str | None = None  # guid | url | content | near
    reason: str | None = None


def not_stored(item: RawArticle, exc: Exception) -> IngestWarning:
    """The one line a user sees for an article that failed; the traceback only at debug."""
    log.debug("failed to ingest %s", item.origin, exc_info=exc)
    return IngestWarning(clean_unicode(item.origin), f"not stored: {type(exc).__name__}: {exc}")


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
        # run before an article's write transaction (work that need not hold the write lock)
        self.before_write: list[Callable[[], Awaitable[object]]] = []
        self._loaded = False
        self._near_upto = 0

    async def load(self) -> None:
        """Rebuild the in-memory near-duplicate index from stored signatures (once)."""
        if self._loaded:
            return
        await self._sync_near()
        self._loaded = True

    async def _sync_near(self) -> None:
        """Add the signatures of originals stored since the last call (by any process)."""
        for article_id, blob in await self.store.iter_minhashes(after=self._near_upto):
            self.near.add(article_id, self.near.from_bytes(blob))
            self._near_upto = max(self._near_upto, int(article_id))

    # ------------------------------------------------------------------ items
    async def ingest_item(self, raw: RawArticle, *, locator: str) -> Outcome:
        """Normalize, deduplicate and store one article in one transaction.

        Cleaning and the MinHash signature are computed first; the dedup decision, the insert
        and the hooks (story, analysis) then run in one write transaction, which holds the
        database's write lock: another process storing the same article meanwhile is seen,
        and this one counts it as already known (or as a copy) instead of failing.
        """
        await self.load()
        now = self.clock()
        article = normalize(raw, locator=locator, settings=self.settings, now=now)
        if article is None:
            return Outcome("rejected", reason="no title or text left after cleaning")
        if stored_before := await self.store.article_by_ext_id(article.ext_id):
            # Cheap answer for re-ingested files. The same item through another source (one
            # URL added in two workspaces): its owner sees it too (bot.storage.scope).
            await self.store.link_source(stored_before, article.source_id)
            return Outcome("unchanged", article)
        sig = self.near.signature(article.text)
        for before in self.before_write:
            await before()
        async with self.store.write() as txn:
            await self._sync_near()
            known, how = await self._dedup(raw, article, sig)
            if known is not None:
                return known
            stored = await txn.insert_article(
                article,
                self.near.to_bytes(sig) if sig is not None and article.duplicate_of is None
                else None,
            )  # fmt: skip
            if stored is None:  # the conflict clause: stored meanwhile under this id
                return Outcome("unchanged", article)
            if article.duplicate_of is not None and article.story_id is not None:
                # A copy joins its original's story (insert_article does not store story_id).
                await txn.set_article_story(stored, article.story_id)
            for hook in self.hooks:
                await hook(txn, article)
        if article.duplicate_of is None and sig is not None and article.id is not None:
            self.near.add(article.id, sig)
            self._near_upto = max(self._near_upto, article.id)
        return Outcome("duplicate" if article.duplicate_of else "stored", article, how=how)

    async def _dedup(
        self, raw: RawArticle, article: Article, sig: MinHash | None
    ) -> tuple[Outcome | None, str | None]:
        """Inside the write transaction: an ``unchanged`` outcome when the article is known;
        else no outcome, with ``article.duplicate_of``/``story_id`` set and how it matched
        when it copies a stored original."""
        if await self.store.article_by_ext_id(article.ext_id):
            return Outcome("unchanged", article), None
        match = await self.store.find_exact(
            source_id=article.source_id,
            guid=article.guid,
            canonical_url=article.canonical_url,
            content_hash=article.content_hash,
        )
        original: Article | None = None
        how: str | None = None
        if match:
            how, original = match
            same_item = raw.ext_id is None and original.source_id == article.source_id
            if same_item:
                return Outcome("unchanged", original, how=how), how
        elif sig is not None:
            near = self.near.find(sig)
            if near is not None:
                original = await self.store.article(near.article_id)
                how = "near"
        if original is not None:
            article.duplicate_of = original.duplicate_of or original.id
            article.story_id = original.story_id
        return None, how

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
        # the stored locator is valid text (a file name may not be); the file is read by its name
        loc = clean_unicode(source_locator(locator))
        async with self.store.write() as txn:
            source_id = await txn.upsert_source(
                kind=kind, locator=loc, name=name, interval_s=interval_s, now=self.clock()
            )
        sources = SourceRepo(self.store)
        feed = await sources.feed(source_id) if is_url(locator) else None
        ctx = SourceContext(settings=self.settings, progress=progress)
        if feed is not None:
            ctx.validators = feed.validators
        report = await self.ingest_items(
            reader_for(kind)(locator, ctx), source_id=source_id, locator=loc
        )
        if ctx.fetched is not None:  # a feed URL: its row records the fetch, as the poller's
            fetched = ctx.fetched
            await sources.record(
                source_id,
                FetchRecord(
                    at=self.clock(),
                    ok=fetched.error is None,
                    error=fetched.error,
                    validators=fetched.validators,
                ),
            )
        return report

    async def ingest_items(
        self, items: AsyncIterable[Item] | Iterable[Item], *, source_id: int, locator: str
    ) -> IngestReport:
        """The one ingest loop, for a reader's items and for a polled feed's: each article
        stored in its own transaction (with its ``backfill`` flag), each warning kept in the
        report; one bad article never stops the batch. The after-batch hooks run once, when
        anything new was stored."""
        report = IngestReport()
        async for item in _each(items):
            if isinstance(item, IngestWarning):
                report.warnings.append(item)  # the caller says it, once
                continue
            report.seen += 1
            item.source_id = source_id
            try:
                outcome = await self.ingest_item(item, locator=locator)
            except Exception as exc:  # one bad article never stops the batch
                report.warnings.append(not_stored(item, exc))
                continue
            if outcome.status == "stored":
                report.stored += 1
            elif outcome.status == "duplicate":
                report.duplicates += 1
            elif outcome.status == "unchanged":
                report.unchanged += 1
            else:
                report.warnings.append(IngestWarning(item.origin, outcome.reason or "rejected"))
            if item.backfill and outcome.status in ("stored", "duplicate"):
                report.backfill += 1
        if report.stored:
            for after in self.after_batch:
                await after()
        return report

    async def ingest_many(
        self, locators: list[str], *, progress: Progress | None = None
    ) -> IngestReport:
        total = IngestReport()
        for locator in locators:
            total.merge(await self.ingest(locator, progress=progress))
        return total


async def _each(items: AsyncIterable[Item] | Iterable[Item]) -> AsyncIterator[Item]:
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item
