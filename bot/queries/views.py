"""Data views shared by the CLI and command handlers: plain dicts (the documented JSON shapes)
and their plain-text renderings."""

from __future__ import annotations

import json
import textwrap
from typing import Any

from bot.errors import UserError
from bot.models import Article, utcnow
from bot.queries.language import parse_query
from bot.services import Services
from bot.storage.scope import EVERYTHING, Scope
from bot.storage.store import to_iso
from bot.storage.stories import resolve_public_id


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


async def search_articles(
    sv: Services, query: str, *, limit: int = 10, scope: Scope = EVERYTHING
) -> dict[str, Any]:
    parsed = parse_query(query)
    hits = await sv.store.search(parsed, limit=limit, scope=scope)
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
    heading = await sv.store.story_heading(story_id)
    return heading[0] if heading else None


# ------------------------------------------------------------------------------ stories
def _no_story(ref: str) -> str:
    return f"no story {ref!r}: /news topics lists active stories (in a terminal: newsbot stories)"


async def resolve_story(sv: Services, ref: str, *, scope: Scope = EVERYTHING) -> int:
    """A story's row id from the id a user typed (a merged story's old id still works); a
    story of which ``scope`` sees no article is no story to it."""
    ref = ref.strip().lower()
    story_id = await resolve_public_id(sv.store, ref)
    if story_id is None or not await sv.store.story_visible(story_id, scope):
        raise UserError(_no_story(ref))
    return story_id


async def story_json(sv: Services, story_id: int, *, scope: Scope = EVERYTHING) -> dict[str, Any]:
    row = await sv.store.story_overview(story_id, scope)
    if row is None:
        raise UserError(f"no story with id {story_id}")
    return {
        "id": row["public_id"],
        "title": row["title"],
        "terms": json.loads(row["terms"]),
        "first_seen": row["first_seen_at"],
        "last_seen": row["last_seen_at"],
        "active": bool(row["active"]),
        "articles": row["originals"],
        "copies": row["copies"],
        "outlets": row["outlets"],
    }


async def list_stories(
    sv: Services,
    *,
    topic: str | None = None,
    include_inactive: bool = False,
    limit: int = 50,
    scope: Scope = EVERYTHING,
) -> dict[str, Any]:
    from bot.queries.relevance import subscription_matches

    items: list[dict[str, Any]] = []
    if topic:
        matches = await subscription_matches(
            sv.store, sv.settings.digest, topic, limit=limit, scope=scope
        )
        for match in matches:
            data = await story_json(sv, match.story_id, scope=scope)
            if not include_inactive and not data["active"]:
                continue
            data["matched_terms"] = match.matched_terms
            data["score"] = match.score
            items.append(data)
    else:
        ids = await sv.store.live_story_ids(scope, include_inactive=include_inactive, limit=limit)
        items = [await story_json(sv, sid, scope=scope) for sid in ids]
    return {"topic": topic, "stories": items}


def render_stories(data: dict[str, Any]) -> str:
    if not data["stories"]:
        return "No stories match." if data["topic"] else "No stories yet."
    lines = []
    for s in data["stories"]:
        state = "" if s["active"] else " (quiet)"
        lines.append(f"{s['id']}  {s['title']}{state}")
        lines.append(
            f"         {s['articles']} articles · {len(s['outlets'])} outlets · "
            f"{s['first_seen'][:10]} → {s['last_seen'][:10]} · {', '.join(s['terms'])}"
        )
        if s.get("matched_terms"):
            lines.append(f"         matched: {', '.join(s['matched_terms'])}")
    return "\n".join(lines)


async def story_detail(
    sv: Services, ref: str, *, explain: bool = False, scope: Scope = EVERYTHING
) -> dict[str, Any]:
    story_id = await resolve_story(sv, ref, scope=scope)
    data = await story_json(sv, story_id, scope=scope)
    if explain:
        await sv.stories.load()  # in memory only on a read-only store
    articles = []
    for article in await sv.store.story_articles(story_id, scope=scope):
        assert article.id is not None
        item = article_json(article, await sv.store.outlets_of(article.id, scope=scope))
        if explain:
            item["why"] = sv.stories.explain(article, story_id)
        articles.append(item)
    data["article_list"] = articles
    data["coverage"] = [
        {"published": published, "source": outlet}
        for published, outlet in await sv.store.story_coverage(story_id, scope)
    ]
    return data


def render_story_detail(data: dict[str, Any]) -> str:
    lines = [
        f"{data['id']}  {data['title']}",
        f"{data['articles']} articles (+{data['copies']} copies) · "
        f"{data['first_seen'][:16]} → {data['last_seen'][:16]} UTC",
        f"key terms: {', '.join(data['terms'])}",
        f"outlets: {', '.join(data['outlets'])}",
        "",
    ]
    for a in data["article_list"]:
        lines.append(f"- {a['published'][:16].replace('T', ' ')}  {a['title']}")
        lines.append(f"    {', '.join(a['outlets'])}" + (f" <{a['url']}>" if a["url"] else ""))
        if a.get("why"):
            lines.append(f"    tied by: {', '.join(a['why'])}")
    return "\n".join(lines)
