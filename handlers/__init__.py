"""The `/news` command, implemented once for every platform.

Adapters build a :class:`~handlers.base.CommandRequest` (subcommand name + string options),
call :func:`dispatch` and render the :class:`~handlers.base.Reply`. Slash-command text
(Slack's ``/news subscribe "ukraine election" daily 08:00 Europe/Paris``, the console) is
turned into the same request by :func:`parse_text`. Option specs tell an adapter which options
take story or subscription ids; :func:`autocomplete` suggests them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from bot.delivery.subscriptions import THREAD_MODES
from bot.errors import UserError
from bot.operations.health import observe_command
from bot.services import Services
from handlers import digest as _digest
from handlers import parsing as _parsing
from handlers import search as _search
from handlers import sources as _sources
from handlers import stories as _stories
from handlers import subscriptions as _subs
from handlers import undo as _undo
from handlers.actions import Action
from handlers.base import CommandRequest, CommandSpec, Option, Reply

log = logging.getLogger("newsbot.handlers")

ROOT_COMMAND = "news"

_SCHEDULE = Option(
    "schedule",
    "hourly, 'daily 08:00', 'weekdays 09:00', 'weekly mon 09:00' or cron '0 8 * * 1-5'",
    required=False,
)
_TIMEZONE = Option("timezone", "IANA time zone, e.g. Europe/Paris (default UTC)", required=False)
_QUIET = Option("quiet", "quiet hours in your time zone, e.g. 22:00-07:00", required=False)
_THREAD = Option(
    "thread",
    "off (default), digest: each digest in a thread, story: one thread per story",
    required=False,
    choices=THREAD_MODES,
)

ALL_COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec(
        "search",
        'Search stored articles (words, "phrases", AND/OR/NOT)',
        _search.search,
        (Option("query", "what to look for"),),
    ),
    CommandSpec(
        "story",
        "A story: summary, sources, conflicts and coverage timeline",
        _stories.story,
        (
            Option("story", "story id, e.g. s-4f2a", autocomplete="story"),
            Option("share", "yes: post it for the channel (else only you see it)", required=False),
        ),
    ),
    CommandSpec(
        "topics",
        "Active stories now, or a preview of the stories a topic would get before subscribing",
        _stories.topics,
        (Option("topic", "a topic to preview, e.g. west nile virus", required=False),),
    ),
    CommandSpec(
        "subscribe",
        "Get digests of a topic in this channel",
        _subs.subscribe,
        (
            Option("topic", "topic query, e.g. ukraine AND election"),
            _SCHEDULE,
            _TIMEZONE,
            _QUIET,
            _THREAD,
        ),
        manages=True,
    ),
    CommandSpec(
        "follow",
        "Get updates of one story in this channel",
        _subs.follow,
        (
            Option("story", "story id, e.g. s-4f2a", autocomplete="story"),
            _SCHEDULE,
            _TIMEZONE,
            _QUIET,
            _THREAD,
        ),
        manages=True,
    ),
    CommandSpec(
        "unsubscribe",
        "Stop a subscription of this channel",
        _subs.unsubscribe,
        (Option("subscription", "subscription id, e.g. sub-12", autocomplete="subscription"),),
        manages=True,
    ),
    CommandSpec("subscriptions", "This channel's subscriptions", _subs.list_subscriptions),
    CommandSpec(
        "mute",
        "Never show a story in this channel's digests again",
        _subs.mute,
        (Option("story", "story id, e.g. s-4f2a", autocomplete="story"),),
    ),
    CommandSpec(
        "unmute",
        "Let a muted story back into this channel's digests",
        _subs.unmute,
        (Option("story", "story id, e.g. s-4f2a", autocomplete="story"),),
    ),
    CommandSpec("digest", "This channel's digest, now", _digest.digest),
    CommandSpec(
        "conflicts",
        "Where outlets disagree or revised a fact in a story",
        _stories.conflicts,
        (Option("story", "story id, e.g. s-4f2a", autocomplete="story"),),
    ),
    CommandSpec(
        "sources",
        "Manage feeds: add|remove|list|status [url], import|export (OPML)",
        _sources.sources,
        (
            Option("action", "add, remove, list, status, import or export"),
            Option(
                "url", "feed URL, or a page linking to it (add, remove, status)", required=False
            ),
            Option("name", "add: a name for the feed", required=False),
            Option("filter", "add: only store items matching this topic query", required=False),
            Option("file", "import: an OPML file of feeds", required=False, file=True),
        ),
        admin_only=True,
    ),
)

COMMANDS: Mapping[str, CommandSpec] = {spec.name: spec for spec in ALL_COMMANDS}
# Commands only a button runs (its ``ActionSpec`` in ``handlers.actions.ACTIONS``): not slash
# commands, dispatched with the same checks.
BUTTON_COMMANDS: Mapping[str, CommandSpec] = {
    _undo.ACTION: CommandSpec(
        _undo.ACTION,
        "Undo a subscription change",
        _undo.undo,
        (Option("id", "the change's number"),),
        manages=True,
    ),
    "more": CommandSpec(
        "more",
        "More stories: what this channel's digests left out, privately",
        _digest.more_stories,
        (Option("page", "which page (1, 2, ...)", required=False),),
    ),
}
SOURCE_ACTIONS = ("add", "remove", "list", "status", "import", "export")


def help_reply() -> Reply:
    lines = []
    for spec in ALL_COMMANDS:
        usage = " ".join(f"<{o.name}>" if o.required else f"[{o.name}]" for o in spec.options)
        admin = " (admins)" if spec.admin_only else ""
        head = f"/{ROOT_COMMAND} {spec.name} {usage}".rstrip()
        lines.append(f"{head}: {spec.description}{admin}")
    return Reply(title="newsbot commands", lines=lines, ephemeral=True)


def manage_refusal(request: CommandRequest) -> str:
    """The one line that refuses a subscription change to a member ``[permissions]`` exclude."""
    who = request.managers or "members allowed by the bot's [permissions] setting"
    return f"only {who} may change this channel's subscriptions"


def command_spec(name: str) -> CommandSpec | None:
    """The spec :func:`dispatch` runs for ``name``: a slash command or a button's command."""
    name = name.strip().lower()
    return COMMANDS.get(name) or BUTTON_COMMANDS.get(name)


