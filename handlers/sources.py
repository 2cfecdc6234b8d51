"""`/news sources add|remove|list|status [url]` (admins only).

Feeds added from a chat belong to that workspace (``sources.workspace`` = ``platform:id``): a
workspace lists and removes only its own. Fetching is shared: a URL several workspaces added is
polled once, by the running app, and its articles feed every channel's stories.
``add`` fetches and checks the feed first, and stores its optional name and item filter
(:mod:`handlers.source_check`).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from bot.errors import FetchError, UserError
from bot.events import Event
from bot.ingestion.ingest import source_locator
from bot.net.ssrf import NetworkPolicy
from bot.services import Services
from bot.storage.scope import sync_shared
from bot.storage.sources import FeedStatus, SourceRepo
from handlers.base import CommandRequest, Reply
from handlers.source_check import check_source, preview_lines, source_options

MAX_SOURCES_PER_WORKSPACE = 100
MIN_INTERVAL_S = 900.0


def workspace_key(request: CommandRequest) -> str:
    return f"{request.platform}:{request.workspace}"


def check_url(url: str) -> str:
    url = url.strip().strip("<>")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise UserError(f"{url!r} is not an http(s) feed URL")
    if any(ch in url for ch in "\r\n\t \"'`"):
        raise UserError("the URL contains spaces or quotes")
    if parts.username or parts.password:
        raise UserError("URLs with credentials are not accepted")
    return source_locator(url)


def check_reachable(url: str, services: Services) -> None:
    """Refuse internal addresses up front (the fetcher checks again at connect time)."""
    try:
        NetworkPolicy(services.settings.network.allow).check_url(url)
    except FetchError as exc:
        raise UserError(str(exc)) from None


async def _row(services: Services, wkey: str, url: str) -> FeedStatus:
    row = await SourceRepo(services.store).status(wkey, url)
    if row is None:
        raise UserError(f"{url} is not one of this workspace's sources")
    return row


def _status_line(url: str, state: FeedStatus | None) -> str:
    if state is None or not state.last_fetch_at:
        return f"{url} · not fetched yet"
    if state.disabled_reason:
        return (
            f"{url} · disabled: {state.disabled_reason} · last error: {state.last_error} "
            "· `/news sources add` it again to re-enable"
        )
    if state.last_error:
        return (
            f"{url} · failing ({state.consecutive_failures}x): {state.last_error} · "
            f"last ok {state.last_ok_at or 'never'}"
        )
    return f"{url} · ok · {state.articles} articles · last fetch {state.last_fetch_at}"


async def sources(request: CommandRequest, services: Services) -> Reply:
    action = request.args["action"].strip().lower()
    wkey = workspace_key(request)
    store = services.store
    repo = SourceRepo(store)
    if action == "list":
        rows = await repo.statuses(wkey)
        if not rows:
            return Reply(title="Sources", lines=["No feeds added here yet."], ephemeral=True)
        lines = [_status_line(r.locator, r) + ("" if r.enabled else " · disabled") for r in rows]
        return Reply(title="Sources", lines=lines, ephemeral=True)
    if action not in ("add", "remove", "status"):
        raise UserError(f"unknown action {action!r}: use add, remove, list or status")
    if not request.args.get("url", "").strip():
        raise UserError(f"usage: /news sources {action} <url>")
    url = check_url(request.args["url"])
    if action == "status":
        row = await _row(services, wkey, url)
        line = _status_line(url, row)
        return Reply(
            title="Source status",
            lines=[line + ("" if row.enabled else " · disabled")],
            ephemeral=True,
        )
    if action == "remove":
        row = await _row(services, wkey, url)
        await store.remove_source(row.id, now=services.clock())
        await services.events.emit(Event.SOURCES_CHANGED)
        return Reply(title="Source removed", lines=[url], ephemeral=True)
    if await repo.count(wkey) >= MAX_SOURCES_PER_WORKSPACE:
        raise UserError(f"this workspace has {MAX_SOURCES_PER_WORKSPACE} feeds already")
    check_reachable(url, services)
    name, item_filter = source_options(request.args)
    preview = await check_source(url, services)  # fetched, feed link followed, parsed
    url = preview.url
    shown = preview_lines(preview, name=name, item_filter=item_filter)
    existing = await repo.status(wkey, url)
    if existing is not None and not existing.enabled:
        await repo.enable(existing.id, now=services.clock())
        if name or item_filter:
            async with store.write() as txn:
                await txn.upsert_source(
                    kind="feed",
                    locator=url,
                    workspace=wkey,
                    name=name,
                    item_filter=item_filter,
                    now=services.clock(),
                )
        await services.events.emit(Event.SOURCES_CHANGED)
        return Reply(title="Source re-enabled", lines=shown, ephemeral=True)
    added = await store.add_feed_source(
        locator=url,
        workspace=wkey,
        name=name,
        item_filter=item_filter,
        interval_s=MIN_INTERVAL_S,
        now=services.clock(),
    )
    if added is None:
        raise UserError(f"{url} is already one of this workspace's sources")
    await sync_shared(store, services.settings.sources.shared)  # an operator-shared URL
    await services.events.emit(Event.SOURCES_CHANGED)
    return Reply(
        title="Source added",
        lines=[*shown, "The first fetch runs within a minute: /news sources status <url>."],
        ephemeral=True,
    )
