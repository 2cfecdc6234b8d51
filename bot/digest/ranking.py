"""Which stories a digest shows when more of them carry news than ``max_stories``.

The rule (README, "How a digest chooses what to show"), most important first:

1. a story with a contradiction or revision the channel has not been shown;
2. an update to a story the channel follows (a story subscription) or was told about before;
3. a new story.

Within each group, stories covered by more distinct outlets in their new articles come first,
then the most recent (newest new article), then the oldest story id (stable order). The
stories left out are not marked delivered: they stay pending and compete again next digest.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

CONFLICT, FOLLOWED, NEW = 0, 1, 2  # the groups, in the order they are shown


@dataclass(frozen=True, slots=True)
class Candidate:
    """What ranking knows of a story with news for this channel."""

    story_id: int
    conflicts: int  # contradictions and revisions not shown to the channel before
    follows: bool  # the channel follows the story or was told about it before
    outlets: int  # distinct outlets among the story's new articles
    latest: datetime  # when the newest of its new articles was published

    @property
    def group(self) -> int:
        if self.conflicts:
            return CONFLICT
        return FOLLOWED if self.follows else NEW


def rank_key(c: Candidate) -> tuple[int, int, float, int]:
    return (c.group, -c.outlets, -c.latest.timestamp(), c.story_id)


def rank(candidates: Iterable[Candidate]) -> list[Candidate]:
    """Candidates in the order a digest shows them."""
    return sorted(candidates, key=rank_key)


def choose(candidates: Iterable[Candidate], limit: int) -> tuple[list[Candidate], list[Candidate]]:
    """(the ``limit`` stories to show, in order; the stories left out, in order)."""
    ordered = rank(candidates)
    return ordered[:limit], ordered[limit:]
