"""SSRF guard (reliability bar S1-S6): user-added feed URLs never reach non-public addresses.

Two loopback servers: ``feed`` (allow-listed by port where a test needs a reachable host) and
``canary`` (never allow-listed; every test that could leak asserts it got 0 requests). Names
are resolved by a scripted resolver, so rebinding runs without real DNS; "public" addresses
are mapped onto the feed server by a recording inner backend.
"""

# ruff: noqa: ASYNC109 (fake httpcore backends must keep httpcore's signatures)

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence

import httpcore
import pytest

from bot.errors import FetchError
from bot.net.ssrf import (
    AllowEntry,
    BlockedAddress,
    GuardedTransport,
    GuardSettings,
    NetworkPolicy,
    non_public_reason,
    parse_ip_literal,
)
from bot.settings import FetchSettings
from bot.sources.http import Fetcher
from tests.feedserver import FeedServer

SETTINGS = FetchSettings(connect_timeout=2.0, read_timeout=2.0, max_redirects=3)
PUBLIC_IP = "93.184.216.34"
FEED = b"<rss version='2.0'><channel><title>t</title><item><title>a</title></item></channel></rss>"


@pytest.fixture
def feed() -> Iterator[FeedServer]:
    server = FeedServer().start()
    server.add_file("f.xml", FEED)
    yield server
    server.close()


@pytest.fixture
def canary() -> Iterator[FeedServer]:
    server = FeedServer().start()
    server.add_file("f.xml", FEED)
    yield server
    server.close()


def port_of(server: FeedServer) -> int:
    return int(server.base_url.rsplit(":", 1)[1])


class ScriptedResolver:
    """Answers each lookup of a name with the next scripted list (the last one repeats)."""

    def __init__(self, script: dict[str, list[list[str]]]) -> None:
        self.script = script
        self.calls: list[str] = []

    async def resolve(self, host: str, port: int) -> Sequence[str]:
        self.calls.append(host)
        answers = self.script.get(host)
        if not answers:
            raise OSError(-2, "Name or service not known")
        n = sum(1 for h in self.calls if h == host) - 1
        return answers[min(n, len(answers) - 1)]


class MappingBackend(httpcore.AsyncNetworkBackend):
    """Records the addresses asked for; a "public" address is served by a loopback port."""

    def __init__(self, mapping: dict[str, int]) -> None:
        self.mapping = mapping
        self.connects: list[tuple[str, int]] = []
        self.real = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.connects.append((host, port))
        if host in self.mapping:
            return await self.real.connect_tcp("127.0.0.1", self.mapping[host], timeout)
        return await self.real.connect_tcp(host, port, timeout, local_address, socket_options)

    async def sleep(self, seconds: float) -> None:
        await self.real.sleep(seconds)


def guarded(
    allow: Iterable[str] = (),
    resolver: ScriptedResolver | None = None,
    inner: httpcore.AsyncNetworkBackend | None = None,
) -> Fetcher:
    policy = NetworkPolicy(allow)
    transport = GuardedTransport(policy, resolver=resolver, inner=inner)
    return Fetcher(SETTINGS, transport, policy=policy)


# --- S1: schemes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "/etc/hostname",
        "ftp://example.com/feed.xml",
        "gopher://example.com:70/1",
        "data:text/xml,<rss/>",
        "javascript:alert(1)",
        "feed://example.com/rss",
    ],
)
async def test_only_http_and_https_urls_are_fetched(url: str) -> None:
    with pytest.raises(FetchError, match=r"scheme|invalid URL"):
        NetworkPolicy().check_url(url)
    async with guarded() as f:
        with pytest.raises(FetchError):
            await f.fetch(url)


# --- S2: literal addresses in every spelling ---------------------------------------------------

