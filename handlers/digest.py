"""`/news digest`: post this channel's news now.

Meaning (README, "Digests"): ``/news digest`` posts to the channel, now, what its subscriptions
(every story when it has none) hold that the channel was not told, through the same path as
scheduled digests (:func:`bot.delivery.channel.tell_channel`), so it is recorded in the channel's
memory and a scheduled digest will not repeat it. With nothing new it answers privately,
saying when the last digest was. Outside the running bot (no outbox for the platform) the
digest comes back as a private preview and nothing is recorded.
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
from bot.services import Services
from handlers.base import CommandRequest, Reply
from handlers.subscriptions import channel_of, stories


def nothing_new(last: str) -> Reply:
    return Reply(
        title="Digest", lines=[f"Nothing new since the last digest {last}."], ephemeral=True
    )


async def digest(request: CommandRequest, services: Services) -> Reply:
    ref = channel_of(request)
    now = services.clock()
    subs = await Subscriptions(services.store).for_channel(ref, enabled_only=True)
    targets = [target_of(s) for s in subs] or [Target()]
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
