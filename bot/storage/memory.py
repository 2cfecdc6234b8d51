"""The SQL of what each channel was given (its memory, ``delivered_items``), as digests read it.

A channel is named by its key ``platform:workspace:channel``. The rows are written with the
delivery that shows them (:mod:`bot.storage.deliveries`); this module only reads them, and the
channel's story subscriptions (the stories it follows).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.models import Article
from bot.storage.scope import EVERYTHING, Scope
from bot.storage.store import _A_COLS, Store, _article_from_row

CHUNK = 500  # ids per ``IN (...)`` list


async def delivered_statements(store: Store, key: str, story_id: int) -> list[str]:
    """The statements of a story the channel was given, in the order it was given them."""
    rows = await store.fetchall(
        "SELECT statement FROM delivered_items WHERE channel_key = ? AND story_id = ? "
        "AND statement IS NOT NULL ORDER BY rowid",
        (key, story_id),
    )
    return [r[0] for r in rows]


async def recent_statements(store: Store, key: str, limit: int) -> list[str]:
    """The ``limit`` statements most recently delivered to the channel, in any story."""
    rows = await store.fetchall(
        "SELECT statement FROM delivered_items WHERE channel_key = ? AND statement IS NOT NULL "
        "ORDER BY rowid DESC LIMIT ?",
        (key, limit),
    )
    return [r[0] for r in rows]


async def known_stories(store: Store, key: str, among: Sequence[int] | None = None) -> set[int]:
    """The stories the channel was told about (of ``among``, when given)."""
    if among is None:
        rows = await store.fetchall(
            "SELECT DISTINCT story_id FROM delivered_items WHERE channel_key = ?", (key,)
        )
        return {int(r[0]) for r in rows}
    found: set[int] = set()
    for start in range(0, len(among), CHUNK):
        chunk = among[start : start + CHUNK]
        marks = ",".join("?" * len(chunk))
        rows = await store.fetchall(
            "SELECT DISTINCT story_id FROM delivered_items WHERE channel_key = ? "
            f"AND story_id IN ({marks})",
            (key, *chunk),
        )
        found.update(int(r[0]) for r in rows)
    return found


async def followed_stories(store: Store, key: str) -> set[int]:
    """The stories the channel follows through an enabled story subscription."""
    platform, _, rest = key.partition(":")
    workspace, _, channel = rest.partition(":")
    rows = await store.fetchall(
        "SELECT story_id FROM subscriptions WHERE platform = ? AND workspace = ? AND channel = ? "
        "AND enabled = 1 AND story_id IS NOT NULL",
        (platform, workspace, channel),
    )
    return {int(r[0]) for r in rows}


async def stories_with_unseen(
    store: Store, key: str, story_ids: Sequence[int], scope: Scope = EVERYTHING
) -> dict[int, bool]:
    """Which of ``story_ids`` hold an article the channel was not given that is not backfill
    and that ``scope`` sees (the only stories that can have news for it), each with whether
    one such article is an original (then the story has news for sure; a new copy is news
    only if it was edited)."""
    visible, params = scope.articles("a")
    found: dict[int, bool] = {}
    for start in range(0, len(story_ids), CHUNK):
        chunk = story_ids[start : start + CHUNK]
        marks = ",".join("?" * len(chunk))
        rows = await store.fetchall(
            "SELECT a.story_id, max(a.duplicate_of IS NULL) FROM articles a "
            f"WHERE a.story_id IN ({marks}) AND a.backfill = 0 AND a.id NOT IN "
            "(SELECT article_id FROM delivered_items WHERE channel_key = ? "
            f"AND article_id IS NOT NULL) AND {visible} GROUP BY a.story_id",
            (*chunk, key, *params),
        )
        found.update((int(r[0]), bool(r[1])) for r in rows)
    return found


@dataclass(slots=True)
class StoryArticles:
    """A story's articles as one channel sees them (those its scope sees).

    ``originals`` and ``copies`` oldest first; ``outlets``: every outlet that ran each original
    (the original's first); ``known``: the ids of those the channel was given, and of
    backfill (never news).
    """

    originals: list[Article]
    copies: list[Article]
    outlets: dict[int, list[str]]
    known: set[int]


async def story_articles_for(
    store: Store, story_id: int, key: str | None, scope: Scope = EVERYTHING
) -> StoryArticles:
    """:class:`StoryArticles` of a story for channel ``key`` (``None``: a channel that was
    given nothing), in one query."""
    visible, params = scope.articles("a")
    rows = await store.fetchall(
        f"SELECT {_A_COLS}, a.backfill = 1 OR a.id IN (SELECT article_id FROM delivered_items "
        "WHERE channel_key = ? AND article_id IS NOT NULL) FROM articles a "
        f"WHERE a.story_id = ? AND {visible} ORDER BY a.published_at, a.id",
        (key, story_id, *params),
    )
    found = StoryArticles([], [], {}, set())
    for row in rows:
        article = _article_from_row(row)
        (found.originals if article.duplicate_of is None else found.copies).append(article)
        if row[-1]:
            found.known.add(int(row[0]))
    outlets: dict[int, dict[str, None]] = {}
    for a in sorted(found.originals, key=lambda x: x.id or 0):
        outlets.setdefault(a.id or 0, {}).setdefault(a.outlet, None)
    for c in sorted(found.copies, key=lambda x: x.id or 0):
        outlets.setdefault(c.duplicate_of or 0, {}).setdefault(c.outlet, None)
    found.outlets = {k: list(v) for k, v in outlets.items()}
    return found


__all__ = [
    "StoryArticles",
    "delivered_statements",
    "followed_stories",
    "known_stories",
    "recent_statements",
    "stories_with_unseen",
    "story_articles_for",
]
