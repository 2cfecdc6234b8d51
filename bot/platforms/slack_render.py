"""Digest -> Slack Block Kit messages, within Slack's limits.

Limits: 50 blocks per message, 3,000 characters per section text, 150 per header. Untrusted
text is escaped (``&``, ``<``, ``>``), so ``<!channel>``, ``<@U…>`` and link markup cannot be
injected; links are only http(s) and show their real host.
"""

from __future__ import annotations

from typing import Any

from bot.digest.model import Digest, StatementRef, StoryDigest
from bot.platforms.safety import clip, host_of, safe_url

BLOCKS_MAX = 50
TEXT_MAX = 3000
HEADER_MAX = 150
CONTEXT_ELEMENTS_MAX = 10


def escape(text: str) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # Break mrkdwn formatting characters so feed text cannot restyle the message.
    for ch in "*_~`":
        text = text.replace(ch, ch + "\u200b")
    return text


def _bullet(s: StatementRef) -> str:
    claim = f" (claim by {escape(s.claim_by)})" if s.claim_by else ""
    return f"• {escape(s.text)}{claim} — _{escape(s.source)}_"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, TEXT_MAX)}}


def story_blocks(story: StoryDigest) -> list[dict[str, Any]]:
    label = "Update" if story.known else "New story"
    blocks: list[dict[str, Any]] = [
        _section(f"*{label}: {escape(story.title)}*  `{escape(story.id)}`"),
    ]
    if story.summary:
        blocks.append(_section("\n".join(_bullet(s) for s in story.summary)))
    if story.new:
        blocks.append(_section("*What's new*\n" + "\n".join(_bullet(s) for s in story.new)))
    for c in story.conflicts:
        rows = [f":warning: *{escape(c.kind)}*: {escape(c.fact)}"]
        for s in c.statements:
            rows.append(f">{_bullet(s)}, {s.published:%d %b %H:%M} UTC")
        blocks.append(_section("\n".join(rows)))
    links: list[dict[str, Any]] = []
    for a in story.articles[:CONTEXT_ELEMENTS_MAX]:
        url = safe_url(a.url)
        text = (
            f"{escape(a.source)}: <{url}|{escape(clip(a.title, 200))}> ({host_of(url)})"
            if url
            else f"{escape(a.source)}: {escape(clip(a.title, 200))}"
        )
        links.append({"type": "mrkdwn", "text": clip(text, TEXT_MAX)})
    if links:
        blocks.append({"type": "context", "elements": links})
    blocks.append({"type": "divider"})
    return blocks


def render_slack(digest: Digest) -> list[dict[str, Any]]:
    """Messages ``{"text", "blocks"}``; each has at most 50 blocks."""
    head = f"newsbot digest · {digest.generated_at:%d %b %Y %H:%M} UTC"
    if digest.topic:
        head += f" · {digest.topic}"
    header = {"type": "header", "text": {"type": "plain_text", "text": clip(head, HEADER_MAX)}}
    if digest.empty:
        return [{"text": head, "blocks": [header, _section("Nothing new since the last digest.")]}]
    messages: list[dict[str, Any]] = []
    current: list[dict[str, Any]] = [header]
    for story in digest.stories:
        blocks = story_blocks(story)[:BLOCKS_MAX]
        if len(current) + len(blocks) > BLOCKS_MAX:
            messages.append({"text": clip(head, TEXT_MAX), "blocks": current})
            current = []
        current.extend(blocks)
    if current:
        messages.append({"text": clip(head, TEXT_MAX), "blocks": current})
    return messages
