"""`/news sources add|remove|list|status [url]` (admins only).

Feeds added from a chat belong to that workspace (``sources.workspace`` = ``platform:id``): a
workspace lists and removes only its own. Fetching is shared: a URL several workspaces added is
polled once, by the running app, and its articles feed every channel's stories.
``add`` fetches and checks the feed first, and stores its optional name and item filter
(:mod:`handlers.source_check`). ``import`` adds the feeds of an attached OPML file through
:func:`bot.sources.opml.import_feeds` (the CLI's import), each checked like ``add``, and
answers one line per feed added or skipped; ``export`` answers with the workspace's feeds as
an OPML file.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from bot.errors import FetchError, NewsbotError, UserError
from bot.events import Event
from bot.ingestion.ingest import source_locator
from bot.net.credentials import mask_in_text, masked
from bot.net.ssrf import NetworkPolicy
from bot.services import Services
from bot.sources.discovery import check_feed, check_fetcher
from bot.sources.opml import OpmlFeed, export_feeds, import_feeds, read_opml, write_opml
from bot.storage.scope import sync_shared
from bot.storage.sources import FeedStatus, SourceRepo
from handlers.base import Attachment, CommandRequest, Reply
from handlers.source_check import check_source, preview_lines, source_options

MAX_SOURCES_PER_WORKSPACE = 100
MIN_INTERVAL_S = 900.0
EXPORT_NAME = "newsbot-feeds.opml"
OPML_TYPE = "text/x-opml"


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
    if action == "import":
        return await import_opml(request, services)
    if action == "export":
        return await export_opml(request, services)
    if action not in ("add", "remove", "status"):
        raise UserError(
            f"unknown action {action!r}: use add, remove, list, status, import or export"
        )
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


async def import_opml(request: CommandRequest, services: Services) -> Reply:
    """``/news sources import`` with an OPML file: each feed checked and added like ``add``;
    one line per feed added or skipped, then the counts."""
    upload = request.files.get("file")
    if upload is None:
        raise UserError("attach an OPML file: /news sources import file:<your .opml file>")
    try:
        feeds, unusable = read_opml(upload.data, origin=upload.filename or "the file")
    except NewsbotError as exc:
        raise UserError(str(exc)) from None
    wkey = workspace_key(request)
    room = max(0, MAX_SOURCES_PER_WORKSPACE - await SourceRepo(services.store).count(wkey))

    async with check_fetcher(services.settings) as fetcher:  # one client for every check

        async def check(url: str) -> OpmlFeed:  # as ``add`` checks a feed
            preview = await check_feed(check_url(url), services.settings, fetcher=fetcher)
            return OpmlFeed(source_locator(preview.url), preview.title)

        imported, skipped = await import_feeds(
            services.store,
            feeds,
            policy=NetworkPolicy(services.settings.network.allow),
            workspace=wkey,
            check=check,
            room=room,
            interval_s=MIN_INTERVAL_S,
            now=services.clock(),
        )
    if imported:
        await sync_shared(services.store, services.settings.sources.shared)
        await services.events.emit(Event.SOURCES_CHANGED)
    lines = [f"added: {masked(f.url)}" + (f" ({f.name})" if f.name else "") for f in imported]
    lines += [f"skipped: {masked(k.what)}: {mask_in_text(k.why)}" for k in [*unusable, *skipped]]
    if not feeds and not unusable:
        lines.append("No feed outlines in the file.")
    lines.append(f"{len(imported)} added, {len(unusable) + len(skipped)} skipped")
    return Reply(title="Sources imported", lines=lines, ephemeral=True)


async def export_opml(request: CommandRequest, services: Services) -> Reply:
    """``/news sources export``: this workspace's feeds as an OPML file, privately."""
    feeds = await export_feeds(services.store, workspace_key(request))
    if not feeds:
        return Reply(title="Sources", lines=["No feeds added here yet."], ephemeral=True)
    data = write_opml(feeds, title="newsbot feeds")
    return Reply(
        title="Sources exported",
        lines=[f"{len(feeds)} feeds in {EXPORT_NAME} (OPML: any feed reader imports it)."],
        attachments=[Attachment(EXPORT_NAME, data, OPML_TYPE)],
        ephemeral=True,
    )
