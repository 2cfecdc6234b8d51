"""A fake Discord (REST API + gateway websocket) on 127.0.0.1 for the real discord.py client.

discord.py runs its own HTTP client, rate limiter, websocket, zlib-stream decompression, payload
parsers, ``CommandTree`` dispatch and webhook adapter against this server; nothing in the library
is mocked. Point the library here with :meth:`FakeDiscord.patch_discord` (``Route.BASE`` and
``DiscordWebSocket.DEFAULT_GATEWAY`` are process-global; the context manager restores them).

What it does:

* gateway: HELLO, HEARTBEAT_ACK for every heartbeat, READY and GUILD_CREATE after IDENTIFY,
  INTERACTION_CREATE pushed by :meth:`FakeDiscord.interact` (slash command or autocomplete)
  and by :meth:`FakeDiscord.click` (a component: a button or select on a message, type 3);
  honours ``compress=zlib-stream`` like Discord (one zlib stream, ``Z_SYNC_FLUSH`` per frame).
  Shards like Discord: each connection is the shard its IDENTIFY names (``[id, count]``,
  default ``[0, 1]``) and gets only the events of its guilds (``guild_id >> 22 % count``);
  ``GET /gateway/bot`` recommends :attr:`FakeDiscord.recommended_shards`.
* REST: ``/users/@me``, ``/oauth2/applications/@me``, command sync ``PUT``s, interaction
  callbacks, webhook follow-ups and ``@original`` edits/deletes, channel messages (JSON or
  multipart with files). Every request is recorded (:class:`Recorded`) for assertions.
* files a member attaches to a command: :meth:`FakeDiscord.upload` stores one on the fake's
  CDN (``/attachments/<id>/<name>``) and ``interact(..., attachments=[id])`` resolves it in the
  interaction, as Discord does for an attachment option (type 11).
* scenarios: :meth:`FakeDiscord.inject` queues a canned answer (429 with ``Via`` and a JSON
  ``retry_after`` like Discord, 5xx, ...) for the next requests matching a method and path.
  Unknown channels answer 404 ``Unknown Channel``; channels in ``forbidden`` answer 403.
* ``nonce`` with ``enforce_nonce`` like Discord: a message posted again to a channel with the
  nonce of one already there is answered with that message, not posted twice.
  :meth:`FakeDiscord.hold_posts` keeps the next channel posts from being answered (each is
  stored, as Discord stores it, and listed in :attr:`FakeDiscord.held`) until it is released.
* threads: a thread started from a message (``POST /channels/{id}/messages/{mid}/threads``,
  the thread's id is the message's) and a forum post (``POST /channels/{forum}/threads`` with
  its first message; ``forums=`` names forum channels, which refuse plain messages like
  Discord); messages posted in a thread are stored with the thread as their channel
  (:meth:`FakeDiscord.in_channel`); :meth:`FakeDiscord.delete_thread` removes one.
* message limits like Discord: content over 2,000 characters, more than 10 embeds, or more
  than 6,000 characters across a message's embeds (title, description, field names and
  values, footer, author) answer 400 ``Invalid Form Body`` (code 50035).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import discord
import yarl
from aiohttp import WSMsgType, web

API_PREFIX = "/api/v10"
CONTENT_MAX = 2000
EMBEDS_MAX = 10
EMBED_CHARS_MAX = 6000
EPOCH_MS = 1420070400000


def snowflake(n: int) -> str:
    """A plausible snowflake id (time-ordered), unique per ``n``."""
    return str(((int(time.time() * 1000) - EPOCH_MS) << 22) + n)


def shard_of(guild_id: str, shard_count: int) -> int:
    """The shard a guild's events go to, as Discord computes it."""
    return (int(guild_id) >> 22) % shard_count


@dataclass
class Session:
    """One gateway connection: the shard it identified as, its zlib stream and sequence."""

    ws: web.WebSocketResponse
    zlib: Any
    shard: tuple[int, int] = (0, 1)
    seq: int = 0
    token: str = ""  # the bot token IDENTIFY sent (tells worker processes apart)

    def owns(self, guild_id: str | None) -> bool:
        return shard_of(guild_id, self.shard[1]) == self.shard[0] if guild_id else not self.shard[0]


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    # discord.py parses JSON only when Content-Type is exactly application/json (no charset).
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        content_type="application/json",
        headers=headers,
    )


