"""The SQL of stored article analyses (table ``article_analysis``).

One row per analysed article: its analysis version, the known-text arrays (term ids per
statement, their lengths, the word vocabulary) and the detail blob. This module moves bytes;
what they mean (encoding, decoding, recomputing stale rows) is :mod:`bot.digest.analyses`'s.
A second backend implements the same functions over the same typed rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import aiosqlite

from bot.storage.store import Store

CHUNK = 500  # ids per ``IN (...)`` list (SQLite's default host-parameter limit is far above)


@dataclass(frozen=True, slots=True)
class KnownRow:
    """The known-text part of a stored analysis (what novelty's background needs)."""

    article_id: int
    term_ids: bytes
    term_lens: bytes
    vocab: bytes


@dataclass(frozen=True, slots=True)
class AnalysisRow:
    """A whole stored analysis: the known-text arrays and the detail blob."""

    article_id: int
    version: int
    term_ids: bytes
    term_lens: bytes
    vocab: bytes
    detail: bytes


_UPSERT = (
    "INSERT OR REPLACE INTO article_analysis (article_id, version, term_ids, term_lens, vocab, "
    "detail) VALUES (?, ?, ?, ?, ?, ?)"
)


def _params(row: AnalysisRow) -> tuple[object, ...]:
    return (row.article_id, row.version, row.term_ids, row.term_lens, row.vocab, row.detail)


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i : i + CHUNK]


async def read_known(store: Store, article_ids: Sequence[int], version: int) -> dict[int, KnownRow]:
    """The known-text part of the stored analyses of ``version`` among ``article_ids``."""
    out: dict[int, KnownRow] = {}
    for chunk in _chunks(article_ids):
        marks = ",".join("?" * len(chunk))
        for row in await store.fetchall(
            "SELECT article_id, term_ids, term_lens, vocab FROM article_analysis "
            f"WHERE version = ? AND article_id IN ({marks})",
            (version, *chunk),
        ):
            out[int(row[0])] = KnownRow(int(row[0]), row[1], row[2], row[3])
    return out


async def read_analyses(
    store: Store, article_ids: Sequence[int], version: int
) -> dict[int, AnalysisRow]:
    """The whole stored analyses of ``version`` among ``article_ids``."""
    out: dict[int, AnalysisRow] = {}
    for chunk in _chunks(article_ids):
        marks = ",".join("?" * len(chunk))
        for row in await store.fetchall(
            "SELECT article_id, term_ids, term_lens, vocab, detail FROM article_analysis "
            f"WHERE version = ? AND article_id IN ({marks})",
            (version, *chunk),
        ):
            out[int(row[0])] = AnalysisRow(int(row[0]), version, row[1], row[2], row[3], row[4])
    return out


async def write_analyses(store: Store, rows: Sequence[AnalysisRow]) -> None:
    """Store (or replace) ``rows`` in one write transaction."""
    if rows:
        async with store.transaction() as conn:
            await conn.executemany(_UPSERT, [_params(r) for r in rows])


async def put_analysis(conn: aiosqlite.Connection, row: AnalysisRow) -> None:
    """Store (or replace) one analysis inside the caller's transaction (the ingest hook)."""
    await conn.execute(_UPSERT, _params(row))


async def content_hash(conn: aiosqlite.Connection, article_id: int) -> str | None:
    """The content hash of a stored article, read inside the caller's transaction."""
    async with conn.execute("SELECT content_hash FROM articles WHERE id = ?", (article_id,)) as cur:
        row = await cur.fetchone()
    return None if row is None else row[0]


__all__ = [
    "AnalysisRow",
    "KnownRow",
    "content_hash",
    "put_analysis",
    "read_analyses",
    "read_known",
    "write_analyses",
]
