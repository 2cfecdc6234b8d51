"""Discord: the `/news` slash-command group and digest delivery, on discord.py.

Every :class:`~handlers.base.CommandSpec` becomes a subcommand of one ``/news`` group (a spec
whose options start with ``action`` becomes a subcommand group, one subcommand per action:
``/news sources add <url>``). A command is acknowledged with ``defer()`` before any work
(Discord allows 3 s for the first response), then answered with follow-ups. The deferral is
ephemeral, like most replies and every error; a public reply (a story) is posted as public
follow-ups. Admin checks fail with an immediate ephemeral answer, before any work.

Admin commands are checked here, server-side, from the member's resolved permissions in the
interaction (Manage Server or Administrator). Discord's ``default_member_permissions`` only
applies to top-level commands, so it cannot hide admin subcommands inside ``/news``; server
owners may still restrict ``/news`` as a whole in Server Settings > Integrations.

Buttons (``handlers.actions``): the renderer emits raw component payloads (dicts, kept within
Discord's limits there, like embeds); they are sent as a *stopped* ``discord.ui.View`` (only so
discord.py serialises them: a stopped view is never kept in its view store) and every click is
handled statelessly in :meth:`NewsBot.on_interaction` from the ``custom_id`` alone
(``newsbot:follow:s-4f2a``). Nothing is registered per message, so buttons of digests posted
before a restart (or by another process) keep working; ``add_view`` could not help, as it
matches fixed custom_ids and ours carry story and subscription ids. A click is acknowledged
like a command (``defer`` first, ephemeral), checked like it (a server channel, Manage Server
for admin commands, then the handler's own checks) and run through ``handlers.dispatch``.

Nothing sent here pings anyone: the client's and every message's ``allowed_mentions`` is none,
and :mod:`bot.platforms.discord_render` escapes mentions and markdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import io
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Literal

import discord
from discord import app_commands

import handlers
from bot.delivery.gateway import DIGEST_THREAD, ChannelRef, DeliveryError, Threads
from bot.delivery.threads import digest_title, one_story, story_title, thread_name
from bot.digest.model import Digest
from bot.errors import ConfigError, UserError
from bot.operations.logs import install_redaction as install_log_redaction
from bot.platforms.discord_render import (
    escape,
    render_discord,
    render_reply,
    render_story_index,
    render_thread_parent,
)
from bot.platforms.safety import clip
from bot.services import Services
from bot.settings import DiscordSettings, Secrets, Settings
from handlers.actions import Action, command_request, is_action, parse_action
from handlers.base import Attachment, CommandRequest, CommandSpec, Option, Reply

log = logging.getLogger("newsbot.discord")


def install_redaction(token: str | None = None) -> None:
    """Register the bot token with the process's log redaction (``bot.operations.logs``; Discord's
    interaction-token shapes are its entry in ``bot/platforms/registry.py``)."""
    install_log_redaction([token])


PLATFORM = "discord"
NAME_MAX = 32
DESCRIPTION_MAX = 100
CHOICES_MAX = 25
NO_MENTIONS = discord.AllowedMentions.none()
POSTED_NOTE = "Posted in this channel."
THREAD_ARCHIVE_MINUTES: Literal[10080] = 10080  # a story's thread stays open a week
THREAD_EXISTS = 160004  # Discord: "A thread has already been created for this message"

# Each action of an "action" command (``/news sources add``): its description and options
# (option name -> required).
ACTION_OPTIONS: Mapping[str, tuple[str, Mapping[str, bool]]] = {
    "add": ("Add a feed (checked first)", {"url": True, "name": False, "filter": False}),
    "remove": ("Remove a feed", {"url": True}),
    "list": ("List the feeds", {}),
    "status": ("Feed health: last fetch, errors, articles", {"url": False}),
    "import": ("Add the feeds of an OPML file (each checked)", {"file": True}),
    "export": ("The feeds as an OPML file", {}),
}
FILE_MAX = 5_000_000  # bytes of an attached file read (an OPML file's own cap)

Runner = Callable[
    [discord.Interaction, CommandSpec, dict[str, str], dict[str, discord.Attachment]],
    Awaitable[None],
]
Completer = Callable[
    [discord.Interaction, CommandSpec, Option, str], Awaitable[list[tuple[str, str]]]
]


def is_admin(interaction: discord.Interaction) -> bool:
    """Manage Server (or Administrator) in the member's resolved permissions; never in DMs."""
    if interaction.guild_id is None:
        return False
    perms = interaction.permissions
    return perms.administrator or perms.manage_guild


