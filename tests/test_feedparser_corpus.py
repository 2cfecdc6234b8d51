"""Real input nobody here wrote: feedparser 6.0.14's own test documents (about 2,200 files from
its sdist, downloaded from PyPI once into the pytest cache) and the shared feed files, all
served by the local feed server and run through fetch + parse, with gzip, redirects, wrong
content types and truncated bodies mixed in. Nothing may crash or hang: every document gives
articles, an empty feed, or one one-line error naming it.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tarfile
from collections import Counter
from pathlib import Path

import pytest

from bot.errors import FetchError, ParseError
from bot.net.ssrf import NetworkPolicy
from bot.settings import FetchSettings
from bot.sources.feeds import parse_feed_async
from bot.sources.http import Fetcher
from tests.conftest import FEEDS, need
from tests.feedserver import FeedServer

VERSION = "6.0.14"
SETTINGS = FetchSettings(connect_timeout=5, read_timeout=5, max_redirects=5)


def corpus_dir(cache_root: Path) -> Path:
    """The sdist's ``tests/`` folder, downloaded and unpacked on first use."""
    target = cache_root / "tests"
    if (target / ".complete").exists():
        return target
    try:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps",
             f"feedparser=={VERSION}", "-d", str(cache_root), "-q"],
            check=True, capture_output=True, timeout=180,
        )  # fmt: skip
    except (subprocess.SubprocessError, OSError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        pytest.skip(
            f"feedparser {VERSION} sdist could not be downloaded from PyPI "
            f"({type(exc).__name__}: {detail.decode(errors='replace').strip()[-200:]})"
        )
    archives = sorted(cache_root.glob(f"feedparser-{VERSION}.tar.gz"))
    if not archives:
        pytest.skip(f"pip did not leave feedparser-{VERSION}.tar.gz in {cache_root}")
    prefix = f"feedparser-{VERSION}/tests/"
    with tarfile.open(archives[0]) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith(prefix) and m.isfile()]
        for member in members:
            member.name = member.name[len(prefix) :]
        tar.extractall(target, members=members, filter="data")
    (target / ".complete").write_text("ok")
    return target


@pytest.fixture(scope="module")
def corpus(request: pytest.FixtureRequest) -> Path:
    return corpus_dir(Path(request.config.cache.mkdir(f"feedparser-{VERSION}")))


def variant(i: int, name: str) -> str:
    """How document ``i`` is served: plain, gzip, deflate, wrong type, or via redirects."""
    if i % 11 == 0:
        return f"/redirect/2/files/{name}"
    options = ["", "?gzip=1", "?deflate=1", "?type=text/html", "?type=application/octet-stream"]
    return f"/files/{name}{options[i % len(options)]}"


async def run_corpus(
    server: FeedServer, names: list[str], errors: list[str] | None = None
) -> Counter[str]:
    port = server.base_url.rsplit(":", 1)[1]
    outcomes: Counter[str] = Counter()
    errors = [] if errors is None else errors
    limit = asyncio.Semaphore(16)

    async def one(fetcher: Fetcher, i: int, name: str) -> None:
        async with limit:
            url = server.url(variant(i, name))
            try:
                result = await fetcher.fetch(url)
                assert result.body is not None
                articles, _ = await parse_feed_async(
                    result.body, origin=url, max_items=500, timeout=10
                )
            except (FetchError, ParseError) as exc:
                message = str(exc)
                assert "\n" not in message and message.startswith("http://127.0.0.1"), name
                outcomes["fetch error" if isinstance(exc, FetchError) else "parse error"] += 1
                if isinstance(exc, FetchError):
                    errors.append(message)
                return
            outcomes["articles" if articles else "empty feed"] += 1

    async with Fetcher(SETTINGS, policy=NetworkPolicy([f"127.0.0.1:{port}"])) as fetcher:
        async with asyncio.timeout(300):
            await asyncio.gather(*(one(fetcher, i, n) for i, n in enumerate(names)))
    return outcomes


async def test_feedparser_test_suite_documents_fetch_and_parse_without_crashing(
    corpus: Path,
) -> None:
    names = sorted(
        str(p.relative_to(corpus)) for p in corpus.rglob("*") if p.is_file() and p.suffix in
        (".xml", ".rdf", ".atom", ".rss", ".gz", ".json", ".html", ".zz")
    )  # fmt: skip
    assert len(names) > 2000, f"corpus looks incomplete: {len(names)} documents"
    server = FeedServer(corpus).start()
    errors: list[str] = []
    try:
        outcomes = await run_corpus(server, names, errors)
    finally:
        server.close()
    assert sum(outcomes.values()) == len(names)
    # the only fetch errors are the corpus's deliberately damaged gzip files
    assert all("/compression/" in e and "decompress" in e for e in errors), errors
    assert outcomes["articles"] > len(names) // 3, outcomes


async def test_shared_feed_files_survive_every_delivery_variant() -> None:
    names = sorted(
        str(p.relative_to(FEEDS))
        for p in need(FEEDS).rglob("*")
        if p.is_file() and p.name != "LICENSE"
    )
    server = FeedServer(FEEDS).start()
    try:
        outcomes = await run_corpus(server, names)
        async with Fetcher(SETTINGS) as fetcher:
            for name in names:
                with pytest.raises(FetchError) as info:
                    await fetcher.fetch(server.file_url(name, truncate=50))
                assert "\n" not in str(info.value)
    finally:
        server.close()
    assert outcomes["fetch error"] == 0 and outcomes["articles"] > len(names) // 2
