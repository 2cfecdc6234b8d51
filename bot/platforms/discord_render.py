"""Digest -> Discord message payloads (content + embeds as dicts), within Discord's limits.

A digest is one message where it fits: one compact embed per story (:mod:`bot.digest.layout`:
title linked to the newest article, bullets with their outlets, conflicts, "Sources (5 of 61)"
newest first, the ``/news story`` command for the rest), in the fewest messages.

Limits: content 2,000 chars; embed title 256, description 4,096, 25 fields (name 256, value
1,024), footer 2,048, 6,000 chars across all embeds of a message, 10 embeds per message.
Content never pings: mentions and markdown are escaped here and ``allowed_mentions`` is none
where messages are sent.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from bot.delivery.threads import digest_title, story_line
from bot.digest.layout import CHAT_STORY, StoryLayout, story_layout
from bot.digest.model import ArticleRef, Digest, StatementRef, StoryDigest
from bot.digest.notes import digest_heading, empty_note, more_conflicts_note, more_stories_note
from bot.digest.times import discord_time
from bot.platforms.safety import clip, host_of, safe_url
from handlers.actions import Action, digest_actions
from handlers.actions import story_actions as story_action_list
from handlers.base import Attachment, Reply

CONTENT_MAX = 2000
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELDS_MAX = 25
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
EMBED_TOTAL_MAX = 6000
EMBEDS_PER_MESSAGE = 10
FOOTER_MAX = 2048
REPLY_MESSAGES_MAX = 5  # a command answer never floods a channel
# A compact digest clips what it quotes; the full story is one command away.
BULLET_MAX = 300  # a bullet's statement
QUOTE_MAX = 220  # a statement quoted in a conflict
HEADLINE_MAX = 90  # a source's headline
OUTLET_MAX = 60
URL_MAX = 400  # a longer URL is not linked (a story stays far below the description limit)

T = TypeVar("T")
ROWS_MAX = 5  # action rows per message
BUTTONS_PER_ROW = 5
BUTTON_LABEL_MAX = 80
CUSTOM_ID_MAX = 100
SELECT_OPTIONS_MAX = 25
OPTION_LABEL_MAX = 100
SECONDARY, DANGER = 2, 4  # button styles

_MARKDOWN_RE = re.compile(r"([\\*_~`|<>\[\]()#-])")
# Bidi overrides/isolates and zero-width characters: they can disguise text, links or mentions.
_INVISIBLE_RE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def escape(text: str) -> str:
    """Neutralise Discord markdown and mentions in untrusted text: formatting characters are
    backslash-escaped (so ``<@&1>``, ``<#1>``, ``<t:1>`` and ``[label](url)`` stay literal) and
    every ``@`` is followed by a zero-width space (``@everyone``, ``@here`` never parse)."""
    text = _INVISIBLE_RE.sub("", text)
    text = _MARKDOWN_RE.sub(r"\\\1", text)
    return text.replace("@", "@\u200b")


def display_url(url: str | None) -> str | None:
    """An http(s) URL as shown: without ``user:pass@`` (which can fake the host, as in
    ``https://trusted.example@evil.example/``) and with ``@`` percent-encoded; else ``None``."""
    safe = safe_url(url)
    if not safe:
        return None
    parts = urlsplit(safe)
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=netloc)).replace("@", "%40")


def unmention(text: str) -> str:
    """Break mentions and angle-bracket tokens in text where markdown is not rendered (embed
    footers, component labels), and drop the invisible and bidi-override characters
    :func:`escape` drops."""
    return _INVISIBLE_RE.sub("", text).replace("@", "@\u200b").replace("<", "<\u200b")


def _bullet(s: StatementRef, limit: int = BULLET_MAX) -> str:
    claim = f" (claim by {escape(s.claim_by)})" if s.claim_by else ""
    return f"• {escape(clip(s.text, limit))}{claim} — *{escape(clip(s.source, OUTLET_MAX))}*"


def _source(article: ArticleRef) -> str:
    """``• [Headline](url) — *Outlet* (host)``: the link's real host is shown beside it."""
    headline = escape(clip(article.title, HEADLINE_MAX))
    outlet = escape(clip(article.source, OUTLET_MAX))
    url = display_url(article.url)
    if url is None or len(url) > URL_MAX:
        return f"• {headline} — *{outlet}*"
    return f"• [{headline}]({url}) — *{outlet}* ({host_of(url)})"


