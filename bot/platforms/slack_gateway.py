"""Slack delivery: a Web API client that honours 429s, and the digest gateway.

- :func:`make_client`: slack_sdk's AsyncWebClient with the rate-limit retry handler (429 ->
  sleep ``Retry-After``, then retry), which slack_sdk leaves off by default.
- :class:`SlackGateway` (a :class:`~bot.delivery.gateway.ChatGateway`) posts ``render_slack``
  messages with ``chat.postMessage``, about one per second per channel, and maps Slack errors
  to :class:`~bot.delivery.gateway.DeliveryError` (channel gone / no access -> permanent),
  naming only the error code, never a token.
- Once per idempotency key (``OnceGateway``, :meth:`SlackGateway.post_digest_once`): Slack has
  no nonce, so each message of a keyed delivery carries message ``metadata`` (event type
  ``newsbot_digest``, payload: the key and the message's part); a delivery tried before (the
  outbox's ``tried``) first reads the channel's history since then (``conversations.history``
  with ``include_all_metadata``, at most :data:`HISTORY_MAX` messages; a thread's replies
  with ``conversations.replies``) and skips the parts already there. A keyed message is posted
  through :func:`no_resend` (a 429 retried, nothing else): a lost answer (connection error,
  5xx) may follow a stored message, so it is left to the outbox's retry, which looks first.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
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

EVENT_TYPE = "newsbot_digest"  # the message metadata of a digest posted once per key
HISTORY_PAGE = 200  # messages per conversations.history / replies page
HISTORY_MAX = 1000  # at most this many messages looked through per look-up
CLOCK_SKEW = timedelta(minutes=5)  # the look-up starts this much before the first attempt
# The history cannot be read (a scope not granted, a public channel posted to from outside):
# the post goes ahead (at least once, as without a key) rather than failing the channel.
BLIND_ERRORS = frozenset({"missing_scope", "not_in_channel", "thread_not_found"})

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


def no_resend(client: AsyncWebClient) -> AsyncWebClient:
    """``client`` with only its rate-limit retries (a 429: Slack stored nothing). Its retries
    after a connection error or a 500/503 would post again a message Slack may have stored
    before the answer was lost; a keyed post fails instead, and is retried looking first."""
    kept: list[AsyncRetryHandler] = [
        h for h in client.retry_handlers if isinstance(h, AsyncRateLimitErrorRetryHandler)
    ]
    copy = AsyncWebClient(
        token=client.token,
        base_url=client.base_url,
        timeout=client.timeout,
        ssl=client.ssl,
        proxy=client.proxy,
        session=client.session,
        trust_env_in_session=client.trust_env_in_session,
        headers=dict(client.headers),
        logger=client._logger,
        retry_handlers=kept,
    )
    copy.default_params = dict(client.default_params)
    return copy


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


def once_metadata(key: str, part: str) -> dict[str, Any]:
    """The message metadata of part ``part`` of the delivery whose idempotency key is ``key``."""
    return {"event_type": EVENT_TYPE, "event_payload": {"key": key, "part": part}}


@dataclass(slots=True)
class _Once:
    """One keyed post: its key, when an earlier attempt began (``None``: never) and what the
    look-ups found, by thread (``None``: the channel itself) and part."""

    key: str
    tried: datetime | None
    found: dict[str | None, dict[str, str]] = field(default_factory=dict)


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
        self._once_client = no_resend(client)  # keyed posts: see no_resend
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
        return await self._digest(channel, digest, threads, None)

    async def post_digest_once(
        self,
        channel: ChannelRef,
        digest: Digest,
        key: str,
        threads: Threads | None = None,
        tried: datetime | None = None,
    ) -> str:
        """:meth:`post_digest` at most once per idempotency ``key`` (``OnceGateway``). Every
        message carries :func:`once_metadata` (its part: ``"0"``, ``"1"``… in the channel,
        ``"parent:THREAD"`` for a thread's parent, ``"THREAD:0"``… in a thread, ``"index:0"``
        for a story-mode digest's channel message). When an earlier attempt began (``tried``)
        the messages posted since then are looked up first and the parts found are not posted
        again: a repeat after a crash, or by another worker, returns the first message's ts."""
        return await self._digest(channel, digest, threads, _Once(key, tried))

    async def _digest(
        self, channel: ChannelRef, digest: Digest, threads: Threads | None, once: _Once | None
    ) -> str:
        if threads is not None and threads.mode == "digest":
            parent = await self._thread(channel, threads, DIGEST_THREAD, digest_title(digest), once)
            await self._post_all(channel, render_slack(digest), once, parent, DIGEST_THREAD)
            return parent
        if threads is not None and threads.mode == "story":
            links: dict[str, str | None] = {}
            for story in digest.stories:
                parent = await self._thread(channel, threads, story.id, story_title(story), once)
                messages = render_slack(one_story(digest, story))
                await self._post_all(channel, messages, once, parent, story.id)
                links[story.id] = await self.permalink(channel.channel, parent)
            index = [render_story_index(digest, links)]
            return await self._post_all(channel, index, once, None, "index")
        return await self._post_all(channel, render_slack(digest), once)

    async def _post_all(
        self,
        channel: ChannelRef,
        messages: Iterable[Mapping[str, Any]],
        once: _Once | None,
        thread: str | None = None,
        prefix: str | None = None,
    ) -> str:
        """Post ``messages`` (in thread ``thread`` if given); the first one's ts. Keyed, each
        is part ``PREFIX:i`` (``i`` alone without a prefix); a part found already is skipped."""
        first = ""
        for index, message in enumerate(messages):
            part = str(index) if prefix is None else f"{prefix}:{index}"
            ts = await self._post_part(channel.channel, message, once, part, thread)
            first = first or ts
        return first

    async def _post_part(
        self,
        channel_id: str,
        message: Mapping[str, Any],
        once: _Once | None,
        part: str,
        thread: str | None = None,
    ) -> str:
        if once is None:
            return await self.post_message(channel_id, message, thread_ts=thread)
        found = (await self._earlier(channel_id, once, thread)).get(part)
        if found:
            log.info("slack: part %s of a digest is in %s already (%s)", part, channel_id, found)
            return found
        metadata = once_metadata(once.key, part)
        return await self.post_message(channel_id, message, thread_ts=thread, metadata=metadata)

    async def _thread(
        self, channel: ChannelRef, threads: Threads, key: str, title: str, once: _Once | None
    ) -> str:
        """The parent ts of thread ``key``: the one open, else a new parent message (recorded
        before anything is posted under it; keyed, one an earlier attempt posted)."""
        found = threads.open.get(key)
        if found:
            return found
        parent = render_thread_parent(title)
        ts = await self._post_part(channel.channel, parent, once, f"parent:{key}")
        await threads.opened(key, ts)
        return ts

    async def _earlier(self, channel_id: str, once: _Once, thread: str | None) -> dict[str, str]:
        """Part -> ts of the messages carrying ``once.key`` in the channel (``thread``: in
        that thread) since shortly before the earlier attempt; nothing when there was none.
        Looked up once per post and thread; the oldest message of a part wins."""
        if once.tried is None:
            return {}
        if thread in once.found:
            return once.found[thread]
        found: dict[str, str] = {}
        once.found[thread] = found
        method = "conversations.history" if thread is None else "conversations.replies"
        oldest = f"{(once.tried - CLOCK_SKEW).timestamp():.6f}"
        cursor: str | None = None
        seen = 0
        try:
            while seen < HISTORY_MAX:
                args: dict[str, Any] = {
                    "channel": channel_id,
                    "oldest": oldest,
                    "limit": min(HISTORY_PAGE, HISTORY_MAX - seen),
                    "include_all_metadata": True,
                    "cursor": cursor,
                }
                if thread is None:
                    response = await self.client.conversations_history(**args)
                else:
                    response = await self.client.conversations_replies(ts=thread, **args)
                messages = response.get("messages") or []
                seen += len(messages)
                for message in messages:
                    metadata = message.get("metadata") or {}
                    payload = metadata.get("event_payload") or {}
                    if metadata.get("event_type") != EVENT_TYPE or payload.get("key") != once.key:
                        continue
                    part, ts = str(payload.get("part")), str(message.get("ts") or "")
                    if ts and (part not in found or float(ts) < float(found[part])):
                        found[part] = ts
                cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
                if not cursor or not messages:
                    break
        except SlackApiError as exc:
            if _error_code(exc) not in BLIND_ERRORS:
                once.found.pop(thread, None)
                raise delivery_error(method, exc) from None
            log.warning(
                "slack: %s refused (%s): a digest tried before is posted without looking",
                method,
                _error_code(exc),
            )
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
            once.found.pop(thread, None)
            raise delivery_error(method, exc) from None
        return found

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
        self,
        channel_id: str,
        message: Mapping[str, Any],
        *,
        thread_ts: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> str:
        """Post one Block Kit message (a reply in thread ``thread_ts`` if given, with message
        ``metadata`` if given), at most one per ``min_interval`` per channel; its ts."""
        lock = self._locks.setdefault(channel_id, asyncio.Lock())
        async with lock:
            last = self._last_post.get(channel_id)
            if last is not None:
                wait = last + self.min_interval - self._clock()
                if wait > 0:
                    await asyncio.sleep(wait)
            client = self.client if metadata is None else self._once_client
            try:
                response = await client.chat_postMessage(
                    channel=channel_id,
                    text=message.get("text", ""),
                    blocks=message.get("blocks"),
                    unfurl_links=False,
                    unfurl_media=False,
                    thread_ts=thread_ts,  # None: left out by slack_sdk
                    metadata=dict(metadata) if metadata is not None else None,
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
