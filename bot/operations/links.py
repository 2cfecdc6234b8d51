"""Platform connections made in the background, so ``newsbot run`` never waits on the network.

A :class:`PlatformLink` starts one chat runtime (``bot/platforms/registry.py``) in a task of its
own: each attempt is bounded by ``connect_timeout``; a failure is logged as one line (no
traceback) and retried with exponential backoff, except a rejected credential
(:class:`ConfigError`), which retrying cannot fix. Until a link is up its platform's digests
wait in the outbox; ``on_up`` hands the runtime's gateway to the outbox when it connects. The
health endpoint reports each link's state (:func:`not_connected`). :meth:`PlatformLink.stop`
cancels a connection attempt at once and bounds the runtime's own stop, so a stop (SIGTERM)
never waits for a platform that does not answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

from bot.delivery.gateway import PlatformRuntime
from bot.errors import ConfigError

log = logging.getLogger("newsbot")

CONNECT_TIMEOUT_S = 60.0
RETRY_FIRST_S = 2.0
RETRY_MAX_S = 60.0
STOP_TIMEOUT_S = 3.0


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())[:200]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class PlatformLink:
    """One chat platform's connection: ``state`` is connecting, connected or failed."""

    def __init__(
        self,
        runtime: PlatformRuntime,
        on_up: Callable[[PlatformRuntime], Awaitable[None]],
        *,
        connect_timeout: float = CONNECT_TIMEOUT_S,
        retry_first: float = RETRY_FIRST_S,
        retry_max: float = RETRY_MAX_S,
    ) -> None:
        self.runtime = runtime
        self.name: str = runtime.name
        self.on_up = on_up
        self.connect_timeout = connect_timeout
        self.retry_first = retry_first
        self.retry_max = retry_max
        self.state = "connecting"
        self.detail = ""
        self.attempts = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._connect(), name=f"connect-{self.name}")

    async def _connect(self) -> None:
        delay = self.retry_first
        while True:
            self.attempts += 1
            try:
                await asyncio.wait_for(self.runtime.start(), self.connect_timeout)
            except ConfigError as exc:
                self.state, self.detail = "failed", str(exc)
                log.error("%s not started: %s", self.name, exc)
                await self._stop_runtime()
                return
            except Exception as exc:  # network, timeout, platform error: try again later
                self.detail = _reason(exc)
                log.warning(
                    "%s not connected (attempt %d): %s; retrying in %.1fs",
                    self.name,
                    self.attempts,
                    self.detail,
                    delay,
                )
                await self._stop_runtime()
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry_max)
                continue
            self.state, self.detail = "connected", ""
            log.info("%s connected", self.name)
            try:
                await self.on_up(self.runtime)
            except Exception:
                log.exception("%s: after connecting", self.name)
            return

    async def _stop_runtime(self) -> None:
        with contextlib.suppress(Exception, asyncio.TimeoutError):
            await asyncio.wait_for(self.runtime.stop(), STOP_TIMEOUT_S)

    async def stop(self) -> None:
        """Cancel a pending attempt, then stop the runtime (each step bounded)."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, STOP_TIMEOUT_S)
        await self._stop_runtime()
        if self.state == "connected":
            self.state = "stopped"


def link_states(links: Sequence[PlatformLink]) -> dict[str, dict[str, object]]:
    """Each platform's connection state, for the health endpoint."""
    return {
        link.name: {"state": link.state, "attempts": link.attempts, "detail": link.detail}
        for link in links
    }


def not_connected(links: Sequence[PlatformLink]) -> list[str]:
    return [link.name for link in links if link.state != "connected"]
