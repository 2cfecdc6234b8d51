"""`/news digest`: post this channel's news now.

Meaning (README, "Digests"): ``/news digest`` posts to the channel, now, what its subscriptions
(every story when it has none) hold that the channel was not told, through the same path as
scheduled digests (:func:`bot.delivery.channel.tell_channel`), so it is recorded in the channel's
memory and a scheduled digest will not repeat it. With nothing new it answers privately,
saying when the last digest was. Outside the running bot (no outbox for the platform) the
digest comes back as a private preview and nothing is recorded.

The "More stories" button (``more``, a button-only command) answers privately with the stories
with news a digest left out: what the channel's subscriptions hold that it was not told, ranked
as a digest ranks them, a page of ``max_stories`` at a time, each story with its own buttons
and a "More stories" for the next page. Nothing is recorded: the channel was told nothing, so
its next digest still has them.
"""

from __future__ import annotations

from bot.delivery.channel import (
    Target,
    compose_for,
    describe_last,
    manual_key,
    target_of,
    tell_channel,
)
from bot.delivery.subscriptions import Subscriptions
from bot.errors import UserError
from bot.services import Services
from handlers.base import CommandRequest, Reply
from handlers.subscriptions import channel_of, stories


def nothing_new(last: str) -> Reply:
    return Reply(
        title="Digest", lines=[f"Nothing new since the last digest {last}."], ephemeral=True
    )


async def _targets(request: CommandRequest, services: Services) -> list[Target]:
    """What the channel's digests cover: its enabled subscriptions, else every story."""
    subs = await Subscriptions(services.store).for_channel(channel_of(request), enabled_only=True)
    return [target_of(s) for s in subs] or [Target()]


MORE_PAGES_MAX = 20


async def more_stories(request: CommandRequest, services: Services) -> Reply:
    """The "More stories" button: page ``page`` (1 by default) of the stories with news the
    channel was not told, privately; nothing is recorded."""
    try:
        page = int(request.args.get("page") or 1)
    except ValueError:
        raise UserError("More stories: not a page number") from None
    if not 1 <= page <= MORE_PAGES_MAX:
        raise UserError(f"More stories shows at most {MORE_PAGES_MAX} pages")
    settings = services.settings.digest
    size = settings.max_stories
    wider = settings.model_copy(update={"max_stories": size * page})
    composed = await compose_for(
        services.store,
        wider,
        channel_of(request),
        await _targets(request, services),
        now=services.clock(),
    )
    shown = composed.digest
    shown.stories = shown.stories[size * (page - 1) :]
    if not shown.stories:
        return Reply(
            title="More stories",
            lines=["Nothing more: this channel has been told every story with news."],
            ephemeral=True,
        )
    shown.page = page
    shown.subscriptions = []  # Unsubscribe stays on the digest itself
    return Reply(
        title=f"More stories (page {page})",
        lines=["Only you see these; the channel's next digest still has them."],
        digest=shown,
        ephemeral=True,
    )


async def digest(request: CommandRequest, services: Services) -> Reply:
    ref = channel_of(request)
    now = services.clock()
    targets = await _targets(request, services)
    settings = services.settings.digest
    outbox = services.outbox
    if request.platform not in outbox.gateways:
        composed = await compose_for(services.store, settings, ref, targets, now=now)
        if composed.digest.empty:
            return Reply(
                title="Digest (preview)", lines=["Nothing new for this channel."], ephemeral=True
            )
        return Reply(title="Digest (preview, not posted)", digest=composed.digest, ephemeral=True)
    told = await tell_channel(
        services.store, settings, outbox, ref, targets, key=manual_key(ref, now), now=now
    )
    if told.status in ("empty", "duplicate"):
        return nothing_new(describe_last(told.last_at))
    if told.status == "sent":
        return Reply(
            title="Digest",
            lines=[f"Posted {stories(told.stories)} in this channel."],
            ephemeral=True,
        )
    if told.status == "failed":
        return Reply(
            title="Digest",
            lines=["newsbot cannot post in this channel: check its permissions."],
            ephemeral=True,
            error=True,
        )
    return Reply(
        title="Digest",
        lines=[f"{stories(told.stories)} queued: the platform is busy, posted shortly."],
        ephemeral=True,
    )
