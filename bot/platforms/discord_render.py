"""Digest -> Discord message payloads (content + embeds as dicts), within Discord's limits.

Limits: content 2,000 chars; embed title 256, description 4,096, 25 fields (name 256, value
1,024), footer 2,048, 6,000 chars across all embeds of a message, 10 embeds per message.
Content never pings: mentions and markdown are escaped here and ``allowed_mentions`` is none
where messages are sent.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bot.digest.model import Digest, StatementRef, StoryDigest
from bot.digest.notes import more_conflicts_note
from bot.digest.times import discord_time
from bot.platforms.safety import clip, host_of, safe_url
from handlers.base import Attachment, Button, Reply

CONTENT_MAX = 2000
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELDS_MAX = 25
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
EMBED_TOTAL_MAX = 6000
EMBEDS_PER_MESSAGE = 10
REPLY_MESSAGES_MAX = 5  # a command answer never floods a channel

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
    """Break mentions in text where markdown is not rendered (embed footers), and drop the
    invisible and bidi-override characters :func:`escape` drops."""
    return _INVISIBLE_RE.sub("", text).replace("@", "@\u200b")


def _bullet(s: StatementRef) -> str:
    claim = f" (claim by {escape(s.claim_by)})" if s.claim_by else ""
    return f"• {escape(s.text)}{claim} — *{escape(s.source)}*"


def _description(story: StoryDigest, now: datetime) -> str:
    parts: list[str] = []
    if story.summary:
        parts.append("\n".join(_bullet(s) for s in story.summary))
    if story.new:
        parts.append("**What's new**\n" + "\n".join(_bullet(s) for s in story.new))
    for c in story.conflicts:
        rows = [f"⚠️ **{escape(c.kind)}**: {escape(c.fact)}"]
        for s in c.statements:
            rows.append(f"> {_bullet(s)}, {discord_time(s, now)}")
        parts.append("\n".join(rows))
    if note := more_conflicts_note(story):
        parts.append(escape(note))
    return clip("\n\n".join(parts), DESCRIPTION_MAX)


def _embed_size(embed: dict[str, Any]) -> int:
    size = len(embed.get("title", "")) + len(embed.get("description", ""))
    size += len(embed.get("footer", {}).get("text", ""))
    size += sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields", []))
    return size


def _footer(story: StoryDigest) -> str:
    matched = f" · matched: {', '.join(story.matched_terms)}" if story.matched_terms else ""
    return f"{story.id} · {', '.join(story.outlets)}{matched}"


def story_embed(story: StoryDigest, now: datetime) -> dict[str, Any]:
    label = "Update" if story.known else "New story"
    embed: dict[str, Any] = {
        "title": clip(f"{label}: {escape(story.title)}", TITLE_MAX),
        "description": _description(story, now),
        "footer": {"text": clip(unmention(_footer(story)), 2048)},
        "fields": [],
    }
    first = next((display_url(a.url) for a in story.articles if display_url(a.url)), None)
    if first:
        embed["url"] = first
    for article in story.articles[:FIELDS_MAX]:
        url = display_url(article.url) if article.url else None
        value = (
            f"{escape(article.title)}\n<{url}> ({host_of(url)})" if url else escape(article.title)
        )
        embed["fields"].append(
            {
                "name": clip(escape(article.source), FIELD_NAME_MAX),
                "value": clip(value, FIELD_VALUE_MAX),
                "inline": False,
            }
        )
    while _embed_size(embed) > EMBED_TOTAL_MAX and embed["fields"]:
        embed["fields"].pop()
    if _embed_size(embed) > EMBED_TOTAL_MAX:
        room = EMBED_TOTAL_MAX - (_embed_size(embed) - len(embed["description"]))
        embed["description"] = clip(embed["description"], max(room, 1))
    return embed


def render_discord(digest: Digest) -> list[dict[str, Any]]:
    """One or more message payloads ``{"content", "embeds"}`` that each respect the limits."""
    head = f"**newsbot digest** · {digest.generated_at:%d %b %Y %H:%M} UTC"
    if digest.topic:
        head += f" · topic: {escape(digest.topic)}"
    if digest.empty:
        return [
            {
                "content": clip(head + "\nNothing new since the last digest.", CONTENT_MAX),
                "embeds": [],
            }
        ]
    messages: list[dict[str, Any]] = []
    current: list[dict[str, Any]] = []
    total = 0
    for story in digest.stories:
        embed = story_embed(story, digest.generated_at)
        size = _embed_size(embed)
        if current and (len(current) == EMBEDS_PER_MESSAGE or total + size > EMBED_TOTAL_MAX):
            messages.append({"content": None, "embeds": current})
            current, total = [], 0
        current.append(embed)
        total += size
    if current:
        messages.append({"content": None, "embeds": current})
    messages[0]["content"] = clip(head, CONTENT_MAX)
    if digest.more_stories:
        last = messages[-1]
        more = f"+{digest.more_stories} more stories — `/news digest` shows the next ones"
        last["content"] = clip(
            f"{last['content']}\n{more}" if last["content"] else more, CONTENT_MAX
        )
    return messages


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


def _pack_embeds(embeds: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    groups: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    total = 0
    for embed in embeds:
        size = _embed_size(embed)
        if current and (len(current) == EMBEDS_PER_MESSAGE or total + size > EMBED_TOTAL_MAX):
            groups.append(current)
            current, total = [], 0
        current.append(embed)
        total += size
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
        messages = [{"content": None, "embeds": group} for group in _pack_embeds(embeds)]
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
    if reply.buttons and messages:
        messages[-1]["components"] = button_rows(reply.buttons)
    return messages


def button_rows(buttons: Sequence[Button]) -> list[dict[str, Any]]:
    """A reply's buttons as action rows (at most 5 buttons a row, 5 rows), grey, labels
    clipped to Discord's 80 characters; ``custom_id`` is the button's ``newsbot:…`` id."""
    items = [
        {"type": 2, "style": 2, "label": clip(b.label, 80), "custom_id": b.action_id}
        for b in buttons[:25]
    ]
    return [{"type": 1, "components": items[i : i + 5]} for i in range(0, len(items), 5)]