def _description(layout: StoryLayout, now: datetime) -> str:
    """Bullets, conflicts, sources newest first, and the command that shows the full story."""
    parts: list[str] = []
    if layout.bullets:
        parts.append("\n".join(_bullet(s) for s in layout.bullets))
    for c in layout.conflicts:
        rows = [f"⚠️ **{escape(c.kind)}**: {escape(clip(c.fact, BULLET_MAX))}"]
        for s in c.statements:
            rows.append(f"> {_bullet(s, QUOTE_MAX)}, {discord_time(s, now)}")
        parts.append("\n".join(rows))
    if note := more_conflicts_note(layout.story):
        parts.append(escape(note))
    sources = [f"**{layout.sources_heading()}**"] if layout.sources else []
    sources.extend(_source(a) for a in layout.sources)
    sources.append(escape(layout.full_story(CHAT_STORY)))
    parts.append("\n".join(sources))
    return clip("\n\n".join(parts), DESCRIPTION_MAX)


def _embed_size(embed: dict[str, Any]) -> int:
    size = len(embed.get("title", "")) + len(embed.get("description", ""))
    size += len(embed.get("footer", {}).get("text", ""))
    size += sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields", []))
    return size


def _footer(layout: StoryLayout) -> str:
    return " · ".join(p for p in (layout.id, layout.about()) if p)


def story_embed(story: StoryDigest, now: datetime) -> dict[str, Any]:
    """One story as one embed: its title links to its newest article with an http(s) URL."""
    return layout_embed(story_layout(story), now)


def layout_embed(layout: StoryLayout, now: datetime) -> dict[str, Any]:
    """The embed of a story's compact layout."""
    embed: dict[str, Any] = {
        "title": clip(f"{layout.label}: {escape(layout.story.title)}", TITLE_MAX),
        "description": _description(layout, now),
        "footer": {"text": clip(unmention(_footer(layout)), FOOTER_MAX)},
    }
    link = next((url for a in layout.newest if (url := display_url(a.url))), None)
    if link:
        embed["url"] = link
    if _embed_size(embed) > EMBED_TOTAL_MAX:
        room = EMBED_TOTAL_MAX - (_embed_size(embed) - len(embed["description"]))
        embed["description"] = clip(embed["description"], max(room, 1))
    return embed


def _digest_head(digest: Digest) -> str:
    title, topic = digest_heading(digest)
    head = f"**{escape(title)}** · {digest.generated_at:%d %b %Y %H:%M} UTC"
    if topic:
        head += f" · topic: {escape(topic)}"
    return head


def render_discord(digest: Digest) -> list[dict[str, Any]]:
    """Message payloads ``{"content", "embeds", "components"}``, each within Discord's limits:
    one embed per story, in as few messages as the limits allow (one when the digest fits: at
    most 10 embeds and 6,000 characters across them); the head line on the first message,
    "+N more stories" on the last; each message's buttons under it (:func:`message_components`)."""
    head = _digest_head(digest)
    if digest.empty:
        head += "\n" + empty_note(digest)
        return [{"content": clip(_with_more(head, digest), CONTENT_MAX), "embeds": []}]
    now = digest.generated_at
    stories = [(layout, layout_embed(layout, now)) for layout in map(story_layout, digest.stories)]
    # Each message carries the buttons of its own stories; the digest's own (More stories,
    # Unsubscribe) go on the last, beside its "+N more stories" line.
    groups = pack(stories, lambda item: _embed_size(item[1]))
    own = digest_actions(digest)
    messages: list[dict[str, Any]] = []
    for i, group in enumerate(groups):
        message: dict[str, Any] = {"content": None, "embeds": [embed for _, embed in group]}
        rows = message_components(
            [layout.story for layout, _ in group], own if i == len(groups) - 1 else []
        )
        if rows:
            message["components"] = rows
        messages.append(message)
    messages[0]["content"] = clip(head, CONTENT_MAX)
    last = messages[-1]
    last["content"] = clip(_with_more(last["content"] or "", digest), CONTENT_MAX) or None
    return messages


