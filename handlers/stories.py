"""`/news story <id>`, `/news topics`, `/news conflicts <id>`."""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime

from bot.analysis import Statement
from bot.digest.compose import compose_digest
from bot.digest.conflicts import cap
from bot.digest.conflicts import story_conflicts as find_story_conflicts
from bot.digest.plot import coverage_png
from bot.digest.times import when_text
from bot.queries.relevance import subscription_matches
from bot.queries.views import list_stories, resolve_story, story_detail
from bot.services import Services
from bot.storage.scope import EVERYTHING, Scope
from bot.storage.store import from_iso
from handlers.actions import Action
from handlers.base import Attachment, CommandRequest, Reply

TOPICS_SHOWN = 15
SOURCES_SHOWN = 10
CONFLICTS_SHOWN = 20


_PLOT_LOCK = threading.Lock()  # pyplot keeps global state: one figure at a time


def _plot(title: str, points: list[tuple[datetime, str]]) -> bytes:
    with _PLOT_LOCK:
        return coverage_png(title, points)


def _day(iso: str) -> str:
    return iso[:16].replace("T", " ")


def _yes(value: str | None) -> bool:
    return (value or "").strip().lower() in ("yes", "y", "true", "1", "on")


async def story(request: CommandRequest, services: Services) -> Reply:
    """A story, privately; ``share=yes`` (the "Share to channel" button) posts it for all."""
    ref = request.args["story"]
    data = await story_detail(services, ref, scope=request.scope)
    story_id = await resolve_story(services, ref, scope=request.scope)
    # A preview key no channel uses: the story as new, with summary and conflicts.
    composed = await compose_digest(
        services.store,
        services.settings.digest,
        key=f"preview:{data['id']}",
        channel=request.channel,
        now=services.clock(),
        story_id=story_id,
        scope=request.scope,
    )
    lines = [
        f"{data['articles']} articles (+{data['copies']} copies) from {len(data['outlets'])} "
        f"outlets · {_day(data['first_seen'])} → {_day(data['last_seen'])} UTC",
        f"key terms: {', '.join(data['terms'])}",
    ]
    digest = composed.digest if composed.digest.stories else None
    if digest is None:  # nothing to summarise: list the sources plainly
        lines.append("Sources:")
        for art in data["article_list"][:SOURCES_SHOWN]:
            link = f" <{art['url']}>" if art["url"] else ""
            lines.append(f"- {art['source']}: {art['title']}{link}")
    # else the digest's story lists its newest sources and counts the others (bot/digest/layout)
    points = [(from_iso(c["published"]), str(c["source"])) for c in data["coverage"]]
    png = await asyncio.to_thread(_plot, data["title"], points)
    shared = _yes(request.args.get("share"))
    return Reply(
        title=f"{data['id']} · {data['title']}",
        lines=lines,
        digest=digest,
        attachments=[Attachment(f"{data['id']}-coverage.png", png)],
        ephemeral=not shared,
        actions=[] if shared else [Action("share", data["id"])],
    )


async def topic_preview(services: Services, topic: str, scope: Scope = EVERYTHING) -> Reply:
    """The stories a subscription to ``topic`` would get now (the same cut as its digests),
    with their count, the best first, each with the topic's terms it matched."""
    topic = " ".join(topic.split())
    d = services.settings.digest
    matches = await subscription_matches(
        services.store, services.settings.digest, topic, scope=scope
    )
    title = f"Topic preview · {topic}"
    if not matches:
        return Reply(title=title, lines=["No stored story matches this topic yet."], ephemeral=True)
    lines = [
        f"{len(matches)} stor{'y' if len(matches) == 1 else 'ies'} would match; "
        f"a digest shows up to {d.max_stories} with new coverage."
    ]
    for m in matches[:TOPICS_SHOWN]:
        heading = await services.store.story_heading(m.story_id, scope)
        if heading is None:
            continue
        terms = f" · matched: {', '.join(m.matched_terms)}" if m.matched_terms else ""
        lines.append(f"{heading[0]} · {heading[1]} — score {m.score:.2f}{terms}")
    if len(matches) > TOPICS_SHOWN:
        lines.append(f"(+{len(matches) - TOPICS_SHOWN} more)")
    return Reply(title=title, lines=lines, ephemeral=True)


async def topics(request: CommandRequest, services: Services) -> Reply:
    if request.args.get("topic", "").strip():
        return await topic_preview(services, request.args["topic"], request.scope)
    data = await list_stories(services, limit=TOPICS_SHOWN, scope=request.scope)
    if not data["stories"]:
        return Reply(title="Active stories", lines=["No active stories yet."], ephemeral=True)
    lines = [
        f"{s['id']} · {s['title']} — {s['articles']} articles, {len(s['outlets'])} outlets, "
        f"last {_day(s['last_seen'])} UTC"
        for s in data["stories"]
    ]
    return Reply(title="Active stories", lines=lines, ephemeral=True)


def _when(s: Statement, now: datetime) -> str:
    return when_text(s.published, s.dated, now)


async def story_conflicts(
    services: Services, story_id: int, scope: Scope = EVERYTHING
) -> list[list[str]]:
    """Each conflict of a story as lines: the disputed fact, then each statement attributed.

    The same conflicts a digest finds for a channel that has read nothing of the story
    (:func:`bot.digest.conflicts.story_conflicts`: same window, edited copies compared).
    """
    found = await find_story_conflicts(services.store, story_id, scope=scope)
    blocks: list[list[str]] = []
    now = services.clock()
    for conflict in found.conflicts:
        block = [f"⚠ {conflict.kind}: {conflict.fact}"]
        block.extend(f"  “{s.text}” — {s.outlet}, {_when(s, now)}" for s in conflict.statements)
        blocks.append(block)
    return blocks


async def conflicts(request: CommandRequest, services: Services) -> Reply:
    data = await story_detail(services, request.args["story"], scope=request.scope)
    story_id = await resolve_story(services, request.args["story"], scope=request.scope)
    blocks = await story_conflicts(services, story_id, request.scope)
    title = f"Conflicts · {data['id']} · {data['title']}"
    if not blocks:
        return Reply(title=title, lines=["No contradictions or revisions found between outlets."])
    shown, more = cap(blocks, CONFLICTS_SHOWN)
    lines = [line for block in shown for line in block]
    if more:
        lines.append(f"(+{more} more not shown)")
    return Reply(title=title, lines=lines)


async def complete_story(
    prefix: str, services: Services, scope: Scope = EVERYTHING
) -> list[tuple[str, str]]:
    """Active stories ``scope`` sees whose id or title contains ``prefix`` (recent first)."""
    rows = await services.store.story_suggestions(prefix, scope)
    return [(f"{public_id} · {title}"[:100], public_id) for public_id, title in rows]
