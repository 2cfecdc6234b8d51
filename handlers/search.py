"""`/news search <query>`: full-text search over stored articles."""

from __future__ import annotations

from bot.queries.views import search_articles
from bot.services import Services
from handlers.base import CommandRequest, Reply

MAX_RESULTS = 8


async def search(request: CommandRequest, services: Services) -> Reply:
    query = request.args["query"].strip()
    data = await search_articles(services, query, limit=MAX_RESULTS, scope=request.scope)
    if not data["results"]:
        return Reply(title=f"Search: {query}", lines=["No articles match."], ephemeral=True)
    lines: list[str] = []
    for i, hit in enumerate(data["results"], 1):
        lines.append(f"{i}. {hit['title']} — {hit['source']}, {hit['published'][:10]}")
        if hit["snippet"]:
            lines.append("   " + hit["snippet"].replace("**", ""))
        if hit["url"]:
            lines.append(f"   {hit['url']}")
    return Reply(title=f"Search: {query}", lines=lines, ephemeral=True)
