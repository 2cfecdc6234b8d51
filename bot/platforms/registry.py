"""The chat platforms newsbot knows, each registered once: :data:`PLATFORMS`.

A :class:`Platform` entry says everything the core needs about a platform without importing
its SDK: its name, the environment variables holding its secrets (read by
``bot.settings.Secrets``; the ``required`` ones decide whether ``run`` starts it), what
``newsbot doctor`` reports for the secrets present, the log-redaction patterns of its
credentials (installed by ``bot.operations.logs``), and its factory as ``"module:function"``,
imported
only when the platform starts (a deployment without Slack never imports slack_bolt).

The factory is called with the settings, the open services and the secrets; it returns
``None`` when its credentials are absent, else a :class:`~bot.delivery.gateway.PlatformRuntime`:
``await start()`` connects and returns once the platform runs in the background; ``await
stop()`` disconnects and is safe after a failed or partial start; ``gateway`` posts digests for
the outbox. Command interactions are answered with ``handlers.dispatch``/``autocomplete``.

This module imports no SDK and nothing of the core at run time, so the core (settings,
doctor, logs) may read it. Adding a platform: its adapter and renderer modules, one entry
here, a fake and its tests.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: importing these here would make an import cycle
    from bot.delivery.gateway import PlatformRuntime
    from bot.services import Services
    from bot.settings import Secrets, Settings

    PlatformFactory = Callable[[Settings, Services, Secrets], PlatformRuntime | None]


@dataclass(frozen=True, slots=True)
class Readiness:
    """What ``newsbot doctor`` says of a platform, given the secret names present."""

    starts: str | None = None  # what ``run`` would start ("Slack (Socket Mode)"), if anything
    warning: str | None = None  # a configuration that cannot work as it is


@dataclass(frozen=True, slots=True)
class Platform:
    name: str
    secrets: tuple[str, ...]  # environment variable names (``<NAME>_FILE`` also works)
    required: tuple[str, ...]  # without these the platform is not started, nor imported
    doctor: Callable[[frozenset[str]], Readiness]
    # Credential shapes to mask in logs: regular expressions whose first group, if any, is
    # kept (``/webhooks/1/`` of ``/webhooks/1/<token>``) and the rest of the match masked.
    redaction: tuple[str, ...]
    factory: str  # "module:function"


def _discord_readiness(present: frozenset[str]) -> Readiness:
    return Readiness(starts="Discord" if "DISCORD_TOKEN" in present else None)


def _slack_readiness(present: frozenset[str]) -> Readiness:
    if "SLACK_BOT_TOKEN" not in present:
        return Readiness()
    if "SLACK_APP_TOKEN" in present:
        return Readiness(starts="Slack (Socket Mode)")
    if "SLACK_SIGNING_SECRET" in present:
        return Readiness(starts="Slack (HTTP mode)")
    return Readiness(
        warning="SLACK_BOT_TOKEN set but neither SLACK_APP_TOKEN nor SLACK_SIGNING_SECRET"
    )


PLATFORMS: tuple[Platform, ...] = (
    Platform(
        name="discord",
        secrets=("DISCORD_TOKEN",),
        required=("DISCORD_TOKEN",),
        doctor=_discord_readiness,
        redaction=(
            # Interaction tokens (valid 15 minutes) in webhook and callback URLs discord.py logs.
            r"(/(?:webhooks|interactions)/\d+/)[^/\s?'\"]+",
            # Gateway debug logs carry them as a payload's "token" field.
            r"""(["']token["']\s*:\s*["'])[^"']+""",
        ),
        factory="bot.platforms.discord_adapter:create_runtime",
    ),
    Platform(
        name="slack",
        secrets=("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"),
        required=("SLACK_BOT_TOKEN",),  # the factory checks the rest (app token or secret)
        doctor=_slack_readiness,
        redaction=(
            # Bot, user, app, config and refresh tokens.
            r"\bx(?:ox[a-z]|app)-[A-Za-z0-9-]+",
            # Slash-command response URLs (a credential for 30 minutes) and webhook URLs, on
            # any host: the Socket Mode client logs whole envelopes, the webhook client URLs.
            r"((?:https?://[^\s'\"/]+)?/(?:commands|actions)/)[^\s'\",)}\]]+",
            r"((?:https?://[^\s'\"/]+)?/services/)T[^\s'\",)}\]]+",
        ),
        factory="bot.platforms.slack_adapter:create_runtime",
    ),
)


def platform_names() -> tuple[str, ...]:
    return tuple(p.name for p in PLATFORMS)


def secret_names(platforms: Iterable[Platform] = PLATFORMS) -> tuple[str, ...]:
    return tuple(name for p in platforms for name in p.secrets)


def redaction_patterns(platforms: Iterable[Platform] = PLATFORMS) -> tuple[str, ...]:
    return tuple(pattern for p in platforms for pattern in p.redaction)


def load_factory(entry: str | PlatformFactory) -> PlatformFactory:
    if not isinstance(entry, str):
        return entry
    module_name, _, attr = entry.partition(":")
    factory: PlatformFactory = getattr(importlib.import_module(module_name), attr)
    return factory


def create_runtimes(
    settings: Settings,
    services: Services,
    secrets: Secrets,
    platforms: Iterable[Platform] = PLATFORMS,
    *,
    factories: Mapping[str, PlatformFactory] | None = None,
) -> list[PlatformRuntime]:
    """The runtimes of every registered platform whose required secrets are present
    (``factories`` replaces a platform's registered factory, for tests)."""
    runtimes: list[PlatformRuntime] = []
    for platform in platforms:
        if not all(secrets.get(key) for key in platform.required):
            continue
        entry = (factories or {}).get(platform.name, platform.factory)
        runtime = load_factory(entry)(settings, services, secrets)
        if runtime is not None:
            runtimes.append(runtime)
    return runtimes
