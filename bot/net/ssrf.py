"""SSRF guard for feed URLs that users add: which addresses a fetch may reach, checked where
the socket is opened.

Two layers, both driven by one :class:`NetworkPolicy`:

* :meth:`NetworkPolicy.check_url` refuses a URL up front (at ``/feed add`` and on every
  redirect hop): only ``http``/``https``, and a host written as an IP literal in *any* spelling
  (``0177.0.0.1``, ``0x7f.1``, ``2130706433``, ``[::ffff:127.0.0.1]``, ``169.254.169.254.``)
  or a ``localhost`` name is judged right there, for a clear error;
* :class:`GuardedTransport` is an :class:`httpx.AsyncHTTPTransport` whose connection pool uses
  :class:`GuardedBackend`: the backend resolves the host *once*, refuses the connection if any
  resolved address is not public, and then connects to exactly the addresses it vetted. The
  TLS handshake (SNI, certificate check) and the ``Host`` header still use the URL's name,
  because httpcore takes them from the request, not from the socket. There is no second
  lookup, so DNS rebinding has nothing to race.

"Not public" is loopback, private (RFC 1918, ULA), link-local (which holds the cloud metadata
address 169.254.169.254), shared/CGNAT 100.64/10 (Alibaba's metadata), multicast, unspecified,
reserved, documentation and benchmarking ranges, the IETF 192.0.0/24 block (Oracle's
metadata), and IPv6 forms that embed an IPv4 address (mapped, NAT64, 6to4), judged by the
embedded address. The only way through is an explicit allow-list entry: ``127.0.0.1:8080``,
``10.0.0.0/8``, ``[::1]:8080``, ``intranet.example`` or ``intranet.example:8443``.

Seeds, local files and the operator's own configured feeds are not user input; whether a fetch
is guarded is the caller's choice (``Fetcher(policy=...)``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

import httpcore
import httpx
from pydantic import BaseModel, ConfigDict, field_validator

from bot.errors import FetchError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOWED_SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443}

# Ranges refused even where ``ipaddress`` calls them global (its tables changed between
# CPython releases: CVE-2024-4032), or that carry no routable unicast host at all.
_BLOCKED: tuple[tuple[IPNetwork, str], ...] = tuple(
    (ipaddress.ip_network(net), reason)
    for net, reason in (
        ("0.0.0.0/8", 'unspecified ("this network")'),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "shared address space (CGNAT, cloud metadata)"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local (cloud metadata)"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "IETF protocol assignments (cloud metadata)"),
        ("192.0.2.0/24", "documentation"),
        ("192.88.99.0/24", "6to4 relay"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("::/96", "IPv4-compatible (deprecated)"),
        ("100::/64", "discard-only"),
        ("2001::/23", "IETF protocol assignments (Teredo, ORCHID...)"),
        ("2001:db8::/32", "documentation"),
        ("fc00::/7", "private (unique local)"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local"),
        ("ff00::/8", "multicast"),
    )
)
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


class BlockedAddress(FetchError):
    """A URL or connection was refused by the SSRF guard."""


def parse_ip_literal(host: str) -> IPAddress | None:
    """``host`` as an IP address if it is one in any spelling a resolver would accept, else None.

    Handles brackets, one trailing dot, IPv6 zone ids and the ``inet_aton`` IPv4 forms that
    ``getaddrinfo`` accepts: 1 to 4 parts, each decimal, octal (leading ``0``) or hex (``0x``).
    """
    text = host.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if text.endswith(".") and not text.endswith(".."):
        text = text[:-1]
    if ":" in text:
        try:
            return ipaddress.IPv6Address(text)
        except ValueError:
            return None
    return _inet_aton(text)


def _inet_aton(text: str) -> ipaddress.IPv4Address | None:
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    values: list[int] = []
    for part in parts:
        lowered = part.lower()
        try:
            if lowered.startswith("0x"):
                values.append(int(lowered[2:] or "0", 16))
            elif len(lowered) > 1 and lowered.startswith("0"):
                values.append(int(lowered, 8))
            elif lowered.isdigit():
                values.append(int(lowered))
            else:
                return None
        except ValueError:
            return None
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (4 - len(head)):
        return None
    number = last
    for i, value in enumerate(head):
        number += value << (8 * (3 - i))
    return ipaddress.IPv4Address(number)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if any(ip in net for net in _NAT64):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def non_public_reason(ip: IPAddress) -> str | None:
    """Why ``ip`` must not be fetched from (``"loopback"``, ``"private"``...), or None."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            inner = non_public_reason(embedded)
            return f"{inner} (IPv4 {embedded} inside IPv6)" if inner else None
    for net, reason in _BLOCKED:
        if ip.version == net.version and ip in net:
            return reason
    if ip.is_loopback:
        return "loopback"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_private:
        return "private"
    if ip.is_reserved or not ip.is_global:
        return "reserved / not public"
    return None


