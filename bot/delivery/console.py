"""The console channel: digests written to the log (or any text sink) instead of a chat.

Used by ``newsbot run`` when no chat credentials are present, by ``newsbot digest --commit``
(a local channel's digest goes through :func:`bot.delivery.channel.tell_channel` like any
other), and by tests as the simplest gateway. Message ids are ``console-<n>``. It is core, not
an adapter: it imports no chat SDK.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.delivery.gateway import DIGEST_THREAD, ChannelRef, Threads
from bot.delivery.threads import digest_title, one_story, story_line, story_title
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

    async def post_digest(
        self, channel: ChannelRef, digest: Digest, threads: Threads | None = None
    ) -> str:
        """The digest as text; threaded, each part headed by its thread (``console-thread-<n>``,
        recorded like a platform's)."""
        self.posted.append((channel, digest))
        del self.posted[:-50]  # keep the last few for inspection, never grow without bound
        message_id = f"console-{next(self._ids)}"
        if threads is None:
            self.sink(render_digest(digest))
        elif threads.mode == "digest":
            thread = await self._thread(threads, DIGEST_THREAD)
            self.sink(f"[{thread}] {digest_title(digest)}\n{render_digest(digest)}")
        else:
            lines = [digest_title(digest)]
            for story in digest.stories:
                thread = await self._thread(threads, story.id)
                self.sink(
                    f"[{thread}] {story_title(story)}\n{render_digest(one_story(digest, story))}"
                )
                lines.append(f"{story_line(story)} [{thread}]")
            self.sink("\n".join(lines))
        return message_id

    async def _thread(self, threads: Threads, key: str) -> str:
        found = threads.open.get(key)
        if found is None:
            found = f"console-thread-{next(self._ids)}"
            await threads.opened(key, found)
        return found

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
