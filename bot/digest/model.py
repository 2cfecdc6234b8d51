"""The one digest model every renderer (console, JSON, Discord, Slack) works from."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal


@dataclass(slots=True)
class ArticleRef:
    id: str  # article id as ingested
    title: str
    url: str | None
    source: str
    published: datetime


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


@dataclass(slots=True)
class ConflictRef:
    kind: Literal["contradiction", "revision"]
    fact: str
    statements: list[StatementRef]


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
    more_conflicts: int = 0  # conflicts found but not shown (``/news conflicts ID`` lists them)


@dataclass(slots=True)
class Digest:
    channel: str
    generated_at: datetime
    stories: list[StoryDigest] = field(default_factory=list)
    topic: str | None = None
    more_stories: int = 0  # stories with news the digest had no room for (still pending)
    subscriptions: list[str] = field(default_factory=list)  # public ids of what it is for
    # 0: a digest told to the channel; n >= 1: page n of "More stories", a private look at
    # the stories with news the channel was not told (its "More stories" shows page n + 1)
    page: int = 0
    catch_up: bool = False  # the channel's first digest: what it holds so far, worded as such
    # How it is posted (its subscription's thread mode): "off" (messages in the channel),
    # "digest" (a parent message, the digest in its thread), "story" (a thread per story).
    thread: str = "off"

    @property
    def empty(self) -> bool:
        return not self.stories
