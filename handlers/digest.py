"""`/news digest`: this channel's digest now."""

from __future__ import annotations

from bot.services import Services
from handlers.base import CommandRequest, Reply


async def digest(request: CommandRequest, services: Services) -> Reply:
    return Reply(title="digest", lines=["(not implemented yet)"])