@dataclass(slots=True)
class Recorded:
    method: str
    path: str  # without the /api/v10 prefix
    query: dict[str, str]
    headers: dict[str, str]
    json: Any  # the JSON body, or the multipart ``payload_json``
    files: dict[str, bytes] = field(default_factory=dict)  # filename -> bytes
    status: int = 200
    response: Any = None  # the JSON answered
    at: float = field(default_factory=time.monotonic)


@dataclass(slots=True)
class Injected:
    method: str
    pattern: re.Pattern[str]
    status: int
    body: Any
    headers: dict[str, str]
    times: int


@dataclass(slots=True)
class FakeMember:
    user_id: str
    name: str
    permissions: discord.Permissions = field(default_factory=discord.Permissions.none)
    roles: list[str] = field(default_factory=list)  # role ids (``FakeDiscord.roles``)


def embed_chars(embed: dict[str, Any]) -> int:
    """The characters Discord counts toward a message's 6,000."""
    size = len(embed.get("title") or "") + len(embed.get("description") or "")
    size += len((embed.get("footer") or {}).get("text") or "")
    size += len((embed.get("author") or {}).get("name") or "")
    return size + sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields") or [])


def message_problem(body: dict[str, Any]) -> str | None:
    """Why Discord would refuse this message body (``Invalid Form Body``), or ``None``."""
    embeds = body.get("embeds") or []
    if len(body.get("content") or "") > CONTENT_MAX:
        return "Invalid Form Body: content must be 2000 or fewer in length"
    if len(embeds) > EMBEDS_MAX:
        return "Invalid Form Body: embeds must be 10 or fewer in length"
    if sum(embed_chars(e) for e in embeds) > EMBED_CHARS_MAX:
        return "Invalid Form Body: embeds exceed maximum size of 6000"
    return None


