"""Slack: one ``/news`` slash command on slack-bolt's AsyncApp, and digest delivery.

- Socket Mode when an app token (``xapp-…``) is given, else HTTP mode: bolt's aiohttp server,
  with every request's signature checked against the signing secret.
- ``/news <sub> args…`` text becomes a :class:`CommandRequest` (``handlers.parse_text``);
  help and unknown subcommands are answered in the ``ack()`` itself, every other command is
  acknowledged at once and answered through the ``response_url`` (Block Kit, at most 5 posts,
  then ``chat.postMessage``); a reply's images are uploaded with ``files_upload_v2``.
- Admin-only subcommands are checked here, server-side: ``users.info`` ``is_admin`` /
  ``is_owner``, or a configured allow-list of user ids.
- :class:`SlackGateway` posts digests with ``chat.postMessage`` (429s retried after
  ``Retry-After`` by slack_sdk's retry handler, about one message per second per channel) and
  maps Slack errors to :class:`DeliveryError`.
- Tokens, the signing secret and response URLs never reach logs (see ``slack_logging``) or
  error messages.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.app.async_server import AsyncSlackAppServer
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.delivery import ChannelRef, DeliveryError
from bot.digest.model import Digest
from bot.errors import ConfigError
from bot.platforms.slack_logging import install_redaction
from bot.platforms.slack_render import escape, render_reply, render_slack
from bot.services import Services
from bot.settings import SECRET_NAMES, Secrets, Settings
from handlers import COMMANDS, dispatch, error_reply, help_reply, parse_text
from handlers.base import CommandRequest, Reply

PLATFORM = "slack"
COMMAND = "/news"
DEFAULT_PATH = "/slack/events"
RESPONSE_URL_POSTS_MAX = 5  # Slack accepts 5 posts per response_url within 30 minutes
POST_INTERVAL = 1.0  # chat.postMessage: about one message per second per channel
ADMIN_CACHE_SECONDS = 300.0
# The channel is gone or denies the bot: disable the subscription instead of retrying.
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "account_inactive",
        "invalid_auth",
        "token_revoked",
        "token_expired",
        "not_authed",
        "missing_scope",
        "restricted_action",
        "restricted_action_read_only_channel",
        "team_access_not_granted",
        "ekm_access_denied",
    }
)
_SMART_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'"})

log = install_redaction()


def retry_handlers(rate_limit_retries: int = 3) -> list[AsyncRetryHandler]:
    """Connection errors, 429 (sleeps ``Retry-After``) and 500/503 are retried."""
    return [
        AsyncConnectionErrorRetryHandler(max_retry_count=1),
        AsyncRateLimitErrorRetryHandler(max_retry_count=rate_limit_retries),
        AsyncServerErrorRetryHandler(max_retry_count=2),
    ]


def make_client(
    token: str, *, base_url: str | None = None, rate_limit_retries: int = 3
) -> AsyncWebClient:
    """An AsyncWebClient that honours 429 ``Retry-After`` and logs through the redactor."""
    install_redaction([token])
    kwargs: dict[str, Any] = {"base_url": base_url} if base_url else {}
    return AsyncWebClient(
        token=token,
        logger=log,
        retry_handlers=retry_handlers(rate_limit_retries),
        timeout=30,
        **kwargs,
    )


def _error_code(exc: SlackApiError) -> str:
    data = getattr(exc.response, "data", None)
    if isinstance(data, dict):
        return str(data.get("error") or "unknown_error")
    return "unknown_error"


def _retry_after(exc: SlackApiError) -> float | None:
    headers = getattr(exc.response, "headers", None) or {}
    for key, value in dict(headers).items():
        if str(key).lower() == "retry-after":
            try:
                return float(value if not isinstance(value, list) else value[0])
            except (TypeError, ValueError):
                return None
    return None


def delivery_error(method: str, exc: Exception) -> DeliveryError:
    """A secret-free DeliveryError for a failed Web API call."""
    if isinstance(exc, SlackApiError):
        code = _error_code(exc)
        status = getattr(exc.response, "status_code", None)
        if code == "ratelimited" or status == 429:
            return DeliveryError(
                f"slack {method}: rate limited", retry_after=_retry_after(exc) or POST_INTERVAL
            )
        return DeliveryError(f"slack {method}: {code}", permanent=code in PERMANENT_ERRORS)
    return DeliveryError(f"slack {method}: {type(exc).__name__}")


class SlackGateway:
    """:class:`~bot.delivery.ChatGateway` for Slack: digests via ``chat.postMessage``."""

    platform = PLATFORM

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        min_interval: float = POST_INTERVAL,
        admin_allowlist: Iterable[str] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.min_interval = min_interval
        self.admin_allowlist = tuple(admin_allowlist)
        self._clock = clock
        self._last_post: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def post_digest(self, channel: ChannelRef, digest: Digest) -> str:
        first = ""
        for message in render_slack(digest):
            ts = await self.post_message(channel.channel, message)
            first = first or ts
        return first

    async def post_message(self, channel_id: str, message: Mapping[str, Any]) -> str:
        """Post one Block Kit message, at most one per ``min_interval`` per channel; its ts."""
        lock = self._locks.setdefault(channel_id, asyncio.Lock())
        async with lock:
            last = self._last_post.get(channel_id)
            if last is not None:
                wait = last + self.min_interval - self._clock()
                if wait > 0:
                    await asyncio.sleep(wait)
            try:
                response = await self.client.chat_postMessage(
                    channel=channel_id,
                    text=message.get("text", ""),
                    blocks=message.get("blocks"),
                    unfurl_links=False,
                    unfurl_media=False,
                )
            except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
                raise delivery_error("chat.postMessage", exc) from None
            finally:
                self._last_post[channel_id] = self._clock()
            return str(response.get("ts") or "")

    async def admin_ids(self) -> list[str]:
        """Workspace admins and owners (humans, not deactivated), then the allow-list."""
        ids: list[str] = []
        cursor: str | None = None
        while True:
            response = await self.client.users_list(limit=200, cursor=cursor)
            for user in response.get("members") or []:
                if user.get("deleted") or user.get("is_bot"):
                    continue
                if user.get("is_admin") or user.get("is_owner"):
                    ids.append(str(user["id"]))
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                break
        ids.extend(u for u in self.admin_allowlist if u not in ids)
        return ids

    async def notify_admins(self, workspace: str, text: str) -> None:
        """Direct-message each admin once; failures are logged, never raised."""
        try:
            admins = await self.admin_ids()
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning(
                "slack: cannot list admins of %s: %s", workspace, delivery_error("users.list", exc)
            )
            return
        for user in admins:
            try:
                opened = await self.client.conversations_open(users=user)
                dm = str((opened.get("channel") or {}).get("id") or "")
                await self.post_message(dm, {"text": escape(text)})
            except (SlackClientError, aiohttp.ClientError, TimeoutError, DeliveryError) as exc:
                log.warning("slack: cannot notify admin %s: %s", user, exc)


class AdminCheck:
    """Is a user a workspace admin/owner (``users.info``) or on the allow-list? Cached."""

    def __init__(
        self,
        client: AsyncWebClient,
        allowlist: Iterable[str] = (),
        *,
        ttl: float = ADMIN_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.allowlist = frozenset(allowlist)
        self.ttl = ttl
        self._clock = clock
        self._cache: dict[tuple[str, str], tuple[float, bool]] = {}

    async def __call__(self, team: str, user: str) -> bool:
        if user in self.allowlist:
            return True
        key = (team, user)
        hit = self._cache.get(key)
        now = self._clock()
        if hit and now - hit[0] < self.ttl:
            return hit[1]
        try:
            response = await self.client.users_info(user=user)
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning(
                "slack: users.info failed for %s: %s", user, delivery_error("users.info", exc)
            )
            return False  # fail closed, do not cache
        info = response.get("user") or {}
        admin = bool(
            (info.get("is_admin") or info.get("is_owner") or info.get("is_primary_owner"))
            and not info.get("deleted")
            and info.get("team_id", team) == team
        )
        self._cache[key] = (now, admin)
        return admin


def parse_command(text: str) -> tuple[str, dict[str, str]]:
    """``/news`` text -> (subcommand, options); smart quotes count as quotes."""
    return parse_text((text or "").translate(_SMART_QUOTES).strip())


class NewsCommand:
    """The ``/news`` listener: ack first, then dispatch, then reply with Block Kit."""

    def __init__(
        self,
        services: Services,
        client: AsyncWebClient,
        admin: AdminCheck,
        *,
        webhook_retries: list[AsyncRetryHandler] | None = None,
    ) -> None:
        self.services = services
        self.client = client
        self.admin = admin
        self._webhook_retries = webhook_retries

    async def __call__(self, ack: Any, command: dict[str, Any]) -> None:
        name, args = parse_command(str(command.get("text", "")))
        spec = COMMANDS.get(name)
        if spec is None:  # `/news`, `/news help`, a typo: the help is the acknowledgement
            message = render_reply(help_reply())[0]
            await ack(text=message["text"], blocks=message["blocks"], response_type="ephemeral")
            return
        await ack()
        team = str(command.get("team_id", ""))
        user = str(command.get("user_id", ""))
        request = CommandRequest(
            platform=PLATFORM,
            workspace=team,
            channel=str(command.get("channel_id", "")),
            user=user,
            is_admin=await self.admin(team, user),
            command=name,
            args=args,
        )
        try:
            reply = await dispatch(request, self.services)
        except Exception:
            log.exception("slack: /news %s failed", name)
            reply = error_reply("Something went wrong; the error was logged.")
        await self.send_reply(command, reply)

    async def send_reply(self, command: Mapping[str, Any], reply: Reply) -> None:
        messages = render_reply(reply)
        response_type = "ephemeral" if reply.ephemeral else "in_channel"
        channel = str(command.get("channel_id", ""))
        user = str(command.get("user_id", ""))
        url = str(command.get("response_url") or "")
        webhook = (
            AsyncWebhookClient(
                url, logger=log, retry_handlers=self._webhook_retries or retry_handlers()
            )
            if url
            else None
        )
        posts = 0
        for message in messages:
            if webhook is not None and posts < RESPONSE_URL_POSTS_MAX:
                posts += 1
                if await self._respond(webhook, message, response_type):
                    continue
            await self._post(channel, user, message, ephemeral=reply.ephemeral)
        if reply.attachments and reply.ephemeral:
            log.debug(
                "slack: %d attachment(s) of an ephemeral reply not posted", len(reply.attachments)
            )
            return
        for attachment in reply.attachments:
            try:
                await self.client.files_upload_v2(
                    channel=channel,
                    content=attachment.data,
                    filename=attachment.filename,
                    title=attachment.filename,
                )
            except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
                error = delivery_error("files.upload", exc)
                log.warning("slack: cannot upload %s: %s", attachment.filename, error)
                if webhook is not None and posts < RESPONSE_URL_POSTS_MAX:
                    posts += 1
                    hint = render_reply(
                        error_reply(
                            "The chart could not be posted here: invite the bot to this channel."
                        )
                    )[0]
                    await self._respond(webhook, hint, "ephemeral")

    async def _respond(
        self, webhook: AsyncWebhookClient, message: Mapping[str, Any], response_type: str
    ) -> bool:
        try:
            response = await webhook.send_dict(
                {
                    **message,
                    "response_type": response_type,
                    "unfurl_links": False,
                    "unfurl_media": False,
                }
            )
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("slack: response_url post failed: %s", type(exc).__name__)
            return False
        if response.status_code != 200:
            log.warning("slack: response_url post failed: HTTP %s", response.status_code)
            return False
        return True

    async def _post(
        self, channel: str, user: str, message: Mapping[str, Any], *, ephemeral: bool
    ) -> None:
        try:
            if ephemeral:
                await self.client.chat_postEphemeral(
                    channel=channel, user=user, text=message["text"], blocks=message["blocks"]
                )
            else:
                await self.client.chat_postMessage(
                    channel=channel,
                    text=message["text"],
                    blocks=message["blocks"],
                    unfurl_links=False,
                    unfurl_media=False,
                )
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("slack: reply not posted: %s", delivery_error("chat.postMessage", exc))


def build_app(
    services: Services,
    client: AsyncWebClient,
    *,
    signing_secret: str | None = None,
    admin_allowlist: Iterable[str] = (),
    command: str = COMMAND,
) -> tuple[AsyncApp, NewsCommand]:
    """A bolt AsyncApp with the ``/news`` command. No signing secret: Socket Mode only."""
    install_redaction([signing_secret])
    app = AsyncApp(
        client=client,
        signing_secret=signing_secret or "",
        request_verification_enabled=True,
        logger=log,
        name="newsbot",
        process_before_response=False,
    )
    listener = NewsCommand(services, client, AdminCheck(client, admin_allowlist))
    app.command(command)(listener.__call__)
    return app, listener


@dataclass(slots=True)
class SlackConfig:
    """What the Slack runtime needs; secrets come from the environment only."""

    bot_token: str
    app_token: str | None = None  # Socket Mode when set
    signing_secret: str | None = None  # HTTP mode
    host: str = "127.0.0.1"
    port: int = 3000
    path: str = DEFAULT_PATH
    admin_allowlist: tuple[str, ...] = ()
    base_url: str | None = None  # the Web API (tests point it at a local fake)

    @classmethod
    def from_env(cls, env: Mapping[str, str], secrets: Mapping[str, str | None]) -> SlackConfig:
        token = secrets.get("SLACK_BOT_TOKEN")
        if not token:
            raise ConfigError("SLACK_BOT_TOKEN is not set")
        app_token = secrets.get("SLACK_APP_TOKEN")
        signing = secrets.get("SLACK_SIGNING_SECRET")
        if not app_token and not signing:
            raise ConfigError(
                "Slack needs SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP)"
            )
        try:
            port = int(env.get("SLACK_HTTP_PORT", "3000"))
        except ValueError:
            raise ConfigError("SLACK_HTTP_PORT: not a port number") from None
        allow = tuple(u.strip() for u in env.get("SLACK_ADMIN_USERS", "").split(",") if u.strip())
        return cls(
            bot_token=token,
            app_token=app_token,
            signing_secret=signing,
            host=env.get("SLACK_HTTP_HOST", "127.0.0.1"),
            port=port,
            admin_allowlist=allow,
        )


class SlackRuntime:
    """The running Slack side: the command app (Socket Mode or HTTP) and the gateway."""

    name = PLATFORM

    def __init__(self, config: SlackConfig, services: Services) -> None:
        if not config.app_token and not config.signing_secret:
            raise ConfigError("Slack HTTP mode needs SLACK_SIGNING_SECRET")
        install_redaction([config.bot_token, config.app_token, config.signing_secret])
        self.config = config
        self.client = make_client(config.bot_token, base_url=config.base_url)
        self.gateway = SlackGateway(self.client, admin_allowlist=config.admin_allowlist)
        self.app, self.listener = build_app(
            services,
            self.client,
            signing_secret=config.signing_secret,
            admin_allowlist=config.admin_allowlist,
        )
        self._socket: AsyncSocketModeHandler | None = None
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    @property
    def mode(self) -> str:
        return "socket" if self.config.app_token else "http"

    async def start(self) -> None:
        if self.config.app_token:
            self._socket = AsyncSocketModeHandler(
                self.app, app_token=self.config.app_token, logger=log, web_client=self.client
            )
            try:
                await self._socket.connect_async()
            except BaseException:
                await self.stop()
                raise
            log.info("slack: connected in Socket Mode")
            return
        server = AsyncSlackAppServer(
            port=self.config.port, path=self.config.path, app=self.app, host=self.config.host
        )
        self._runner = web.AppRunner(server.web_app, access_log=None)
        try:
            await self._runner.setup()
            site = web.TCPSite(self._runner, self.config.host, self.config.port)
            await site.start()
        except BaseException:
            await self.stop()
            raise
        sockets = [s for s in self._runner.addresses if isinstance(s, tuple)]
        self.port = int(sockets[0][1]) if sockets else self.config.port
        log.info(
            "slack: listening on http://%s:%s%s", self.config.host, self.port, self.config.path
        )

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await asyncio.sleep(0)


def create_runtime(
    settings: Settings,
    services: Services,
    secrets: Secrets,
    env: Mapping[str, str] | None = None,
) -> SlackRuntime | None:
    """The registry factory: ``None`` without ``SLACK_BOT_TOKEN``; HTTP host/port and the
    admin allow-list come from ``SLACK_HTTP_HOST``, ``SLACK_HTTP_PORT``, ``SLACK_ADMIN_USERS``."""
    del settings  # nothing Slack-specific lives in the settings file (secrets are env-only)
    values = {name: secrets.get(name) for name in SECRET_NAMES}
    if not values.get("SLACK_BOT_TOKEN"):
        return None
    config = SlackConfig.from_env(dict(os.environ) if env is None else env, values)
    return SlackRuntime(config, services)


__all__ = [
    "AdminCheck",
    "NewsCommand",
    "SlackConfig",
    "SlackGateway",
    "SlackRuntime",
    "build_app",
    "create_runtime",
    "delivery_error",
    "make_client",
    "parse_command",
]
