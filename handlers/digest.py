"""`/news digest`: this channel's digest, now.

The digest covers the channel's subscriptions (every story when it has none) and only what
the channel has not been shown. In the running bot it is posted through the outbox, so the
channel's memory records it only once it is actually sent; without an outbox (a preview) the
digest comes back in the reply and nothing is recorded.
"""

from __future__ import annotations

import uuid

from bot.digest.compose import Composed, compose_digest, merge_composed
from bot.models import utcnow
from bot.outbox import outbox_for
from bot.services import Services
from bot.storage.store import to_iso
from bot.subscriptions import Subscriptions
from handlers.base import CommandRequest, Reply
from handlers.subscriptions import channel_of


async def compose_for_channel(request: CommandRequest, services: Services) -> Composed:
    ref = channel_of(request)
    now = utcnow()
    subs = await Subscriptions(services.store).for_channel(ref, enabled_only=True)
    settings = services.settings.digest
    targets: list[tuple[str | None, int | None]] = [(s.topic_query, s.story_id) for s in subs]
    parts = [
        await compose_digest(
            services.store,
            settings,
            key=ref.key,
            channel=request.channel,
            now=now,
            topic=topic,
            story_id=story_id,
            scope=request.scope,
        )
        for topic, story_id in targets or [(None, None)]
    ]
    merged = parts[0] if len(parts) == 1 else merge_composed(parts, settings.max_stories)
    if len(targets) > 1:
        merged.digest.topic = ", ".join(t or f"story #{s}" for t, s in targets)[:200]
    return merged


async def digest(request: CommandRequest, services: Services) -> Reply:
    composed = await compose_for_channel(request, services)
    if composed.digest.empty:
        return Reply(title="Digest", lines=["Nothing new since the last digest."], ephemeral=True)
    outbox = outbox_for(services.store)
    if outbox is None or request.platform not in outbox.gateways:
        return Reply(title="Digest (preview)", digest=composed.digest)
    ref = channel_of(request)
    key = f"manual:{ref.key}:{to_iso(utcnow())}:{uuid.uuid4().hex[:12]}"
    _, status = await outbox.deliver(composed, channel=ref, idempotency_key=key)
    count = len(composed.digest.stories)
    if status == "sent":
        return Reply(
            title="Digest", lines=[f"Posted {count} stories in this channel."], ephemeral=True
        )
    if status == "failed":
        return Reply(
            title="Digest",
            lines=["newsbot cannot post in this channel: check its permissions."],
            ephemeral=True,
            error=True,
        )
    return Reply(
        title="Digest",
        lines=[f"{count} stories queued: the platform is busy, they will be posted shortly."],
        ephemeral=True,
    )
