"""Digest -> Discord message payloads (content + embeds as dicts), within Discord's limits.

Limits: content 2,000 chars; embed title 256, description 4,096, 25 fields (name 256, value
1,024), footer 2,048, 6,000 chars across all embeds of a message, 10 embeds per message.
Content never pings: mentions and markdown are escaped here and ``allowed_mentions`` is none
where messages are sent.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bot.digest.model import Digest, StatementRef, StoryDigest
from bot.digest.notes import more_conflicts_note
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
REPLY_MESSAGES_MAX = 5  # a command answer never floods a channel
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
    messages[-1]["components"] = digest_components(digest)
    if digest.more_stories:
        last = messages[-1]
        more = f"+{digest.more_stories} more stories — `/news digest` shows the next ones"
        last["content"] = clip(
            f"{last['content']}\n{more}" if last["content"] else more, CONTENT_MAX
        )
    return messages


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


def digest_components(digest: Digest) -> list[dict[str, Any]]:
    """The action rows under a digest: one row of buttons per story when they fit in
    Discord's 5 rows, else one select menu per action listing the stories; then the digest's
    own buttons (More stories, Unsubscribe)."""
    own = [button(a) for a in digest_actions(digest)]
    rows_left = ROWS_MAX - (1 if own else 0)
    rows: list[dict[str, Any]] = []
    if len(digest.stories) <= rows_left:
        rows = [_row(story_actions(s)) for s in digest.stories]
    elif digest.stories:
        verbs = {a.verb for s in digest.stories for a in story_action_list(s)}
        for verb, placeholder in (
            ("follow", "Follow a story…"),
            ("mute", "Mute a story…"),
            ("conflicts", "Show a story's conflicts…"),
        ):
            chosen = [s for s in digest.stories if verb in {a.verb for a in story_action_list(s)}]
            if verb in verbs and chosen:
                rows.append(_story_select(verb, placeholder, chosen))
    if own:
        rows.append(_row(own))
    return rows[:ROWS_MAX]


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
    own = reply_components(reply)
    if own:
        first = messages[0]
        first["components"] = (own + first.get("components", []))[:ROWS_MAX]
    return messages