@dataclass(frozen=True, slots=True)
class AllowEntry:
    """One allow-list entry: a network or a host name, optionally with a port."""

    network: IPNetwork | None
    hostname: str | None
    port: int | None

    @classmethod
    def parse(cls, text: str) -> AllowEntry:
        raw = text.strip()
        if not raw:
            raise ValueError("empty allow-list entry")
        host, port = raw, None
        if raw.startswith("["):
            end = raw.find("]")
            if end < 0:
                raise ValueError(f"{text!r}: unclosed '['")
            host, rest = raw[1:end], raw[end + 1 :]
            if rest:
                if not rest.startswith(":") or not rest[1:].isdigit():
                    raise ValueError(f"{text!r}: expected [address]:port")
                port = int(rest[1:])
        elif raw.count(":") == 1:
            host, _, port_text = raw.partition(":")
            if not port_text.isdigit():
                raise ValueError(f"{text!r}: port must be a number")
            port = int(port_text)
        if port is not None and not 0 < port < 65536:
            raise ValueError(f"{text!r}: port out of range")
        try:
            return cls(ipaddress.ip_network(host, strict=False), None, port)
        except ValueError:
            pass
        name = host.lower().rstrip(".")
        if not name or any(ch in name for ch in "/ @"):
            raise ValueError(f"{text!r}: not an address, network or host name")
        return cls(None, name, port)

    def matches(self, ip: IPAddress, port: int, host: str | None) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.network is not None:
            return ip.version == self.network.version and ip in self.network
        return host is not None and _norm_host(host) == self.hostname


def _norm_host(host: str) -> str:
    return host.strip("[]").lower().rstrip(".")


