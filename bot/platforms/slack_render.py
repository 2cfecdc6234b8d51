"""Digests and command replies -> Slack Block Kit messages, within Slack's limits.

A digest is one message where it fits: each story compact (:mod:`bot.digest.layout`: a
section with its linked title, bullets and conflicts, a context line with "Sources (5 of 61)"
newest first and the ``/news story`` command for the rest, a divider), in the fewest messages.

Limits: 50 blocks per message, 3,000 characters per text object, 150 per header, and a
conservative 12,000 characters of text per message (Slack rejects long messages with
``msg_blocks_too_long`` below the documented sums). Untrusted text is escaped (``&``, ``<``,
``>``), so ``<!channel>``, ``<@U…>`` and link markup cannot be injected; mrkdwn text objects
are ``verbatim`` (no auto-linking of names or URLs); links are only http(s) and show their
real host (or the full URL as their label).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.delivery.threads import digest_title, story_line
from bot.digest.layout import CHAT_STORY, StoryLayout, story_layout
from bot.digest.model import ArticleRef, Digest, StatementRef, StoryDigest
from bot.digest.notes import digest_heading, empty_note, more_conflicts_note, more_stories_note
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
# A compact digest clips what it quotes; the full story is one command away.
BULLET_MAX = 300  # a bullet's statement
QUOTE_MAX = 220  # a statement quoted in a conflict
HEADLINE_MAX = 90  # a source's headline
TITLE_MAX = 200  # a story's title
OUTLET_MAX = 60
URL_MAX = 400  # a longer URL is not linked (five sources and a title fit in a text object)
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


def _bullet(s: StatementRef, limit: int = BULLET_MAX) -> str:
    claim = f" (claim by {escape(s.claim_by)})" if s.claim_by else ""
    return f"• {escape(clip(s.text, limit))}{claim} — _{escape(clip(s.source, OUTLET_MAX))}_"


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


def _linkable(url: str | None) -> str | None:
    """A URL a digest links: http(s), and short enough that a clipped text never cuts it."""
    safe = safe_url(url)
    return safe if safe and len(safe) <= URL_MAX else None


def _title(layout: StoryLayout) -> str:
    """``*New:* <url|Title>`` (the newest article with an http(s) URL), else bold text."""
    url = next((u for a in layout.newest if (u := _linkable(a.url))), None)
    title = clip(layout.story.title, TITLE_MAX)
    heading = link(url, title) if url else escape(title)
    return f"*{layout.label}:* {heading}"


def _source(article: ArticleRef) -> str:
    """``<url|Headline> — _Outlet_ (host)``: a link's real host is shown beside it."""
    headline = clip(article.title, HEADLINE_MAX)
    outlet = escape(clip(article.source, OUTLET_MAX))
    url = _linkable(article.url)
    if url is None:
        return f"{escape(headline)} — _{outlet}_"
    return f"{link(url, headline)} — _{outlet}_ ({escape(host_of(url))})"


def story_blocks(story: StoryDigest, now: datetime) -> list[Block]:
    """One story's blocks (:func:`layout_blocks` of its compact layout)."""
    return layout_blocks(story_layout(story), now)


def layout_blocks(layout: StoryLayout, now: datetime) -> list[Block]:
    """One story, compact: a section (title, bullets, conflicts), then in small print its
    outlets and matched terms, its sources newest first and the command for the rest."""
    story = layout.story
    rows = [_bullet(s) for s in layout.bullets]
    for c in layout.conflicts:
        rows.append(f":warning: *{escape(c.kind)}*: {escape(clip(c.fact, BULLET_MAX))}")
        rows.extend(f">{_bullet(s, QUOTE_MAX)}, {slack_time(s, now)}" for s in c.statements)
    if note := more_conflicts_note(story):
        rows.append(escape(note))
    blocks = _sections(rows, first=_title(layout))
    lines = [escape(about)] if (about := layout.about()) else []
    if layout.sources:
        lines.append(f"*{layout.sources_heading()}*")
    lines.extend(f"• {_source(a)}" for a in layout.sources)
    lines.append(escape(layout.full_story(CHAT_STORY)))
    blocks.append({"type": "context", "elements": [mrkdwn("\n".join(lines))]})
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
            inner = element.get("text", "")  # a button's is a plain_text object
            total += len(str(inner.get("text", "") if isinstance(inner, dict) else inner))
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
    title, topic = digest_heading(digest)
    head = f"{title} · {digest.generated_at:%d %b %Y %H:%M} UTC"
    if topic:
        head += f" · {topic}"
    return head


