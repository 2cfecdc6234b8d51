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


def digest_heading(digest: Digest) -> tuple[str, str | None]:
    """A digest's title and the topic a renderer adds after its time (``None``: none, or the
    title names it). A channel's first digest is a catch-up and says so: "Catching up: the
    latest on west nile"; a page of More stories is not."""
    if digest.catch_up and not digest.page:
        about = f"the latest on {digest.topic}" if digest.topic else "the latest news"
        return f"Catching up: {about}", None
    return "newsbot digest", digest.topic


def empty_note(digest: Digest) -> str:
    """What an empty digest says."""
    if digest.catch_up:
        return "Nothing to catch up on yet."
    return "Nothing new since the last digest."


__all__ = ["digest_heading", "empty_note", "more_conflicts_note", "more_stories_note"]
