"""Digest for one local (console) channel, on demand: ``newsbot digest``.

A preview composes what the channel was not told and records nothing. ``--commit`` goes through
the one delivery path, :func:`bot.delivery.channel.tell_channel`, with the console gateway
(its text sink silent: the command prints the digest itself), so the digest is stored with what
it shows, as a chat channel's is, and the next digest holds only what is new.
"""

from __future__ import annotations

from datetime import datetime

from bot.delivery.channel import Target, compose_for, manual_key, tell_channel
from bot.delivery.console import ConsoleGateway
from bot.delivery.gateway import ChannelRef
from bot.digest.model import Digest
from bot.services import Services

EVERY_STORY = 1_000_000
LOCAL = "local"  # the workspace of local channels (channel keys ``console:local:<name>``)


def _silent(_text: str) -> None:
    """The console gateway's sink here: ``newsbot digest`` prints the digest itself."""


async def local_digest(
    sv: Services,
    *,
    channel: str,
    now: datetime,
    topic: str | None = None,
    story_ref: str | None = None,
    commit: bool = False,
    every_story: bool = False,
) -> Digest:
    """The digest of a local (console) channel; ``commit`` delivers it (records it as told);
    ``every_story`` lifts ``max_stories`` (every story with news is shown)."""
    from bot.queries.views import resolve_story

    story_id = await resolve_story(sv, story_ref) if story_ref else None
    ref = ChannelRef("console", LOCAL, channel)
    settings = sv.settings.digest
    if every_story:
        settings = settings.model_copy(update={"max_stories": EVERY_STORY})
    targets = [Target(topic, story_id)]
    if commit:
        gateway = ConsoleGateway(sink=_silent)
        sv.outbox.add_gateway(gateway)
        told = await tell_channel(
            sv.store, settings, sv.outbox, ref, targets, key=manual_key(ref, now), now=now
        )
        if told.status != "empty" and gateway.posted:
            return gateway.posted[-1][1]
    composed = await compose_for(sv.store, settings, ref, targets, now=now)
    return composed.digest
