"""A local HTTP server for feed-fetching tests (stdlib only: ``ThreadingHTTPServer``).

It serves files from a folder (the feed files shipped in ``tests/data/feeds`` by default) and
files added in memory, plus routes that misbehave on purpose. Paths (``GET`` only):

``/files/<path>``        a file, with ``ETag`` and ``Last-Modified``; 304 when the request's
                         ``If-None-Match`` (or, without one, ``If-Modified-Since``) matches.
    query options:       ``gzip=1`` / ``deflate=1`` compress with ``Content-Encoding``;
                         ``type=<content type>`` overrides the (guessed) type;
                         ``trickle=<seconds>`` sends 64 bytes then waits, again and again;
                         ``truncate=<n>`` sends only ``n`` bytes but the full ``Content-Length``;
                         ``nolength=1`` omits ``Content-Length`` (body ends when the socket closes).
``/redirect/<n>/<path>`` ``n`` hops of 302 (``?status=301`` etc. to change) ending at ``/<path>``.
``/loop/a``              302 to ``/loop/b``, which redirects back to ``/loop/a``.
``/status/<code>``       that status with a short body; ``?retry_after=<value>`` adds Retry-After.
``/big/<n>``             ``n`` bytes of XML-ish filler; ``?gzip=1`` compresses it (a small bomb);
                         ``?nolength=1`` omits ``Content-Length``.
``/slow/<seconds>``      waits before sending any header (a read timeout).
``/headers``             the request headers as JSON.

Custom routes: ``server.route("/x", handler)`` where ``handler(request)`` gets the request
handler and may call ``request.reply(status, body, headers)``. Every request is recorded in
``server.requests`` as ``(path, headers)``.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import mimetypes
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

CONTENT_TYPES = {
    ".xml": "application/xml",
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".rdf": "application/rdf+xml",
    ".json": "application/feed+json",
    ".html": "text/html; charset=utf-8",
}
FIXED_MTIME = 1_700_000_000.0  # Last-Modified of files added in memory


@dataclass(frozen=True, slots=True)
class Recorded:
    path: str
    headers: dict[str, str]


class FeedRequestHandler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "feedserver/1"

    def log_message(self, format: str, *args: object) -> None:  # quiet
        return

    def reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        headers = dict(headers or {})
        headers.setdefault("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if body:
            self.wfile.write(body)

    def do_GET(self) -> None:
        owner = self.server.owner
        owner.requests.append(Recorded(self.path, {k.lower(): v for k, v in self.headers.items()}))
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        try:
            handler = owner.routes.get(parts.path)
            if handler is not None:
                handler(self)
            else:
                self._builtin(parts.path, query)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (body cap, timeout): expected in these tests

    def _builtin(self, path: str, query: dict[str, str]) -> None:
        head, _, rest = path.lstrip("/").partition("/")
        if head == "files":
            self._file(rest, query)
        elif head == "redirect":
            count, _, target = rest.partition("/")
            n = int(count)
            location = f"/redirect/{n - 1}/{target}" if n > 1 else f"/{target}"
            if query:
                location += "?" + "&".join(f"{k}={v}" for k, v in query.items())
            self.reply(int(query.get("status", 302)), b"", {"Location": location})
        elif head == "loop":
            self.reply(302, b"", {"Location": "/loop/b" if rest == "a" else "/loop/a"})
        elif head == "status":
            headers = {"Content-Type": "text/plain"}
            if "retry_after" in query:
                headers["Retry-After"] = query["retry_after"]
            self.reply(int(rest), f"status {rest}\n".encode(), headers)
        elif head == "big":
            self._big(int(rest), query)
        elif head == "slow":
            time.sleep(float(rest))
            self.reply(200, b"<rss/>", {"Content-Type": "application/rss+xml"})
        elif head == "headers":
            body = json.dumps({k.lower(): v for k, v in self.headers.items()}).encode()
            self.reply(200, body, {"Content-Type": "application/json"})
        else:
            self.reply(404, b"not found\n", {"Content-Type": "text/plain"})

    def _file(self, name: str, query: dict[str, str]) -> None:
        found = self.server.owner.lookup(name)
        if found is None:
            self.reply(404, b"no such file\n", {"Content-Type": "text/plain"})
            return
        data, content_type, mtime = found
        etag = '"' + hashlib.sha1(data).hexdigest()[:16] + '"'
        last_modified = formatdate(mtime, usegmt=True)
        validators = {"ETag": etag, "Last-Modified": last_modified}
        if _not_modified(
            self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since"), etag, mtime
        ):
            self.send_response(304)
            for key, value in validators.items():
                self.send_header(key, value)
            self.end_headers()
            return
        headers = {"Content-Type": query.get("type", content_type), **validators}
        if query.get("gzip"):
            data = gzip.compress(data)
            headers["Content-Encoding"] = "gzip"
        elif query.get("deflate"):
            data = zlib.compress(data)
            headers["Content-Encoding"] = "deflate"
        self._send_body(data, headers, query)

    def _send_body(self, data: bytes, headers: dict[str, str], query: dict[str, str]) -> None:
        self.send_response(200)
        if not query.get("nolength"):
            headers["Content-Length"] = str(len(data))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if "truncate" in query:
            self.wfile.write(data[: int(query["truncate"])])
            self.wfile.flush()
            return  # HTTP/1.0: the connection closes with the body short
        if "trickle" in query:
            delay = float(query["trickle"])
            for start in range(0, len(data), 64):
                self.wfile.write(data[start : start + 64])
                self.wfile.flush()
                time.sleep(delay)
            return
        self.wfile.write(data)

    def _big(self, size: int, query: dict[str, str]) -> None:
        headers = {"Content-Type": "application/rss+xml"}
        block = b"<!-- filler -->\n" * 4096  # 64 KiB
        if query.get("gzip"):
            compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
            parts = []
            for start in range(0, size, len(block)):
                parts.append(compressor.compress(block[: min(len(block), size - start)]))
            parts.append(compressor.flush())
            self._send_body(b"".join(parts), {**headers, "Content-Encoding": "gzip"}, query)
            return
        self.send_response(200)
        if not query.get("nolength"):
            self.send_header("Content-Length", str(size))
        self.send_header("Content-Type", headers["Content-Type"])
        self.end_headers()
        for start in range(0, size, len(block)):
            self.wfile.write(block[: min(len(block), size - start)])


def _not_modified(
    if_none_match: str | None, if_modified_since: str | None, etag: str, mtime: float
) -> bool:
    if if_none_match is not None:
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return "*" in tags or etag in tags
    if if_modified_since:
        try:
            since = parsedate_to_datetime(if_modified_since).timestamp()
        except (TypeError, ValueError):
            return False
        return int(mtime) <= since
    return False


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: FeedServer

    def handle_error(self, request: object, client_address: object) -> None:
        return  # a client hanging up mid-body is normal here


class FeedServer:
    """``start()`` on 127.0.0.1 with a free port; ``url("/files/x.xml")`` gives a full URL."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root
        self.routes: dict[str, Callable[[FeedRequestHandler], None]] = {}
        self.requests: list[Recorded] = []
        self._memory: dict[str, tuple[bytes, str]] = {}
        self._httpd = _Server(("127.0.0.1", 0), FeedRequestHandler)
        self._httpd.owner = self
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + ("" if path.startswith("/") else "/") + path

    def file_url(self, name: str, **options: object) -> str:
        query = "&".join(f"{k}={v}" for k, v in options.items())
        return self.url(f"/files/{name}") + (f"?{query}" if query else "")

    def add_file(self, name: str, data: bytes, content_type: str | None = None) -> str:
        """Serve ``data`` at ``/files/<name>``; returns its URL."""
        self._memory[name] = (data, content_type or _guess_type(name))
        return self.file_url(name)

    def route(self, path: str, handler: Callable[[FeedRequestHandler], None]) -> str:
        self.routes[path] = handler
        return self.url(path)

    def lookup(self, name: str) -> tuple[bytes, str, float] | None:
        if name in self._memory:
            data, content_type = self._memory[name]
            return data, content_type, FIXED_MTIME
        if self.root is None:
            return None
        path = (self.root / name).resolve()
        if not path.is_file() or not path.is_relative_to(self.root.resolve()):
            return None
        return path.read_bytes(), _guess_type(name), path.stat().st_mtime

    def start(self) -> FeedServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=2)


def _guess_type(name: str) -> str:
    suffix = Path(name).suffix.lower()
    return CONTENT_TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A running :class:`FeedServer` serving the shipped feed files."""
    from tests.conftest import FEEDS  # late import: conftest may import this module

    server = FeedServer(FEEDS if FEEDS.is_dir() else None).start()
    try:
        yield server
    finally:
        server.close()
