"""Stored article analyses: written at ingest, read by digests.

:func:`analysis_hook` analyses each new original inside its ingest transaction, and each copy
whose text differs from its original's (exact copies share their original's analysis).
:func:`known_texts` and :func:`load_analyses` read them back for a digest; an article whose
row is missing, of another :data:`ANALYSIS_VERSION` or unreadable is analysed again from its
text and the row rewritten, so upgrading newsbot never loses a digest.
"""

from __future__ import annotations

import gc
import logging
import pickle
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

from bot.analysis import ArticleText
from bot.analysis.analyzed import (
    ANALYSIS_VERSION,
    AnalyzedArticle,
    KnownText,
    analyze,
    dump_detail,
    load_detail,
)
from bot.models import Article
from bot.storage import Store
from bot.storage.analyses import read_analyses, read_known
from bot.storage.store import from_iso, to_iso
from bot.storage.txn import StoredAnalysis, WriteTxn

log = logging.getLogger(__name__)


def article_text(a: Article) -> ArticleText:
    """The analysis input of a stored article (its time as stored: whole seconds)."""
    assert a.id is not None
    return ArticleText(
        id=a.id, title=a.title, text=a.text, outlet=a.outlet,
        published=from_iso(to_iso(a.published_at)), dated=a.dated,
    )  # fmt: skip


def _stored(a: AnalyzedArticle) -> StoredAnalysis:
    return StoredAnalysis(a.id, ANALYSIS_VERSION, *a.known.to_bytes(), dump_detail(a))


def _analyze(article: Article) -> AnalyzedArticle | None:
    """The article's analysis, or ``None`` (logged in one line) if the analysis failed: it is
    derived data, so a failure never costs the article itself."""
    try:
        return analyze(article_text(article))
    except Exception as exc:
        log.warning("article %s: analysis failed (%s: %s); it is left out of digests",
                    article.ext_id, type(exc).__name__, exc)  # fmt: skip
        return None


async def analysis_hook(txn: WriteTxn, article: Article) -> None:
    """Ingest hook: store the analysis of a new original, or of a copy whose text differs
    from its original's (an edited copy can change a fact); exact copies are not analysed."""
    if article.id is None:
        return
    if article.duplicate_of is not None:
        original_hash = await txn.content_hash(article.duplicate_of)
        if original_hash is None or original_hash == article.content_hash:
            return
    analysis = _analyze(article)
    if analysis is not None:
        await txn.save_analyses([_stored(analysis)])


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while many acyclic objects are built (unpickling a batch
    of analyses, composing a story): the collector would otherwise rescan the whole heap
    several times over. Reference counting still frees everything; collection resumes
    afterwards. Only around synchronous code: never across an ``await``."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


async def _recompute(store: Store, articles: Sequence[Article]) -> dict[int, AnalyzedArticle]:
    done = {a.id: x for a in articles if a.id is not None and (x := _analyze(a)) is not None}
    if done and store.writable:  # a read-only store (a preview) analyses in memory only
        log.info("analysing %d article(s) with no current stored analysis", len(done))
        async with store.write() as txn:
            await txn.save_analyses([_stored(a) for a in done.values()])
    return {k: v for k, v in done.items() if k is not None}


async def known_texts(
    store: Store,
    articles: Sequence[Article],
    loaded: Mapping[int, AnalyzedArticle] | None = None,
) -> dict[int, KnownText]:
    """Term ids and vocabulary of each article (novelty's background), by article id in
    ascending order; those of ``loaded`` analyses are not read again."""
    loaded = loaded or {}
    ids = [a.id for a in articles if a.id is not None]
    found = {k: loaded[k].known for k in ids if k in loaded}
    rows = await read_known(store, [k for k in ids if k not in found], ANALYSIS_VERSION)
    found.update(
        (k, KnownText.from_bytes(row.term_ids, row.term_lens, row.vocab)) for k, row in rows.items()
    )
    found = {k: found[k] for k in sorted(found)}
    missing = [a for a in articles if a.id is not None and a.id not in found]
    found.update({k: v.known for k, v in (await _recompute(store, missing)).items()})
    return found


async def load_analyses(store: Store, articles: Sequence[Article]) -> dict[int, AnalyzedArticle]:
    """The full analysis of each article, by article id."""
    ids = [a.id for a in articles if a.id is not None]
    rows = await read_analyses(store, ids, ANALYSIS_VERSION)
    found: dict[int, AnalyzedArticle] = {}
    with gc_paused():
        for article_id, row in rows.items():
            try:
                known = KnownText.from_bytes(row.term_ids, row.term_lens, row.vocab)
                found[article_id] = load_detail(article_id, row.detail, known)
            except (pickle.UnpicklingError, ValueError, TypeError, EOFError) as exc:
                log.warning("article %d: stored analysis unreadable (%s); analysing again",
                            article_id, exc)  # fmt: skip
    missing = [a for a in articles if a.id is not None and a.id not in found]
    found.update(await _recompute(store, missing))
    return found


__all__ = ["analysis_hook", "article_text", "gc_paused", "known_texts", "load_analyses"]
