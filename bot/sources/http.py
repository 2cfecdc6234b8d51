"""Fetch feed bytes over HTTP(S) politely and defensively.

:class:`Fetcher` is the URL :class:`~bot.sources.retrieve.Retriever` (bytes and typed
:class:`~bot.sources.retrieve.Validators`); :func:`guarded_fetcher` builds the one every feed
URL goes through, with the ``[network] allow`` policy. It wraps one :class:`httpx.AsyncClient`
and adds what a feed reader needs:

* conditional GET (``If-None-Match`` / ``If-Modified-Since``; a 304 is ``not_modified``);
* redirects followed by hand, at most ``max_redirects`` hops, each hop passed to
  :meth:`Fetcher._check_url` first;
* with a :class:`~bot.net.ssrf.NetworkPolicy` (``policy=``, for URLs that users add): every
  hop is checked up front and every connection is vetted where the socket is opened
  (:class:`~bot.net.ssrf.GuardedTransport`), so non-public addresses are refused even
  through redirects or DNS rebinding; environment proxies are never used;
* connect/read timeouts from settings plus an overall deadline, so a server that trickles
  one byte at a time cannot hold a fetch open for ever;
* a body cap that counts both the bytes on the wire and the bytes after decompression
  (``gzip``/``deflate`` are decoded here with :mod:`zlib` and a bounded output size, so a
  compression bomb never gets into memory); a body that is itself a gzip file served without
  ``Content-Encoding`` is unpacked under the same cap;
* one-line :class:`~bot.errors.FetchError` messages naming the URL (without credentials or
  secret-looking query values) and what failed; 429/503 carry ``retry_after`` seconds.
"""

from __future__ import annotations

import asyncio
import socket
import zlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Self
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import httpx

from bot.errors import FetchError
from bot.net.credentials import is_secret_param
from bot.net.ssrf import BlockedAddress, GuardedTransport, NetworkPolicy, Resolver
from bot.settings import FetchSettings, Settings
from bot.sources.retrieve import Retrieved, Validators

ALLOWED_SCHEMES = frozenset({"http", "https"})
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5"
)
GZIP_MAGIC = b"\x1f\x8b"


