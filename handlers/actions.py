"""Buttons: platform-neutral actions on digests and replies, each one a ``/news`` command.

A button (a Discord component, a Slack Block Kit action) carries an :class:`Action` encoded as
``newsbot:<verb>:<target>`` (``newsbot:follow:s-4f2a``; a select menu carries
``newsbot:<verb>:`` and its chosen value is the target). :func:`parse_action` is the one parser;
:func:`command_request` turns an action into the :class:`~handlers.base.CommandRequest` of its
command, which adapters run through :func:`handlers.dispatch` like a typed command (the same
handler, the same checks). Renderers ask :func:`story_actions`, :func:`digest_actions` and
``Reply.actions`` which buttons to draw. :data:`ACTIONS` is the one registry of buttons: the
digest's, Share, and the Undo of a subscription change (``newsbot:undo:<n>``, whose command is
one of :data:`handlers.BUTTON_COMMANDS`, not a slash command).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from bot.digest.model import Digest, StoryDigest
from bot.errors import UserError
from handlers.base import CommandRequest

PREFIX = "newsbot"
UNSUBSCRIBE_MAX = 4  # Unsubscribe buttons on one digest (one per subscription it is for)
_TARGET_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
_PAGE_RE = re.compile(r"[1-9][0-9]{0,2}")


@dataclass(frozen=True, slots=True)
class ActionSpec:
    verb: str
    label: str  # the button's text
    command: str  # the /news subcommand it runs
    arg: str | None  # the option its target fills (None: no target)
    public: bool = False  # its answer is posted for the channel (else privately)
    fixed: Mapping[str, str] = field(default_factory=dict)  # more options it sets
    danger: bool = False  # drawn as a destructive button
    pattern: re.Pattern[str] = _TARGET_RE  # what its target looks like
    optional: bool = False  # its target may be left out (More stories: the first page)


ACTIONS: Mapping[str, ActionSpec] = {
    spec.verb: spec
    for spec in (
        ActionSpec("follow", "Follow story", "follow", "story"),
        ActionSpec("mute", "Mute story", "mute", "story"),
        ActionSpec("conflicts", "Show conflicts", "conflicts", "story"),
        ActionSpec("story", "Full story", "story", "story"),
        ActionSpec("more", "More stories", "more", "page", pattern=_PAGE_RE, optional=True),
        ActionSpec("unsubscribe", "Unsubscribe", "unsubscribe", "subscription", danger=True),
        ActionSpec("share", "Share to channel", "story", "story", True, {"share": "yes"}),
        ActionSpec("undo", "Undo", "undo", "id"),
    )
}


@dataclass(frozen=True, slots=True)
class Action:
    verb: str
    target: str = ""

    @property
    def spec(self) -> ActionSpec:
        return ACTIONS[self.verb]

    @property
    def custom_id(self) -> str:
        """The id a button carries (Discord ``custom_id``, Slack ``action_id``), <= 100 chars."""
        return f"{PREFIX}:{self.verb}:{self.target}"

    @property
    def label(self) -> str:
        """The button's text; an Unsubscribe names its subscription (a digest may have several)."""
        if self.verb == "unsubscribe":
            return f"Unsubscribe {self.target}"
        return self.spec.label


def is_action(custom_id: str) -> bool:
    """Whether a component id is one of newsbot's (others are left alone)."""
    return custom_id.startswith(PREFIX + ":")


def parse_action(custom_id: str, values: Sequence[str] = ()) -> Action:
    """``newsbot:follow:s-4f2a`` (or ``newsbot:follow:`` with the select's ``values``) -> an
    :class:`Action`; anything else is a :class:`UserError` naming what is wrong."""
    prefix, _, rest = custom_id.partition(":")
    verb, _, target = rest.partition(":")
    if prefix != PREFIX or verb not in ACTIONS:
        raise UserError(f"unknown button {custom_id[:60]!r}")
    spec = ACTIONS[verb]
    if not target and values:
        target = str(values[0])
    target = target.strip().lower()
    if spec.arg is None or (spec.optional and not target):
        if target:
            raise UserError(f"button {verb!r} takes no story or subscription")
        return Action(verb)
    if not spec.pattern.fullmatch(target):
        raise UserError(f"button {verb!r}: {target[:40]!r} is not a story or subscription id")
    return Action(verb, target)


def command_request(action: Action, base: CommandRequest) -> CommandRequest:
    """The request of the action's command, as if the user of ``base`` (its channel, admin
    rights and ``[permissions]``, as the adapter resolved them) had typed it there."""
    spec = action.spec
    args = dict(spec.fixed)
    if spec.arg is not None and action.target:
        args[spec.arg] = action.target
    return replace(base, command=spec.command, args=args)


def story_actions(story: StoryDigest) -> list[Action]:
    """A digest story's buttons: Follow, Mute, Show conflicts when it has any, and Full story
    (``/news story``, privately, with its Share to channel)."""
    actions = [Action("follow", story.id), Action("mute", story.id)]
    if story.conflicts or story.more_conflicts:
        actions.append(Action("conflicts", story.id))
    actions.append(Action("story", story.id))
    return actions


def digest_actions(digest: Digest) -> list[Action]:
    """The digest's own buttons: More stories (with its "+N more" line: the first page of what
    the channel was not told, or on a page of More stories the next page), one Unsubscribe per
    subscription the digest is for."""
    more = Action("more", str(digest.page + 1) if digest.page else "")
    actions = [more] if digest.more_stories else []
    subs = list(dict.fromkeys(digest.subscriptions))[:UNSUBSCRIBE_MAX]
    actions.extend(Action("unsubscribe", s) for s in subs)
    return actions


__all__ = [
    "ACTIONS",
    "PREFIX",
    "Action",
    "ActionSpec",
    "command_request",
    "digest_actions",
    "is_action",
    "parse_action",
    "story_actions",
]
