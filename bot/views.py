"""Data views shared by the CLI and command handlers: plain dicts (the documented JSON shapes)
and their plain-text renderings."""

from __future__ import annotations

import textwrap
from typing import Any

from bot.models import Article, utcnow
from bot.query import parse_query, to_fts5
from bot.services import Services
from bot.storage.store import to_iso


def article_json(article: Article, outlets: list[str] | None = None) -> dict[str, Any]:
    return {
        "id": article.ext_id,
        "title": article.title,
        "url": article.url,
        "source": article.outlet,
        "published": to_iso(article.published_at),
        "outlets": outlets if outlets is not None else [article.outlet],
    }


def excerpt(text: str, limit: int = 420) -> str:
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat.rfind(". ", 0, limit)
    return flat[: cut + 1] if cut > limit // 2 else flat[: flat.rfind(" ", 0, limit)] + " …"


async def articles_digest(sv: Services) -> dict[str, Any]:
    """Until story digests land: every original article, newest last, with its outlets."""
    items = []
    for article in await sv.store.list_articles(include_duplicates=False):
        assert article.id is not None
        data = article_json(article, await sv.store.outlets_of(article.id))
        data["text"] = article.text
        data["excerpt"] = excerpt(article.text)
        items.append(data)
    return {"channel": "console", "generated_at": to_iso(utcnow()), "articles": items}


def render_articles_digest(data: dict[str, Any]) -> str:
    arts = data["articles"]
    if not arts:
        return "Nothing ingested yet: add feeds or article files (newsbot ingest PATH)."
    lines = [f"newsbot digest: {len(arts)} articles", ""]
    for art in arts:
        outlets = ", ".join(art["outlets"])
        lines.append(f"■ {art['title']}")
        lines.append(f"  {outlets} · {art['published'][:16].replace('T', ' ')} UTC")
        lines.extend(textwrap.wrap(art["excerpt"], 96, initial_indent="  ", subsequent_indent="  "))
        if art["url"]:
            lines.append(f"  {art['url']}")
        lines.append("")
    return "\n".join(lines).rstrip()


async def search_articles(sv: Services, query: str, *, limit: int = 10) -> dict[str, Any]:
    parsed = parse_query(query)
    hits = await sv.store.search(to_fts5(parsed), limit=limit)
    results = []
    for hit in hits:
        data = article_json(hit.article)
        data["snippet"] = " ".join(hit.snippet.split())
        data["score"] = round(hit.score, 4)
        results.append(data)
    return {"query": query, "results": results}


def render_search(data: dict[str, Any]) -> str:
    if not data["results"]:
        return f"No articles match {data['query']!r}."
    lines = []
    for i, hit in enumerate(data["results"], 1):
        lines.append(f"{i}. {hit['title']} — {hit['source']}, {hit['published'][:10]}")
        lines.append(f"   {hit['snippet']}")
    return "\n".join(lines)


async def export_rows(sv: Services, what: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    articles = await sv.store.list_articles(include_duplicates=True)
    by_id = {a.id: a for a in articles}
    for article in sorted(articles, key=lambda a: a.id or 0):
        original = by_id.get(article.duplicate_of) if article.duplicate_of else None
        if what == "stories":
            story = (original or article).story_id
            rows.append({"id": article.ext_id, "story": await _story_public_id(sv, story)})
            continue
        data = article_json(article)
        data.update(
            {
                "canonical_url": article.canonical_url,
                "first_seen": to_iso(article.first_seen_at),
                "duplicate_of": original.ext_id if original else None,
                "text": article.text,
                "summary_raw": article.summary_raw,
            }
        )
        rows.append(data)
    return rows


async def _story_public_id(sv: Services, story_id: int | None) -> str | None:
    if story_id is None:
        return None
    value = await sv.store.scalar("SELECT public_id FROM stories WHERE id = ?", (story_id,))
    return str(value) if value is not None else None
