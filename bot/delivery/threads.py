"""Threaded digests: what the outbox hands a gateway, and the words every platform shows.

A subscription's ``thread`` mode becomes its digest's ``Digest.thread`` when the digest is
composed (:func:`bot.delivery.channel.compose_for`), so it is stored with the delivery and a
retry posts the same way. At send time the outbox asks :func:`thread_plan` for the
:class:`~bot.delivery.gateway.Threads` of the post: the delivery's own thread if an earlier
attempt opened it (mode ``digest``), each story's thread in the channel (mode ``story``),
and a recorder that stores a thread the moment the gateway opens one (SQL in
:mod:`bot.storage.threads`). The gateways (console, Discord, Slack) do the posting.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bot.delivery.gateway import DIGEST_THREAD, ChannelRef, Threads
from bot.digest.model import Digest, StoryDigest
from bot.storage import Store
from bot.storage.threads import ThreadRepo

THREAD_NAME_MAX = 100  # Discord's limit on a thread's name


async def thread_plan(
    store: Store, delivery_id: int, channel: ChannelRef, digest: Digest, *, now: datetime
) -> Threads | None:
    """The threads delivery ``delivery_id`` posts in; ``None`` for an unthreaded digest."""
    repo = ThreadRepo(store)
    if digest.thread == "digest":
        found = await repo.delivery_thread(delivery_id)

        async def record_delivery(key: str, thread_id: str) -> None:
            await repo.open_delivery_thread(delivery_id, thread_id)

        return Threads("digest", {DIGEST_THREAD: found} if found else {}, record_delivery)
    if digest.thread == "story":
        found_stories = await repo.story_threads(channel.key, [s.id for s in digest.stories])

        async def record_story(key: str, thread_id: str) -> None:
            await repo.open_story_thread(channel.key, key, thread_id, now=now)

        return Threads("story", found_stories, record_story)
    return None


def count_stories(count: int) -> str:
    return f"{count} story" if count == 1 else f"{count} stories"


def digest_title(digest: Digest) -> str:
    """The parent message of a digest's thread: ``Digest: ukraine — 3 stories``."""
    what = f"Digest: {digest.topic}" if digest.topic else "Digest"
    return f"{what} — {count_stories(len(digest.stories))}"


def story_title(story: StoryDigest) -> str:
    """The parent message (and name) of a story's thread."""
    return story.title or story.id


def thread_name(text: str) -> str:
    text = " ".join(text.split()) or "newsbot"
    return text if len(text) <= THREAD_NAME_MAX else text[: THREAD_NAME_MAX - 1] + "…"


def one_story(digest: Digest, story: StoryDigest) -> Digest:
    """What a story's thread gets of a story-mode digest: that story alone (the digest's own
    buttons and its "+N more" line go on the message in the channel)."""
    return replace(digest, stories=[story], more_stories=0, subscriptions=[])


def story_line(story: StoryDigest) -> str:
    """A story's line in the channel message of a story-mode digest (before its link)."""
    return f"{'Update' if story.known else 'New'}: {story_title(story)}"
