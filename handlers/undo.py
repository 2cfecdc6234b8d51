"""Undo of a subscription change made in chat: the "Undo" button under its confirmation.

``subscribe``/``follow`` and ``unsubscribe`` record what they changed (a subscription added,
one whose schedule was replaced, one removed) in the running bot's :class:`UndoLog` and put an
"Undo" button (``newsbot:undo:<n>``) under their answer. Pressing it reverses that change
once, within :data:`UNDO_SECONDS`: an added subscription is removed, a replaced schedule comes
back, a removed subscription is added again (under a new id). The answer is private. Only the
member who made the change, or an admin, may undo it, and only if they may still change
subscriptions (``[permissions]``). The log lives in memory: after a restart, or once
expired, the button answers that the change can no longer be undone.
"""

from __future__ import annotations

import itertools
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.errors import UserError
from bot.models import utcnow
from bot.services import Services
from bot.storage import Store
from bot.subscriptions import Subscription, Subscriptions
from handlers.actions import Action
from handlers.base import CommandRequest, Reply

ACTION = "undo"
UNDO_SECONDS = 900.0
UNDO_MAX = 1000  # changes remembered per database; the oldest are forgotten first


@dataclass(frozen=True, slots=True)
class Change:
    """One subscription change: ``after`` as it stands now, ``before`` what undo restores."""

    platform: str
    workspace: str
    user: str
    kind: str  # "added" | "updated" | "removed"
    after: Subscription | None  # None when removed
    before: Subscription | None  # None when added
    at: datetime


class UndoLog:
    """The changes of one database that may still be undone, by number."""

    def __init__(self) -> None:
        self._changes: dict[int, Change] = {}
        self._ids = itertools.count(1)

    def record(self, change: Change) -> int:
        number = next(self._ids)
        self._changes[number] = change
        while len(self._changes) > UNDO_MAX:
            del self._changes[next(iter(self._changes))]
        return number

    def take(self, number: int, *, platform: str, workspace: str, now: datetime) -> Change:
        """The change numbered ``number`` of this workspace, removed from the log."""
        change = self._changes.get(number)
        if change is None or (change.platform, change.workspace) != (platform, workspace):
            raise UserError("this change can no longer be undone")
        if now - change.at > timedelta(seconds=UNDO_SECONDS):
            del self._changes[number]
            raise UserError(
                f"this change can no longer be undone (undo lasts {UNDO_SECONDS / 60:.0f} minutes)"
            )
        return self._changes.pop(number)

    def put_back(self, number: int, change: Change) -> None:
        self._changes[number] = change


_LOGS: weakref.WeakKeyDictionary[Store, UndoLog] = weakref.WeakKeyDictionary()


def undo_log(store: Store) -> UndoLog:
    log = _LOGS.get(store)
    if log is None:
        log = _LOGS[store] = UndoLog()
    return log


def undo_button(
    request: CommandRequest,
    services: Services,
    kind: str,
    *,
    after: Subscription | None,
    before: Subscription | None,
) -> Action:
    """Record a change made by ``request`` and the button that reverses it."""
    number = undo_log(services.store).record(
        Change(request.platform, request.workspace, request.user, kind, after, before, utcnow())
    )
    return Action(ACTION, str(number))


async def undo(request: CommandRequest, services: Services) -> Reply:
    """The "Undo" button: reverse the recorded change, privately."""
    try:
        number = int(request.args["id"])
    except ValueError:
        raise UserError("this change can no longer be undone") from None
    log = undo_log(services.store)
    now = utcnow()
    change = log.take(number, platform=request.platform, workspace=request.workspace, now=now)
    if change.user != request.user and not request.is_admin:
        log.put_back(number, change)
        raise UserError("only the member who made this change, or an admin, can undo it")
    subs = Subscriptions(services.store)
    line = await _reverse(subs, change, now)
    return Reply(title="Undone", lines=[line], ephemeral=True)


async def _reverse(subs: Subscriptions, change: Change, now: datetime) -> str:
    if change.kind == "added":
        assert change.after is not None
        current = await subs.by_id(change.after.id)
        same = current is not None and (current.ref, current.created_at) == (
            change.after.ref,
            change.after.created_at,
        )  # ids are reused: sub-3 removed and another one added may be sub-3 again
        if current is None or not same:
            return f"{change.after.public_id} was already removed."
        await subs.remove(current)
        return f"{current.public_id} removed: this channel no longer gets it."
    old = change.before
    assert old is not None
    restored = await subs.add(
        channel=old.ref,
        topic_query=old.topic_query,
        story_id=old.story_id,
        timing=old.timing,
        created_by=old.created_by,
        now=old.created_at,  # the same subscription back: its own buttons still undo it
    )
    if change.kind == "updated":
        return f"{restored.public_id} is back to {restored.timing.describe()}."
    again = "" if restored.id == old.id else f" as {restored.public_id}"
    return f"{old.public_id} restored{again} ({restored.timing.describe()})."


__all__ = ["ACTION", "UNDO_SECONDS", "Change", "UndoLog", "undo", "undo_button", "undo_log"]