LOOPBACK_SPELLINGS = [
    "127.0.0.1",
    "127.1",
    "0177.0.0.1",
    "0x7f.0.0.1",
    "0x7f000001",
    "2130706433",
    "017700000001",
    "127.0.0.1.",
    "[::1]",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[64:ff9b::127.0.0.1]",
    "[2002:7f00:1::]",
    "LOCALHOST",
    "localhost.",
    "api.localhost",
]


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
async def test_every_spelling_of_loopback_is_refused_and_the_canary_stays_untouched(
    host: str, canary: FeedServer
) -> None:
    url = f"http://{host}:{port_of(canary)}/files/f.xml"
    async with guarded() as f:
        with pytest.raises(BlockedAddress, match="refusing"):
            await f.fetch(url)
    assert canary.requests == []


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("0.0.0.0", "unspecified"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "shared"),
        ("169.254.169.254", "metadata"),
        ("169.254.169.254.", "metadata"),
        ("100.100.100.200", "metadata"),
        ("192.0.0.192", "metadata"),
        ("[fd00:ec2::254]", "unique local"),
        ("[::]", "unspecified"),
        ("[fe80::1]", "link-local"),
        ("[fc00::1]", "private"),
        ("224.0.0.1", "multicast"),
        ("[ff02::1]", "multicast"),
        ("255.255.255.255", "reserved"),
        ("[::ffff:169.254.169.254]", "metadata"),
    ],
)
def test_non_public_literals_are_refused_with_the_reason(host: str, reason: str) -> None:
    with pytest.raises(BlockedAddress, match=reason):
        NetworkPolicy().check_url(f"http://{host}/feed")


@pytest.mark.parametrize("ip", ["8.8.8.8", PUBLIC_IP, "2606:4700:4700::1111", "1.1.1.1"])
def test_public_addresses_pass(ip: str) -> None:
    address = parse_ip_literal(ip)
    assert address is not None and non_public_reason(address) is None


@pytest.mark.parametrize("text", ["example.com", "1.2.3.4.5", "256.1.1.1", "0x1g.0.0.1", "a.1"])
def test_names_and_malformed_numbers_are_not_taken_for_addresses(text: str) -> None:
    assert parse_ip_literal(text) is None


async def test_allow_list_entry_opens_exactly_that_host_and_port(
    feed: FeedServer, canary: FeedServer
) -> None:
    async with guarded(allow=[f"127.0.0.1:{port_of(feed)}"]) as f:
        result = await f.fetch(feed.file_url("f.xml"))
        assert result.body == FEED
        with pytest.raises(BlockedAddress):
            await f.fetch(canary.file_url("f.xml"))  # same address, other port
    assert canary.requests == []


def test_allow_list_entries_parse_and_bad_ones_are_config_errors() -> None:
    assert AllowEntry.parse("10.0.0.0/8").port is None
    assert AllowEntry.parse("[::1]:8080").port == 8080
    assert AllowEntry.parse("Intranet.Example.:8443").hostname == "intranet.example"
    for bad in ["", "host:port", "[::1", "1.2.3.4:70000", "a b"]:
        with pytest.raises(ValueError):
            AllowEntry.parse(bad)
    with pytest.raises(ValueError):
        GuardSettings(allow=["127.0.0.1:x"])
    assert GuardSettings(allow=["127.0.0.1:8080"]).allow == ["127.0.0.1:8080"]


# --- S3/S4: names, rebinding, multi-answer -----------------------------------------------------


async def test_a_name_resolving_to_loopback_is_refused_at_connect_time(canary: FeedServer) -> None:
    resolver = ScriptedResolver({"evil.test": [["127.0.0.1"]]})
    inner = MappingBackend({})
    async with guarded(resolver=resolver, inner=inner) as f:
        with pytest.raises(BlockedAddress, match=r"evil\.test -> 127\.0\.0\.1: loopback"):
            await f.fetch(f"http://evil.test:{port_of(canary)}/files/f.xml")
    assert resolver.calls == ["evil.test"]
    assert inner.connects == [] and canary.requests == []


async def test_dns_rebinding_connects_only_to_the_address_that_was_vetted(
    feed: FeedServer, canary: FeedServer
) -> None:
    """1st lookup public, 2nd lookup 127.0.0.1: one lookup per connection, and the socket
    goes to exactly the vetted address; the rebound lookup is refused, not connected."""
    resolver = ScriptedResolver({"rebind.test": [[PUBLIC_IP], ["127.0.0.1"]]})
    inner = MappingBackend({PUBLIC_IP: port_of(feed)})
    url = f"http://rebind.test:{port_of(canary)}/files/f.xml"
    async with guarded(resolver=resolver, inner=inner) as f:
        first = await f.fetch(url)
    assert first.body == FEED
    async with guarded(resolver=resolver, inner=inner) as f:  # a fresh connection
        with pytest.raises(BlockedAddress, match=r"127\.0\.0\.1"):
            await f.fetch(url)
    assert resolver.calls == ["rebind.test", "rebind.test"]
    assert inner.connects == [(PUBLIC_IP, port_of(canary))]
    assert len(feed.requests) == 1 and canary.requests == []


