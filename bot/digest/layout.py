"""What a compact digest shows of each story, the same on every platform.

Every renderer (text, Discord, Slack) lays a story out from one :class:`StoryLayout`: its
title (linked to its newest article with a URL the platform accepts), its bullets (the
summary of a new story, or what is new in a known one, each with its outlet), its conflicts,
its sources newest first (at most :data:`SOURCES_SHOWN`: "Sources (5 of 61)"), and the
command that shows the full story ("+56 more sources · full story: /news story s-4f2a").
Only the formatting differs per platform.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.digest.model import ArticleRef, ConflictRef, StatementRef, StoryDigest

SOURCES_SHOWN = 5  # newest articles listed under a story; the others are counted
OUTLETS_SHOWN = 3  # outlets named in a story's outlet line; the others are counted
CHAT_STORY = "/news story"  # the chat command that shows a story in full


@dataclass(frozen=True, slots=True)
class StoryLayout:
    story: StoryDigest
    newest: list[ArticleRef]  # every article, newest first (the title links to the first
    # whose URL the platform accepts)
    bullets: list[StatementRef]  # the summary, or what's new
    conflicts: list[ConflictRef]

    @property
    def sources(self) -> list[ArticleRef]:
        """The articles listed, newest first."""
        return self.newest[:SOURCES_SHOWN]

    @property
    def sources_total(self) -> int:
        return len(self.newest)

    @property
    def id(self) -> str:
        return self.story.id

    @property
    def label(self) -> str:
        return "Update" if self.story.known else "New"

    @property
    def more_sources(self) -> int:
        return self.sources_total - len(self.sources)

    def sources_heading(self) -> str:
        """``Sources (5 of 61)``, or ``Sources (3)`` when every one is listed."""
        if self.more_sources:
            return f"Sources ({len(self.sources)} of {self.sources_total})"
        return f"Sources ({self.sources_total})"

    def outlets_line(self) -> str:
        """The outlets that ran the new articles: ``AP, NYT, Xinhua +4 more outlets``."""
        outlets = self.story.outlets
        shown = ", ".join(outlets[:OUTLETS_SHOWN])
        rest = len(outlets) - OUTLETS_SHOWN
        return f"{shown} +{rest} more outlets" if rest > 0 else shown

    def about(self) -> str:
        """The outlets line, and the topic terms the story matched: ``AP, NYT · matched: x``."""
        parts = [self.outlets_line()]
        if self.story.matched_terms:
            parts.append(f"matched: {', '.join(self.story.matched_terms)}")
        return " · ".join(p for p in parts if p)

    def full_story(self, command: str) -> str:
        """The last line of a story: what was left out of its sources and the command that
        shows all of it, e.g. ``+56 more sources · full story: /news story s-4f2a``
        (``command`` is ``/news story`` in chat, ``newsbot story`` locally)."""
        hint = f"full story: {command} {self.story.id}"
        if self.more_sources:
            noun = "source" if self.more_sources == 1 else "sources"
            return f"+{self.more_sources} more {noun} · {hint}"
        return hint[0].upper() + hint[1:]


def story_layout(story: StoryDigest) -> StoryLayout:
    """The compact layout of one story (sources newest first; ties keep the digest's order)."""
    return StoryLayout(
        story=story,
        newest=sorted(story.articles, key=lambda a: a.published, reverse=True),
        bullets=[*story.summary, *story.new],  # a story has one or the other
        conflicts=story.conflicts,
    )


__all__ = ["CHAT_STORY", "OUTLETS_SHOWN", "SOURCES_SHOWN", "StoryLayout", "story_layout"]