class FetchStatusError(FetchError):
    """The server answered with an error status; ``retry_after`` is in seconds when given."""

    def __init__(self, message: str, *, status: int, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


def safe_url(url: str | httpx.URL) -> str:
    """``url`` fit for a log line: no ``user:password@``, secret-looking query values hidden."""
    text = "".join(ch if ch.isprintable() else quote(ch) for ch in str(url))
    try:
        parts = urlsplit(text)
    except ValueError:
        return text.split("@")[-1][:200]
    netloc = parts.netloc.rsplit("@", 1)[-1]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(is_secret_param(k) for k, _ in pairs):
            query = urlencode([(k, "***" if is_secret_param(k) else v) for k, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds from now: delta-seconds or an HTTP date; ``None`` if unusable."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # delta-seconds are ASCII digits ("²" is a digit too)
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class BodyTooLarge(Exception):
    """Internal: the (decoded) body passed the cap."""


class _BoundedInflater:
    """Streaming gzip/zlib/raw-deflate decoder whose total output never passes ``limit``."""

    def __init__(self, kind: str, limit: int) -> None:
        self._kind = kind
        self._remaining = limit
        self._raw_deflate_retry = kind == "deflate"
        self._obj = self._new()

    def _new(self) -> zlib._Decompress:
        if self._kind == "gzip":
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        return zlib.decompressobj(zlib.MAX_WBITS)

    def feed(self, data: bytes) -> bytes:
        out: list[bytes] = []
        while data:
            try:
                chunk = self._obj.decompress(data, self._remaining + 1)
            except zlib.error:
                if not self._raw_deflate_retry:
                    raise
                # Some servers send raw deflate (no zlib header) for "deflate".
                self._raw_deflate_retry = False
                self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
                continue
            self._raw_deflate_retry = False
            self._remaining -= len(chunk)
            if self._remaining < 0:
                raise BodyTooLarge
            out.append(chunk)
            if self._obj.unconsumed_tail:
                data = self._obj.unconsumed_tail
            elif self._obj.eof and self._obj.unused_data and self._kind == "gzip":
                data = self._obj.unused_data  # next member of a multi-member gzip file
                self._obj = self._new()
            else:
                data = b""
        return b"".join(out)

    def finish(self) -> bytes:
        tail = self._obj.flush()
        self._remaining -= len(tail)
        if self._remaining < 0:
            raise BodyTooLarge
        return tail


def gunzip_capped(data: bytes, limit: int) -> bytes:
    """Decompress a gzip file held in ``data``; :class:`BodyTooLarge` past ``limit`` bytes."""
    inflater = _BoundedInflater("gzip", limit)
    return inflater.feed(data) + inflater.finish()


def _decoders_for(content_encoding: str, limit: int) -> list[_BoundedInflater]:
    decoders = []
    for token in reversed([t.strip().lower() for t in content_encoding.split(",") if t.strip()]):
        if token in ("gzip", "x-gzip"):
            decoders.append(_BoundedInflater("gzip", limit))
        elif token == "deflate":
            decoders.append(_BoundedInflater("deflate", limit))
        elif token != "identity":
            raise ValueError(token)
    return decoders


class Fetcher:
    """Fetch URLs with one pooled client; use ``async with Fetcher(settings) as f``."""

    def __init__(
        self,
        settings: FetchSettings,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        total_timeout: float | None = None,
        policy: NetworkPolicy | None = None,
        resolver: Resolver | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        """``policy`` turns on the SSRF guard (user-added URLs); ``resolver`` is for tests.

        With a ``policy`` and no ``transport``, connections go through a
        :class:`~bot.net.ssrf.GuardedTransport`; a ``transport`` given by the caller is used
        as is (only the up-front URL check applies then). ``clock`` turns a ``Retry-After``
        date into seconds (the poller's injected clock in tests).
        """
        self.settings = settings
        self.clock = clock
        self.policy = policy
        if policy is not None and transport is None:
            transport = GuardedTransport(policy, resolver=resolver)
        # A server may trickle bytes just inside the read timeout; bound the whole fetch too.
        self.total_timeout = total_timeout or (settings.connect_timeout + 2 * settings.read_timeout)
        self._client = httpx.AsyncClient(
            transport=transport,
            follow_redirects=False,
            trust_env=False,  # HTTP(S)_PROXY from the environment would bypass the guard
            timeout=httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout),
            headers={
                "User-Agent": settings.user_agent,
                "Accept": ACCEPT,
                # Only what _BoundedInflater can decode with a size cap.
                "Accept-Encoding": "gzip, deflate",
            },
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _check_url(self, url: str) -> None:
        """Refuse a URL before any request is made to it (every redirect hop comes here).

        Always: http/https with a host. With a policy: non-public IP literals in any spelling
        and ``localhost`` names too (names are vetted again, after resolution, at connect).
        """
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 (raises ValueError when out of range)
        except ValueError as exc:
            raise FetchError(f"{safe_url(url)}: invalid URL ({exc})") from None
        if parts.scheme.lower() not in ALLOWED_SCHEMES:
            raise FetchError(
                f"{safe_url(url)}: refusing URL scheme {parts.scheme or '(none)'!r}; "
                "only http and https are fetched"
            )
        if not parts.hostname:
            raise FetchError(f"{safe_url(url)}: invalid URL (no host)")
        if self.policy is not None:
            try:
                self.policy.check_url(url)
            except BlockedAddress as exc:
                raise BlockedAddress(f"{safe_url(url)}: {exc}") from None

    async def fetch(self, url: str, validators: Validators | None = None) -> Retrieved:
        """GET ``url`` (conditionally when ``validators`` hold an ETag or a Last-Modified)."""
        try:
            async with asyncio.timeout(self.total_timeout):
                return await self._fetch(url, validators or Validators())
        except TimeoutError:
            raise FetchError(
                f"{safe_url(url)}: timed out after {self.total_timeout:g}s in total "
                "(server too slow)"
            ) from None

    async def _fetch(self, url: str, validators: Validators) -> Retrieved:
        headers: dict[str, str] = {}
        if validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        current = url
        seen: set[str] = set()
        for _hop in range(self.settings.max_redirects + 1):
            await self._check_url(current)
            seen.add(current)
            try:
                async with self._client.stream("GET", current, headers=headers) as response:
                    if response.has_redirect_location:
                        location = response.headers["location"]
                        try:
                            target = str(response.url.join(location))
                        except httpx.InvalidURL:
                            raise FetchError(
                                f"{safe_url(current)}: redirect to an invalid URL"
                            ) from None
                        if target in seen:
                            raise FetchError(
                                f"{safe_url(url)}: redirect loop at {safe_url(target)}"
                            )
                        current = target
                        continue
                    return await self._result(response, validators)
            except BlockedAddress as exc:  # refused at connect time
                raise BlockedAddress(f"{safe_url(current)}: {exc}") from None
            except httpx.HTTPError as exc:
                raise FetchError(f"{safe_url(current)}: {_describe(exc, self.settings)}") from None
            except httpx.InvalidURL as exc:
                raise FetchError(f"{safe_url(current)}: invalid URL ({_first_line(exc)})") from None
        raise FetchError(
            f"{safe_url(url)}: too many redirects (more than {self.settings.max_redirects})"
        )

    async def _result(self, response: httpx.Response, sent: Validators) -> Retrieved:
        where = safe_url(response.url)
        status = response.status_code
        retry_after = parse_retry_after(
            response.headers.get("retry-after"), now=self.clock() if self.clock else None
        )
        validators = Validators(
            etag=response.headers.get("etag") or sent.etag,
            last_modified=response.headers.get("last-modified") or sent.last_modified,
        )
        content_type = response.headers.get("content-type")
        if status == 304:
            return Retrieved(
                url=str(response.url),
                status=304,
                body=None,
                validators=validators,
                content_type=content_type,
                retry_after=retry_after,
            )
        if not 200 <= status < 300:
            reason = f" {response.reason_phrase}" if response.reason_phrase else ""
            if 300 <= status < 400:
                reason += " (redirect without a usable Location)"
            hint = f"; retry after {retry_after:g}s" if retry_after is not None else ""
            raise FetchStatusError(
                f"{where}: HTTP {status}{reason}{hint}", status=status, retry_after=retry_after
            )
        body = await self._read_body(response, where)
        return Retrieved(
            url=str(response.url),
            status=status,
            body=body,
            validators=validators,
            content_type=content_type,
            retry_after=retry_after,
        )

    async def _read_body(self, response: httpx.Response, where: str) -> bytes:
        cap = self.settings.max_body_bytes
        too_large = FetchError(f"{where}: body larger than {cap} bytes")
        encoding = response.headers.get("content-encoding", "")
        try:
            decoders = _decoders_for(encoding, cap)
        except ValueError as exc:
            raise FetchError(f"{where}: unsupported Content-Encoding {exc.args[0]!r}") from None
        declared = response.headers.get("content-length", "")
        if not decoders and declared.isascii() and declared.isdigit() and int(declared) > cap:
            raise too_large
        parts: list[bytes] = []
        raw_total = 0
        size = 0
        if response.is_stream_consumed:  # a transport that built the response from bytes
            decoders = []
            chunks: AsyncIterator[bytes] = _single(response.content)
        else:
            chunks = response.aiter_raw()
        try:
            async for raw in chunks:
                raw_total += len(raw)
                if raw_total > cap:
                    raise too_large
                chunk = raw
                for decoder in decoders:
                    chunk = decoder.feed(chunk)
                size += len(chunk)
                if size > cap:
                    raise too_large
                parts.append(chunk)
            for i, decoder in enumerate(decoders):
                tail = decoder.finish()
                for later in decoders[i + 1 :]:
                    tail = later.feed(tail)
                parts.append(tail)
            body = b"".join(parts)
            if len(body) > cap:
                raise too_large
            if body.startswith(GZIP_MAGIC):
                # A .gz file served as-is (no Content-Encoding): unpack it under the same cap.
                body = gunzip_capped(body, cap)
        except BodyTooLarge:
            raise too_large from None
        except zlib.error as exc:
            raise FetchError(f"{where}: cannot decompress body ({exc})") from None
        return body


def guarded_fetcher(
    settings: Settings,
    *,
    resolver: Resolver | None = None,
    clock: Callable[[], datetime] | None = None,
    total_timeout: float | None = None,
) -> Fetcher:
    """The fetcher of every feed URL (``newsbot ingest``, ``[[feeds]]`` polled by ``run``,
    ``/news sources add``): ``[fetch]`` limits and the ``[network] allow`` policy, so a
    non-public address is refused with the same one line wherever the URL came from."""
    return Fetcher(
        settings.fetch,
        policy=NetworkPolicy(settings.network.allow),
        resolver=resolver,
        clock=clock,
        total_timeout=total_timeout,
    )


async def _single(data: bytes) -> AsyncIterator[bytes]:
    yield data


def _describe(exc: httpx.HTTPError, settings: FetchSettings) -> str:
    """One short phrase for a transport failure."""
    if isinstance(exc, httpx.ConnectTimeout):
        return f"connect timed out after {settings.connect_timeout:g}s"
    if isinstance(exc, httpx.ReadTimeout):
        return f"read timed out after {settings.read_timeout:g}s"
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.ConnectError):
        if _caused_by(exc, socket.gaierror) or _looks_like_dns(str(exc)):
            return "DNS lookup failed (no such host?)"
        return f"cannot connect ({_first_line(exc) or 'connection failed'})"
    if isinstance(exc, httpx.RemoteProtocolError):
        text = _first_line(exc)
        if "incomplete" in text or "closed" in text:
            return "connection closed before the whole body arrived (truncated response)"
        return f"HTTP protocol error ({text})"
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return f"invalid URL ({_first_line(exc)})"
    return f"{type(exc).__name__} ({_first_line(exc) or 'transport error'})"


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _looks_like_dns(text: str) -> bool:
    lowered = text.lower()
    return any(
        s in lowered
        for s in (
            "name or service not known",
            "nodename nor servname",
            "temporary failure in name resolution",
            "no address associated",
            "getaddrinfo failed",
        )
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else ""