def _digest_groups(digest: Digest) -> list[list[Block]]:
    head = _digest_head(digest)
    header: Block = {
        "type": "header",
        "text": {"type": "plain_text", "text": clip(escape_plain(head), HEADER_MAX)},
    }
    more = more_stories_note(digest)
    more_line: list[Block] = (
        [{"type": "context", "elements": [mrkdwn(more)]}] if digest.more_stories else []
    )
    if digest.empty:
        return [[header, _section(empty_note(digest)), *more_line]]
    # A story's blocks stay together: its layout, its buttons (Follow, Mute, Show
    # conflicts), the divider that closes it.
    groups = [
        [
            *layout_blocks(layout, digest.generated_at),
            story_actions(layout.story),
            {"type": "divider"},
        ]
        for layout in map(story_layout, digest.stories)
    ]
    groups[0] = [header, *groups[0]]
    if own := digest_actions(digest):  # More stories (by the "+N more" line), Unsubscribe
        more_line.append(actions_block(own, "newsbot:digest"))
    if more_line:
        groups.append(more_line)
    return groups


def render_slack(digest: Digest) -> list[Message]:
    """Messages ``{"text", "blocks"}``; each has at most 50 blocks and 12,000 text chars. A
    digest that fits is one message; else the fewest, a story never split between two
    unless it alone exceeds a message."""
    return pack(_digest_groups(digest), escape_plain(_digest_head(digest)))


def render_thread_parent(text: str) -> Message:
    """The message that opens a thread: a digest's ("Digest: TOPIC — N stories") or a
    story's (its title), in bold."""
    return {"text": clip(escape_plain(text), TEXT_MAX), "blocks": [_section(f"*{escape(text)}*")]}


def render_story_index(digest: Digest, links: Mapping[str, str | None]) -> Message:
    """The channel message of a story-mode digest: its title, each story's line linked to the
    story's thread (``links``: story id -> permalink), "+N more stories" and the digest's
    buttons (More stories, Unsubscribe)."""
    rows = []
    for story in digest.stories:
        line = escape(clip(story_line(story), TITLE_MAX))
        url = links.get(story.id)
        rows.append(f"• {line} — {link(url, 'in its thread')}" if url else f"• {line}")
    groups = [_sections(rows, first=f"*{escape(digest_title(digest))}*")]
    if digest.more_stories:
        more = f"+{digest.more_stories} more stories — `/news digest` shows the next ones"
        groups.append([{"type": "context", "elements": [mrkdwn(more)]}])
    if own := digest_actions(digest):
        groups.append([actions_block(own, "newsbot:digest")])
    return pack(groups, escape_plain(digest_title(digest)))[0]


def render_reply(reply: Reply) -> list[Message]:
    """A command reply as Block Kit messages: bold title, its lines, then its digest if any.

    Lines are untrusted: escaped, with http(s) URLs turned into links showing the URL.
    """
    title = escape(reply.title.strip())
    title = f"*{title}*" if title else ""
    if reply.error:
        title = f":warning: {title}".strip()
    first = _sections([linkify(line) for line in reply.lines], first=title) or [_section("…")]
    if reply.actions:  # Share to channel, Undo
        first.append(actions_block(reply.actions, "newsbot:reply"))
    groups: list[list[Block]] = [first]
    if reply.digest is not None:
        groups.extend(_digest_groups(reply.digest))
    return pack(groups, escape_plain(reply.title.strip()) or "newsbot")