def error_reply(message: str) -> Reply:
    first = (message.strip().splitlines() or ["something went wrong"])[0]
    return Reply(title="Error", lines=[first], ephemeral=True, error=True)


async def dispatch(request: CommandRequest, services: Services) -> Reply:
    """Run the subcommand; a user mistake becomes a one-line ephemeral error reply."""
    spec = command_spec(request.command)
    if spec is None:
        return help_reply()
    if spec.admin_only and not request.is_admin:
        return error_reply(f"/{ROOT_COMMAND} {spec.name} is for workspace admins only")
    if spec.manages and not request.may_manage:
        return error_reply(manage_refusal(request))
    if any(o.required and not request.args.get(o.name, "").strip() for o in spec.options):
        usage = " ".join(f"<{o.name}>" if o.required else f"[{o.name}]" for o in spec.options)
        return error_reply(f"usage: /{ROOT_COMMAND} {spec.name} {usage}")
    try:
        with observe_command(spec.name):
            return await spec.handler(request, services)
    except UserError as exc:
        return error_reply(str(exc))


async def run_action(action: Action, request: CommandRequest, services: Services) -> Reply:
    """A button's command (``request`` from :func:`handlers.actions.command_request`) through
    :func:`dispatch`; its answer is private unless the action posts for the channel (Share)."""
    reply = await dispatch(request, services)
    if not action.spec.public:
        reply.ephemeral = True
    return reply


async def autocomplete(
    kind: str, prefix: str, request: CommandRequest, services: Services
) -> list[tuple[str, str]]:
    """Suggestions (label, value) for an option's ``autocomplete`` kind, at most 25."""
    if kind == "story":
        return await _stories.complete_story(prefix, services, request.scope)
    if kind == "subscription":
        return await _subs.complete_subscription(prefix, request, services)
    return []


def parse_text(text: str) -> tuple[str, dict[str, str]]:
    """Slash-command text to (subcommand, options): :func:`handlers.parsing.parse_text`."""
    return _parsing.parse_text(text, COMMANDS)


__all__ = [
    "ALL_COMMANDS",
    "BUTTON_COMMANDS",
    "COMMANDS",
    "ROOT_COMMAND",
    "SOURCE_ACTIONS",
    "autocomplete",
    "command_spec",
    "dispatch",
    "error_reply",
    "help_reply",
    "manage_refusal",
    "parse_text",
    "run_action",
]