def render_thread_parent(text: str) -> dict[str, Any]:
    """The message that opens a thread: a digest's ("Digest: TOPIC — N stories") or a
    story's (its title), in bold."""
    return {"content": clip(f"**{escape(text)}**", CONTENT_MAX), "embeds": []}


def render_story_index(digest: Digest, threads: Mapping[str, str]) -> dict[str, Any]:
    """The channel message of a story-mode digest: its title, each story's line with a
    mention of the story's thread (``threads``: story id -> thread id), "+N more stories"
    and the digest's buttons (More stories, Unsubscribe)."""
    lines = [f"**{escape(digest_title(digest))}**"]
    for story in digest.stories:
        line = f"• {escape(clip(story_line(story), TITLE_MAX))}"
        thread = threads.get(story.id)
        lines.append(f"{line} — <#{thread}>" if thread and thread.isdigit() else line)
    message: dict[str, Any] = {
        "content": clip(_with_more("\n".join(lines), digest), CONTENT_MAX),
        "embeds": [],
    }
    if rows := message_components([], digest_actions(digest)):
        message["components"] = rows
    return message


def _with_more(text: str, digest: Digest) -> str:
    """``text`` and, when the digest left stories out, the line that says so."""
    if not digest.more_stories:
        return text
    more = more_stories_note(digest)
    return f"{text}\n{more}" if text else more


# ------------------------------------------------------------------------ components


def button(action: Action, label: str | None = None) -> dict[str, Any]:
    """A button carrying ``action`` (its custom_id is the action's, parsed back on click)."""
    return {
        "type": 2,
        "style": DANGER if action.spec.danger else SECONDARY,
        "label": clip(unmention(label or action.label), BUTTON_LABEL_MAX),
        "custom_id": action.custom_id[:CUSTOM_ID_MAX],
    }


