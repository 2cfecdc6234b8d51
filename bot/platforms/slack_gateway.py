"""Slack delivery: a Web API client that honours 429s, and the digest gateway.

- :func:`make_client`: slack_sdk's AsyncWebClient with the rate-limit retry handler (429 ->
  sleep ``Retry-After``, then retry), which slack_sdk leaves off by default.
- :class:`SlackGateway` (a :class:`~bot.delivery.gateway.ChatGateway`) posts ``render_slack``
messages
  with ``chat.postMessage``, about one per second per channel, and maps Slack errors to
  :class:`~bot.delivery.gateway.DeliveryError` (channel gone / no access -> permanent), naming only
  the
  error code, never a token.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.delivery.gateway import DIGEST_THREAD, ChannelRef, DeliveryError, Threads
from bot.delivery.threads import digest_title, one_story, story_title
from bot.digest.model import Digest
from bot.platforms.slack_logging import install_redaction
from bot.platforms.slack_render import (
    escape,
    render_slack,
    render_story_index,
    render_thread_parent,
)

PLATFORM = "slack"
POST_INTERVAL = 1.0  # chat.postMessage: about one message per second per channel
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
    """:class:`~bot.delivery.gateway.ChatGateway` for Slack: digests via ``chat.postMessage``."""

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

    async def post_digest(
        self, channel: ChannelRef, digest: Digest, threads: Threads | None = None
    ) -> str:
        """The digest's messages in the channel; threaded (``threads``), as replies
        (``thread_ts``) to the thread's parent message (see ``ChatGateway.post_digest``)."""
        if threads is not None and threads.mode == "digest":
            parent = await self._thread(channel, threads, DIGEST_THREAD, digest_title(digest))
            await self._post_all(channel, render_slack(digest), parent)
            return parent
        if threads is not None and threads.mode == "story":
            links: dict[str, str | None] = {}
            for story in digest.stories:
                parent = await self._thread(channel, threads, story.id, story_title(story))
                await self._post_all(channel, render_slack(one_story(digest, story)), parent)
                links[story.id] = await self.permalink(channel.channel, parent)
            return await self.post_message(channel.channel, render_story_index(digest, links))
        return await self._post_all(channel, render_slack(digest))

    async def _post_all(
        self, channel: ChannelRef, messages: Iterable[Mapping[str, Any]], thread: str | None = None
    ) -> str:
        first = ""
        for message in messages:
            ts = await self.post_message(channel.channel, message, thread_ts=thread)
            first = first or ts
        return first

    async def _thread(self, channel: ChannelRef, threads: Threads, key: str, title: str) -> str:
        """The parent ts of thread ``key``: the one open, else a new parent message (recorded
        before anything is posted under it)."""
        found = threads.open.get(key)
        if found:
            return found
        ts = await self.post_message(channel.channel, render_thread_parent(title))
        await threads.opened(key, ts)
        return ts

    async def permalink(self, channel_id: str, ts: str) -> str | None:
        """A message's link (``chat.getPermalink``); ``None`` when Slack will not say."""
        try:
            response = await self.client.chat_getPermalink(channel=channel_id, message_ts=ts)
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning(
                "slack: no permalink for %s: %s", ts, delivery_error("chat.getPermalink", exc)
            )
            return None
        return str(response.get("permalink") or "") or None

    async def post_message(
        self, channel_id: str, message: Mapping[str, Any], *, thread_ts: str | None = None
    ) -> str:
        """Post one Block Kit message (a reply in thread ``thread_ts`` if given), at most one
        per ``min_interval`` per channel; its ts."""
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
                    thread_ts=thread_ts,  # None: left out by slack_sdk
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
