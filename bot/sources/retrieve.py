"""Retrievers: a feed's bytes from where it lives, with typed caching headers.

Every feed, whether a URL (:class:`bot.sources.http.Fetcher`, behind the network policy) or a
local file (:class:`FileRetriever`), is retrieved through one interface, :class:`Retriever`:
``fetch(locator, validators)`` returns :class:`Retrieved` (the body, or ``None`` when the
server answered 304 to the :class:`Validators` sent) or raises a one-line
:class:`~bot.errors.SourceError` naming the locator. What a feed is parsed into and which
items are stored is decided after this, the same way for every retriever
(:func:`bot.sources.feedsource.fetch_feed`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bot.errors import SourceError


@dataclass(frozen=True, slots=True)
class Validators:
    """What a conditional GET sends back: the ``ETag`` and ``Last-Modified`` last received."""

    etag: str | None = None
    last_modified: str | None = None


NO_VALIDATORS = Validators()


@dataclass(frozen=True, slots=True)
class Retrieved:
    """What one retrieval got. ``body`` is ``None`` exactly when the feed was not modified.

    ``url`` is where the bytes came from (after redirects; a file's path); ``validators``
    are the ones to send next time (the server's new ones, else those sent);
    ``retry_after`` is in seconds when the server gave one.
    """

    url: str
    status: int
    body: bytes | None
    validators: Validators = NO_VALIDATORS
    content_type: str | None = None
    retry_after: float | None = None

    @property
    def not_modified(self) -> bool:
        return self.body is None


class Retriever(Protocol):
    """Where feed bytes come from (a URL fetcher, the file system)."""

    async def fetch(self, locator: str, validators: Validators | None = None) -> Retrieved: ...


class FileRetriever:
    """A local feed file's bytes (read off the event loop); files have no validators."""

    async def fetch(self, locator: str, validators: Validators | None = None) -> Retrieved:
        try:
            data = await asyncio.to_thread(Path(locator).read_bytes)
        except OSError as exc:
            raise SourceError(f"{locator}: cannot read file: {exc.strerror or exc}") from None
        return Retrieved(url=locator, status=200, body=data)


@dataclass(frozen=True, slots=True)
class FetchOutcome:
    """What a reader's fetch of a URL feed leaves for its source row: the validators to send
    next time, or the one-line error."""

    validators: Validators = NO_VALIDATORS
    error: str | None = None
