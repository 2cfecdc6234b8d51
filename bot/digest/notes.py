"""Lines every renderer (text, Discord, Slack) adds to a story: what it left out and where."""

from __future__ import annotations

from bot.digest.model import Digest, StoryDigest


def more_conflicts_note(story: StoryDigest) -> str | None:
    """The line every renderer adds under a story's conflicts when some were not shown."""
    if story.more_conflicts <= 0:
        return None
    noun = "conflict" if story.more_conflicts == 1 else "conflicts"
    return f"+{story.more_conflicts} more {noun} — /news conflicts {story.id}"


def more_stories_note(digest: Digest) -> str:
    """The chat line under a digest that left stories out (its "More stories" button shows
    them, privately)."""
    return f"+{digest.more_stories} more stories — More stories shows them (only to you)"


__all__ = ["more_conflicts_note", "more_stories_note"]