async def test_a_mixed_public_and_loopback_answer_is_refused_whole(canary: FeedServer) -> None:
    resolver = ScriptedResolver({"multi.test": [[PUBLIC_IP, "127.0.0.1"]]})
    inner = MappingBackend({})
    async with guarded(resolver=resolver, inner=inner) as f:
        with pytest.raises(BlockedAddress):
            await f.fetch(f"http://multi.test:{port_of(canary)}/")
    assert inner.connects == [] and canary.requests == []


async def test_the_host_header_keeps_the_name_when_connecting_to_the_vetted_ip(
    feed: FeedServer,
) -> None:
    resolver = ScriptedResolver({"feeds.test": [[PUBLIC_IP]]})
    inner = MappingBackend({PUBLIC_IP: port_of(feed)})
    async with guarded(resolver=resolver, inner=inner) as f:
        result = await f.fetch("http://feeds.test/headers")
    assert result.body is not None
    assert json.loads(result.body)["host"] == "feeds.test"


async def test_tls_is_negotiated_for_the_name_not_the_ip() -> None:
    seen: list[str | None] = []

    class Stream(httpcore.AsyncNetworkStream):
        async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
            return b""

        async def write(self, buffer: bytes, timeout: float | None = None) -> None:
            return None

        async def aclose(self) -> None:
            return None

        async def start_tls(
            self,
            ssl_context: object,
            server_hostname: str | None = None,
            timeout: float | None = None,
        ) -> httpcore.AsyncNetworkStream:
            seen.append(server_hostname)
            raise httpcore.ConnectError("handshake refused by test")

    class Backend(httpcore.AsyncNetworkBackend):
        async def connect_tcp(self, host: str, port: int, *args: object) -> Stream:
            assert host == PUBLIC_IP
            return Stream()

    resolver = ScriptedResolver({"secure.test": [[PUBLIC_IP]]})
    async with guarded(resolver=resolver, inner=Backend()) as f:
        with pytest.raises(FetchError):
            await f.fetch("https://secure.test/feed")
    assert seen == ["secure.test"]


async def test_a_name_that_does_not_resolve_fails_closed() -> None:
    async with guarded(resolver=ScriptedResolver({})) as f:
        with pytest.raises(FetchError, match="DNS lookup failed"):
            await f.fetch("http://does-not-resolve.invalid/feed")


# --- S5: redirects -------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["canary", "http://169.254.169.254/latest/meta-data/"])
async def test_a_redirect_to_a_private_address_is_refused_at_that_hop(
    feed: FeedServer, canary: FeedServer, target: str
) -> None:
    location = canary.file_url("f.xml") if target == "canary" else target
    url = feed.route("/go", lambda req: req.reply(302, b"", {"Location": location}))
    async with guarded(allow=[f"127.0.0.1:{port_of(feed)}"]) as f:
        with pytest.raises(BlockedAddress, match="refusing"):
            await f.fetch(url)
    assert [r.path for r in feed.requests] == ["/go"]
    assert canary.requests == []


async def test_a_redirect_to_a_name_that_resolves_private_is_refused(
    feed: FeedServer, canary: FeedServer
) -> None:
    url = feed.route(
        "/go",
        lambda req: req.reply(
            302, b"", {"Location": f"http://internal.test:{port_of(canary)}/files/f.xml"}
        ),
    )
    resolver = ScriptedResolver({"internal.test": [["10.0.0.5", "127.0.0.1"]]})
    async with guarded(allow=[f"127.0.0.1:{port_of(feed)}"], resolver=resolver) as f:
        with pytest.raises(BlockedAddress, match="private"):
            await f.fetch(url)
    assert canary.requests == []


# --- S6: proxies ---------------------------------------------------------------------------------


async def test_environment_proxies_are_ignored(
    feed: FeedServer, canary: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(name, canary.base_url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    async with guarded(allow=[f"127.0.0.1:{port_of(feed)}"]) as f:
        assert (await f.fetch(feed.file_url("f.xml"))).body == FEED
    async with Fetcher(SETTINGS) as f:  # the unguarded operator fetcher too
        assert (await f.fetch(feed.file_url("f.xml"))).body == FEED
    assert canary.requests == [] and len(feed.requests) == 2
