"""A fake Slack on 127.0.0.1: the Web API, response URLs, file uploads and Socket Mode.

The real slack_sdk AsyncWebClient (``base_url=fake.api_url``), bolt's webhook client
(``response_url``) and Socket Mode client (``apps.connections.open`` -> ``ws://…/link``) talk to
it over HTTP and a websocket, so their parsing, retry and rate-limit code runs for real.

Behaviour that tests program:
- ``ratelimit["chat.postMessage"] = n``: the next n calls get 429 + ``Retry-After`` and
  ``{"ok": false, "error": "ratelimited"}``, as Slack sends them.
- ``errors["chat.postMessage"] = ["not_in_channel"]``: the next calls fail with those errors
  (an empty string lets that call through: ``["", "internal_error"]`` fails the second).
- ``lost["chat.postMessage"] = n``: the next n calls are carried out (the message stored) but
  answered HTTP 500, as when Slack's answer is lost after the work was done.
- ``users``: ``users.info`` / ``users.list`` answers (``is_admin``, ``is_owner``).
- ``add_file(name, data)``: a file a user uploaded (in a form's file input), downloadable from
  its ``url_private_download`` with the bot token only.
- ``views.open`` is checked (a trigger id, a modal of at most 100 blocks, selects of at most
  100 options) and recorded in ``views``; tests then post the ``view_submission`` (and
  ``block_actions``) payloads Slack would send.
- Message limits are enforced like Slack: more than 50 blocks or a text object over 3,000
  characters -> ``invalid_blocks``; more than 12,000 characters of text -> ``msg_blocks_too_long``.
- ``block_actions(...)`` builds the interaction payload Slack sends when a user clicks a button
  of a message (with a fresh ``response_url`` here); ``send_interactive`` pushes it as a Socket
  Mode ``interactive`` envelope, :func:`signed_form` signs it for the HTTP endpoint.
- Threads: ``chat.postMessage`` with ``thread_ts`` is a reply in that message's thread
  (``reply_errors``: the next replies fail with those errors); replies are visible through
  ``conversations.replies`` (``thread_not_found`` when the channel has no such top-level
  message) and :meth:`FakeSlack.replies`; ``chat.getPermalink`` links a message.
- Message metadata: ``chat.postMessage``'s ``metadata`` is kept with the message and shown by
  ``conversations.history`` (a channel's top-level messages, newest first: ``oldest``,
  ``latest``, ``limit``, ``cursor``) and ``conversations.replies`` only with
  ``include_all_metadata``.
- :meth:`FakeSlack.hold_posts` keeps the next ``chat.postMessage`` calls from being answered
  (each message is stored, as Slack stores it, and listed in ``held``) until it is released.
Everything received is recorded with its arrival time (``calls``, ``posts``, ``responses``...).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

BLOCKS_MAX = 50
TEXT_MAX = 3000
MESSAGE_CHARS_MAX = 12_000


def signed_form(
    fields: dict[str, str], secret: str, timestamp: int | None = None
) -> tuple[str, dict[str, str]]:
    """A urlencoded body and the headers Slack signs it with (``v0=`` HMAC-SHA256 of
    ``v0:{timestamp}:{body}`` with the signing secret)."""
    body = urllib.parse.urlencode(fields)
    ts = str(timestamp if timestamp is not None else int(time.time()))
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": "v0=" + digest.hexdigest(),
    }
    return body, headers


def find_action(message: dict[str, Any], action_id: str) -> dict[str, Any]:
    """The button (or select) ``action_id`` of a posted message, with its block's id."""
    for block in message.get("blocks") or []:
        for element in block.get("elements") or []:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return {**element, "block_id": block.get("block_id", "")}
    raise AssertionError(f"no element {action_id!r} in the message")


@dataclass
class Call:
    method: str  # Web API method, e.g. "chat.postMessage"
    params: dict[str, Any]
    auth: str
    at: float
    status: int = 200