def may_manage(interaction: discord.Interaction, role: str) -> bool:
    """``[permissions] manage_role``: with a role set, only members with it (by name or id)
    and admins may change subscriptions; without one, everyone may."""
    role = role.strip()
    if not role or is_admin(interaction):
        return True
    roles = getattr(interaction.user, "roles", ())
    wanted = role.casefold()
    return any(str(r.id) == role or r.name.casefold() == wanted for r in roles)


def _actions(spec: CommandSpec) -> tuple[str, ...]:
    if spec.options and spec.options[0].name == "action":
        return tuple(a for a in handlers.SOURCE_ACTIONS if a in ACTION_OPTIONS)
    return ()


def _command(
    name: str,
    description: str,
    spec: CommandSpec,
    options: Sequence[Option],
    fixed: Mapping[str, str],
    run: Runner,
    complete: Completer,
    parent: app_commands.Group,
) -> app_commands.Command[Any, ..., None]:
    """A subcommand whose Discord options are ``options`` (strings; an attachment for a file
    option), built at run time.

    discord.py reads parameters from the callback's signature, so the callback gets a
    synthetic one: ``opt0``, ``opt1``... renamed to the option names.
    """
    idents = {f"opt{i}": option for i, option in enumerate(options)}

    async def callback(
        interaction: discord.Interaction, **values: str | discord.Attachment | None
    ) -> None:
        args = dict(fixed)
        files: dict[str, discord.Attachment] = {}
        for ident, value in values.items():
            if isinstance(value, discord.Attachment):
                files[idents[ident].name] = value
            elif value is not None:
                args[idents[ident].name] = value
        await run(interaction, spec, args, files)

    params = [inspect.Parameter("interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    for ident, option in idents.items():
        kind: Any = discord.Attachment if option.file else str
        params.append(
            inspect.Parameter(
                ident,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=kind if option.required else kind | None,
                default=inspect.Parameter.empty if option.required else None,
            )
        )
    # inspect's documented override: discord.py reads the parameters from the signature.
    callback.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    # discord.py's public decorators name, describe and complete each option.
    app_commands.rename(**{ident: option.name for ident, option in idents.items()})(callback)
    app_commands.describe(
        **{ident: clip(option.description, DESCRIPTION_MAX) for ident, option in idents.items()}
    )(callback)
    choices = {
        ident: [app_commands.Choice(name=c, value=c) for c in option.choices]
        for ident, option in idents.items()
        if option.choices
    }
    if choices:
        app_commands.choices(**choices)(callback)
    autocompletes = {
        ident: _autocomplete_callback(spec, option, complete)
        for ident, option in idents.items()
        if option.autocomplete
    }
    if autocompletes:
        app_commands.autocomplete(**autocompletes)(callback)
    command: app_commands.Command[Any, ..., None] = app_commands.Command(
        name=name[:NAME_MAX],
        description=clip(description, DESCRIPTION_MAX),
        callback=callback,
        parent=parent,
    )
    parent.add_command(command)
    return command


def _autocomplete_callback(
    spec: CommandSpec, option: Option, complete: Completer
) -> Callable[[discord.Interaction, str], Coroutine[Any, Any, list[app_commands.Choice[str]]]]:
    async def suggest(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        try:
            pairs = await complete(interaction, spec, option, current)
        except Exception:
            log.exception("autocomplete failed for /news %s %s", spec.name, option.name)
            return []
        return [
            app_commands.Choice(name=clip(label, 100) or value[:100], value=value[:100])
            for label, value in pairs[:CHOICES_MAX]
        ]

    return suggest


def build_news_group(
    specs: Sequence[CommandSpec], run: Runner, complete: Completer
) -> app_commands.Group:
    """The ``/news`` group: one subcommand per spec (a subgroup for ``action`` specs)."""
    group = app_commands.Group(
        name=handlers.ROOT_COMMAND,
        description="News monitoring: search, stories, subscriptions and digests",
        guild_only=True,
    )
    for spec in specs:
        actions = _actions(spec)
        if not actions:
            _command(spec.name, spec.description, spec, spec.options, {}, run, complete, group)
            continue
        sub = app_commands.Group(
            name=spec.name[:NAME_MAX],
            description=clip(spec.description, DESCRIPTION_MAX),
            parent=group,
        )
        by_name = {o.name: o for o in spec.options}
        for action in actions:
            summary, wanted = ACTION_OPTIONS[action]
            options = [
                replace(by_name[name], required=required)
                for name, required in wanted.items()
                if name in by_name
            ]
            admins = " (admins)" if spec.admin_only else ""
            _command(
                action,
                summary + admins,
                spec,
                options,
                {"action": action},
                run,
                complete,
                sub,
            )
    return group


async def read_attachments(files: Mapping[str, discord.Attachment]) -> dict[str, Attachment]:
    """The attached files of a command, read from Discord's CDN (at most :data:`FILE_MAX`
    bytes each); a file too large or unreadable is a one-line :class:`UserError`."""
    out: dict[str, Attachment] = {}
    for name, attachment in files.items():
        if attachment.size > FILE_MAX:
            raise UserError(f"{attachment.filename}: larger than {FILE_MAX} bytes; not read")
        try:
            data = await attachment.read()
        except discord.HTTPException as exc:
            raise UserError(f"{attachment.filename}: could not be read ({exc.status})") from None
        out[name] = Attachment(
            attachment.filename, data, attachment.content_type or "application/octet-stream"
        )
    return out


def message_kwargs(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A rendered payload as discord.py ``send()`` keywords, never pinging anyone."""
    kwargs: dict[str, Any] = {
        "embeds": [discord.Embed.from_dict(e) for e in payload.get("embeds") or []],
        "allowed_mentions": NO_MENTIONS,
    }
    if payload.get("content"):
        kwargs["content"] = payload["content"]
    files = [
        discord.File(io.BytesIO(a.data), filename=a.filename)
        for a in payload.get("attachments") or []
    ]
    if files:
        kwargs["files"] = files
    view = view_of(payload.get("components") or [])
    if view is not None:
        kwargs["view"] = view
    return kwargs


NONCE_MAX = 25  # Discord's limit on a message nonce


def once_nonce(key: str, index: int) -> str:
    """The nonce of message ``index`` of the delivery whose idempotency key is ``key``: the
    same for every attempt, by any worker, so ``enforce_nonce`` makes Discord answer a repeat
    (within a few minutes) with the first message instead of posting it again."""
    return hashlib.sha256(f"{key}\x00{index}".encode()).hexdigest()[:NONCE_MAX]


def _enforce_nonce(params: Any) -> None:
    """Add ``enforce_nonce`` to the request discord.py built (its ``send()`` has no option
    for it): in the JSON body, or in the ``payload_json`` part of a multipart one."""
    if params.payload is not None:
        params.payload["enforce_nonce"] = True
    for part in params.multipart or []:
        if part.get("name") == "payload_json":
            body = json.loads(part["value"])
            body["enforce_nonce"] = True
            part["value"] = json.dumps(body)


def view_of(rows: Sequence[Mapping[str, Any]]) -> discord.ui.View | None:
    """Rendered action rows as a view discord.py can send: buttons and string selects on their
    rows. The view is stopped at once: discord.py sends its components but keeps nothing (a
    click reaches :meth:`NewsBot.on_interaction` by its custom_id)."""
    if not rows:
        return None
    view = discord.ui.View(timeout=None)
    for index, row in enumerate(rows):
        for item in row.get("components") or []:
            if item["type"] == 2:
                view.add_item(
                    discord.ui.Button(
                        style=discord.ButtonStyle(item["style"]),
                        label=item["label"],
                        custom_id=item["custom_id"],
                        row=index,
                    )
                )
            elif item["type"] == 3:
                options = [
                    discord.SelectOption(label=o["label"], value=o["value"])
                    for o in item["options"]
                ]
                view.add_item(
                    discord.ui.Select(
                        custom_id=item["custom_id"],
                        placeholder=item.get("placeholder"),
                        options=options,
                        min_values=item.get("min_values", 1),
                        max_values=item.get("max_values", 1),
                        row=index,
                    )
                )
    view.stop()
    return view


def shard_options(settings: DiscordSettings) -> dict[str, Any]:
    """``[discord] shard_count``/``shard_ids`` as ``AutoShardedClient`` options: none (Discord's
    recommended count, every shard here), a count (every shard of it), or a count and ids."""
    options: dict[str, Any] = {}
    if settings.shard_count:
        options["shard_count"] = settings.shard_count
        if settings.shard_ids:
            options["shard_ids"] = list(settings.shard_ids)
    return options


class NewsBot(discord.AutoShardedClient):
    """A discord.py client serving ``/news`` from :mod:`handlers` over :class:`Services`.

    Sharded (``[discord] shard_count``/``shard_ids``): Discord sends each guild's events to
    one shard, so workers running different shards answer different guilds' commands; any
    worker may post to any channel (REST needs no shard)."""

    def __init__(
        self,
        services: Services,
        *,
        specs: Sequence[CommandSpec] | None = None,
        sync_commands: bool = True,
        **options: Any,
    ) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        options.setdefault("allowed_mentions", NO_MENTIONS)
        # A longer rate-limit wait raises RateLimited (-> DeliveryError(retry_after)) instead
        # of holding a digest post; discord.py's minimum is 30 s.
        options.setdefault("max_ratelimit_timeout", 30.0)
        for key, value in shard_options(services.settings.discord).items():
            options.setdefault(key, value)
        super().__init__(intents=intents, **options)
        self.services = services
        self.specs = tuple(specs if specs is not None else handlers.ALL_COMMANDS)
        self.sync_commands = sync_commands
        self.tree = app_commands.CommandTree(self)
        self.tree.error(self._on_tree_error)
        self.group = build_news_group(self.specs, self.run_command, self.complete)
        self.tree.add_command(self.group)
        self.gateway = DiscordGateway(self)

    async def setup_hook(self) -> None:
        if self.sync_commands:
            await self.tree.sync()

    def request_for(
        self, interaction: discord.Interaction, command: str, args: Mapping[str, str]
    ) -> CommandRequest:
        """The member's request, with their rights: Manage Server, ``[permissions] manage_role``."""
        role = self.services.settings.permissions.manage_role.strip()
        return CommandRequest(
            platform=PLATFORM,
            workspace=str(interaction.guild_id or ""),
            channel=str(interaction.channel_id or ""),
            user=str(interaction.user.id),
            is_admin=is_admin(interaction),
            command=command,
            args=dict(args),
            may_manage=may_manage(interaction, role),
            managers=f"members with the {role} role or Manage Server" if role else "",
        )

    async def run_command(
        self,
        interaction: discord.Interaction,
        spec: CommandSpec,
        args: dict[str, str],
        files: Mapping[str, discord.Attachment] | None = None,
    ) -> None:
        """Acknowledge, run the handler, answer with follow-ups (errors ephemeral)."""
        request = self.request_for(interaction, spec.name, args)
        await self._answer(interaction, request, files=files or {})

    async def _answer(
        self,
        interaction: discord.Interaction,
        request: CommandRequest,
        action: Action | None = None,
        *,
        files: Mapping[str, discord.Attachment] | None = None,
    ) -> None:
        """The one way a command or a button is answered: the admin check at once (before
        any work), else ``defer`` (ephemeral "thinking", within Discord's 3 s), the attached
        files read, dispatch, follow-ups."""
        spec = handlers.command_spec(request.command)
        assert spec is not None, request.command
        if spec.admin_only and not request.is_admin:
            reply = handlers.error_reply(
                f"/{handlers.ROOT_COMMAND} {spec.name} needs the Manage Server permission"
            )
            await self._respond_now(interaction, reply)
            return
        await interaction.response.defer(thinking=True, ephemeral=True)
        try:
            if files:
                request = replace(request, files=await read_attachments(files))
            if action is None:
                reply = await handlers.dispatch(request, self.services)
            else:
                reply = await handlers.run_action(action, request, self.services)
        except UserError as exc:
            reply = handlers.error_reply(str(exc))
        except Exception:
            log.exception("/news %s failed", spec.name)
            reply = handlers.error_reply("something went wrong; the error was logged")
        await self.send_followups(interaction, reply)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """A click on one of newsbot's buttons or select menus (slash commands go to the tree)."""
        if interaction.type is not discord.InteractionType.component:
            return
        data: Mapping[str, Any] = interaction.data or {}
        custom_id = str(data.get("custom_id", ""))
        if is_action(custom_id):
            await self.run_action(interaction, custom_id, [str(v) for v in data.get("values", [])])

    async def run_action(
        self, interaction: discord.Interaction, custom_id: str, values: Sequence[str]
    ) -> None:
        """Parse the button's action and answer it as its command (privately, but Share)."""
        try:
            action = parse_action(custom_id, values)
            if interaction.guild_id is None:
                raise UserError("newsbot's buttons work in a server channel")
        except UserError as exc:
            await self._respond_now(interaction, handlers.error_reply(str(exc)))
            return
        request = command_request(action, self.request_for(interaction, "", {}))
        await self._answer(interaction, request, action)

    async def _respond_now(self, interaction: discord.Interaction, reply: Reply) -> None:
        await interaction.response.send_message(
            **message_kwargs(render_reply(reply)[0]), ephemeral=True
        )

    async def send_followups(self, interaction: discord.Interaction, reply: Reply) -> None:
        """Answer a deferred interaction. The "thinking" message is ephemeral (most replies
        are); a public reply first resolves it with a short note, because Discord turns the
        first follow-up into that message, ephemeral whatever its flags say."""
        private = reply.ephemeral or reply.error
        if not private:
            await interaction.edit_original_response(content=POSTED_NOTE)
        for payload in render_reply(reply):
            await interaction.followup.send(**message_kwargs(payload), ephemeral=private, wait=True)

    async def complete(
        self, interaction: discord.Interaction, spec: CommandSpec, option: Option, current: str
    ) -> list[tuple[str, str]]:
        assert option.autocomplete is not None
        args = {k: str(v) for k, v in interaction.namespace if v is not None}
        request = self.request_for(interaction, spec.name, args)
        return await handlers.autocomplete(option.autocomplete, current, request, self.services)

    async def _on_tree_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        log.error("/news interaction failed: %s", error, exc_info=error)
        if interaction.type is not discord.InteractionType.application_command:
            return
        reply = handlers.error_reply("something went wrong; the error was logged")
        try:
            if interaction.response.is_done():
                await interaction.followup.send(
                    **message_kwargs(render_reply(reply)[0]), ephemeral=True
                )
            else:
                await self._respond_now(interaction, reply)
        except discord.HTTPException:
            log.warning("could not report the error to the user")


def _delivery_error(exc: Exception, what: str) -> DeliveryError:
    if isinstance(exc, discord.Forbidden | discord.NotFound):
        return DeliveryError(f"{what}: {exc.status} {exc.text}", permanent=True)
    if isinstance(exc, discord.RateLimited):
        return DeliveryError(f"{what}: rate limited", retry_after=exc.retry_after)
    if isinstance(exc, discord.HTTPException) and exc.status == 429:
        retry = exc.response.headers.get("Retry-After") if exc.response is not None else None
        try:
            retry_after = float(retry) if retry else None
        except ValueError:
            retry_after = None
        return DeliveryError(f"{what}: rate limited", retry_after=retry_after)
    if isinstance(exc, discord.HTTPException):
        return DeliveryError(f"{what}: {exc.status} {exc.text}")
    return DeliveryError(f"{what}: {exc}")


class DiscordGateway:
    """:class:`~bot.delivery.gateway.ChatGateway` for Discord, over the bot's REST client.

    discord.py already honours 429s (it sleeps the body's ``retry_after`` and retries, up to the
    client's ``max_ratelimit_timeout``); what is left is translated to :class:`DeliveryError`.
    """

    platform = PLATFORM

    def __init__(self, client: discord.Client) -> None:
        self.client = client

    def _channel(self, channel: ChannelRef) -> discord.PartialMessageable:
        guild_id = int(channel.workspace) if channel.workspace else None
        return self.client.get_partial_messageable(
            int(channel.channel), guild_id=guild_id, type=discord.ChannelType.text
        )

    async def send_payloads(
        self, channel: ChannelRef, payloads: Sequence[Mapping[str, Any]]
    ) -> str:
        """Send message payloads in order; the first message's id."""
        return await self._send(channel, payloads, channel.channel)

    async def _send(
        self,
        channel: ChannelRef,
        payloads: Sequence[Mapping[str, Any]],
        what: str,
        key: str | None = None,
    ) -> str:
        """Send message payloads in order to ``channel`` (a channel or a thread); the first
        message's id. With an idempotency ``key``, message ``i`` carries the nonce
        ``once_nonce(key, i)`` with ``enforce_nonce`` (see :meth:`post_digest_once`)."""
        target = self._channel(channel)
        first = ""
        for index, payload in enumerate(payloads):
            kwargs = message_kwargs(payload)
            try:
                if key is None:
                    message_id = str((await target.send(**kwargs)).id)
                else:
                    with discord.http.handle_message_parameters(
                        content=kwargs.get("content", discord.utils.MISSING),
                        embeds=kwargs["embeds"],
                        files=kwargs.get("files", discord.utils.MISSING),
                        view=kwargs.get("view"),
                        allowed_mentions=kwargs["allowed_mentions"],
                        nonce=once_nonce(key, index),
                    ) as params:
                        _enforce_nonce(params)
                        data = await self.client.http.send_message(target.id, params=params)
                    message_id = str(data["id"])
            except (discord.HTTPException, discord.RateLimited) as exc:
                raise _delivery_error(exc, f"discord channel {what}") from exc
            first = first or message_id
        return first

    async def post_digest(
        self, channel: ChannelRef, digest: Digest, threads: Threads | None = None
    ) -> str:
        """The digest's messages in the channel; threaded (``threads``), in a thread started
        from a parent message, or a forum post when the channel is a forum channel (see
        ``ChatGateway.post_digest``)."""
        if threads is not None and threads.mode in ("digest", "story"):
            return await self._threaded(channel, digest, threads, None)
        return await self.send_payloads(channel, render_discord(digest))

    async def post_digest_once(
        self,
        channel: ChannelRef,
        digest: Digest,
        key: str,
        threads: Threads | None = None,
        tried: datetime | None = None,
    ) -> str:
        """:meth:`post_digest` at most once per idempotency ``key`` (``OnceGateway``): each
        message carries its nonce (:func:`once_nonce`) with ``enforce_nonce``, so a repeat
        after a crash or by another worker gets the first message back from Discord (whatever
        ``tried`` says: nothing to look up). A threaded digest's messages too (each part its
        own nonces: a thread's parent, each thread's messages, the channel message), and a
        thread opened once is recorded."""
        del tried
        if threads is not None and threads.mode in ("digest", "story"):
            return await self._threaded(channel, digest, threads, key)
        return await self._send(channel, render_discord(digest), channel.channel, key)

    async def _threaded(
        self, channel: ChannelRef, digest: Digest, threads: Threads, key: str | None
    ) -> str:
        def part(name: str) -> str | None:
            return None if key is None else f"{key}\x00{name}"

        if threads.mode == "digest":
            return await self._in_thread(
                channel, threads, DIGEST_THREAD, digest_title(digest), render_discord(digest), part
            )
        opened: dict[str, str] = {}
        for story in digest.stories:
            payloads = render_discord(one_story(digest, story))
            opened[story.id] = await self._in_thread(
                channel, threads, story.id, story_title(story), payloads, part
            )
        if self._forum(channel) is not None:  # a forum holds posts only: no channel message
            return next(iter(opened.values()))
        index = [render_story_index(digest, opened)]
        return await self._send(channel, index, channel.channel, part("index"))

    def _forum(self, channel: ChannelRef) -> discord.ForumChannel | None:
        found = self.client.get_channel(int(channel.channel))
        return found if isinstance(found, discord.ForumChannel) else None

    async def _in_thread(
        self,
        channel: ChannelRef,
        threads: Threads,
        key: str,
        title: str,
        payloads: Sequence[Mapping[str, Any]],
        part: Callable[[str], str | None],
    ) -> str:
        """Post ``payloads`` in thread ``key`` (the open one, else a new one, recorded before
        anything is posted in it); the thread's id. A thread deleted (or locked) meanwhile is
        replaced by a new one."""
        thread_id = threads.open.get(key)
        if thread_id is not None:
            where = replace(channel, channel=thread_id)
            what = f"{channel.channel} thread {thread_id}"
            try:
                await self._send(where, payloads, what, part(f"{key}\x00{thread_id}"))
                return thread_id
            except DeliveryError as exc:
                gone = isinstance(exc.__cause__, discord.NotFound | discord.Forbidden)
                if not exc.permanent or not gone:
                    raise
                # A new thread (if the channel refuses that too, that error is the channel's).
                log.warning("discord: thread %s is gone or locked, opening another", thread_id)
        thread_id = await self._open_thread(channel, title, part(f"{key}\x00parent"))
        await threads.opened(key, thread_id)
        what = f"{channel.channel} thread {thread_id}"
        await self._send(
            replace(channel, channel=thread_id), payloads, what, part(f"{key}\x00{thread_id}")
        )
        return thread_id

    async def _open_thread(self, channel: ChannelRef, title: str, key: str | None) -> str:
        """A new thread in the channel (its id): a post in a forum channel, else a thread
        started from a parent message (the title, in bold; sent with a nonce under ``key``,
        so a retry after the thread failed to open starts it from the same message)."""
        name = thread_name(title)
        parent = render_thread_parent(title)
        try:
            forum = self._forum(channel)
            if forum is not None:
                made = await forum.create_thread(
                    name=name,
                    auto_archive_duration=THREAD_ARCHIVE_MINUTES,
                    content=parent["content"],
                    allowed_mentions=NO_MENTIONS,
                )
                return str(made.thread.id)
            message_id = await self._send(channel, [parent], channel.channel, key)
            try:
                data = await self.client.http.start_thread_with_message(
                    int(channel.channel),
                    int(message_id),
                    name=name,
                    auto_archive_duration=THREAD_ARCHIVE_MINUTES,
                )
            except discord.HTTPException as exc:
                if exc.code != THREAD_EXISTS:
                    raise
                # An earlier attempt started it (then stopped before recording it): a thread
                # started from a message has the message's id.
                return message_id
            return str(data["id"])
        except (discord.HTTPException, discord.RateLimited) as exc:
            raise _delivery_error(exc, f"discord channel {channel.channel}: a thread") from exc

    async def post_reply(self, channel: ChannelRef, reply: Reply) -> str:
        return await self.send_payloads(channel, render_reply(reply))

    async def notify_admins(self, workspace: str, text: str) -> None:
        """Post to the server's community-updates channel, else its system channel."""
        guild = self.client.get_guild(int(workspace)) if workspace.isdigit() else None
        if guild is None:
            log.warning("discord: cannot notify admins of unknown guild %s: %s", workspace, text)
            return
        target = guild.public_updates_channel or guild.system_channel
        if target is None:
            log.warning("discord: guild %s has no updates/system channel: %s", workspace, text)
            return
        ref = ChannelRef(PLATFORM, workspace, str(target.id))
        await self.send_payloads(ref, [{"content": clip(escape(text), 2000)}])


class DiscordRuntime:
    """The running Discord side for ``newsbot run`` (see :mod:`bot.platforms.registry`)."""

    name = PLATFORM

    def __init__(
        self, services: Services, token: str, *, ready_timeout: float = 60.0, **options: Any
    ) -> None:
        install_redaction(token)
        self._services, self._options = services, options
        self.bot = NewsBot(services, **options)
        self.gateway = self.bot.gateway
        self.ready_timeout = ready_timeout
        self._token = token
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Log in, connect the gateway and return once the bot is ready (runs in background).
        Called again after a failed attempt, it starts with a new client (a closed discord.py
        client cannot log in again)."""
        if self.bot.is_closed():
            self.bot = NewsBot(self._services, **self._options)
            self.gateway = self.bot.gateway
        self._task = asyncio.create_task(self.bot.start(self._token), name="discord-client")
        ready = asyncio.create_task(self.bot.wait_until_ready())
        done, _ = await asyncio.wait(
            {self._task, ready}, timeout=self.ready_timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if ready in done:
            log.info(
                "discord: connected as %s (shards %s of %s)",
                self.bot.user,
                ",".join(map(str, self.bot.shards)),
                self.bot.shard_count,
            )
            return
        ready.cancel()
        failure = self._task.exception() if self._task in done else None
        await self.stop()
        if isinstance(failure, discord.LoginFailure):
            raise ConfigError("DISCORD_TOKEN was rejected by Discord") from None
        if failure is not None:
            raise failure
        raise TimeoutError(f"discord: not ready after {self.ready_timeout:.0f}s")

    async def stop(self) -> None:
        await self.bot.close()
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def create_runtime(
    settings: Settings, services: Services, secrets: Secrets
) -> DiscordRuntime | None:
    """The registry factory: ``None`` without ``DISCORD_TOKEN``."""
    del settings  # nothing Discord-specific lives in the settings file (secrets are env-only)
    token = secrets.get("DISCORD_TOKEN")
    if not token:
        return None
    return DiscordRuntime(services, token)


__all__ = [
    "DiscordGateway",
    "DiscordRuntime",
    "NewsBot",
    "build_news_group",
    "create_runtime",
    "install_redaction",
    "is_admin",
    "message_kwargs",
    "shard_options",
    "view_of",
]
