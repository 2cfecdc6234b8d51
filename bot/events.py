"""In-process events: who is told when subscriptions or chat-added sources change.

One :class:`Events` registry belongs to each :class:`~bot.services.Services` (no module-level
registry): the running app subscribes its digest-job reconciliation, and whatever changes a
subscription (a command, the outbox disabling a dead channel) emits through the same object.
A listener's failure is logged and never undoes the change that was made.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("newsbot.events")

Listener = Callable[[], Awaitable[None]]


class Event(enum.Enum):
    SUBSCRIPTIONS_CHANGED = "subscriptions changed"
    SOURCES_CHANGED = "sources changed"


class Events:
    """Listeners per event, called in the order they subscribed."""

    def __init__(self) -> None:
        self._listeners: dict[Event, list[Listener]] = {}

    def subscribe(self, event: Event, listener: Listener) -> None:
        self._listeners.setdefault(event, []).append(listener)

    def unsubscribe(self, event: Event, listener: Listener) -> None:
        listeners = self._listeners.get(event, [])
        if listener in listeners:
            listeners.remove(listener)

    def listeners(self, event: Event) -> tuple[Listener, ...]:
        return tuple(self._listeners.get(event, ()))

    async def emit(self, event: Event) -> None:
        for listener in self.listeners(event):
            try:
                await listener()
            except Exception:  # a listener's failure never undoes the user's change
                log.exception("%s: a listener failed", event.value)