def _row(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": 1, "components": items[:BUTTONS_PER_ROW]}


def story_actions(story: StoryDigest) -> list[dict[str, Any]]:
    """A digest story's buttons (Follow, Mute, Show conflicts), named with the story's id
    (the row is under the message, not under the story's embed)."""
    return [button(a, f"{a.label} {story.id}") for a in story_action_list(story)]


def _story_select(verb: str, placeholder: str, stories: list[StoryDigest]) -> dict[str, Any]:
    options = [
        {
            "label": clip(unmention(f"{s.id} · {s.title}"), OPTION_LABEL_MAX),
            "value": s.id,
        }
        for s in stories[:SELECT_OPTIONS_MAX]
    ]
    select = {
        "type": 3,
        "custom_id": Action(verb).custom_id,  # the chosen story is the select's value
        "placeholder": placeholder,
        "options": options,
        "min_values": 1,
        "max_values": 1,
    }
    return _row([select])


def message_components(
    stories: Sequence[StoryDigest], own: Sequence[Action]
) -> list[dict[str, Any]]:
    """The action rows under one digest message: a row of buttons per story of that message
    when they fit in Discord's 5 rows, else one select menu per action listing them; then
    ``own``, the digest's buttons (More stories, Unsubscribe: on its last message)."""
    own_row = [_row([button(a) for a in own])] if own else []
    rows: list[dict[str, Any]] = []
    if len(stories) <= ROWS_MAX - len(own_row):
        rows = [_row(story_actions(s)) for s in stories]
    else:
        for verb, placeholder in (
            ("follow", "Follow a story…"),
            ("mute", "Mute a story…"),
            ("conflicts", "Show a story's conflicts…"),
            ("story", "A story in full…"),
        ):
            chosen = [s for s in stories if verb in {a.verb for a in story_action_list(s)}]
            if chosen:
                rows.append(_story_select(verb, placeholder, chosen))
    return rows + own_row  # at most 4 selects and the digest's row: within the 5


def reply_components(reply: Reply) -> list[dict[str, Any]]:
    """The reply's own buttons ("Share to channel") as one action row."""
    return [_row([button(a) for a in reply.actions])] if reply.actions else []


_URL_RE = re.compile(r"https?://[^\s<>\"'`|]+", re.IGNORECASE)
_FILENAME_RE = re.compile(r"[^A-Za-z0-9._-]")


def linkify(text: str) -> str:
    """Escape a plain line; its http(s) URLs stay clickable as ``<url>`` (no preview, no masked
    label), so a link shows its real host. Other schemes stay escaped text."""
    out: list[str] = []
    pos = 0
    for m in _URL_RE.finditer(text):
        url = m.group(0).rstrip(".,;:!?)]")
        shown = display_url(url)
        if not shown:
            continue
        out.append(escape(text[pos : m.start()]))
        out.append(f"<{shown}>")
        pos = m.start() + len(url)
    out.append(escape(text[pos:]))
    return "".join(out)


def attachment_filename(name: str) -> str:
    """A filename Discord accepts in ``attachment://`` references."""
    return _FILENAME_RE.sub("_", name).strip(".") or "file"


def _chunks(lines: list[str], limit: int) -> list[str]:
    """Join lines into texts of at most ``limit`` characters, cutting only between lines."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        line = clip(line, limit)
        if current and len(current) + 1 + len(line) > limit:
            chunks.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        chunks.append(current)
    return chunks


def pack(items: Sequence[T], size: Callable[[T], int]) -> list[list[T]]:
    """Items (each one embed) in order, in the fewest messages of at most 10 embeds and
    6,000 characters across them: a message is closed only when the next item does not fit
    (for items kept in order, filling each message in turn needs the fewest)."""
    groups: list[list[T]] = []
    current: list[T] = []
    total = 0
    for item in items:
        n = size(item)
        if current and (len(current) == EMBEDS_PER_MESSAGE or total + n > EMBED_TOTAL_MAX):
            groups.append(current)
            current, total = [], 0
        current.append(item)
        total += n
    if current:
        groups.append(current)
    return groups


def _error_messages(reply: Reply) -> list[dict[str, Any]]:
    text = "\n".join(f"⚠️ {linkify(line)}" for line in reply.lines) or f"⚠️ {escape(reply.title)}"
    return [{"content": clip(text, CONTENT_MAX), "embeds": [], "attachments": []}]


def render_reply(reply: Reply) -> list[dict[str, Any]]:
    """A command reply as message payloads ``{"content", "embeds", "attachments"}``.

    Errors are one short content line. Otherwise the title and lines become embeds (lines split
    between descriptions of at most 4,096 characters, messages of at most 10 embeds and 6,000
    characters), followed by the digest's messages; at most :data:`REPLY_MESSAGES_MAX` messages.
    ``attachments`` (only on the first message) are :class:`~handlers.base.Attachment` objects;
    an image is also shown in the first embed. Lines are untrusted: escaped, URLs kept as
    ``<url>``. ``allowed_mentions`` must still be none where the payload is sent.
    """
    if reply.error:
        return _error_messages(reply)
    title = clip(escape(reply.title), TITLE_MAX)
    descriptions = _chunks([linkify(line) for line in reply.lines], DESCRIPTION_MAX)
    embeds: list[dict[str, Any]] = [
        {"title": title, "description": text} if i == 0 else {"description": text}
        for i, text in enumerate(descriptions)
    ] or [{"title": title}]
    messages: list[dict[str, Any]] = []
    if reply.lines or reply.digest is None:
        messages = [{"content": None, "embeds": group} for group in pack(embeds, _embed_size)]
    if reply.digest is not None:
        messages.extend(render_discord(reply.digest))
    if len(messages) > REPLY_MESSAGES_MAX:
        del messages[REPLY_MESSAGES_MAX:]
        last = messages[-1]
        last["content"] = clip(
            ((last["content"] or "") + "\n…(reply shortened)").strip(), CONTENT_MAX
        )
    files = [
        Attachment(attachment_filename(a.filename), a.data, a.content_type)
        for a in reply.attachments
    ]
    image = next((a for a in files if a.content_type.startswith("image/")), None)
    if image is not None and messages[0]["embeds"]:
        messages[0]["embeds"][0]["image"] = {"url": f"attachment://{image.filename}"}
    for i, message in enumerate(messages):
        message["attachments"] = files if i == 0 else []
    own = reply_components(reply)
    if own:
        first = messages[0]
        first["components"] = (own + first.get("components", []))[:ROWS_MAX]
    return messages
