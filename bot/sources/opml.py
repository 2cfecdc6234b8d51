"""OPML subscription lists: read with :mod:`listparser`, written as OPML 2.0 (ElementTree).

:func:`read_opml` first checks the document is well-formed XML with an ``<opml>`` root (the
stdlib parser; :mod:`listparser` itself recovers from anything and would report a broken file
as an empty list), then takes the feed outlines from :mod:`listparser`: nested folders are
flattened, a feed's ``text``/``title`` is its name. Outlines that cannot be feeds are returned
as skipped, each with its reason. :func:`write_opml` writes one ``<outline type="rss">`` per
feed with ``text``, ``title`` and ``xmlUrl``.
"""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from email.utils import formatdate
from urllib.parse import urlsplit

import listparser

from bot.errors import FetchError, ParseError, SourceError, UserError
from bot.ingestion.ingest import source_locator
from bot.models import utcnow
from bot.net.credentials import masked
from bot.net.ssrf import NetworkPolicy
from bot.storage.store import Store
from bot.text.sanitize import clean_unicode

MAX_OPML_BYTES = 5_000_000


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    url: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Skipped:
    what: str  # the outline's URL or name
    why: str


def read_opml(data: bytes, *, origin: str) -> tuple[list[OpmlFeed], list[Skipped]]:
    """The feeds of an OPML document, and the outlines skipped (with why); one-line errors."""
    if len(data) > MAX_OPML_BYTES:
        raise ParseError(f"{origin}: larger than {MAX_OPML_BYTES} bytes; not read")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        line, column = exc.position
        reason = str(exc).split(":")[0]
        raise ParseError(
            f"{origin}: not well-formed OPML (line {line}, column {column + 1}: {reason})"
        ) from None
    tag = root.tag.rsplit("}", 1)[-1].lower()
    if tag != "opml":
        raise ParseError(f"{origin}: not an OPML file (its root element is <{tag}>, not <opml>)")
    parsed = listparser.parse(data)  # bytes, never str: a str URL would be fetched
    feeds: list[OpmlFeed] = []
    skipped: list[Skipped] = []
    seen: set[str] = set()
    for entry in parsed.get("lists") or []:
        what = (entry.get("url") or "").strip() or entry.get("title") or "(no URL)"
        skipped.append(Skipped(what, "a link to another subscription list, not a feed"))
    for entry in parsed.get("opportunities") or []:
        what = (entry.get("url") or "").strip() or entry.get("title") or "(no URL)"
        skipped.append(Skipped(what, "a web page without an xmlUrl, not a feed"))
    # listparser merges repeated URLs silently; count them to say so.
    listed = Counter(
        value.strip()
        for node in root.iter()
        if node.tag.rsplit("}", 1)[-1].lower() == "outline"
        for key, value in node.attrib.items()
        if key.lower() == "xmlurl"
    )
    for entry in parsed.get("feeds") or []:
        url = (entry.get("url") or "").strip()
        name = " ".join(clean_unicode(entry.get("title") or "").split()) or None
        if not _is_http(url):
            skipped.append(Skipped(url or name or "(no URL)", "not an http(s) feed URL"))
            continue
        if url in seen:
            continue
        seen.add(url)
        feeds.append(OpmlFeed(url, name if name != url else None))
        if listed[url] > 1:
            skipped.append(Skipped(url, f"listed {listed[url]} times in the file; read once"))
    return feeds, skipped


