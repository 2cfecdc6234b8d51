"""`/news subscribe|follow|unsubscribe|subscriptions`."""

from __future__ import annotations

from bot.services import Services
from handlers.base import CommandRequest, Reply


async def subscribe(request: CommandRequest, services: Services) -> Reply:
    return Reply(title="subscribe", lines=["(not implemented yet)"])


async def follow(request: CommandRequest, services: Services) -> Reply:
    return Reply(title="follow", lines=["(not implemented yet)"])


async def unsubscribe(request: CommandRequest, services: Services) -> Reply:
    return Reply(title="unsubscribe", lines=["(not implemented yet)"])


async def list_subscriptions(request: CommandRequest, services: Services) -> Reply:
    return Reply(title="subscriptions", lines=["(not implemented yet)"])


async def complete_subscription(
    prefix: str, request: CommandRequest, services: Services
) -> list[tuple[str, str]]:
    return []
