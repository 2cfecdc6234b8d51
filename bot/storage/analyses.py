"""The SQL of stored article analyses (table ``article_analysis``): the reads.

Rows are written by the ingest transaction (:meth:`bot.storage.txn.WriteTxn.save_analyses`,
also used to rewrite stale rows). One row per analysed article: its analysis version, the
known-text arrays (term ids per statement, their lengths, the word vocabulary) and the detail
blob. This module moves bytes; what they mean (encoding, decoding, recomputing stale rows) is
:mod:`bot.digest.stored`'s. A second backend implements the same functions over the same
typed rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.storage.store import Store
from bot.storage.txn import StoredAnalysis

CHUNK = 500  # ids per ``IN (...)`` list (SQLite's default host-parameter limit is far above)


@dataclass(frozen=True, slots=True)
class KnownRow:
    """The known-text part of a stored analysis (what novelty's background needs)."""

    article_id: int
    term_ids: bytes
    term_lens: bytes
    vocab: bytes


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
) -> dict[int, StoredAnalysis]:
    """The whole stored analyses of ``version`` among ``article_ids``."""
    out: dict[int, StoredAnalysis] = {}
    for chunk in _chunks(article_ids):
        marks = ",".join("?" * len(chunk))
        for row in await store.fetchall(
            "SELECT article_id, term_ids, term_lens, vocab, detail FROM article_analysis "
            f"WHERE version = ? AND article_id IN ({marks})",
            (version, *chunk),
        ):
            out[int(row[0])] = StoredAnalysis(int(row[0]), version, row[1], row[2], row[3], row[4])
    return out


__all__ = ["KnownRow", "StoredAnalysis", "read_analyses", "read_known"]