def write_opml(feeds: Iterable[OpmlFeed], *, title: str = "newsbot feeds") -> bytes:
    """An OPML 2.0 document listing ``feeds``."""
    opml = ET.Element("opml", version="2.0")
    head = ET.SubElement(opml, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = formatdate(usegmt=True)
    body = ET.SubElement(opml, "body")
    for feed in feeds:
        name = feed.name or feed.url
        ET.SubElement(body, "outline", type="rss", text=name, title=name, xmlUrl=feed.url)
    ET.indent(opml)
    return ET.tostring(opml, encoding="utf-8", xml_declaration=True) + b"\n"


def _is_http(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


FeedCheck = Callable[[str], Awaitable[OpmlFeed]]
"""A feed checked before it is added (``sources add``'s check): its URL -> the feed found there
(its URL as a locator, its title); a :class:`~bot.errors.SourceError` or
:class:`~bot.errors.UserError` says why not."""
CHECKS_AT_ONCE = 8  # feeds of one import fetched at the same time


async def import_feeds(
    store: Store,
    feeds: Iterable[OpmlFeed],
    *,
    policy: NetworkPolicy,
    workspace: str = "",
    check: FeedCheck | None = None,
    room: int | None = None,
    interval_s: float | None = None,
    now: datetime | None = None,
) -> tuple[list[OpmlFeed], list[Skipped]]:
    """Store ``feeds`` as sources of ``workspace`` (``""``: the operator's, as ``[[feeds]]``
    rows are); what was skipped, each with why (one line).

    An address the network policy refuses is skipped up front, as is a feed that is a source
    of the workspace already. With ``check`` (chat imports: ``/news sources import``) each feed
    is first checked like ``sources add`` (fetched, an HTML page's feed link followed, parsed;
    a few at a time) and stored under the URL the check found, named by the file or else by
    its title; without it (the CLI) nothing is fetched here and the poller fetches them when
    due. ``room`` caps how many are added (a workspace's feed limit): the rest are skipped
    (and, once enough feeds passed their check, not fetched at all).
    """
    present = {row["locator"] for row in await store.feed_sources(workspace)}
    # (the listed feed, what it gave), in the file's order
    entries: list[tuple[OpmlFeed, OpmlFeed | Skipped]] = []
    for feed in feeds:
        locator = source_locator(feed.url)
        try:
            policy.check_url(locator)
        except FetchError as exc:
            entries.append((feed, Skipped(feed.url, str(exc))))
            continue
        if locator in present:
            entries.append((feed, Skipped(feed.url, "already a source")))
            continue
        entries.append((OpmlFeed(locator, feed.name), OpmlFeed(locator, feed.name)))
    if check is not None:
        todo = [i for i, (_, result) in enumerate(entries) if isinstance(result, OpmlFeed)]
        checked = await _checked([entries[i][0] for i in todo], check, present, room)
        for i, result in zip(todo, checked, strict=True):
            entries[i] = (entries[i][0], result)
    imported: list[OpmlFeed] = []
    skipped: list[Skipped] = []
    when = now or utcnow()
    async with store.write() as txn:
        for listed, result in entries:
            if isinstance(result, Skipped):
                skipped.append(result)
                continue
            if result.url in present:
                skipped.append(Skipped(listed.url, f"already a source (as {masked(result.url)})"))
                continue
            if room is not None and len(imported) >= room:
                skipped.append(Skipped(listed.url, LIMIT_REACHED))
                continue
            name = listed.name or result.name
            await txn.upsert_source(
                kind="feed",
                locator=result.url,
                workspace=workspace,
                name=name,
                interval_s=interval_s,
                now=when,
            )
            present.add(result.url)
            imported.append(OpmlFeed(result.url, name))
    return imported, skipped


LIMIT_REACHED = "not added: the feed limit is reached"


async def _checked(
    feeds: list[OpmlFeed], check: FeedCheck, present: set[str], room: int | None
) -> list[OpmlFeed | Skipped]:
    """Each feed checked, at most :data:`CHECKS_AT_ONCE` at a time, started in the file's
    order; once ``room`` new feeds passed, the feeds not started yet are skipped unfetched
    (every one that passed comes before them in the file, so they are over the limit)."""
    gate = asyncio.Semaphore(CHECKS_AT_ONCE)  # FIFO: checks start in the file's order
    passed: set[str] = set()

    async def one(feed: OpmlFeed) -> OpmlFeed | Skipped:
        async with gate:
            if room is not None and len(passed) >= room:
                return Skipped(feed.url, LIMIT_REACHED)
            try:
                result = await check(feed.url)
            except (SourceError, UserError) as exc:
                why = " ".join(str(exc).split()) or "the check failed"
                return Skipped(feed.url, why.removeprefix(f"{masked(feed.url)}: "))
            if result.url not in present:
                passed.add(result.url)
            return result

    return list(await asyncio.gather(*(one(feed) for feed in feeds)))


async def export_feeds(store: Store, workspace: str = "") -> list[OpmlFeed]:
    """A workspace's feeds (``""``: the operator's, configured and imported), oldest first;
    credentials in a URL are masked (they stay in the database: put them back in the file by
    hand)."""
    return [OpmlFeed(masked(r["locator"]), r["name"]) for r in await store.feed_sources(workspace)]
