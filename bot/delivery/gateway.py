"""Delivery contracts: where a digest goes and how a platform reports failure.

A platform adapter implements :class:`ChatGateway` and runs as a :class:`PlatformRuntime`; the
outbox (stored digests sent with retries, marked sent with the platform's message id) only
talks to the gateway protocol, so core code never sees an SDK exception. A threaded digest
(``Digest.thread``: ``digest`` or ``story``) is posted with a :class:`Threads`: the threads
already open for it and where to record one the gateway opens.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from bot.digest.model import Digest
from bot.errors import NewsbotError


@dataclass(frozen=True, slots=True)
class ChannelRef:
    platform: str  # "console" | "discord" | "slack"
    workspace: str
    channel: str

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.workspace}:{self.channel}"

    @classmethod
    def parse(cls, key: str) -> ChannelRef:
        platform, workspace, channel = key.split(":", 2)
        return cls(platform, workspace, channel)


class DeliveryError(NewsbotError):
    """A post failed. ``permanent``: the channel is gone or denies access (disable the
    subscription, tell admins once); otherwise retry, after ``retry_after`` seconds if given."""

    def __init__(
        self, message: str, *, permanent: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


DIGEST_THREAD = "digest"  # the key of a delivery's own thread in ``Threads.open``


@dataclass(slots=True)
class Threads:
    """Where a threaded digest goes (``mode`` is its ``Digest.thread``: ``digest`` or ``story``).

    ``open`` maps to the platform's thread id (Slack: the parent message's ts; Discord: the
    thread channel's id) each thread already open for this post: :data:`DIGEST_THREAD` for the
    delivery's own thread (mode ``digest``), a story's public id for that story's thread in the
    channel (mode ``story``). A gateway that opens a thread calls :meth:`opened` at once, before
    posting in it, so that a retried post (after a 429 or a crash) posts in that thread instead
    of opening a second one.
    """

    mode: str
    open: dict[str, str] = field(default_factory=dict)
    record: Callable[[str, str], Awaitable[None]] | None = None

    async def opened(self, key: str, thread_id: str) -> None:
        self.open[key] = thread_id
        if self.record is not None:
            await self.record(key, thread_id)


class ChatGateway(Protocol):
    platform: str

    async def post_digest(
        self, channel: ChannelRef, digest: Digest, threads: Threads | None = None
    ) -> str:
        """Post the digest (split into as many messages as the limits need); return the first
        message's platform id. Raises :class:`DeliveryError`.

        With ``threads`` (mode ``digest``): a short parent message ("Digest: TOPIC — N
        stories") opens a thread (Discord: a thread from it, or a post in a forum channel) and
        the digest's messages go in it; returns the parent's id. Mode ``story``: each story in
        its own thread (opened by a parent message the first time the story is told in the
        channel), then one message in the channel linking them; returns that message's id (a
        forum channel has no such message: the first story thread's id)."""
        ...

    async def notify_admins(self, workspace: str, text: str) -> None:
        """Tell the workspace's admins something once (e.g. a subscription was disabled)."""
        ...


class PlatformRuntime(Protocol):
    """A running chat platform (see ``bot/platforms/registry.py``).

    ``await start()`` connects and returns once the platform runs in the background (it does
    not block until shutdown); ``await stop()`` disconnects and is safe to call after a failed
    or partial start. ``gateway`` posts digests for the outbox.
    """

    @property
    def name(self) -> str: ...

    @property
    def gateway(self) -> ChatGateway: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...
