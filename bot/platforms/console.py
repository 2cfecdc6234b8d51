"""The console channel: digests written to the log (or any text sink) instead of a chat.

Used by ``newsbot run`` when no chat credentials are present, and by tests as the simplest
gateway. Message ids are ``console-<n>``.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.delivery.gateway import ChannelRef
from bot.digest.model import Digest
from bot.digest.render import render_digest

log = logging.getLogger("newsbot.console")

CONSOLE = ChannelRef("console", "", "console")


def _log_sink(text: str) -> None:
    log.info("%s", text)


@dataclass
class ConsoleGateway:
    platform: str = "console"
    sink: Callable[[str], None] = _log_sink
    posted: list[tuple[ChannelRef, Digest]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def post_digest(self, channel: ChannelRef, digest: Digest) -> str:
        self.sink(render_digest(digest))
        self.posted.append((channel, digest))
        del self.posted[:-50]  # keep the last few for inspection, never grow without bound
        return f"console-{next(self._ids)}"

    async def notify_admins(self, workspace: str, text: str) -> None:
        log.warning("admin notice (%s): %s", workspace or "console", text)


@dataclass
class ConsoleRuntime:
    """The console as a platform runtime (nothing to connect)."""

    name: str = "console"
    gateway: ConsoleGateway = field(default_factory=ConsoleGateway)

    async def start(self) -> None:
        log.info("no chat credentials: digests go to the console log")

    async def stop(self) -> None:
        return None
