"""Network safety for fetching URLs that users supply (see :mod:`bot.net.ssrf`)."""

from bot.net.ssrf import (
    BlockedAddress,
    GuardedBackend,
    GuardedTransport,
    GuardSettings,
    NetworkPolicy,
    Resolver,
    SystemResolver,
    non_public_reason,
    parse_ip_literal,
)

__all__ = [
    "BlockedAddress",
    "GuardSettings",
    "GuardedBackend",
    "GuardedTransport",
    "NetworkPolicy",
    "Resolver",
    "SystemResolver",
    "non_public_reason",
    "parse_ip_literal",
]
