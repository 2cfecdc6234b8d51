"""Health and metrics for ``newsbot run``: ``/healthz`` and Prometheus ``/metrics`` on a local port.

Settings (``[health]``): ``enabled`` (default true), ``host`` (default ``127.0.0.1``: only this
machine can scrape) and ``port`` (default 9108; 0 picks a free one, logged). A port already in
use is logged and the bot runs without the endpoint.

* ``GET /healthz``: 200 ``{"status": "ok", "database": "ok", "uptime_s": ...}`` when the event
  loop answers and the database answers ``SELECT 1`` within two seconds, else 503. Under
  ``newsbot run`` it also gives each chat platform's connection (``platforms``) and the list
  ``not_connected``; while that list is not empty the status is ``degraded`` (still 200: the
  bot runs, queues digests and keeps reconnecting). It names this worker too (``worker``) and
  whether it is the leader of the workers sharing the database (``leader``: true or false).
* ``GET /metrics``: the Prometheus text format. Counts that live in the database are read when
  scraped (a few ``count(*)`` queries): feeds by state, articles, active stories, digests by
  status, the age of the oldest pending digest, subscriptions. Command latency is a histogram
  that :func:`observe_command` feeds from the command dispatcher.

The server is a small asyncio server on the bot's own loop (the core may not use aiohttp), so a
stuck loop fails the health check as it should; metrics use ``prometheus_client`` with a registry
of their own, never the library's global one.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from bot.models import utcnow
from bot.storage import Store
from bot.storage.health import HealthRepo

log = logging.getLogger("newsbot.health")

REGISTRY = CollectorRegistry()
"""Metrics code paths update (process-wide); the database counts have a registry per server."""

COMMAND_LATENCY = Histogram(
    "newsbot_command_duration_seconds",
    "Time to answer a chat command, by command.",
    ["command"],
    registry=REGISTRY,
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


@contextlib.contextmanager
def observe_command(command: str) -> Iterator[None]:
    """Time one command's handling into :data:`COMMAND_LATENCY`."""
    started = time.perf_counter()
    try:
        yield
    finally:
        COMMAND_LATENCY.labels(command).observe(time.perf_counter() - started)


# --------------------------------------------------------------------------------- settings
@dataclass(frozen=True, slots=True)
class HealthConfig:
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 9108


def health_config(settings: Any) -> HealthConfig:
    """The ``[health]`` settings, or the defaults where the settings have none."""
    section = getattr(settings, "health", None)
    default = HealthConfig()
    return HealthConfig(
        enabled=bool(getattr(section, "enabled", default.enabled)),
        host=str(getattr(section, "host", default.host)),
        port=int(getattr(section, "port", default.port)),
    )


# ---------------------------------------------------------------------------------- metrics
class StoreMetrics:
    """Gauges read from the database when scraped."""

    def __init__(self, store: Store, *, now: Any = utcnow) -> None:
        self.store = store
        self.repo = HealthRepo(store)
        self.now = now
        self.registry = CollectorRegistry()
        r = self.registry
        self.feeds = Gauge(
            "newsbot_feeds",
            "URL feeds by state: ok, failing (last polls failed), disabled, new (never polled).",
            ["state"],
            registry=r,
        )
        self.last_poll = Gauge(
            "newsbot_feed_last_poll_timestamp_seconds",
            "When a feed was last polled (Unix time; 0 if never).",
            registry=r,
        )
        self.articles = Gauge(
            "newsbot_articles", "Stored articles: original or duplicate.", ["kind"], registry=r
        )
        self.stories = Gauge("newsbot_stories_active", "Active stories.", registry=r)
        self.digests = Gauge(
            "newsbot_digests",
            "Digests in the outbox by status: sent, pending, failed.",
            ["status"],
            registry=r,
        )
        self.oldest_pending = Gauge(
            "newsbot_digest_oldest_pending_age_seconds",
            "Age of the oldest digest waiting to be sent (0 if none).",
            registry=r,
        )
        self.subscriptions = Gauge(
            "newsbot_subscriptions", "Subscriptions: enabled or disabled.", ["state"], registry=r
        )
        self.started = Gauge(
            "newsbot_start_time_seconds", "When this process started (Unix time).", registry=r
        )
        self.started.set(time.time())

    async def refresh(self) -> None:
        counts = await self.repo.counts()
        feeds = counts.feeds
        for state, value in zip(
            ("ok", "failing", "disabled", "new"),
            (feeds.ok, feeds.failing, feeds.disabled, feeds.new),
            strict=True,
        ):
            self.feeds.labels(state).set(value)
        self.last_poll.set(feeds.last_fetch_at.timestamp() if feeds.last_fetch_at else 0)
        self.articles.labels("original").set(counts.originals)
        self.articles.labels("duplicate").set(counts.duplicates)
        self.stories.set(counts.active_stories)
        for status in ("sent", "pending", "failed"):
            self.digests.labels(status).set(counts.digests.get(status, 0))
        oldest = counts.oldest_pending_at
        age = (self.now() - oldest).total_seconds() if oldest else 0.0
        self.oldest_pending.set(max(age, 0.0))
        self.subscriptions.labels("enabled").set(counts.subscriptions_enabled)
        self.subscriptions.labels("disabled").set(counts.subscriptions_disabled)

    async def render(self) -> bytes:
        await self.refresh()
        return generate_latest(self.registry) + generate_latest(REGISTRY)


