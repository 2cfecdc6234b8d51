"""Digests and command replies -> Slack Block Kit messages, within Slack's limits.

Limits: 50 blocks per message, 3,000 characters per text object, 150 per header, and a
conservative 12,000 characters of text per message (Slack rejects long messages with
``msg_blocks_too_long`` below the documented sums). Untrusted text is escaped (``&``, ``<``,
``>``), so ``<!channel>``, ``<@U…>`` and link markup cannot be injected; mrkdwn text objects
are ``verbatim`` (no auto-linking of names or URLs); links are only http(s) and show their
real host (or the full URL as their label).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from bot.digest.model import Digest, StatementRef, StoryDigest
from bot.digest.notes import more_conflicts_note
from bot.digest.times import slack_time
from bot.platforms.safety import clip, host_of, safe_url
from handlers.actions import Action, digest_actions
from handlers.actions import story_actions as story_action_list
from handlers.base import Reply

BLOCKS_MAX = 50
TEXT_MAX = 3000
HEADER_MAX = 150
CONTEXT_ELEMENTS_MAX = 10
MESSAGE_CHARS_MAX = 12_000
ACTIONS_ELEMENTS_MAX = 25
BUTTON_TEXT_MAX = 75
ACTION_ID_MAX = 255

Block = dict[str, Any]
Message = dict[str, Any]

# Bidi overrides/isolates and zero-width characters: they can disguise text or mentions.
_INVISIBLE_RE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_URL_RE = re.compile(r"https?://[^\s<>\"'`|]+", re.IGNORECASE)


def escape_plain(text: str) -> str:
    """Text for ``plain_text`` objects and fallbacks: only Slack's control characters."""
    text = _INVISIBLE_RE.sub("", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape(text: str) -> str:
    """Feed or user text made inert in mrkdwn: no mentions, links or formatting survive."""
    text = _INVISIBLE_RE.sub("", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # Break mrkdwn formatting characters so feed text cannot restyle the message.
    for ch in "*_~`":
        text = text.replace(ch, ch + "\u200b")
    return text


def href(url: str) -> str:
    """A safe URL prepared for ``<href|label>``: ``|`` cannot end the URL early."""
    return url.replace("&", "&amp;").replace("|", "%7C").replace("<", "%3C").replace(">", "%3E")


def link(url: str | None, label: str) -> str:
    """``<url|label>`` for an http(s) URL, else just the escaped label."""
    safe = safe_url(url)
    if not safe:
        return escape(label)
    return f"<{href(safe)}|{escape(label)}>"


def linkify(text: str) -> str:
    """Escape a plain line, turning its http(s) URLs into links labelled with the URL itself."""
    out: list[str] = []
    pos = 0
    for m in _URL_RE.finditer(text):
        url = m.group(0).rstrip(".,;:!?)]")
        end = m.start() + len(url)
        out.append(escape(text[pos : m.start()]))
        safe = safe_url(url)
        out.append(f"<{href(safe)}|{escape(safe)}>" if safe else escape(url))
        pos = end
    out.append(escape(text[pos:]))
    return "".join(out)


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": clip(text, TEXT_MAX), "verbatim": True}


def _section(text: str) -> Block:
    return {"type": "section", "text": mrkdwn(text)}


def _bullet(s: StatementRef) -> str:
    claim = f" (claim by {escape(s.claim_by)})" if s.claim_by else ""
    return f"• {escape(s.text)}{claim} — _{escape(s.source)}_"


def _sections(rows: Sequence[str], *, first: str = "") -> list[Block]:
    """Rows joined into as few sections as fit in TEXT_MAX each (a too-long row is clipped)."""
    blocks: list[Block] = []
    current = first
    for row in rows:
        row = clip(row, TEXT_MAX)
        candidate = f"{current}\n{row}" if current else row
        if len(candidate) > TEXT_MAX:
            blocks.append(_section(current))
            candidate = row
        current = candidate
    if current:
        blocks.append(_section(current))
    return blocks


def story_blocks(story: StoryDigest, now: datetime) -> list[Block]:
    label = "Update" if story.known else "New story"
    blocks: list[Block] = [
        _section(f"*{label}: {escape(story.title)}*  `{escape(story.id)}`"),
    ]
    if story.matched_terms:
        matched = escape(", ".join(story.matched_terms))
        blocks.append({"type": "context", "elements": [mrkdwn(f"matched: {matched}")]})
    if story.summary:
        blocks.extend(_sections([_bullet(s) for s in story.summary]))
    if story.new:
        blocks.extend(_sections([_bullet(s) for s in story.new], first="*What's new*"))
    for c in story.conflicts:
        rows = [f":warning: *{escape(c.kind)}*: {escape(c.fact)}"]
        for s in c.statements:
            rows.append(f">{_bullet(s)}, {slack_time(s, now)}")
        blocks.extend(_sections(rows))
    if note := more_conflicts_note(story):
        blocks.extend(_sections([escape(note)]))
    links: list[dict[str, Any]] = []
    for a in story.articles[:CONTEXT_ELEMENTS_MAX]:
        url = safe_url(a.url)
        title = clip(a.title, 200)
        text = (
            f"{escape(a.source)}: {link(url, title)} ({escape(host_of(url))})"
            if url
            else f"{escape(a.source)}: {escape(title)}"
        )
        links.append(mrkdwn(text))
    if links:
        blocks.append({"type": "context", "elements": links})
    blocks.append(story_actions(story))
    blocks.append({"type": "divider"})
    return blocks


def button(action: Action) -> dict[str, Any]:
    """A button carrying ``action`` (its action_id is parsed back when clicked)."""
    element: dict[str, Any] = {
        "type": "button",
        "text": {
            "type": "plain_text",
            "text": clip(escape_plain(action.label), BUTTON_TEXT_MAX),
            "emoji": False,
        },
        "action_id": action.custom_id[:ACTION_ID_MAX],
        "value": action.target or action.verb,
    }
    if action.spec.danger:
        element["style"] = "danger"
    return element


def actions_block(actions: Sequence[Action], block_id: str) -> Block:
    return {
        "type": "actions",
        "block_id": block_id[:255],
        "elements": [button(a) for a in actions[:ACTIONS_ELEMENTS_MAX]],
    }


def story_actions(story: StoryDigest) -> Block:
    """The buttons under a digest story: Follow story, Mute story, Show conflicts."""
    return actions_block(story_action_list(story), f"newsbot:story:{story.id}")


def _chars(block: Block) -> int:
    total = 0
    text = block.get("text")
    if isinstance(text, dict):
        total += len(str(text.get("text", "")))
    for element in block.get("elements", ()):
        if isinstance(element, dict):
            total += len(str(element.get("text", "")))
    return total


def pack(groups: Iterable[list[Block]], fallback: str) -> list[Message]:
    """Messages ``{"text", "blocks"}`` holding the groups in order, each within the limits.

    A group (one story, the reply's lines) stays in one message when it fits; a group larger
    than a message is split between blocks. Every message carries the ``text`` fallback.
    """
    fallback = clip(fallback, TEXT_MAX)
    messages: list[Message] = []
    current: list[Block] = []
    chars = 0

    def flush() -> None:
        nonlocal current, chars
        if current:
            messages.append({"text": fallback, "blocks": current})
        current, chars = [], 0

    for group in groups:
        size = sum(_chars(b) for b in group)
        if current and (len(current) + len(group) > BLOCKS_MAX or chars + size > MESSAGE_CHARS_MAX):
            flush()
        for block in group:
            n = _chars(block)
            if current and (len(current) >= BLOCKS_MAX or chars + n > MESSAGE_CHARS_MAX):
                flush()
            current.append(block)
            chars += n
    flush()
    return messages


def _digest_head(digest: Digest) -> str:
    head = f"newsbot digest · {digest.generated_at:%d %b %Y %H:%M} UTC"
    if digest.topic:
        head += f" · {digest.topic}"
    return head


def _digest_groups(digest: Digest) -> list[list[Block]]:
    head = _digest_head(digest)
    header: Block = {
        "type": "header",
        "text": {"type": "plain_text", "text": clip(escape_plain(head), HEADER_MAX)},
    }
    if digest.empty:
        return [[header, _section("Nothing new since the last digest.")]]
    groups = [story_blocks(s, digest.generated_at) for s in digest.stories]
    groups[0] = [header, *groups[0]]
    last: list[Block] = []
    if digest.more_stories:
        more = f"+{digest.more_stories} more stories — `/news digest` shows the next ones"
        last.append({"type": "context", "elements": [mrkdwn(more)]})
    if own := digest_actions(digest):  # More stories (by the "+N more" line), Unsubscribe
        last.append(actions_block(own, "newsbot:digest"))
    if last:
        groups.append(last)
    return groups


def render_slack(digest: Digest) -> list[Message]:
    """Messages ``{"text", "blocks"}``; each has at most 50 blocks and 12,000 text chars."""
    return pack(_digest_groups(digest), escape_plain(_digest_head(digest)))


def render_reply(reply: Reply) -> list[Message]:
    """A command reply as Block Kit messages: bold title, its lines, then its digest if any.

    Lines are untrusted: escaped, with http(s) URLs turned into links showing the URL.
    """
    title = escape(reply.title.strip())
    title = f"*{title}*" if title else ""
    if reply.error:
        title = f":warning: {title}".strip()
    first = _sections([linkify(line) for line in reply.lines], first=title) or [_section("…")]
    if reply.actions:  # "Share to channel"
        first.append(actions_block(reply.actions, "newsbot:reply"))
    groups: list[list[Block]] = [first]
    if reply.digest is not None:
        groups.extend(_digest_groups(reply.digest))
    return pack(groups, escape_plain(reply.title.strip()) or "newsbot")
