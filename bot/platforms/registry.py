"""Which chat platforms ``newsbot run`` can start, and the runtime contract they follow.

A platform registers a factory under its name in :data:`PLATFORM_FACTORIES`, either as a
callable or as a ``"module:function"`` string (imported only when used, so a deployment
without Slack never imports slack_bolt). The factory is called with the settings, the open
services and the secrets; it returns ``None`` when its credentials are absent, else a
:class:`PlatformRuntime`.

Runtime contract: ``await start()`` connects and returns once the platform runs in the
background (it does not block until shutdown); ``await stop()`` disconnects and is safe to call
after a failed or partial start. ``gateway`` posts digests for the outbox. Command
interactions are answered with ``handlers.dispatch``/``handlers.autocomplete``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Protocol

from bot.delivery import ChatGateway
from bot.services import Services
from bot.settings import Secrets, Settings


class PlatformRuntime(Protocol):
    name: str
    gateway: ChatGateway

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


PlatformFactory = Callable[[Settings, Services, Secrets], "PlatformRuntime | None"]

# name -> factory or "module:function". Platform helpers add their entry on this line only.
PLATFORM_FACTORIES: dict[str, PlatformFactory | str] = {
    "discord": "bot.platforms.discord_adapter:create_runtime",
    "slack": "bot.platforms.slack_adapter:create_runtime",
}


# Secrets without which a platform cannot start: its module is not even imported without them
# (the factory still checks the rest, e.g. Slack's app token or signing secret).
REQUIRED_SECRETS: dict[str, tuple[str, ...]] = {
    "discord": ("DISCORD_TOKEN",),
    "slack": ("SLACK_BOT_TOKEN",),
}


def load_factory(entry: PlatformFactory | str) -> PlatformFactory:
    if not isinstance(entry, str):
        return entry
    module_name, _, attr = entry.partition(":")
    factory: PlatformFactory = getattr(importlib.import_module(module_name), attr)
    return factory


def create_runtimes(
    settings: Settings,
    services: Services,
    secrets: Secrets,
    factories: dict[str, PlatformFactory | str] | None = None,
) -> list[PlatformRuntime]:
    """The runtimes of every registered platform whose credentials are present."""
    runtimes: list[PlatformRuntime] = []
    for name, entry in (PLATFORM_FACTORIES if factories is None else factories).items():
        if not all(secrets.get(key) for key in REQUIRED_SECRETS.get(name, ())):
            continue
        runtime = load_factory(entry)(settings, services, secrets)
        if runtime is not None:
            runtimes.append(runtime)
    return runtimes
