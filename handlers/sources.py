"""`/news sources add|remove|list|status [url]` (admins only)."""

from __future__ import annotations

from bot.services import Services
from handlers.base import CommandRequest, Reply


async def sources(request: CommandRequest, services: Services) -> Reply:
    return Reply(title="sources", lines=["(not implemented yet)"])
