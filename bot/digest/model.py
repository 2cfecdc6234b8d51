"""The one digest model every renderer (console, JSON, Discord, Slack) works from."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from bot.storage.store import to_iso


@dataclass(slots=True)
class ArticleRef:
    id: str  # article id as ingested
    title: str
    url: str | None
    source: str
    published: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "url": self.url,
            "source": self.source,
            "published": to_iso(self.published),
        }


@dataclass(slots=True)
class StatementRef:
    """A sentence shown to a channel, attributed to the outlet (and article) that said it."""

    text: str
    article_id: str
    source: str
    published: datetime
    url: str | None = None
    claim_by: str | None = None  # "Trump" when the statement reports what someone said
    dated: bool = True  # False: the outlet gave no time; ``published`` is when it was first seen

    def to_json(self, *, with_time: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "text": self.text,
            "article_id": self.article_id,
            "source": self.source,
        }
        if with_time:
            data["published"] = to_iso(self.published)
            if not self.dated:
                data["dated"] = False
        if self.claim_by:
            data["claim_by"] = self.claim_by
        return data


@dataclass(slots=True)
class ConflictRef:
    kind: Literal["contradiction", "revision"]
    fact: str
    statements: list[StatementRef]

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "fact": self.fact,
            "statements": [s.to_json(with_time=True) for s in self.statements],
        }


@dataclass(slots=True)
class StoryDigest:
    id: str  # public story id, e.g. s-4f2a
    title: str
    known: bool  # the channel was told about this story before
    articles: list[ArticleRef] = field(default_factory=list)
    summary: list[StatementRef] = field(default_factory=list)
    new: list[StatementRef] = field(default_factory=list)
    conflicts: list[ConflictRef] = field(default_factory=list)
    outlets: list[str] = field(default_factory=list)
    matched_terms: list[str] = field(default_factory=list)  # the topic's terms it is about

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "known": self.known,
            "outlets": self.outlets,
            "matched_terms": self.matched_terms,
            "articles": [a.to_json() for a in self.articles],
            "summary": [s.to_json() for s in self.summary],
            "new": [s.to_json() for s in self.new],
            "conflicts": [c.to_json() for c in self.conflicts],
        }


@dataclass(slots=True)
class Digest:
    channel: str
    generated_at: datetime
    stories: list[StoryDigest] = field(default_factory=list)
    topic: str | None = None
    more_stories: int = 0  # stories with news the digest had no room for (still pending)

    def to_json(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "generated_at": to_iso(self.generated_at),
            "topic": self.topic,
            "stories": [s.to_json() for s in self.stories],
            "more_stories": self.more_stories,
        }

    @property
    def empty(self) -> bool:
        return not self.stories
