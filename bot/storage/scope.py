"""Which articles a workspace sees: the one SQL condition every reader applies.

A feed added in chat belongs to the workspace that added it (``sources.workspace`` =
``platform:id``) and feeds that workspace only, unless the operator shares it
(``[sources] shared`` in the config, stored as ``sources.shared``). The operator's own sources
(workspace ``''``: the seed corpus, ``[[feeds]]``, ``newsbot ingest``) are shared by all.

An article is visible to a workspace when any source it arrived through is visible to it
(``article_sources``: the same URL added in two workspaces, or a copy of it from another feed,
adds a row, so deduplication never hides an article from one owner). An original's rows include
the sources of its copies, so one condition serves originals and copies alike. The operator
(the CLI, the console) sees everything: :data:`EVERYTHING`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import aiosqlite

if TYPE_CHECKING:
    from bot.storage.store import Store

OPERATOR = ""  # sources.workspace of the operator's own sources
ALL_SHARED = "*"
REMOVED = "removed:"  # sources.workspace prefix of a removed source that stored articles


@dataclass(frozen=True, slots=True)
class Scope:
    """What one reader may see: a workspace key (``platform:id``), or ``None`` for everything."""

    workspace: str | None = None

    @classmethod
    def of(cls, platform: str, workspace: str) -> Scope:
        """The scope of a chat workspace; the console is the operator's, so it sees everything."""
        if platform == "console":
            return EVERYTHING
        return cls(f"{platform}:{workspace}")

    @property
    def everything(self) -> bool:
        return self.workspace is None

    def sources(self, alias: str = "s") -> tuple[str, tuple[Any, ...]]:
        """SQL condition (and its parameters): the ``sources`` row ``alias`` feeds this scope."""
        _check(alias)
        if self.workspace is None:
            return "TRUE", ()
        return (
            f"({alias}.workspace = '' OR {alias}.shared = 1 OR {alias}.workspace = ?)",
            (self.workspace,),
        )

    def articles(self, alias: str = "a", column: str = "id") -> tuple[str, tuple[Any, ...]]:
        """SQL condition (and its parameters): the article whose id is ``alias.column`` (an
        ``articles`` row, or ``articles_fts.rowid``) is visible.

        It reads only ``article_sources`` (never the article's row, which holds its text): one
        range of its primary key per article, against the visible sources listed once per
        statement. An article without any source row (stored without a source: synthetic data,
        old imports) is the operator's, so everyone's.
        """
        _check(alias)
        _check(column)
        if self.workspace is None:
            return "TRUE", ()
        cond, params = self.sources("vs")
        return (
            "coalesce((SELECT max(va.source_id IN "
            f"(SELECT vs.id FROM sources vs WHERE {cond})) FROM article_sources va "
            f"WHERE va.article_id = {alias}.{column}), TRUE)",
            params,
        )


EVERYTHING = Scope()


def _check(alias: str) -> None:
    if not alias.isidentifier():
        raise ValueError(f"not an SQL alias: {alias!r}")


async def record_arrival(
    conn: aiosqlite.Connection, *, article_id: int, source_id: int, original_id: int | None
) -> None:
    """Inside the caller's transaction: ``article_id`` (and its original) came via ``source_id``."""
    await conn.executemany(
        "INSERT OR IGNORE INTO article_sources (article_id, source_id) VALUES (?, ?)",
        [(i, source_id) for i in (article_id, original_id) if i is not None],
    )


def _shared_sql(shared: Sequence[str] | Literal["*"]) -> tuple[str, tuple[Any, ...]]:
    """SQL expression (1/0) for whether a chat-added ``sources`` row is shared by the config."""
    if shared == ALL_SHARED:
        return "TRUE", ()
    names = sorted(set(shared))
    if not names:
        return "FALSE", ()
    marks = ",".join("?" * len(names))
    return f"(locator IN ({marks}) OR coalesce(name, '') IN ({marks}))", (*names, *names)


async def sync_shared(store: Store, shared: Sequence[str] | Literal["*"]) -> int:
    """Set ``sources.shared`` from the config: every chat-added feed (``"*"``), or those whose
    URL or name is listed; the rest unshared. Writes only when something changes; returns how
    many rows changed."""
    want, params = _shared_sql(shared)
    stale = (
        f"workspace <> '' AND workspace NOT LIKE '{REMOVED}%' "
        f"AND shared <> (CASE WHEN {want} THEN 1 ELSE 0 END)"
    )
    if not await store.scalar(f"SELECT count(*) FROM sources WHERE {stale}", params):
        return 0
    async with store.transaction() as conn:
        cur = await conn.execute(f"UPDATE sources SET shared = 1 - shared WHERE {stale}", params)
        return cur.rowcount
