"""The SQL of the undo log (table ``undo_log``): chat changes that may still be undone.

A :class:`Change` (a subscription added, one whose schedule was replaced, one removed) is stored
with the subscriptions before and after it as JSON, and the time it expires; the rules (who may
undo, for how long) live in :class:`bot.delivery.subscriptions.UndoLog`. Rows are numbered by
the database (never reused), so an Undo button (``newsbot:undo:<n>``) works after a restart
and from any process sharing the database; :meth:`UndoRepo.take` deletes the row, so a change
is undone once even when two presses race.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.storage.store import Store, from_iso, to_iso
from bot.storage.subscriptions import Subscription

_DATES = frozenset(f.name for f in dataclasses.fields(Subscription) if "datetime" in str(f.type))


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


def _encode(sub: Subscription | None) -> str | None:
    if sub is None:
        return None
    data = dataclasses.asdict(sub)
    for name in _DATES:
        if data[name] is not None:
            data[name] = to_iso(data[name])
    return json.dumps(data, ensure_ascii=False)


def _decode(text: str | None) -> Subscription | None:
    if text is None:
        return None
    data: dict[str, Any] = json.loads(text)
    known = {f.name for f in dataclasses.fields(Subscription)}
    data = {k: v for k, v in data.items() if k in known}  # a column dropped since: ignored
    for name in _DATES:
        if data.get(name) is not None:
            data[name] = from_iso(data[name])
    return Subscription(**data)


class UndoRepo:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def record(self, change: Change, *, expires_at: datetime) -> int:
        """Store ``change``; its number. Expired rows go first (the log stays small)."""
        async with self.store.transaction() as conn:
            await conn.execute("DELETE FROM undo_log WHERE expires_at < ?", (to_iso(change.at),))
            cur = await conn.execute(
                "INSERT INTO undo_log (platform, workspace, user_id, kind, after_json, "
                "before_json, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    change.platform,
                    change.workspace,
                    change.user,
                    change.kind,
                    _encode(change.after),
                    _encode(change.before),
                    to_iso(change.at),
                    to_iso(expires_at),
                ),
            )
            return int(cur.lastrowid or 0)

    async def get(self, number: int) -> tuple[Change, datetime] | None:
        """The change numbered ``number`` and when it expires, if it is still in the log."""
        row = await self.store.fetchone(
            "SELECT platform, workspace, user_id, kind, after_json, before_json, created_at, "
            "expires_at FROM undo_log WHERE id = ?",
            (number,),
        )
        if row is None:
            return None
        change = Change(
            platform=str(row[0]),
            workspace=str(row[1]),
            user=str(row[2]),
            kind=str(row[3]),
            after=_decode(row[4]),
            before=_decode(row[5]),
            at=from_iso(str(row[6])),
        )
        return change, from_iso(str(row[7]))

    async def take(self, number: int) -> bool:
        """Remove the change from the log; ``False`` when it was gone already (another press,
        another process): only the caller that removed it reverses it."""
        async with self.store.transaction() as conn:
            cur = await conn.execute("DELETE FROM undo_log WHERE id = ?", (number,))
            return cur.rowcount > 0

    async def count(self) -> int:
        return int(await self.store.scalar("SELECT count(*) FROM undo_log") or 0)


__all__ = ["Change", "UndoRepo"]
