"""Slack: one ``/news`` slash command on slack-bolt's AsyncApp, and digest delivery.

- Socket Mode when an app token (``xapp-…``) is given, else HTTP mode: bolt's aiohttp server,
  with every request's signature checked against the signing secret.
- ``/news <sub> args…`` text becomes a :class:`CommandRequest` (``handlers.parse_text``);
  help and unknown subcommands are answered in the ``ack()`` itself, every other command is
  acknowledged at once and answered through the ``response_url`` (Block Kit, at most 5 posts,
  then ``chat.postMessage``); a reply's images are uploaded with ``files_upload_v2``.
- Buttons (``block_actions`` whose ``action_id`` starts ``newsbot:``, see ``handlers.actions``)
  arrive through the same bolt app, signature-checked like commands; each is acked at once,
  run as its command through ``handlers.dispatch`` (same admin and [permissions] checks; the
  digest buttons, Share and Undo alike) and answered privately
  through the action's ``response_url`` (Share to channel: publicly).
- ``/news sources import`` opens a form with a file input (an OPML file); its submission's
  file is downloaded from Slack (bot token, only from Slack's file hosts) and run as
  ``sources import``. A private reply's files that are the answer itself (not images: the
  ``sources export`` OPML file) are uploaded to the user's direct message with the bot.
- Admin-only subcommands are checked here, server-side: ``users.info`` ``is_admin`` /
  ``is_owner``, or a configured allow-list of user ids.
- :class:`SlackGateway` (``slack_gateway``) posts digests with ``chat.postMessage`` (429s
  retried after ``Retry-After``, about one message per second per channel) and maps Slack
  errors to :class:`DeliveryError`.
- Tokens, the signing secret and response URLs never reach logs (see ``slack_logging``) or
  error messages.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.app.async_server import AsyncSlackAppServer
from slack_sdk.errors import SlackClientError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.delivery.gateway import ChatGateway
from bot.delivery.schedules import parse_timezone
from bot.delivery.subscriptions import MAX_TOPIC_CHARS, THREAD_MODES
from bot.errors import ConfigError, UserError
from bot.platforms.slack_gateway import (
    PERMANENT_ERRORS,
    PLATFORM,
    SlackGateway,
    delivery_error,
    make_client,
    retry_handlers,
)
from bot.platforms.slack_logging import SOCKET_LOG, install_redaction
from bot.platforms.slack_render import render_reply
from bot.queries.language import parse_query
from bot.services import Services
from bot.settings import SECRET_NAMES, Secrets, Settings
from handlers import COMMANDS, dispatch, error_reply, help_reply, parse_text, run_action
from handlers.actions import PREFIX, command_request, parse_action
from handlers.base import Attachment, CommandRequest, Reply

COMMAND = "/news"
DEFAULT_PATH = "/slack/events"
RESPONSE_URL_POSTS_MAX = 5  # Slack accepts 5 posts per response_url within 30 minutes
ADMIN_CACHE_SECONDS = 300.0
_LINK_RE = re.compile(r"<(https?://[^|>\s]+)(?:\|[^>]*)?>")
ACTION_RE = re.compile(rf"^{PREFIX}:")

log = install_redaction()


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
        self.zones: dict[tuple[str, str], str] = {}  # the user's Slack time zone, when known

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
        if isinstance(info.get("tz"), str) and info["tz"]:
            self.zones[key] = info["tz"]
        admin = bool(
            (info.get("is_admin") or info.get("is_owner") or info.get("is_primary_owner"))
            and not info.get("deleted")
            and info.get("team_id", team) == team
        )
        self._cache[key] = (now, admin)
        return admin


def parse_command(text: str) -> tuple[str, dict[str, str]]:
    """``/news`` text -> (subcommand, options): Slack's escaping undone, then the shared
    parse (``handlers.parse_text``: quoted phrases kept, schedule words peeled)."""
    return parse_text(unslack(text))


SUBSCRIBE_FORM = f"{PREFIX}:subscribe-form"  # a view's callback_id, not a button
THREAD_LABEL = "Threads: off, digest (each digest in a thread), story (a thread per story)"
IMPORT_FORM = f"{PREFIX}:import-form"
FILE_MAX = 5_000_000  # bytes of an uploaded file read (an OPML file's own cap)
FILE_HOSTS = ("files.slack.com", "files.slack-gov.com")  # where a file's download URL may point
SCHEDULE_CHOICES = (
    "hourly",
    "daily 07:00",
    "daily 08:00",
    "daily 12:00",
    "daily 18:00",
    "weekdays 08:00",
    "weekdays 09:00",
    "weekly mon 09:00",
    "weekly fri 16:00",
)
TIMEZONE_CHOICES = (
    "UTC", "Europe/London", "Europe/Dublin", "Europe/Lisbon", "Europe/Paris", "Europe/Berlin",
    "Europe/Madrid", "Europe/Rome", "Europe/Amsterdam", "Europe/Stockholm", "Europe/Warsaw",
    "Europe/Athens", "Europe/Kyiv", "Europe/Istanbul", "Europe/Moscow", "Africa/Lagos",
    "Africa/Cairo", "Africa/Johannesburg", "Africa/Nairobi", "Asia/Dubai", "Asia/Karachi",
    "Asia/Kolkata", "Asia/Dhaka", "Asia/Bangkok", "Asia/Jakarta", "Asia/Singapore",
    "Asia/Shanghai", "Asia/Hong_Kong", "Asia/Seoul", "Asia/Tokyo", "Australia/Perth",
    "Australia/Sydney", "Pacific/Auckland", "Pacific/Honolulu", "America/Anchorage",
    "America/Los_Angeles", "America/Denver", "America/Chicago", "America/New_York",
    "America/Toronto", "America/Mexico_City", "America/Bogota", "America/Lima",
    "America/Santiago", "America/Sao_Paulo", "America/Argentina/Buenos_Aires",
)  # fmt: skip


def _option(value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": value[:75]}, "value": value}


def _select(block_id: str, label: str, values: Sequence[str], initial: str) -> dict[str, Any]:
    choices = list(dict.fromkeys([initial, *values]))[:100]  # Slack: at most 100 options
    return {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": label},
        "element": {
            "type": "static_select",
            "action_id": "value",
            "options": [_option(v) for v in choices],
            "initial_option": _option(initial),
        },
    }


def subscribe_modal(channel: str, schedule: str, timezone: str) -> dict[str, Any]:
    """The ``/news subscribe`` form: a topic, a schedule, a time zone (the configured
    schedule and the user's own zone, else the configured one, preselected) and the thread mode
    (``off`` preselected); the channel rides in ``private_metadata``."""
    zone = parse_timezone(timezone).key
    return _form(
        SUBSCRIBE_FORM,
        channel,
        "Subscribe",
        "Subscribe",
        [
            {
                "type": "input",
                "block_id": "topic",
                "label": {"type": "plain_text", "text": "Topic"},
                "hint": {
                    "type": "plain_text",
                    "text": 'Words, "phrases", AND/OR/NOT; /news topics <topic> previews it.',
                },
                "element": {
                    "type": "plain_text_input",
                    "action_id": "value",
                    "max_length": MAX_TOPIC_CHARS,
                    "placeholder": {"type": "plain_text", "text": "ukraine AND election"},
                },
            },
            _select("schedule", "Schedule", SCHEDULE_CHOICES, schedule),
            _select("timezone", "Time zone", TIMEZONE_CHOICES, zone),
            _select("thread", THREAD_LABEL, THREAD_MODES, "off"),
        ],
    )


def import_modal(channel: str) -> dict[str, Any]:
    """The ``/news sources import`` form: one OPML file; the channel in ``private_metadata``."""
    return _form(
        IMPORT_FORM,
        channel,
        "Import feeds",
        "Import",
        [
            {
                "type": "input",
                "block_id": "file",
                "label": {"type": "plain_text", "text": "OPML file"},
                "hint": {
                    "type": "plain_text",
                    "text": "A feed reader's export. Each feed is checked before it is added.",
                },
                "element": {
                    "type": "file_input",
                    "action_id": "value",
                    "filetypes": ["opml", "xml"],
                    "max_files": 1,
                },
            }
        ],
    )


def _form(
    callback_id: str, channel: str, title: str, submit: str, blocks: list[dict[str, Any]]
) -> dict[str, Any]:
    """A modal of newsbot's: its form id, the channel in ``private_metadata``, Cancel."""
    return {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": json.dumps({"channel": channel}),
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": submit},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }


def submitted_files(view: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The file objects of the import form's file input."""
    values = (view.get("state") or {}).get("values") or {}
    files = ((values.get("file") or {}).get("value") or {}).get("files") or []
    return [f for f in files if isinstance(f, Mapping)]


def download_allowed(url: str, api_url: str) -> bool:
    """Whether the bot token may be sent to ``url``: https on Slack's file hosts, or the host
    of the Web API the client talks to (GovSlack, a local fake)."""
    parts = urlsplit(url)
    api = urlsplit(api_url)
    if parts.hostname and parts.hostname == api.hostname and parts.port == api.port:
        return parts.scheme == api.scheme
    return parts.scheme == "https" and parts.hostname in FILE_HOSTS


def submitted_subscription(view: Mapping[str, Any]) -> dict[str, str]:
    """The form's values as the ``subscribe`` command's options."""
    values = (view.get("state") or {}).get("values") or {}
    args: dict[str, str] = {}
    for name in ("topic", "schedule", "timezone", "thread"):
        field_ = (values.get(name) or {}).get("value") or {}
        value = field_.get("value") or (field_.get("selected_option") or {}).get("value")
        if value:
            args[name] = str(value)
    return args


def modal_channel(view: Mapping[str, Any]) -> str:
    try:
        meta = json.loads(str(view.get("private_metadata") or "{}"))
    except ValueError:
        return ""
    return str(meta.get("channel", "")) if isinstance(meta, dict) else ""


def unslack(text: str) -> str:
    """Slash-command text as the user typed it: Slack sends ``&amp; &lt; &gt;`` escaped and,
    with "escape links" on, URLs as ``<https://…>`` or ``<https://…|label>``."""
    text = _LINK_RE.sub(lambda m: m.group(1), text or "")
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


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
        request = await self.request(team, str(command.get("channel_id", "")), user, name, args)
        modal = name == "subscribe" and not args and request.may_manage
        if modal and await self.open_subscribe_modal(command, request):
            return
        importing = name == "sources" and args.get("action", "").strip().lower() == "import"
        if importing and request.is_admin and await self.open_modal(command, import_modal):
            return
        await self.run(request, command)

    async def request(
        self, team: str, channel: str, user: str, name: str, args: Mapping[str, str]
    ) -> CommandRequest:
        """A request with the user's rights: admin (``users.info``/allow-list) and
        ``[permissions] manage_users``."""
        admin = await self.admin(team, user)
        managers = [u.strip() for u in self.services.settings.permissions.manage_users]
        managers = [u for u in managers if u]
        return CommandRequest(
            platform=PLATFORM,
            workspace=team,
            channel=channel,
            user=user,
            is_admin=admin,
            command=name,
            args=dict(args),
            may_manage=not managers or admin or user in managers,
            managers=(
                "workspace admins"
                if managers == ["admins"]
                else "the members listed in [permissions] manage_users and workspace admins"
            )
            if managers
            else "",
        )

    async def run(
        self, request: CommandRequest, command: Mapping[str, Any], *, private: bool = False
    ) -> None:
        """Dispatch and answer (through the response URL when there is one)."""
        try:
            reply = await dispatch(request, self.services)
        except Exception:
            log.exception("slack: /news %s failed", request.command)
            reply = error_reply("Something went wrong; the error was logged.")
        if private:
            reply.ephemeral = True
        await self.send_reply(command, reply)

    async def open_subscribe_modal(
        self, command: Mapping[str, Any], request: CommandRequest
    ) -> bool:
        """``/news subscribe`` alone: the subscribe form (``views.open``); False if Slack
        refused it (the usage line is answered instead)."""
        trigger = str(command.get("trigger_id") or "")
        if not trigger:
            return False
        digest = self.services.settings.digest
        zone = self.admin.zones.get((request.workspace, request.user), digest.timezone)
        try:
            parse_timezone(zone)
        except UserError:
            zone = digest.timezone
        view = subscribe_modal(request.channel, digest.schedule, zone)
        try:
            await self.client.views_open(trigger_id=trigger, view=view)
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning(
                "slack: cannot open the subscribe form: %s", delivery_error("views.open", exc)
            )
            return False
        return True

    async def open_modal(
        self, command: Mapping[str, Any], build: Callable[[str], dict[str, Any]]
    ) -> bool:
        """Open the form ``build(channel)`` (``views.open``); False if Slack refused it."""
        trigger = str(command.get("trigger_id") or "")
        if not trigger:
            return False
        try:
            await self.client.views_open(
                trigger_id=trigger, view=build(str(command.get("channel_id", "")))
            )
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("slack: cannot open a form: %s", delivery_error("views.open", exc))
            return False
        return True

    async def on_import(self, ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        """The import form submitted: its file downloaded and run as ``sources import`` (the
        admin check in ``dispatch``); the answer is private, in the channel."""
        await ack()
        team = str((body.get("team") or {}).get("id") or view.get("team_id") or "")
        user = str((body.get("user") or {}).get("id") or "")
        channel = modal_channel(view)
        request = await self.request(team, channel, user, "sources", {"action": "import"})
        context = {"channel_id": channel, "user_id": user}
        try:
            chosen = submitted_files(view)[:1]
            files = {"file": await self.download(chosen[0])} if chosen else {}
        except UserError as exc:
            await self.send_reply(context, error_reply(str(exc)))
            return
        await self.run(replace(request, files=files), context, private=True)

    async def download(self, file: Mapping[str, Any]) -> Attachment:
        """A file a user uploaded, from its private download URL with the bot token (only to
        Slack's file hosts); at most :data:`FILE_MAX` bytes; one-line errors."""
        name = str(file.get("name") or file.get("title") or "the file")
        url = str(file.get("url_private_download") or file.get("url_private") or "")
        if not download_allowed(url, self.client.base_url):
            raise UserError(f"{name}: not a Slack file download; not read")
        if int(file.get("size") or 0) > FILE_MAX:
            raise UserError(f"{name}: larger than {FILE_MAX} bytes; not read")
        headers = {"Authorization": f"Bearer {self.client.token}"}
        timeout = aiohttp.ClientTimeout(total=30)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.get(url, headers=headers, allow_redirects=False) as response,
            ):
                if response.status != 200:
                    raise UserError(f"{name}: could not be read (HTTP {response.status})")
                data = await response.content.read(FILE_MAX + 1)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise UserError(f"{name}: could not be read ({type(exc).__name__})") from None
        if len(data) > FILE_MAX:
            raise UserError(f"{name}: larger than {FILE_MAX} bytes; not read")
        return Attachment(name, data, str(file.get("mimetype") or "application/octet-stream"))

    async def on_submit(self, ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        """The subscribe form submitted: the same ``subscribe`` handler as the command. A
        malformed topic is shown on the form; the answer is posted in the channel."""
        args = submitted_subscription(view)
        try:
            parse_query(args.get("topic", ""))
        except UserError as exc:
            await ack(response_action="errors", errors={"topic": str(exc)[:150]})
            return
        await ack()
        team = str((body.get("team") or {}).get("id") or view.get("team_id") or "")
        user = str((body.get("user") or {}).get("id") or "")
        channel = modal_channel(view)
        request = await self.request(team, channel, user, "subscribe", args)
        await self.run(request, {"channel_id": channel, "user_id": user})

    async def on_action(self, ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        """A click on one of newsbot's buttons or selects: ack, run its command, reply."""
        await ack()
        team = str((body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id"))
        user = str((body.get("user") or {}).get("id", ""))
        channel = str(
            (body.get("channel") or {}).get("id")
            or (body.get("container") or {}).get("channel_id")
            or ""
        )
        context = {"channel_id": channel, "user_id": user, "response_url": body.get("response_url")}
        selected = (action.get("selected_option") or {}).get("value")
        try:
            parsed = parse_action(str(action.get("action_id", "")), [selected] if selected else [])
        except UserError as exc:
            await self.send_reply(context, error_reply(str(exc)), replace_original=False)
            return
        request = command_request(parsed, await self.request(team, channel, user, "", {}))
        try:
            reply = await run_action(parsed, request, self.services)
        except Exception:
            log.exception("slack: button %s failed", parsed.verb)
            reply = error_reply("Something went wrong; the error was logged.")
        await self.send_reply(context, reply, replace_original=False)

    async def send_reply(
        self, command: Mapping[str, Any], reply: Reply, *, replace_original: bool | None = None
    ) -> None:
        """Post a reply through the ``response_url`` (then ``chat.postMessage``); an action's
        answer never replaces the message its button is on (``replace_original`` false)."""
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
                extra = {} if replace_original is None else {"replace_original": replace_original}
                if await self._respond(webhook, {**message, **extra}, response_type):
                    continue
            await self._post(channel, user, message, ephemeral=reply.ephemeral)
        attachments = reply.attachments
        if reply.ephemeral:  # an image illustrates (not posted); another file is the answer
            attachments = [a for a in attachments if not a.content_type.startswith("image/")]
            if attachments:
                channel = await self._direct_channel(user)
                if not channel:
                    return
        for attachment in attachments:
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
                    what = "chart" if attachment.content_type.startswith("image/") else "file"
                    hint = render_reply(
                        error_reply(
                            f"The {what} could not be posted here: invite the bot to this channel."
                        )
                    )[0]
                    await self._respond(webhook, hint, "ephemeral")

    async def _direct_channel(self, user: str) -> str:
        """The bot's direct message with ``user`` (``conversations.open``), "" if refused."""
        try:
            response = await self.client.conversations_open(users=user)
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("slack: no direct message: %s", delivery_error("conversations.open", exc))
            return ""
        return str((response.get("channel") or {}).get("id") or "")

    async def _respond(
        self, webhook: AsyncWebhookClient, message: Mapping[str, Any], response_type: str
    ) -> bool:
        try:
            response = await webhook.send_dict(
                {
                    **message,
                    "response_type": response_type,
                    "replace_original": False,  # a button's answer never replaces its message
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
        """Post a reply without a response URL (a form's answer); a private one the channel
        refuses (the bot is not in it) goes to the user's direct message instead."""
        try:
            if ephemeral:
                await self.client.chat_postEphemeral(
                    channel=channel, user=user, text=message["text"], blocks=message["blocks"]
                )
                return
            await self.client.chat_postMessage(
                channel=channel,
                text=message["text"],
                blocks=message["blocks"],
                unfurl_links=False,
                unfurl_media=False,
            )
            return
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
            error = delivery_error("chat.postMessage", exc)
            log.warning("slack: reply not posted: %s", error)
            if not (ephemeral and error.permanent and user):
                return
        direct = await self._direct_channel(user)
        if not direct:
            return
        try:
            await self.client.chat_postMessage(
                channel=direct,
                text=message["text"],
                blocks=message["blocks"],
                unfurl_links=False,
                unfurl_media=False,
            )
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("slack: reply not sent: %s", delivery_error("chat.postMessage", exc))


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
    app.view(SUBSCRIBE_FORM)(listener.on_submit)
    app.view(IMPORT_FORM)(listener.on_import)
    app.action(ACTION_RE)(listener.on_action)
    return app, listener


@dataclass(slots=True)
class SlackConfig:
    """What the Slack runtime needs; secrets come from the environment only."""

    bot_token: str = field(repr=False)
    app_token: str | None = field(default=None, repr=False)  # Socket Mode when set
    signing_secret: str | None = field(default=None, repr=False)  # HTTP mode
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
            base_url=env.get("SLACK_API_URL") or None,  # e.g. GovSlack's https://slack-gov.com/api/
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
        self.slack_gateway = SlackGateway(self.client, admin_allowlist=config.admin_allowlist)
        self.gateway: ChatGateway = self.slack_gateway
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
                self.app,
                app_token=self.config.app_token,
                logger=SOCKET_LOG,
                web_client=self.client,
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
    "PERMANENT_ERRORS",
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
