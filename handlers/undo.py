"""Undo of a subscription change made in chat: the "Undo" button under its confirmation.

``subscribe``/``follow`` and ``unsubscribe`` record what they changed (a subscription added,
one whose schedule was replaced, one removed) in the database's
:class:`~bot.delivery.subscriptions.UndoLog` (``Services.undo``) and put an "Undo" button
(``newsbot:undo:<n>``) under their answer. Pressing it reverses that change once, within
:data:`~bot.delivery.subscriptions.UNDO_SECONDS`: an added subscription is removed, a replaced
schedule comes back, a removed subscription is added again (under a new id). The answer is
private. Only the member who made the change, or an admin, may undo it, and only if they may
still change subscriptions (``[permissions]``). The log is stored (``undo_log``), so the button
works after a restart and from any worker; once expired, or undone, it answers that the change
can no longer be undone.
"""

from __future__ import annotations

from datetime import datetime

from bot.delivery.subscriptions import Change, Subscription, Subscriptions, UndoLog
from bot.errors import UserError
from bot.services import Services
from handlers.actions import Action
from handlers.base import CommandRequest, Reply

ACTION = "undo"


async def undo_button(
    request: CommandRequest,
    services: Services,
    kind: str,
    *,
    after: Subscription | None,
    before: Subscription | None,
) -> Action:
    """Record a change made by ``request`` and the button that reverses it."""
    number = await services.undo.record(
        Change(
            request.platform, request.workspace, request.user, kind, after, before, services.clock()
        )
    )
    return Action(ACTION, str(number))


async def undo(request: CommandRequest, services: Services) -> Reply:
    """The "Undo" button: reverse the recorded change, privately."""
    try:
        number = int(request.args["id"])
    except ValueError:
        raise UserError("this change can no longer be undone") from None
    now = services.clock()
    change = await services.undo.take(
        number,
        platform=request.platform,
        workspace=request.workspace,
        user=request.user,
        admin=request.is_admin,
        now=now,
    )
    subs = Subscriptions(services.store, services.events)
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
        thread=old.thread,
        now=old.created_at,  # the same subscription back: its own buttons still undo it
    )
    if change.kind == "updated":
        return f"{restored.public_id} is back to {restored.timing.describe()}."
    again = "" if restored.id == old.id else f" as {restored.public_id}"
    return f"{old.public_id} restored{again} ({restored.timing.describe()})."


__all__ = ["ACTION", "Change", "UndoLog", "undo", "undo_button"]