# ----------------------------------------------------------------------------------- server
_REASONS = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}
MAX_REQUEST_HEAD = 8192
REQUEST_TIMEOUT_S = 5.0
DB_TIMEOUT_S = 2.0


class HealthServer:
    """``/healthz`` and ``/metrics`` over HTTP/1.0-style one-request connections."""

    def __init__(
        self,
        store: Store,
        *,
        now: Any = utcnow,
        platforms: Callable[[], dict[str, dict[str, object]]] | None = None,
        worker: Callable[[], dict[str, object]] | None = None,
    ) -> None:
        self.store = store
        self.platforms = platforms or dict
        self.worker = worker or dict
        self.metrics = StoreMetrics(store, now=now)
        self.started = time.monotonic()
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self._server is not None and self._server.sockets
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self, host: str = "127.0.0.1", port: int = 9108) -> None:
        self._server = await asyncio.start_server(self._handle, host, port, limit=MAX_REQUEST_HEAD)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
            self._server = None

    async def healthz(self) -> tuple[int, dict[str, object]]:
        body: dict[str, object] = {"uptime_s": round(time.monotonic() - self.started, 1)}
        try:
            await asyncio.wait_for(HealthRepo(self.store).ping(), DB_TIMEOUT_S)
        except Exception as exc:  # the reason, never the message (it may hold a path)
            body.update(status="error", database=type(exc).__name__)
            return 503, body
        body.update(status="ok", database="ok")
        body.update(self.worker())
        platforms = self.platforms()
        if platforms:
            body["platforms"] = platforms
            down = sorted(n for n, p in platforms.items() if p.get("state") != "connected")
            body["not_connected"] = down
            if down:
                body["status"] = "degraded"  # alive and serving; restarting would not help
        return 200, body

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), REQUEST_TIMEOUT_S)
            parts = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
            method = parts[0]
            path = parts[1].split("?", 1)[0] if len(parts) > 1 else ""
            status, ctype, body = await self._route(method, path)
            reason = _REASONS.get(status, "")
            writer.write(
                f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode("latin-1")
                + (body if method != "HEAD" else b"")
            )
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # a slow, truncated or oversized request: just close
        except ConnectionError:
            pass
        except Exception:
            log.exception("health endpoint failed")
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _route(self, method: str, path: str) -> tuple[int, str, bytes]:
        if path not in ("/healthz", "/metrics"):
            return 404, "text/plain; charset=utf-8", b"not found: try /healthz or /metrics\n"
        if method not in ("GET", "HEAD"):
            return 405, "text/plain; charset=utf-8", b"GET only\n"
        if path == "/healthz":
            status, body = await self.healthz()
            return status, "application/json", json.dumps(body).encode() + b"\n"
        return 200, CONTENT_TYPE_LATEST, await self.metrics.render()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def start_health(
    settings: Any,
    store: Store,
    *,
    platforms: Callable[[], dict[str, dict[str, object]]] | None = None,
    worker: Callable[[], dict[str, object]] | None = None,
) -> HealthServer | None:
    """Start the endpoint ``[health]`` asks for; ``None`` when disabled or the port is taken.
    ``platforms`` reports each chat platform's connection (``bot.operations.links.link_states``),
    ``worker`` this worker's name and leadership (``bot.app.Leadership.state``)."""
    config = health_config(settings)
    if not config.enabled:
        return None
    server = HealthServer(store, platforms=platforms, worker=worker)
    try:
        await server.start(config.host, config.port)
    except OSError as exc:
        log.warning(
            "health endpoint not started: cannot listen on %s:%d (%s)",
            config.host,
            config.port,
            exc.strerror or exc,
        )
        return None
    if not _is_loopback(config.host):
        log.warning("health endpoint listens on %s: reachable from the network", config.host)
    log.info("health: http://%s:%d/healthz and /metrics", config.host, server.port)
    return server


__all__ = [
    "COMMAND_LATENCY",
    "REGISTRY",
    "HealthConfig",
    "HealthServer",
    "StoreMetrics",
    "health_config",
    "observe_command",
    "start_health",
]