class FakeDiscord:
    """One guild with text channels (more with :meth:`add_guild`), one bot application, any
    number of members."""

    token = "fake-bot-token"

    def __init__(
        self,
        *,
        channels: tuple[str, ...] = ("general", "news", "alerts"),
        forums: tuple[str, ...] = (),
    ) -> None:
        self._ids = itertools.count(1)
        self.app_id = snowflake(next(self._ids))
        self.bot_user_id = self.app_id
        self.guild_id = snowflake(next(self._ids))
        self.owner_id = snowflake(next(self._ids))
        names = (*channels, *forums)
        self.channels: dict[str, str] = {name: snowflake(next(self._ids)) for name in names}
        self.forums: set[str] = {self.channels[name] for name in forums}  # forum channel ids
        self.threads: dict[str, dict[str, Any]] = {}  # thread id -> thread channel
        self.guilds: dict[str, dict[str, str]] = {self.guild_id: self.channels}  # id -> channels
        self.forbidden: set[str] = set()
        self.requests: list[Recorded] = []
        self.gateway_ops: list[int] = []  # ops the client sent, in order
        self.identified = asyncio.Event()
        self.commands: list[dict[str, Any]] = []  # last synced command payloads
        self.messages: dict[str, dict[str, Any]] = {}  # message id -> message
        self.roles: dict[str, str] = {}  # the first guild's roles besides @everyone: name -> id
        self.uploads: dict[str, tuple[str, bytes]] = {}  # attachment id -> (filename, bytes)
        self._injected: list[Injected] = []
        self._token_channel: dict[str, str] = {}
        self._token_type: dict[str, int] = {}  # interaction token -> interaction type
        self._loading: set[str] = set()  # interaction tokens whose deferral is unresolved
        self.sessions: list[Session] = []  # gateway connections, identified or not
        self.recommended_shards = 1  # what GET /gateway/bot answers
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._nonces: dict[tuple[str, str], str] = {}  # (channel, nonce) -> message id
        self.release = asyncio.Event()  # what held posts wait for
        self.held: list[Recorded] = []  # channel posts that waited
        self._to_hold = 0

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/attachments/{id}/{name}", self._cdn)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def stop(self) -> None:
        for session in self.sessions:
            if not session.ws.closed:
                await session.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def rest_base(self) -> str:
        return f"http://127.0.0.1:{self.port}{API_PREFIX}"

    @property
    def gateway_url(self) -> yarl.URL:
        return yarl.URL(f"ws://127.0.0.1:{self.port}/gateway")

    @contextlib.contextmanager
    def patch_discord(self) -> Iterator[None]:
        """Point discord.py's REST base and gateway at this server, restoring them after."""
        route_cls = discord.http.Route
        ws_cls = discord.gateway.DiscordWebSocket
        old_base, old_gateway = route_cls.BASE, ws_cls.DEFAULT_GATEWAY
        route_cls.BASE = self.rest_base
        ws_cls.DEFAULT_GATEWAY = self.gateway_url
        try:
            yield
        finally:
            route_cls.BASE, ws_cls.DEFAULT_GATEWAY = old_base, old_gateway

    # ---------------------------------------------------------------- scenarios

    def inject(
        self,
        method: str,
        path_regex: str,
        *,
        status: int,
        body: Any = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` requests matching ``method`` and ``path_regex`` with this."""
        self._injected.append(
            Injected(method.upper(), re.compile(path_regex), status, body, headers or {}, times)
        )

    def hold_posts(self, count: int = 1) -> asyncio.Event:
        """Store the next ``count`` channel posts but answer none of them until the returned
        event is set (a client killed meanwhile never learns its post went through)."""
        self._to_hold, self.release = count, asyncio.Event()
        return self.release

    def rate_limit(
        self, method: str, path_regex: str, *, retry_after: float, via: bool = True
    ) -> None:
        """A 429 shaped like Discord's (body ``retry_after`` + ``Via``: discord.py retries it)."""
        headers = {
            "Retry-After": str(max(1, round(retry_after))),
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset-After": f"{retry_after:.3f}",
            "X-RateLimit-Bucket": "fake-bucket",
            "X-RateLimit-Scope": "user",
        }
        if via:
            headers["Via"] = "1.1 google"
        body = {
            "message": "You are being rate limited.",
            "retry_after": retry_after,
            "global": False,
        }
        self.inject(method, path_regex, status=429, body=body, headers=headers)

    # ---------------------------------------------------------------- queries

    def find(self, method: str, path_regex: str) -> list[Recorded]:
        pattern = re.compile(path_regex)
        return [r for r in self.requests if r.method == method and pattern.search(r.path)]

    async def wait_for(self, predicate: Callable[[], Any], within: float = 5.0) -> Any:
        """Wait until ``predicate()`` is truthy (re-checked whenever a request lands)."""
        async with asyncio.timeout(within), self._changed:
            result = predicate()
            while not result:
                await self._changed.wait()
                result = predicate()
        return result

    # ---------------------------------------------------------------- gateway

    def add_guild(
        self,
        channels: tuple[str, ...] = ("general", "news"),
        *,
        shard: tuple[int, int] | None = None,
    ) -> str:
        """Another guild the bot is in (before it connects); returns its id. Its channels are
        ``guilds[id]``; :meth:`interact` takes ``guild=id``. ``shard=(id, count)``: a guild
        whose events go to that shard."""
        n = next(self._ids)
        guild_id = snowflake(n)
        if shard is not None:
            ms = (int(guild_id) >> 22) + (shard[0] - shard_of(guild_id, shard[1])) % shard[1]
            guild_id = str((ms << 22) + n)
        self.guilds[guild_id] = {name: snowflake(next(self._ids)) for name in channels}
        return guild_id

    def guild_of_channel(self, channel_id: str) -> str | None:
        if channel_id in self.threads:
            return str(self.threads[channel_id]["guild_id"])
        return next((g for g, chans in self.guilds.items() if channel_id in chans.values()), None)

    def in_channel(self, channel_id: str) -> list[dict[str, Any]]:
        """The messages stored in a channel or thread, oldest first."""
        return [
            m for k, m in self.messages.items() if m["channel_id"] == channel_id and k[0] != "o"
        ]

    def delete_thread(self, thread_id: str) -> None:
        """A moderator deleted the thread: posting in it answers 404 Unknown Channel."""
        del self.threads[thread_id]

    def add_member(
        self,
        name: str,
        permissions: discord.Permissions | None = None,
        roles: tuple[str, ...] = (),
    ) -> FakeMember:
        """A member; ``roles`` names roles of :attr:`roles` (add them before connecting)."""
        return FakeMember(
            snowflake(next(self._ids)),
            name,
            permissions or discord.Permissions.none(),
            [self.roles[r] for r in roles],
        )

    def add_role(self, name: str) -> str:
        """A role of the first guild (before the bot connects); returns its id."""
        self.roles[name] = snowflake(next(self._ids))
        return self.roles[name]

    async def _send(self, session: Session, payload: dict[str, Any]) -> None:
        raw = json.dumps(payload).encode()
        if session.zlib is not None:
            data = session.zlib.compress(raw) + session.zlib.flush(zlib.Z_SYNC_FLUSH)
            await session.ws.send_bytes(data)
        else:
            await session.ws.send_str(raw.decode())

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send an event to the newest open connection of the shard owning its guild (none:
        no shard of the bot has that guild, and Discord sends it nowhere)."""
        guild_id = data.get("guild_id")
        owners = [s for s in self.sessions if not s.ws.closed and s.owns(guild_id)]
        if owners:
            await self._dispatch_to(owners[-1], event, data)

    async def _dispatch_to(self, session: Session, event: str, data: dict[str, Any]) -> None:
        session.seq += 1
        await self._send(session, {"op": 0, "t": event, "s": session.seq, "d": data})

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        zstream = zlib.compressobj() if request.query.get("compress") == "zlib-stream" else None
        session = Session(ws, zstream)
        await self._send(session, {"op": 10, "d": {"heartbeat_interval": 41250}})
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            payload = json.loads(msg.data)
            op = payload.get("op")
            self.gateway_ops.append(op)
            if op == 1:
                await self._send(session, {"op": 11})
            elif op == 2:
                shard = (payload.get("d") or {}).get("shard") or [0, 1]
                session.shard = (int(shard[0]), int(shard[1]))
                session.token = str((payload.get("d") or {}).get("token", ""))
                self.sessions.append(session)
                await self._on_identify(session)
        return ws

    async def _on_identify(self, session: Session) -> None:
        mine = [g for g in self.guilds if session.owns(g)]
        await self._dispatch_to(
            session,
            "READY",
            {
                "v": 10,
                "user": self._bot_user(),
                "guilds": [{"id": g, "unavailable": True} for g in mine],
                "session_id": "fake-session",
                "resume_gateway_url": str(self.gateway_url),
                "application": {"id": self.app_id, "flags": 0},
                "shard": list(session.shard),
            },
        )
        for guild_id in mine:
            await self._dispatch_to(session, "GUILD_CREATE", self._guild(guild_id))
        self.identified.set()

    def _bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_user_id,
            "username": "newsbot",
            "discriminator": "0",
            "global_name": "newsbot",
            "avatar": None,
            "bot": True,
            "flags": 0,
        }

    def _user(self, user_id: str, name: str) -> dict[str, Any]:
        return {"id": user_id, "username": name, "discriminator": "0", "avatar": None}

    def _channel(self, name: str, channel_id: str, position: int, guild_id: str) -> dict[str, Any]:
        return {
            "id": channel_id,
            "type": 15 if channel_id in self.forums else 0,
            "name": name,
            "position": position,
            "guild_id": guild_id,
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
        }

    def _guild(self, guild_id: str) -> dict[str, Any]:
        everyone = {
            "id": guild_id,
            "name": "@everyone",
            "permissions": str(discord.Permissions.general().value),
            "position": 0,
            "color": 0,
            "hoist": False,
            "managed": False,
            "mentionable": False,
            "flags": 0,
        }
        me = {
            "user": self._bot_user(),
            "roles": [],
            "joined_at": "2024-01-01T00:00:00+00:00",
            "flags": 0,
            "deaf": False,
            "mute": False,
        }
        channels = self.guilds[guild_id]
        names = list(channels)
        roles = [everyone]
        if guild_id == self.guild_id:
            for position, (role_name, role_id) in enumerate(self.roles.items(), start=1):
                roles.append({**everyone, "id": role_id, "name": role_name, "position": position})
        return {
            "id": guild_id,
            "name": "Fake Guild",
            "owner_id": self.owner_id,
            "icon": None,
            "roles": roles,
            "emojis": [],
            "stickers": [],
            "features": [],
            "members": [me],
            "member_count": 2,
            "channels": [self._channel(n, channels[n], i, guild_id) for i, n in enumerate(names)],
            "threads": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "system_channel_id": channels[names[0]],
            "public_updates_channel_id": None,
            "large": False,
            "unavailable": False,
            "premium_tier": 0,
            "preferred_locale": "en-US",
        }

    async def interact(
        self,
        member: FakeMember,
        channel: str,
        options: list[dict[str, Any]],
        *,
        autocomplete: bool = False,
        name: str = "news",
        guild: str | None = None,
        attachments: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """Push an INTERACTION_CREATE for ``/name <options>``; returns the payload sent.

        ``options`` is Discord's nested option list, e.g. ``[{"type": 1, "name": "search",
        "options": [{"type": 3, "name": "query", "value": "x"}]}]``.
        """
        interaction_id = snowflake(next(self._ids))
        token = f"itoken-{interaction_id}"
        guild_id = guild or self.guild_id
        channel_id = self.guilds[guild_id][channel]
        payload: dict[str, Any] = {
            "id": interaction_id,
            "application_id": self.app_id,
            "type": 4 if autocomplete else 2,
            "token": token,
            "version": 1,
            "guild_id": guild_id,
            "channel_id": channel_id,
            "channel": {"id": channel_id, "type": 0, "guild_id": guild_id},
            "member": {
                "user": self._user(member.user_id, member.name),
                "roles": member.roles,
                "joined_at": "2024-01-01T00:00:00+00:00",
                "permissions": str(member.permissions.value),
                "flags": 0,
                "deaf": False,
                "mute": False,
            },
            "data": {"id": snowflake(next(self._ids)), "name": name, "type": 1, "options": options},
            "locale": "en-US",
            "guild_locale": "en-US",
            "app_permissions": str(discord.Permissions.text().value),
            "entitlements": [],
            "authorizing_integration_owners": {"0": guild_id},
            "context": 0,
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if attachments:
            payload["data"]["resolved"] = {
                "attachments": {a: self._attachment(a) for a in attachments}
            }
        self._token_channel[token] = channel_id
        self._token_type[token] = payload["type"]
        await self.dispatch("INTERACTION_CREATE", payload)
        return payload

    def upload(self, filename: str, data: bytes) -> str:
        """A file a member attaches to a command, on the fake's CDN; its attachment id."""
        attachment_id = snowflake(next(self._ids))
        self.uploads[attachment_id] = (filename, data)
        return attachment_id

    def _attachment(self, attachment_id: str) -> dict[str, Any]:
        filename, data = self.uploads[attachment_id]
        url = f"http://127.0.0.1:{self.port}/attachments/{attachment_id}/{filename}"
        return {
            "id": attachment_id,
            "filename": filename,
            "size": len(data),
            "url": url,
            "proxy_url": url,
            "content_type": "text/x-opml" if filename.endswith(".opml") else "text/plain",
            "ephemeral": True,
        }

    async def _cdn(self, request: web.Request) -> web.Response:
        found = self.uploads.get(request.match_info["id"])
        if found is None or found[0] != request.match_info["name"]:
            return web.Response(status=404, text="not found")
        return web.Response(body=found[1], content_type="application/octet-stream")

    def _member(self, member: FakeMember) -> dict[str, Any]:
        return {
            "user": self._user(member.user_id, member.name),
            "roles": member.roles,
            "joined_at": "2024-01-01T00:00:00+00:00",
            "permissions": str(member.permissions.value),
            "flags": 0,
            "deaf": False,
            "mute": False,
        }

    def components_of(self, message_id: str) -> list[dict[str, Any]]:
        """Every button and select of a stored message, in order."""
        rows = self.messages[message_id].get("components") or []
        return [c for row in rows for c in row.get("components", [])]

    async def click(
        self,
        member: FakeMember | None,
        message_id: str,
        custom_id: str,
        *,
        values: list[str] | None = None,
        dm_user: FakeMember | None = None,
    ) -> dict[str, Any]:
        """Push an INTERACTION_CREATE (type 3, MESSAGE_COMPONENT) as Discord sends it when
        ``member`` clicks the button ``custom_id`` of a stored message (or picks ``values`` in
        its select menu). ``dm_user`` instead: the click comes from a DM (no guild, no member).
        The component must be on the message, as on Discord."""
        message = self.messages[message_id]
        found = [c for c in self.components_of(message_id) if c["custom_id"] == custom_id]
        assert found, f"no component {custom_id!r} on message {message_id}"
        component = found[0]
        interaction_id = snowflake(next(self._ids))
        token = f"itoken-{interaction_id}"
        channel_id = str(message["channel_id"])
        guild_id = self.guild_of_channel(channel_id)
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component["type"]}
        if component["type"] == 3:
            data["values"] = values or []
        payload: dict[str, Any] = {
            "id": interaction_id,
            "application_id": self.app_id,
            "type": 3,
            "token": token,
            "version": 1,
            "channel_id": channel_id,
            "message": message,
            "data": data,
            "locale": "en-US",
            "app_permissions": str(discord.Permissions.text().value),
            "entitlements": [],
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if dm_user is not None:
            payload["user"] = self._user(dm_user.user_id, dm_user.name)
            payload["channel"] = {"id": channel_id, "type": 1}
            payload["context"] = 1
            payload["authorizing_integration_owners"] = {"1": dm_user.user_id}
        else:
            assert member is not None and guild_id is not None
            payload.update(
                guild_id=guild_id,
                guild_locale="en-US",
                channel={"id": channel_id, "type": 0, "guild_id": guild_id},
                member=self._member(member),
                context=0,
                authorizing_integration_owners={"0": guild_id},
            )
        self._token_channel[token] = channel_id
        self._token_type[token] = 3
        await self.dispatch("INTERACTION_CREATE", payload)
        return payload

    # ---------------------------------------------------------------- REST

    async def _read_body(self, request: web.Request) -> tuple[Any, dict[str, bytes]]:
        if request.content_type == "multipart/form-data":
            form = await request.post()
            files: dict[str, bytes] = {}
            body: Any = None
            for key, value in form.items():
                if key == "payload_json":
                    body = json.loads(str(value))
                elif isinstance(value, web.FileField):
                    files[value.filename] = value.file.read()
            return body, files
        raw = await request.read()
        if not raw:
            return None, {}
        try:
            return json.loads(raw), {}
        except ValueError:
            return raw.decode(errors="replace"), {}

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        body, files = await self._read_body(request)
        record = Recorded(
            method=request.method,
            path=path,
            query=dict(request.query),
            headers=dict(request.headers),
            json=body,
            files=files,
        )
        response = self._injected_response(request.method, path) or self._route(record)
        record.status = response.status
        if isinstance(response, web.Response) and response.body:
            record.response = json.loads(response.body)  # type: ignore[arg-type]
        self.requests.append(record)
        held = request.method == "POST" and re.fullmatch(r"/channels/\d+/messages", path)
        if held and self._to_hold > 0:
            self._to_hold -= 1
            self.held.append(record)
        else:
            held = None
        async with self._changed:
            self._changed.notify_all()
        if held:
            await self.release.wait()  # stored, not yet answered
        return response

    def _injected_response(self, method: str, path: str) -> web.Response | None:
        for item in self._injected:
            if item.times > 0 and item.method == method and item.pattern.search(path):
                item.times -= 1
                if item.times == 0:
                    self._injected.remove(item)
                return json_response(item.body, status=item.status, headers=item.headers)
        return None

    def _message_fields(
        self, body: dict[str, Any], files: dict[str, bytes], *, flags: int
    ) -> dict[str, Any]:
        attachments = [
            {
                "id": snowflake(next(self._ids)),
                "filename": name,
                "size": len(data),
                "url": f"{self.rest_base}/attachments/{name}",
                "proxy_url": f"{self.rest_base}/attachments/{name}",
            }
            for name, data in files.items()
        ]
        return {
            "content": body.get("content") or "",
            "embeds": body.get("embeds") or [],
            "components": body.get("components") or [],
            "attachments": attachments,
            "flags": flags,
        }

    def _message(
        self, channel_id: str, body: dict[str, Any], files: dict[str, bytes]
    ) -> dict[str, Any]:
        message_id = snowflake(next(self._ids))
        message = {
            "id": message_id,
            "channel_id": channel_id,
            "guild_id": self.guild_of_channel(channel_id) or self.guild_id,
            "type": 0,
            "author": self._bot_user(),
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": False,
            "timestamp": "2024-01-01T00:00:00+00:00",
            "edited_timestamp": None,
            **self._message_fields(body, files, flags=int(body.get("flags", 0) or 0)),
        }
        self.messages[message_id] = message
        return message

    def _route(self, rec: Recorded) -> web.Response:
        method, path, body = rec.method, rec.path, rec.json if isinstance(rec.json, dict) else {}
        if method == "GET" and path == "/users/@me":
            return json_response(self._bot_user())
        if method == "GET" and path == "/gateway/bot":
            limit = {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}
            return json_response(
                {
                    "url": str(self.gateway_url),
                    "shards": self.recommended_shards,
                    "session_start_limit": limit,
                }
            )
        if method == "GET" and path == "/oauth2/applications/@me":
            return json_response(
                {
                    "id": self.app_id,
                    "name": "newsbot",
                    "description": "",
                    "icon": None,
                    "bot_public": False,
                    "bot_require_code_grant": False,
                    "owner": self._user(self.owner_id, "owner"),
                    "verify_key": "0" * 64,
                    "flags": 0,
                }
            )
        if method == "PUT" and re.fullmatch(r"/applications/\d+(/guilds/\d+)?/commands", path):
            commands = rec.json if isinstance(rec.json, list) else []
            self.commands = commands
            result = [
                {
                    **c,
                    "id": snowflake(next(self._ids)),
                    "application_id": self.app_id,
                    "version": "1",
                }
                for c in commands
            ]
            return json_response(result)
        m = re.fullmatch(r"/interactions/(\d+)/([^/]+)/callback", path)
        if method == "POST" and m:
            return self._callback(m.group(1), m.group(2), body, rec.files)
        m = re.fullmatch(r"/webhooks/(\d+)/([^/]+)(/messages/(@original|\d+))?", path)
        if m:
            return self._webhook(method, m.group(2), m.group(4), body, rec.files)
        m = re.fullmatch(r"/channels/(\d+)/messages/(\d+)/threads", path)
        if method == "POST" and m:
            return self._start_thread(m.group(1), m.group(2), body)
        m = re.fullmatch(r"/channels/(\d+)/threads", path)
        if method == "POST" and m:
            return self._forum_post(m.group(1), body, rec.files)
        m = re.fullmatch(r"/channels/(\d+)/messages", path)
        if method == "POST" and m and m.group(1) in self.forums:
            return json_response(
                {"message": "Cannot send messages in a non-text channel", "code": 50008}, 400
            )
        if method == "POST" and m:
            if problem := message_problem(body):
                return json_response({"message": problem, "code": 50035}, 400)
            channel_id = m.group(1)
            if channel_id in self.forbidden:
                return json_response({"message": "Missing Permissions", "code": 50013}, 403)
            if self.guild_of_channel(channel_id) is None:
                return json_response({"message": "Unknown Channel", "code": 10003}, 404)
            nonce = str(body.get("nonce") or "")
            if body.get("enforce_nonce") and (channel_id, nonce) in self._nonces:
                return json_response(self.messages[self._nonces[channel_id, nonce]])
            message = self._message(channel_id, body, rec.files)
            if nonce:
                self._nonces[channel_id, nonce] = message["id"]
            return json_response(message)
        return json_response({"message": "404: Not Found", "code": 0}, 404)

    def _thread(self, parent_id: str, thread_id: str, name: str, kind: int = 11) -> dict[str, Any]:
        guild_id = self.guild_of_channel(parent_id) or self.guild_id
        thread = {
            "id": thread_id,
            "guild_id": guild_id,
            "parent_id": parent_id,
            "owner_id": self.bot_user_id,
            "type": kind,
            "name": name,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "message_count": 0,
            "member_count": 1,
            "flags": 0,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": 10080,
                "archive_timestamp": "2024-01-01T00:00:00+00:00",
                "locked": False,
                "create_timestamp": "2024-01-01T00:00:00+00:00",
            },
        }
        self.threads[thread_id] = thread
        return thread

    def _start_thread(self, channel_id: str, message_id: str, body: dict[str, Any]) -> web.Response:
        """A thread from a message: Discord gives it the message's id (one thread a message)."""
        message = self.messages.get(message_id)
        if message is None or message["channel_id"] != channel_id:
            return json_response({"message": "Unknown Message", "code": 10008}, 404)
        if message_id in self.threads:
            return json_response(
                {"message": "A thread has already been created for this message", "code": 160004},
                400,
            )
        name = str(body.get("name") or "")
        if not 1 <= len(name) <= 100:
            return json_response({"message": "Invalid Form Body", "code": 50035}, 400)
        return json_response(self._thread(channel_id, message_id, name))

    def _forum_post(
        self, channel_id: str, body: dict[str, Any], files: dict[str, bytes]
    ) -> web.Response:
        """A forum post: a thread with its first message (the thread's id is that message's)."""
        if channel_id not in self.forums:
            return json_response({"message": "Invalid Form Body", "code": 50035}, 400)
        first = body.get("message") or {}
        if problem := message_problem(first):
            return json_response({"message": problem, "code": 50035}, 400)
        name = str(body.get("name") or "")
        if not 1 <= len(name) <= 100:
            return json_response({"message": "Invalid Form Body", "code": 50035}, 400)
        thread_id = snowflake(next(self._ids))
        thread = self._thread(channel_id, thread_id, name, kind=11)
        message = self._message(thread_id, first, files)
        return json_response({**thread, "message": message})

    def _callback(
        self, interaction_id: str, token: str, body: dict[str, Any], files: dict[str, bytes]
    ) -> web.Response:
        kind = body.get("type")
        data = body.get("data") or {}
        message = None
        if kind in (4, 5):  # message, or deferred "thinking" message
            message = self._message(self._channel_of(token), data, files)
            self.messages[f"original:{token}"] = message
            if kind == 5:
                self._loading.add(token)
        flags = int(data.get("flags", 0))
        result: dict[str, Any] = {
            "interaction": {
                "id": interaction_id,
                "type": self._token_type.get(token, 2),
                "response_message_id": message["id"] if message else None,
                "response_message_loading": kind == 5,
                "response_message_ephemeral": bool(flags & 64),
            },
            "resource": {"type": kind},
        }
        if message is not None:
            result["resource"]["message"] = message
        return json_response(result)

    def _channel_of(self, token: str) -> str:
        return self._token_channel.get(token, next(iter(self.channels.values())))

    def _webhook(
        self,
        method: str,
        token: str,
        which: str | None,
        body: dict[str, Any],
        files: dict[str, bytes],
    ) -> web.Response:
        original = f"original:{token}"
        if method in ("POST", "PATCH") and (problem := message_problem(body)):
            return json_response({"message": problem, "code": 50035}, 400)
        if which is None and method == "POST":
            if token in self._loading and original in self.messages:
                # Like Discord: the first follow-up after a deferral replaces the "thinking"
                # message, keeping its flags (an ephemeral deferral stays ephemeral).
                self._loading.discard(token)
                message = self.messages[original]
                message.update(self._message_fields(body, files, flags=message["flags"]))
                return json_response(message)
            return json_response(self._message(self._channel_of(token), body, files))
        key = original if which == "@original" else (which or "")
        found = self.messages.get(key)
        if found is None:
            return json_response({"message": "Unknown Message", "code": 10008}, 404)
        message = found
        self._loading.discard(token)
        if method == "DELETE":
            del self.messages[key]
            return web.Response(status=204)
        if method == "PATCH":
            fields = self._message_fields(body, files, flags=message["flags"])
            message.update({k: v for k, v in fields.items() if k in body or k == "attachments"})
        return json_response(message)
