"""`/news search <query>`: full-text search over stored articles."""

from __future__ import annotations

from bot.services import Services
from handlers.base import CommandRequest, Reply


async def search(request: CommandRequest, services: Services) -> Reply:
    return Reply(title="search", lines=["(not implemented yet)"])
