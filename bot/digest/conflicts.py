"""A story's conflicts: the one function digests and ``/news conflicts`` both use.

:func:`story_conflicts` reads a story's articles, splits them into what a channel already
has (what channel ``key`` was given, plus backfill, which is never news) and what is fresh,
in one query (:func:`bot.storage.memory.story_articles_for`), and compares

* each of the newest ``CONFLICT_FRESH`` fresh originals with the ``CONFLICT_WINDOW`` articles
  reported just before it, and
* each edited syndicated copy (its text differs from its original's) with its original.

A digest passes its channel's key; the command passes none, so it lists what
a channel that has read nothing would be told — the same window, the same comparisons.
:func:`cap` keeps the few a story shows and counts the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from bot.analysis.analyzed import AnalyzedArticle
from bot.analysis.conflicts import Conflict, conflicts_between, conflicts_in_sequence
from bot.digest.stored import gc_paused, load_analyses
from bot.models import Article
from bot.storage import Store
from bot.storage.memory import story_articles_for
from bot.storage.scope import EVERYTHING, Scope

CONFLICT_WINDOW = 12  # a fresh article is checked against the articles reported just before it
CONFLICT_FRESH = 12  # at most this many of the newest fresh articles raise conflicts

T = TypeVar("T")


@dataclass(slots=True)
class StoryConflicts:
    """A story's articles as one channel sees them, and the conflicts they raise.

    ``fresh``: originals new to the channel (time order); ``old``: originals it has, or
    backfill; ``edits``: edited copies new to it; ``outlets``: every outlet that ran each
    original; ``analyses``: the stored analyses read for the comparison, by article id.
    """

    originals: list[Article]
    outlets: dict[int, list[str]]
    fresh: list[Article]
    old: list[Article]
    edits: list[Article]
    conflicts: list[Conflict] = field(default_factory=list)
    analyses: dict[int, AnalyzedArticle] = field(default_factory=dict)


async def story_conflicts(
    store: Store, story_id: int, *, key: str | None = None, scope: Scope = EVERYTHING
) -> StoryConflicts:
    """The conflicts story ``story_id`` raises for channel ``key`` (``None``: a channel that
    was given nothing), over the articles ``scope`` sees."""
    story = await story_articles_for(store, story_id, key, scope)
    originals, outlets, known = story.originals, story.outlets, story.known
    fresh = [a for a in originals if a.id not in known]
    old = [a for a in originals if a.id in known]
    edits = [c for c in edited_copies(originals, story.copies) if c.id not in known]
    found = StoryConflicts(originals, outlets, fresh, old, edits)
    if not fresh and not edits:
        return found
    earlier, raising = conflict_articles(old, fresh)
    found.analyses = await load_analyses(
        store, [*earlier, *raising, *edits, *originals_of(edits, originals)]
    )
    with gc_paused():
        found.conflicts = _unique(
            sequence_conflicts(
                [found.analyses[a.id] for a in earlier if a.id in found.analyses],
                [found.analyses[a.id] for a in raising if a.id in found.analyses],
            )
            + copy_conflicts(edits, found.analyses)
        )
    return found


def _unique(conflicts: list[Conflict]) -> list[Conflict]:
    """One conflict per pair of statements (an edited copy repeats its original's findings)."""
    out: list[Conflict] = []
    seen: set[tuple[str, ...]] = set()
    for c in conflicts:
        key = tuple(s.text for s in c.statements)
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out


def cap(items: Sequence[T], limit: int) -> tuple[list[T], int]:
    """The first ``limit`` items and how many more there are."""
    return list(items[:limit]), max(0, len(items) - limit)


def edited_copies(originals: list[Article], copies: list[Article]) -> list[Article]:
    """The copies whose text differs from their original's (a syndicated copy that was
    edited: it may change a figure, a date, a name)."""
    hashes = {a.id: a.content_hash for a in originals}
    return [
        c for c in copies if c.duplicate_of in hashes and hashes[c.duplicate_of] != c.content_hash
    ]


def originals_of(copies: list[Article], originals: list[Article]) -> list[Article]:
    wanted = {c.duplicate_of for c in copies}
    return [a for a in originals if a.id in wanted]


def copy_conflicts(copies: list[Article], analyses: dict[int, AnalyzedArticle]) -> list[Conflict]:
    """What each edited copy changes against its original: the same statements with a
    different figure, date, weekday, actor or negation."""
    found: list[Conflict] = []
    for c in copies:
        mine, theirs = analyses.get(c.id or -1), analyses.get(c.duplicate_of or -1)
        if mine is not None and theirs is not None:
            found.extend(conflicts_between(theirs.prepared, mine.prepared))
    return found


def conflict_articles(
    old: list[Article], fresh: list[Article]
) -> tuple[list[Article], list[Article]]:
    """Which articles conflict detection reads: (the earlier ones in the window of the first
    article raising conflicts, the articles raising them: the newest ``CONFLICT_FRESH``
    fresh ones). A new story's long history is summarised, not re-litigated line by line."""
    ordered = old + fresh
    first = max(len(old), len(ordered) - CONFLICT_FRESH, 1)
    return ordered[max(0, first - CONFLICT_WINDOW) : first], ordered[first:]


def sequence_conflicts(
    earlier: list[AnalyzedArticle], raising: list[AnalyzedArticle]
) -> list[Conflict]:
    """Conflicts each article of ``raising`` (in time order, after ``earlier``) raises
    against the ``CONFLICT_WINDOW`` articles reported just before it.

    The window bounds the cost of a long story; a disagreement with something older has
    usually been restated, and flagged, in between.
    """
    return conflicts_in_sequence(
        [a.prepared for a in earlier + raising],
        first=max(len(earlier), 1),
        window=CONFLICT_WINDOW,
    )


__all__ = [
    "CONFLICT_FRESH",
    "CONFLICT_WINDOW",
    "StoryConflicts",
    "cap",
    "conflict_articles",
    "copy_conflicts",
    "edited_copies",
    "originals_of",
    "sequence_conflicts",
    "story_conflicts",
]
