"""Plain-text rendering of a Digest for the console channel and the CLI, in the compact
layout every renderer shares (:mod:`bot.digest.layout`)."""

from __future__ import annotations

import textwrap
from datetime import datetime

from bot.digest.layout import story_layout
from bot.digest.model import Digest, StoryDigest
from bot.digest.notes import digest_heading, empty_note, more_conflicts_note
from bot.digest.times import statement_time

WIDTH = 100


def more_stories_line(digest: Digest) -> str:
    """What the digest left out, and the command that lists it."""
    return (
        f"+{digest.more_stories} more stories — "
        f"newsbot digest --channel {digest.channel} --all lists them"
    )


def _bullet(text: str, attribution: str, indent: str = "  ") -> list[str]:
    body = f"{text} — {attribution}"
    return textwrap.wrap(body, WIDTH, initial_indent=f"{indent}• ", subsequent_indent=f"{indent}  ")


FULL_STORY = "newsbot story"  # the command that shows a story in full, locally


def render_story(story: StoryDigest, now: datetime) -> list[str]:
    """A story in the compact layout every renderer shares (:mod:`bot.digest.layout`)."""
    layout = story_layout(story)
    lines = [f"■ [{layout.label.upper()}] {story.title}  ({story.id})"]
    if about := layout.about():
        lines.append(f"  {about}")
    for s in layout.bullets:
        lines.extend(_bullet(s.text, s.source))
    for c in layout.conflicts:
        lines.append(f"  ⚠ {c.kind}: {c.fact}")
        for s in c.statements:
            claim = f" (claim by {s.claim_by})" if s.claim_by else ""
            when = statement_time(s, now)
            lines.extend(_bullet(f"“{s.text}”{claim}", f"{s.source}, {when}", "    "))
    if note := more_conflicts_note(story):
        lines.append(f"  {note}")
    if layout.sources:
        lines.append(f"  {layout.sources_heading()}, newest first:")
    for a in layout.sources:
        link = f" <{a.url}>" if a.url else ""
        lines.extend(
            textwrap.wrap(
                f"{a.source}: {a.title}{link}",
                WIDTH,
                initial_indent="    - ",
                subsequent_indent="      ",
            )
        )
    lines.append(f"  {layout.full_story(FULL_STORY)}")
    return lines


def render_digest(digest: Digest) -> str:
    title, topic = digest_heading(digest)
    head = f"{title} for {digest.channel} · {digest.generated_at:%d %b %Y %H:%M} UTC"
    if topic:
        head += f" · topic: {topic}"
    if digest.empty:
        more = f"\n{more_stories_line(digest)}" if digest.more_stories else ""
        return head + "\n" + empty_note(digest) + more
    lines = [head, ""]
    for story in digest.stories:
        lines.extend(render_story(story, digest.generated_at))
        lines.append("")
    if digest.more_stories:
        lines.append(more_stories_line(digest))
    return "\n".join(lines).rstrip()
