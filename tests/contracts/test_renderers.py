"""Contract of a digest renderer, run over every implementation (text, Discord, Slack).

Each renderer gets the same digest; what it produces, reduced to the text a reader sees, must
show every story (title and id), every summary and new statement, every conflict (its fact
and each side), the "more conflicts" note and the count of stories left out, and every
payload must be within its platform's limits. A new renderer adds one :class:`Renderer` case.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.digest.model import ArticleRef, ConflictRef, Digest, StatementRef, StoryDigest
from bot.digest.render import render_digest
from bot.platforms import discord_render as d
from bot.platforms import slack_render as s


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def _discord_within_limits(payloads: list[dict[str, Any]]) -> None:
    for message in payloads:
        assert len(message.get("content") or "") <= d.CONTENT_MAX
        embeds = message.get("embeds") or []
        assert len(embeds) <= d.EMBEDS_PER_MESSAGE
        total = 0
        for embed in embeds:
            assert len(embed.get("title", "")) <= d.TITLE_MAX
            assert len(embed.get("description", "")) <= d.DESCRIPTION_MAX
            assert len(embed.get("fields", [])) <= d.FIELDS_MAX
            for f in embed.get("fields", []):
                assert len(f["name"]) <= d.FIELD_NAME_MAX and len(f["value"]) <= d.FIELD_VALUE_MAX
            total += sum(len(t) for t in _strings(embed))
        assert total <= d.EMBED_TOTAL_MAX


def _slack_within_limits(messages: list[dict[str, Any]]) -> None:
    for message in messages:
        blocks = message.get("blocks") or []
        assert len(blocks) <= s.BLOCKS_MAX
        for block in blocks:
            for obj in [block.get("text"), *block.get("elements", []), *block.get("fields", [])]:
                if isinstance(obj, dict) and "text" in obj:
                    limit = s.HEADER_MAX if block["type"] == "header" else s.TEXT_MAX
                    assert len(obj["text"]) <= limit
        assert sum(len(t) for t in _strings(blocks)) <= s.MESSAGE_CHARS_MAX


def _text_within_limits(text: str) -> None:
    assert text.strip() and "\x00" not in text


@dataclass(frozen=True)
class Renderer:
    name: str
    render: Callable[[Digest], Any]
    shown: Callable[[Any], str]  # what a reader sees, as one string
    within_limits: Callable[[Any], None]


def _json_text(payloads: Any) -> str:
    text = "\n".join(_strings(payloads))
    return re.sub(r"\\(.)", r"\1", text)  # markdown escapes are not what the reader sees


def _slack_text(messages: Any) -> str:
    text = _json_text([m.get("blocks") for m in messages])
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


RENDERERS = [
    Renderer("text", render_digest, lambda text: text, _text_within_limits),
    Renderer("discord", d.render_discord, _json_text, _discord_within_limits),
    Renderer("slack", s.render_slack, _slack_text, _slack_within_limits),
]


@pytest.fixture(params=RENDERERS, ids=[r.name for r in RENDERERS])
def renderer(request: pytest.FixtureRequest) -> Renderer:
    return request.param


NOW = datetime(2025, 3, 4, 9, 30, tzinfo=UTC)


def _statement(n: int, outlet: str, hours: int, words: str) -> StatementRef:
    return StatementRef(
        f"Statement {n} says {words}",
        f"a{n}",
        outlet,
        NOW - timedelta(hours=hours),
        url=f"https://news.example/{n}",
    )


def _story(i: int, *, known: bool) -> StoryDigest:
    base = i * 10
    conflict = ConflictRef(
        "contradiction",
        f"death toll of story {i}",
        [
            _statement(base + 5, "Wire A", 3, f"twelve people died in town {i}"),
            _statement(base + 6, "Wire B", 2, f"fourteen people died in town {i}"),
        ],
    )
    return StoryDigest(
        id=f"s-{i:04x}",
        title=f"Story {i} about the flood in town {i}",
        known=known,
        articles=[ArticleRef(f"a{base}", f"Headline {i}", f"https://news.example/h{i}", "W", NOW)],
        summary=[]
        if known
        else [_statement(base + k, "Wire A", 5, f"fact {k} of {i}") for k in (1, 2)],
        new=[_statement(base + 3, "Wire C", 1, f"news of {i}")] if known else [],
        conflicts=[conflict],
        outlets=["Wire A", "Wire B", "Wire C"],
        matched_terms=["flood"],
        more_conflicts=2 if i == 0 else 0,
    )


def _digest() -> Digest:
    stories = [_story(i, known=i % 2 == 1) for i in range(6)]
    return Digest(channel="C1", generated_at=NOW, stories=stories, topic="flood", more_stories=7)


def _squeezed(text: str) -> str:
    return " ".join(text.split())


def test_a_renderer_shows_every_story_statement_and_conflict(renderer: Renderer) -> None:
    digest = _digest()
    shown = _squeezed(renderer.shown(renderer.render(digest)))
    for story in digest.stories:
        assert story.title in shown, (renderer.name, story.title)
        assert story.id in shown, (renderer.name, story.id)
        for statement in [*story.summary, *story.new]:
            assert statement.text in shown, (renderer.name, statement.text)
        for conflict in story.conflicts:
            assert conflict.fact in shown and conflict.kind in shown
            for side in conflict.statements:
                assert side.text in shown and side.source in shown, (renderer.name, side.text)


def test_a_renderer_says_what_it_left_out(renderer: Renderer) -> None:
    digest = _digest()
    shown = _squeezed(renderer.shown(renderer.render(digest)))
    assert f"+{digest.more_stories} more stories" in shown
    assert f"+2 more conflicts — /news conflicts {digest.stories[0].id}" in shown
    digest.more_stories = 0
    assert "more stories" not in _squeezed(renderer.shown(renderer.render(digest)))


def test_a_renderer_stays_within_its_platform_limits(renderer: Renderer) -> None:
    renderer.within_limits(renderer.render(_digest()))
    big = Digest(
        channel="C1",
        generated_at=NOW,
        stories=[_story(i, known=False) for i in range(40)],
        more_stories=3,
    )
    rendered = renderer.render(big)
    renderer.within_limits(rendered)
    shown = _squeezed(renderer.shown(rendered))
    assert all(story.title in shown for story in big.stories), renderer.name


def test_a_renderer_keeps_hostile_text_inert(renderer: Renderer) -> None:
    digest = _digest()
    digest.stories[0].title = "@everyone <!channel> <@U123> **bold** `code`"
    rendered = renderer.render(digest)
    if renderer.name == "text":
        assert "@everyone" in rendered  # a log line: nothing pings, nothing to escape
        return
    raw = json.dumps(rendered, ensure_ascii=False)
    assert "<!channel>" not in raw and "<@U123>" not in raw
    if renderer.name == "discord":
        assert "@everyone" not in raw  # broken up: Discord would ping it in content