class GuardSettings(BaseModel):
    """``[network]`` settings: the SSRF allow-list (empty: only public addresses)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    allow: list[str] = []

    @field_validator("allow")
    @classmethod
    def _valid_entries(cls, value: list[str]) -> list[str]:
        for entry in value:
            AllowEntry.parse(entry)
        return value


class NetworkPolicy:
    """Default deny for non-public addresses, with an explicit allow-list."""

    def __init__(self, allow: Iterable[str] = ()) -> None:
        self.allow: tuple[AllowEntry, ...] = tuple(AllowEntry.parse(e) for e in allow)

    @classmethod
    def from_settings(cls, settings: GuardSettings) -> NetworkPolicy:
        return cls(settings.allow)

    def allowed(self, ip: IPAddress, port: int, host: str | None = None) -> bool:
        return any(entry.matches(ip, port, host) for entry in self.allow)

    def host_allowed(self, host: str, port: int) -> bool:
        name = _norm_host(host)
        return any(e.hostname == name and (e.port is None or e.port == port) for e in self.allow)

    def check_address(self, ip: IPAddress, port: int, host: str | None = None) -> None:
        """Raise :class:`BlockedAddress` unless ``ip`` is public or allow-listed."""
        if self.allowed(ip, port, host):
            return
        reason = non_public_reason(ip)
        if reason is not None:
            shown = f"{host} -> {ip}" if host and parse_ip_literal(host) is None else str(ip)
            raise BlockedAddress(
                f"refusing to connect to {shown}: {reason} address "
                "(only public addresses, or those in network.allow, are fetched)"
            )

    def check_url(self, url: str) -> None:
        """Refuse ``url`` before any lookup: bad scheme, ``localhost``, or a non-public literal."""
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError as exc:
            raise BlockedAddress(f"invalid URL ({exc})") from None
        scheme = parts.scheme.lower()
        if scheme not in ALLOWED_SCHEMES:
            raise BlockedAddress(
                f"refusing URL scheme {parts.scheme or '(none)'!r}: only http and https"
            )
        host = parts.hostname
        if not host:
            raise BlockedAddress("invalid URL (no host)")
        port = port or DEFAULT_PORTS[scheme]
        literal = parse_ip_literal(host)
        if literal is not None:
            self.check_address(literal, port, host)
            return
        name = _norm_host(host)
        if (name == "localhost" or name.endswith(".localhost")) and not self.host_allowed(
            host, port
        ):
            raise BlockedAddress(f"refusing to connect to {name}: loopback name")


# --- connect-time enforcement ----------------------------------------------------------------


class Resolver(Protocol):
    """Name -> addresses. Tests inject one; production uses :class:`SystemResolver`."""

    async def resolve(self, host: str, port: int) -> Sequence[str]: ...


class SystemResolver:
    """The system resolver (``getaddrinfo``) run by the event loop's executor."""

    async def resolve(self, host: str, port: int) -> Sequence[str]:
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        seen: dict[str, None] = {}
        for _family, _type, _proto, _canon, sockaddr in infos:
            seen.setdefault(str(sockaddr[0]), None)
        return list(seen)


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that resolves once, vets, then connects to the vetted IPs.

    If any resolved address is refused the whole connection is refused (a name that mixes
    public and private answers is an attack or a misconfiguration, never a feed).
    """

    def __init__(
        self,
        policy: NetworkPolicy,
        resolver: Resolver | None = None,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self.policy = policy
        self.resolver: Resolver = resolver or SystemResolver()
        self.inner = inner or httpcore.AnyIOBackend()

    async def vetted_addresses(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore passes its connect timeout)
    ) -> list[IPAddress]:
        literal = parse_ip_literal(host)
        if literal is not None:
            addresses: list[IPAddress] = [literal]
        else:
            try:
                async with asyncio.timeout(timeout):
                    answers = await self.resolver.resolve(host, port)
            except TimeoutError:
                raise httpcore.ConnectTimeout(f"DNS lookup of {host} timed out") from None
            except OSError as exc:  # socket.gaierror
                raise httpcore.ConnectError(f"{exc} ({host})") from exc
            addresses = []
            for answer in answers:
                try:
                    addresses.append(ipaddress.ip_address(answer.split("%", 1)[0]))
                except ValueError:
                    raise BlockedAddress(f"{host}: resolver gave {answer!r}") from None
            if not addresses:
                raise httpcore.ConnectError(f"Name or service not known ({host})")
        for address in addresses:
            self.policy.check_address(address, port, host)
        return addresses

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self.vetted_addresses(host, port, timeout)
        error: Exception | None = None
        for address in addresses:
            try:
                return await self.inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedAddress("unix sockets are never fetched")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """:class:`httpx.AsyncHTTPTransport` whose every connection goes through
    :class:`GuardedBackend`. No proxy (environment proxies would bypass the guard)."""

    def __init__(
        self,
        policy: NetworkPolicy,
        *,
        resolver: Resolver | None = None,
        inner: httpcore.AsyncNetworkBackend | None = None,
        limits: httpx.Limits | None = None,
        verify: bool = True,
    ) -> None:
        limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20)
        super().__init__(trust_env=False, limits=limits, verify=verify)
        self.backend = GuardedBackend(policy, resolver, inner)
        ssl_context = httpx.create_ssl_context(verify=verify, trust_env=False)
        # httpx exposes no network_backend option, so the pool it built is replaced by one
        # with the same settings and the guarded backend (tests/test_ssrf.py pins this).
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=self.backend,
        )