@dataclass
class FakeSlack:
    bot_token: str
    app_token: str = "xapp-1-fake"
    team_id: str = "T0FAKE"
    bot_user: str = "U0BOT"
    retry_after: int = 1
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    channels_without_bot: set[str] = field(default_factory=set)
    ratelimit: dict[str, int] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    posts: list[dict[str, Any]] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)
    uploads: dict[str, dict[str, Any]] = field(default_factory=dict)
    shared_files: list[dict[str, Any]] = field(default_factory=list)
    socket_acks: dict[str, dict[str, Any]] = field(default_factory=dict)
    views: list[dict[str, Any]] = field(default_factory=list)  # views.open calls
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # user files: id -> file
    downloads: list[tuple[str, str]] = field(default_factory=list)  # (file id, Authorization)
    reply_errors: list[str] = field(default_factory=list)  # next thread replies fail with these
    lost: dict[str, int] = field(default_factory=dict)  # next calls done but answered 500

    def __post_init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._ts = itertools.count(1)
        self._sockets: list[web.WebSocketResponse] = []
        self._ack_events: dict[str, asyncio.Event] = {}
        self._response_event = asyncio.Event()
        self.release = asyncio.Event()  # what held posts wait for
        self.held: list[dict[str, Any]] = []  # messages whose chat.postMessage waited
        self._to_hold = 0

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self) -> FakeSlack:
        app = web.Application(client_max_size=20 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/commands/{team}/{id}/{secret}", self._response_url)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/files-pri/{team}-{file_id}/download/{name}", self._download)
        app.router.add_get("/link", self._link)
        # No access log: request paths hold response-URL secrets.
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        for ws in self._sockets:
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/"

    def response_url(self) -> str:
        return f"{self.base}/commands/{self.team_id}/{next(self._ts)}/{uuid.uuid4().hex}"

    # ---- recording helpers -----------------------------------------------------------------

    def hold_posts(self, count: int = 1) -> asyncio.Event:
        """Store the next ``count`` posted messages but answer none until the returned event
        is set (a worker can be killed meanwhile: its message is in the channel)."""
        self._to_hold, self.release = count, asyncio.Event()
        return self.release

    def calls_of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def wait_responses(self, count: int, within: float = 10.0) -> list[dict[str, Any]]:
        """Wait until ``count`` response_url posts arrived in total."""
        deadline = time.monotonic() + within
        while len(self.responses) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"expected {count} response_url posts, got {len(self.responses)}"
                )
            self._response_event.clear()
            try:
                await asyncio.wait_for(self._response_event.wait(), remaining)
            except TimeoutError:
                continue
        return self.responses

    async def wait_for(self, predicate: Any, within: float = 10.0) -> None:
        deadline = time.monotonic() + within
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError("condition not reached")
            await asyncio.sleep(0.02)

    # ---- Web API ---------------------------------------------------------------------------

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.body_exists:
            if request.content_type == "application/json":
                params.update(await request.json())
            else:
                params.update(dict(await request.post()))
        for key in ("blocks", "files", "metadata"):
            if isinstance(params.get(key), str):
                params[key] = json.loads(params[key])
        return params

    @staticmethod
    def _json(data: dict[str, Any], status: int = 200, **headers: str) -> web.Response:
        return web.Response(
            body=json.dumps(data), status=status, content_type="application/json", headers=headers
        )

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        auth = request.headers.get("Authorization", "")
        call = Call(method, params, auth, time.monotonic())
        self.calls.append(call)
        expected = self.app_token if method == "apps.connections.open" else self.bot_token
        if auth != f"Bearer {expected}":
            return self._json({"ok": False, "error": "invalid_auth"})
        if self.ratelimit.get(method, 0) > 0:
            self.ratelimit[method] -= 1
            call.status = 429
            return self._json(
                {"ok": False, "error": "ratelimited"}, 429, **{"Retry-After": str(self.retry_after)}
            )
        if self.errors.get(method) and (error := self.errors[method].pop(0)):
            return self._json({"ok": False, "error": error})
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return self._json({"ok": False, "error": "unknown_method"})
        result: dict[str, Any] = await handler(params)
        if result.get("ok") and self.lost.get(method, 0) > 0:
            self.lost[method] -= 1
            call.status = 500
            return self._json({"ok": False, "error": "internal_error"}, 500)
        return self._json(result)

    async def _m_auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://fake.slack.test/",
            "team": "Fake",
            "user": "newsbot",
            "team_id": self.team_id,
            "user_id": self.bot_user,
            "bot_id": "B0BOT",
            "is_enterprise_install": False,
        }

    def _message_problem(self, params: dict[str, Any]) -> str | None:
        blocks = params.get("blocks") or []
        if len(blocks) > BLOCKS_MAX:
            return "invalid_blocks"
        total = 0
        for block in blocks:
            texts = [block.get("text"), *(block.get("elements") or [])]
            for t in texts:
                if isinstance(t, dict) and "text" in t:
                    inner = t["text"]  # a button's text is a plain_text object
                    n = len(str(inner.get("text", "") if isinstance(inner, dict) else inner))
                    limit = 150 if block.get("type") == "header" else TEXT_MAX
                    if n > limit:
                        return "invalid_blocks"
                    total += n
        if total > MESSAGE_CHARS_MAX:
            return "msg_blocks_too_long"
        if not params.get("text") and not blocks:
            return "no_text"
        return None

    async def _m_chat_postMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = str(params.get("channel", ""))
        if channel in self.channels_without_bot:
            return {"ok": False, "error": "not_in_channel"}
        problem = self._message_problem(params)
        if problem:
            return {"ok": False, "error": problem}
        if params.get("thread_ts") and self.reply_errors:
            return {"ok": False, "error": self.reply_errors.pop(0)}
        ts = f"{int(time.time())}.{next(self._ts):06d}"
        self.posts.append({**params, "ts": ts, "at": time.monotonic()})
        if self._to_hold > 0:
            self._to_hold -= 1
            self.held.append(self.posts[-1])
            await self.release.wait()
        return {"ok": True, "channel": channel, "ts": ts, "message": {"text": params.get("text")}}

    def _top_level(self, channel: str, ts: str) -> dict[str, Any] | None:
        return next(
            (
                p
                for p in self.posts
                if p.get("channel") == channel and p.get("ts") == ts and not p.get("thread_ts")
            ),
            None,
        )

    def replies(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """The replies posted in the thread of message ``ts``, oldest first."""
        return [p for p in self.posts if p.get("channel") == channel and p.get("thread_ts") == ts]

    def top_level(self, channel: str) -> list[dict[str, Any]]:
        """The messages of a channel outside threads, oldest first."""
        return [
            p
            for p in self.posts
            if p.get("channel") == channel and not p.get("thread_ts") and not p.get("ephemeral")
        ]

    async def _m_conversations_replies(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(params.get("channel", "")), str(params.get("ts", ""))
        parent = self._top_level(channel, ts)
        if parent is None:
            return {"ok": False, "error": "thread_not_found"}
        page = self._page([parent, *self.replies(channel, ts)], params)
        for message in page["messages"]:
            message["thread_ts"] = ts
        return page

    async def _m_conversations_history(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = str(params.get("channel", ""))
        if channel in self.channels_without_bot:
            return {"ok": False, "error": "not_in_channel"}
        return self._page(list(reversed(self.top_level(channel))), params)

    @staticmethod
    def _page(posts: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
        """One page of ``posts`` (in the order given) within ``oldest``/``latest`` (exclusive
        unless ``inclusive``), ``limit`` long from ``cursor``; metadata with
        ``include_all_metadata`` only."""
        inclusive = str(params.get("inclusive", "")).lower() in ("1", "true")
        oldest, latest = float(params.get("oldest") or 0), float(params.get("latest") or "inf")

        def within(ts: float) -> bool:
            if inclusive:
                return oldest <= ts <= latest
            return oldest < ts < latest

        chosen = [p for p in posts if within(float(p["ts"]))]
        start = int(params.get("cursor") or 0)
        limit = int(params.get("limit") or 100)
        metadata = str(params.get("include_all_metadata", "")).lower() in ("1", "true")
        messages = []
        for p in chosen[start : start + limit]:
            message = {"type": "message", "ts": p["ts"], "text": p.get("text", ""),
                       "blocks": p.get("blocks") or []}  # fmt: skip
            if metadata and p.get("metadata"):
                message["metadata"] = p["metadata"]
            messages.append(message)
        more = start + limit < len(chosen)
        cursor = str(start + limit) if more else ""
        return {"ok": True, "messages": messages, "has_more": more,
                "response_metadata": {"next_cursor": cursor}}  # fmt: skip

    async def _m_chat_getPermalink(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(params.get("channel", "")), str(params.get("message_ts", ""))
        if not any(p.get("channel") == channel and p.get("ts") == ts for p in self.posts):
            return {"ok": False, "error": "message_not_found"}
        link = f"https://fake.slack.test/archives/{channel}/p{ts.replace('.', '')}"
        return {"ok": True, "channel": channel, "permalink": link}

    async def _m_chat_postEphemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        if str(params.get("channel", "")) in self.channels_without_bot:
            return {"ok": False, "error": "channel_not_found"}
        problem = self._message_problem(params)
        if problem:
            return {"ok": False, "error": problem}
        self.posts.append({**params, "ephemeral": True, "at": time.monotonic()})
        return {"ok": True, "message_ts": f"{int(time.time())}.{next(self._ts):06d}"}

    async def _m_views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        view = params.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        if not params.get("trigger_id") or not isinstance(view, dict):
            return {"ok": False, "error": "invalid_arguments"}
        blocks = view.get("blocks") or []
        if view.get("type") != "modal" or not 0 < len(blocks) <= 100:
            return {"ok": False, "error": "invalid_arguments"}
        for block in blocks:
            options = (block.get("element") or {}).get("options")
            if options is not None and not 0 < len(options) <= 100:
                return {"ok": False, "error": "invalid_arguments"}
        self.views.append({"trigger_id": params["trigger_id"], "view": view})
        return {"ok": True, "view": {"id": f"V{len(self.views)}", **view}}

    async def _m_users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(params.get("user")))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": {"team_id": self.team_id, **user}}

    async def _m_users_list(self, params: dict[str, Any]) -> dict[str, Any]:
        members = [{"team_id": self.team_id, **u} for u in self.users.values()]
        return {"ok": True, "members": members, "response_metadata": {"next_cursor": ""}}

    async def _m_conversations_open(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "channel": {"id": "D" + str(params.get("users", "")).lstrip("U")}}

    async def _m_apps_connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/link?ticket={uuid.uuid4().hex}"}

    async def _m_files_getUploadURLExternal(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = "F" + uuid.uuid4().hex[:10].upper()
        self.uploads[file_id] = {
            "filename": params.get("filename"),
            "length": int(params.get("length", 0)),
            "data": None,
        }
        return {"ok": True, "upload_url": f"{self.base}/upload/{file_id}", "file_id": file_id}

    async def _m_files_completeUploadExternal(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = str(params.get("channel_id") or "")
        if channel in self.channels_without_bot:
            return {"ok": False, "error": "not_in_channel"}
        files = []
        for item in params.get("files") or []:
            upload = self.uploads.get(item["id"])
            if upload is None or upload["data"] is None:
                return {"ok": False, "error": "file_not_found"}
            record = {"id": item["id"], "title": item.get("title"), "channel": channel, **upload}
            self.shared_files.append(record)
            files.append({"id": item["id"], "name": upload["filename"], "title": item.get("title")})
        return {"ok": True, "files": files}

    async def _upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        upload = self.uploads.get(file_id)
        data = await request.read()
        if upload is None:
            return web.Response(status=404, text="no such upload")
        if len(data) != upload["length"]:
            return web.Response(status=400, text="length mismatch")
        upload["data"] = data
        return web.Response(text="OK - " + str(len(data)))

    def add_file(self, name: str, data: bytes) -> dict[str, Any]:
        """A file a user uploaded: the file object Slack puts in a form's file input."""
        file_id = "F" + uuid.uuid4().hex[:10].upper()
        self.files[file_id] = (name, data)
        url = f"{self.base}/files-pri/{self.team_id}-{file_id}/download/{name}"
        return {
            "id": file_id,
            "name": name,
            "title": name,
            "mimetype": "text/xml",
            "filetype": "xml",
            "size": len(data),
            "url_private": url,
            "url_private_download": url,
        }

    async def _download(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        auth = request.headers.get("Authorization", "")
        self.downloads.append((file_id, auth))
        found = self.files.get(file_id)
        if auth != f"Bearer {self.bot_token}" or found is None:
            # Slack answers an unauthenticated download with its sign-in page, not the file.
            return web.Response(status=302, headers={"Location": f"{self.base}/signin"})
        return web.Response(body=found[1], content_type="application/octet-stream")

    # ---- response_url --------------------------------------------------------------------

    async def _response_url(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.responses.append({"path": request.path, "body": body, "at": time.monotonic()})
        self._response_event.set()
        return web.Response(text="ok")

    # ---- Socket Mode -----------------------------------------------------------------------

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": 1,
                "debug_info": {"host": "fake", "approximate_connection_time": 3600},
                "connection_info": {"app_id": "A0FAKE"},
            }
        )
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                data = json.loads(msg.data)
                envelope = str(data.get("envelope_id", ""))
                if envelope:
                    self.socket_acks[envelope] = data
                    self._ack_events.setdefault(envelope, asyncio.Event()).set()
            elif msg.type in (WSMsgType.CLOSE, WSMsgType.ERROR):
                break
        return ws

    async def wait_socket(self, within: float = 5.0) -> None:
        await self.wait_for(lambda: any(not ws.closed for ws in self._sockets), within)

    def block_actions(
        self,
        message: dict[str, Any],
        action_id: str,
        *,
        user: str,
        channel: str,
        selected: str | None = None,
    ) -> dict[str, Any]:
        """The ``block_actions`` payload of ``user`` clicking ``action_id`` on ``message`` (a
        post recorded here, or a response_url body); the element must be on the message."""
        element = find_action(message, action_id)
        action: dict[str, Any] = {
            "type": element["type"],
            "action_id": action_id,
            "block_id": element["block_id"],
            "action_ts": f"{time.time():.6f}",
        }
        if element["type"] == "button":
            action["text"] = element["text"]
            action["value"] = element.get("value", "")
        if selected is not None:
            action["selected_option"] = {"text": {"type": "plain_text", "text": selected},
                                         "value": selected}  # fmt: skip
        ts = str(message.get("ts") or f"{int(time.time())}.{next(self._ts):06d}")
        return {
            "type": "block_actions",
            "team": {"id": self.team_id, "domain": "fake"},
            "user": {"id": user, "username": user.lower(), "team_id": self.team_id},
            "api_app_id": "A0FAKE",
            "token": "deprecated-verification-token",
            "container": {"type": "message", "message_ts": ts, "channel_id": channel},
            "trigger_id": "1.2.3",
            "channel": {"id": channel, "name": "news"},
            "message": {
                "type": "message",
                "ts": ts,
                "text": message.get("text", ""),
                "blocks": message.get("blocks", []),
            },
            "response_url": self.response_url(),
            "actions": [action],
        }

    async def send_interactive(self, payload: dict[str, Any], within: float = 5.0) -> dict:
        """Push an ``interactive`` (block_actions) envelope; return the app's ack."""
        return await self._send_envelope("interactive", payload, within)

    async def send_slash_command(self, payload: dict[str, Any], within: float = 5.0) -> dict:
        """Push a ``slash_commands`` envelope; return the app's ack (waits for it)."""
        return await self._send_envelope("slash_commands", payload, within)

    async def _send_envelope(self, kind: str, payload: dict[str, Any], within: float) -> dict:
        envelope = str(uuid.uuid4())
        event = self._ack_events.setdefault(envelope, asyncio.Event())
        ws = next(ws for ws in reversed(self._sockets) if not ws.closed)
        await ws.send_json(
            {
                "envelope_id": envelope,
                "type": kind,
                "accepts_response_payload": kind == "slash_commands",
                "payload": payload,
            }
        )
        await asyncio.wait_for(event.wait(), within)
        return self.socket_acks[envelope]
