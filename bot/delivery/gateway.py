"""Delivery contracts: where a digest goes and how a platform reports failure.

A platform adapter implements :class:`ChatGateway` and runs as a :class:`PlatformRuntime`; the
outbox (stored digests sent with retries, marked sent with the platform's message id) only
talks to the gateway protocol, so core code never sees an SDK exception.
"""

from __future__ import annotations

from dataclasses import dataclass
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


class ChatGateway(Protocol):
    platform: str

    async def post_digest(self, channel: ChannelRef, digest: Digest) -> str:
        """Post the digest (split into as many messages as the limits need); return the first
        message's platform id. Raises :class:`DeliveryError`."""
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
