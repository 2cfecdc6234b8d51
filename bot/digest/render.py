"""Plain-text/markdown rendering of a Digest for the console channel and the CLI."""

from __future__ import annotations

import textwrap
from datetime import datetime

from bot.digest.model import Digest, StoryDigest
from bot.digest.notes import more_conflicts_note
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


def render_story(story: StoryDigest, now: datetime) -> list[str]:
    label = "UPDATE" if story.known else "NEW"
    lines = [f"■ [{label}] {story.title}  ({story.id})"]
    outlets = ", ".join(story.outlets)
    lines.append(f"  {len(story.articles)} new article(s) · {outlets}")
    if story.matched_terms:
        lines.append(f"  matched: {', '.join(story.matched_terms)}")
    if story.summary:
        lines.append("  Summary:")
        for s in story.summary:
            lines.extend(_bullet(s.text, s.source, "    "))
    if story.new:
        lines.append("  What's new:")
        for s in story.new:
            lines.extend(_bullet(s.text, s.source, "    "))
    if story.conflicts:
        lines.append("  Conflicts:")
        for c in story.conflicts:
            lines.append(f"    ⚠ {c.kind}: {c.fact}")
            for s in c.statements:
                claim = f" (claim by {s.claim_by})" if s.claim_by else ""
                when = statement_time(s, now)
                lines.extend(_bullet(f"“{s.text}”{claim}", f"{s.source}, {when}", "      "))
    if note := more_conflicts_note(story):
        lines.append(f"    {note}")
    lines.append("  Sources:")
    for a in story.articles:
        link = f" <{a.url}>" if a.url else ""
        lines.extend(
            textwrap.wrap(
                f"{a.source}: {a.title}{link}",
                WIDTH,
                initial_indent="    - ",
                subsequent_indent="      ",
            )
        )
    return lines


def render_digest(digest: Digest) -> str:
    head = f"newsbot digest for {digest.channel} · {digest.generated_at:%d %b %Y %H:%M} UTC"
    if digest.topic:
        head += f" · topic: {digest.topic}"
    if digest.empty:
        return head + "\nNothing new since the last digest."
    lines = [head, ""]
    for story in digest.stories:
        lines.extend(render_story(story, digest.generated_at))
        lines.append("")
    if digest.more_stories:
        lines.append(more_stories_line(digest))
    return "\n".join(lines).rstrip()
