"""The platform-neutral command model: a request in, a reply out.

Adapters (``bot/platforms``) translate a Discord interaction or a Slack slash command into a
:class:`CommandRequest` (after acknowledging it on the platform), call
:func:`handlers.dispatch`, and render the :class:`Reply`. Handlers never see an SDK object.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.digest.model import Digest
from bot.services import Services
from bot.storage.scope import Scope

if TYPE_CHECKING:
    from handlers.actions import Action


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandRequest:
    platform: str  # "discord" | "slack" | "console"
    workspace: str  # Discord guild id / Slack team id ("" for the console)
    channel: str  # channel id
    user: str  # user id
    is_admin: bool  # checked server-side by the adapter (Manage Server / workspace admin)
    command: str  # subcommand name: "search", "story", "subscribe", ...
    args: Mapping[str, str] = field(default_factory=dict)
    may_manage: bool = True  # may change subscriptions ([permissions], checked by the adapter)
    managers: str = ""  # who may, in words, for the refusal: "members with the Editors role"
    files: Mapping[str, Attachment] = field(default_factory=dict)  # attached files, by option

    @property
    def scope(self) -> Scope:
        """What this workspace may read: its own feeds, shared ones and the operator's."""
        return Scope.of(self.platform, self.workspace)


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    data: bytes
    content_type: str = "image/png"


@dataclass(slots=True)
class Reply:
    """What a command answers: a title and plain lines, optionally a digest, files and buttons.

    Lines are untrusted text (headlines, statements): renderers escape them for the platform.
    ``actions`` are buttons under the reply (``/news story``'s "Share to channel", the "Undo"
    of a subscription change), drawn on its first message.
    """

    title: str
    lines: list[str] = field(default_factory=list)
    digest: Digest | None = None
    attachments: list[Attachment] = field(default_factory=list)
    ephemeral: bool = False
    error: bool = False
    actions: list[Action] = field(default_factory=list)  # buttons: Share, Undo


@dataclass(frozen=True, slots=True)
class Option:
    name: str
    description: str
    required: bool = True
    autocomplete: str | None = None  # "story" | "subscription": ids the adapter may suggest
    choices: tuple[str, ...] = ()  # the only values it takes (Discord offers them as choices)
    file: bool = False  # a file the user attaches (``CommandRequest.files``), not text


Handler = Callable[[CommandRequest, Services], Awaitable[Reply]]


@dataclass(frozen=True, slots=True)
class CommandSpec:
    name: str
    description: str
    handler: Handler
    options: tuple[Option, ...] = ()
    admin_only: bool = False
    manages: bool = False  # changes subscriptions: refused without ``request.may_manage``
