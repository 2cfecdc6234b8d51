"""`/news story <id>`, `/news topics`, `/news conflicts <id>`."""

from __future__ import annotations

from bot.services import Services
from handlers.base import CommandRequest, Reply


async def story(request: CommandRequest, services: Services) -> Reply:
    return Reply(title="story", lines=["(not implemented yet)"])


async def topics(request: CommandRequest, services: Services) -> Reply:
    return Reply(title="topics", lines=["(not implemented yet)"])


async def conflicts(request: CommandRequest, services: Services) -> Reply:
    return Reply(title="conflicts", lines=["(not implemented yet)"])


async def complete_story(prefix: str, services: Services) -> list[tuple[str, str]]:
    return []
