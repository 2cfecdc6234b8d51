"""Compose one channel's digest: only stories with coverage new to the channel.

For a story the channel has not seen: a short multi-source summary. For a story it knows: what
the new articles add (novel statements) and what they contradict or revise. Every statement is
attributed to its outlet. The analysis functions are pure (``bot.analysis``); this module
gathers their input from the store and the channel's memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from bot.analysis import Statement
from bot.analysis.analyzed import AnalyzedArticle, KnownText, known_of_texts, merge_known
from bot.analysis.conflicts import Conflict
from bot.analysis.novelty import novel_statements
from bot.analysis.summarize import summarize
from bot.digest.conflicts import cap, story_conflicts
from bot.digest.model import ArticleRef, ConflictRef, Digest, StatementRef, StoryDigest
from bot.digest.ranking import Candidate, choose, rank
from bot.digest.stored import gc_paused, known_texts, load_analyses
from bot.errors import UserError
from bot.models import Article
from bot.queries.language import parse_query
from bot.queries.relevance import topic_stories
from bot.settings import DigestSettings
from bot.storage import Store
from bot.storage.deliveries import last_told_at
from bot.storage.memory import (
    delivered_statements,
    followed_stories,
    known_stories,
    recent_statements,
    stories_with_unseen,
)
from bot.storage.muted import MutedStories
from bot.storage.scope import EVERYTHING, Scope


@dataclass(slots=True)
class Composed:
    """A digest plus what it shows, for recording it as delivered.

    ``shown`` is (story id, article ids, statements) for each story of the digest, ``ranked``
    its ranking facts in the same order; ``left_out`` the ranked stories with news the digest
    had no room for, ``unranked`` those with news beyond the ones read and ranked (neither is
    recorded: they stay pending for the next digest).
    """

    digest: Digest
    shown: list[tuple[int, list[int], list[str]]] = field(default_factory=list)
    ranked: list[Candidate] = field(default_factory=list)
    left_out: list[Candidate] = field(default_factory=list)
    unranked: set[int] = field(default_factory=set)


class _Refs:
    def __init__(self, articles: dict[int, Article]) -> None:
        self.articles = articles

    def statement(self, s: Statement, claim_by: str | None = None) -> StatementRef:
        art = self.articles[s.article_id]
        return StatementRef(
            text=s.text,
            article_id=art.ext_id,
            source=s.outlet,
            published=s.published,
            url=art.url,
            claim_by=claim_by,
            dated=art.dated,
        )


@dataclass(slots=True)
class ChannelView:
    """What the channel was given before, read once per digest."""

    key: str
    focus: str  # the words of the channel's topic, which selection favours
    seen_stories: set[int]
    followed: set[int]
    scope: Scope = EVERYTHING  # the articles the channel's workspace may see


@dataclass(slots=True)
class StoryNews:
    """One story's news for the channel: what is new, what it was told, what disagrees."""

    story_id: int
    public_id: str
    title: str
    known: bool  # the channel was told about the story before
    followed: bool  # the channel follows the story (a story subscription)
    fresh: list[Article]  # new originals, oldest first
    edits: list[Article]  # new edited copies (quoted only where they raise a conflict)
    old: list[Article]  # originals the channel was given, or backfill
    outlets: dict[int, list[str]]  # every outlet that ran each original
    analyses: dict[int, AnalyzedArticle]
    conflicts: list[Conflict]  # those the channel was not shown before
    already: list[str]  # statements of this story the channel was given
    refs: _Refs

    @property
    def candidate(self) -> Candidate:
        new = self.fresh or self.edits
        return Candidate(
            story_id=self.story_id,
            conflicts=len(self.conflicts),
            follows=self.known or self.followed,
            outlets=len(self.new_outlets()),
            latest=max(a.published_at for a in new),
        )

    def new_outlets(self) -> list[str]:
        """Every outlet that ran one of the new articles (the edited copies' outlets when
        only copies are new), first seen first."""
        if not self.fresh:
            return list(dict.fromkeys(c.outlet for c in self.edits))
        found: dict[str, None] = {}
        for a in self.fresh:
            found.update(dict.fromkeys(self.outlets.get(a.id or -1, [a.outlet])))
        return list(found)


async def _story_articles(
    store: Store, story_id: int, scope: Scope = EVERYTHING
) -> tuple[list[Article], dict[int, list[str]], set[int]]:
    """A story's originals in time order, every outlet that ran each, and the backfill ids
    (of the articles ``scope`` sees)."""
    originals = await store.story_articles(story_id, scope=scope)
    outlets = await store.story_outlets(story_id, scope=scope)
    return originals, outlets, await store.backfill_ids(story_id)


async def candidate_stories(
    store: Store,
    key: str,
    *,
    topic: dict[int, list[str]] | None,
    story_id: int | None,
    scope: Scope = EVERYTHING,
) -> list[int]:
    """The stories a digest for channel ``key`` considers: the followed one, the topic's (best
    first, none below its cut-off: :func:`bot.queries.relevance.topic_stories`), or every story,
    most
    recent first; never one the channel muted (:class:`bot.storage.muted.MutedStories`)."""
    if story_id is not None:
        ids = [story_id]
    elif topic is not None:
        ids = list(topic)
    else:
        ids = await store.live_story_ids(scope)
    muted = await MutedStories(store).story_ids(key)
    return [sid for sid in ids if sid not in muted] if muted else ids


async def compose_digest(
    store: Store,
    settings: DigestSettings,
    *,
    key: str,
    channel: str,
    now: datetime,
    topic: str | None = None,
    story_id: int | None = None,
    scope: Scope = EVERYTHING,
) -> Composed:
    """The digest for channel ``key``: new stories summarised, known ones updated, from the
    articles ``scope`` (the channel's workspace) sees.

    Three steps: load every candidate story's news (:func:`load_news`), choose the ones
    to show (:func:`bot.digest.ranking.choose`), build each one's sections
    (:func:`build_story`).
    """
    view = await load_channel(store, key, topic=topic, story_id=story_id, scope=scope)
    matched = await topic_stories(store, settings, topic, story_id, scope=scope)
    ids = await candidate_stories(store, key, topic=matched, story_id=story_id, scope=scope)
    ranked, unranked = await stories_to_rank(store, key, ids, settings.max_stories, scope)
    news = {n.story_id: n for n in await load_news(store, view, ranked)}
    chosen, left_out = choose([n.candidate for n in news.values()], settings.max_stories)
    composed = Composed(Digest(channel=channel, generated_at=now, topic=topic))
    composed.digest.catch_up = await last_told_at(store, key) is None  # never told anything
    composed.left_out = left_out
    composed.unranked = unranked
    composed.digest.more_stories = len(left_out) + len(composed.unranked)
    told: KnownText | None = None
    for candidate in chosen:
        if told is None:  # what the channel was given lately, in any story
            told = known_of_texts(await recent_statements(store, key, RECENTLY_TOLD))
        story, shown = await build_story(store, settings, view, news[candidate.story_id], told)
        story.matched_terms = (matched or {}).get(candidate.story_id, [])
        composed.digest.stories.append(story)
        composed.shown.append(shown)
        composed.ranked.append(candidate)
        told = merge_known([told, known_of_texts(shown[2])])  # no story repeats another
    return composed


def merge_composed(parts: list[Composed], limit: int) -> Composed:
    """One digest from the digests of a channel's several subscriptions: each story once (as
    the first part shows it), the ``limit`` best by the ranking rule, the rest left out."""
    first = parts[0]
    items: dict[int, tuple[Candidate, StoryDigest, tuple[int, list[int], list[str]]]] = {}
    for part in parts:
        for candidate, story, shown in zip(
            part.ranked, part.digest.stories, part.shown, strict=True
        ):
            items.setdefault(candidate.story_id, (candidate, story, shown))
    chosen, dropped = choose([c for c, _, _ in items.values()], limit)
    left = {c.story_id: c for part in parts for c in part.left_out if c.story_id not in items}
    left.update((c.story_id, c) for c in dropped)
    digest = Digest(
        channel=first.digest.channel,
        generated_at=first.digest.generated_at,
        topic=first.digest.topic,
        catch_up=first.digest.catch_up,
    )
    merged = Composed(digest, left_out=rank(left.values()))
    for candidate in chosen:
        _, story, shown = items[candidate.story_id]
        digest.stories.append(story)
        merged.shown.append(shown)
        merged.ranked.append(candidate)
    merged.unranked = {sid for part in parts for sid in part.unranked} - items.keys() - left.keys()
    digest.more_stories = len(merged.left_out) + len(merged.unranked)
    return merged


# ------------------------------------------------------------------------------ load
async def load_channel(
    store: Store,
    key: str,
    *,
    topic: str | None = None,
    story_id: int | None = None,
    scope: Scope = EVERYTHING,
) -> ChannelView:
    # a digest of one story (a followed story, a preview) reads only that story's state
    among = None if story_id is None else [story_id]
    followed = {story_id} if story_id is not None else await followed_stories(store, key)
    return ChannelView(
        key=key,
        focus=topic_focus(topic),
        seen_stories=await known_stories(store, key, among),
        followed=followed,
        scope=scope,
    )


def ranked_stories(max_stories: int) -> int:
    """How many stories with news a digest reads and ranks (the first in candidate order:
    most recently active, or best topic match); a fresh channel in a large database does not
    read every story."""
    return max(RANKED_MIN, RANKED_PER_SHOWN * max_stories)


async def stories_to_rank(
    store: Store, key: str, ids: list[int], max_stories: int, scope: Scope = EVERYTHING
) -> tuple[list[int], set[int]]:
    """(the candidates that may have news for the channel, to read and rank, in order; those
    beyond :func:`ranked_stories` that have a new original: news for sure, counted, not read)."""
    # One story (a followed story, a preview) is read directly; many are filtered first.
    pending = (
        await stories_with_unseen(store, key, ids, scope)
        if len(ids) > 1
        else dict.fromkeys(ids, True)
    )
    ids = [sid for sid in ids if sid in pending]
    cap = ranked_stories(max_stories)
    return ids[:cap], {sid for sid in ids[cap:] if pending[sid]}


async def load_news(store: Store, view: ChannelView, story_ids: list[int]) -> list[StoryNews]:
    """The news of each of ``story_ids`` that has some for the channel (in that order)."""
    found: list[StoryNews] = []
    for sid in story_ids:
        news = await load_story_news(store, view, sid)
        if news is not None:
            found.append(news)
    return found


async def load_story_news(store: Store, view: ChannelView, sid: int) -> StoryNews | None:
    """A story's news for the channel, or ``None`` when it has none."""
    # the one path to a story's conflicts (`/news conflicts` reads it too): the story's
    # articles split into what the channel was given (or is backfill) and what is new to it
    found = await story_conflicts(store, sid, key=view.key, scope=view.scope)
    if not found.fresh and not found.edits:
        return None
    row = await store.story_heading(sid, view.scope)
    if row is None:
        return None
    conflicts = found.conflicts
    if not found.fresh and not conflicts:
        return None  # edited copies that change no fact are no news
    analyses = found.analyses | await load_analyses(
        store, [a for a in found.fresh if a.id not in found.analyses]
    )
    known = sid in view.seen_stories
    already = await delivered_statements(store, view.key, sid) if known else []
    # A disagreement the channel was shown before is not news again.
    unseen = [c for c in conflicts if not all(s.text in already for s in c.statements)]
    return StoryNews(
        story_id=sid,
        public_id=row[0],
        title=row[1],
        known=known,
        followed=sid in view.followed,
        fresh=found.fresh,
        edits=found.edits,
        old=found.old,
        outlets=found.outlets,
        analyses=analyses,
        conflicts=unseen,
        already=already,
        refs=_Refs({a.id: a for a in [*found.originals, *found.edits] if a.id is not None}),
    )


def _analysed(
    articles: list[Article], analyses: dict[int, AnalyzedArticle]
) -> list[AnalyzedArticle]:
    return [analyses[a.id] for a in articles if a.id in analyses]


# -------------------------------------------------------------------------- sections
async def build_story(
    store: Store,
    settings: DigestSettings,
    view: ChannelView,
    news: StoryNews,
    told: KnownText,
) -> tuple[StoryDigest, tuple[int, list[int], list[str]]]:
    """The story as shown, and what it shows (story id, article ids, statements)."""
    story = StoryDigest(id=news.public_id, title=news.title, known=news.known)
    story.articles, story.outlets = article_section(news)
    if news.known:
        story.new = await new_section(store, settings, view, news, told)
    else:
        story.summary = summary_section(settings, view, news, told)
    story.conflicts, story.more_conflicts = cap(conflict_section(news), settings.max_conflicts)
    story.articles.extend(edited_copy_section(news, story.conflicts))
    shown_text = [s.text for s in [*story.summary, *story.new]]
    shown_text.extend(s.text for c in story.conflicts for s in c.statements)
    shown_ids = [a.id for a in [*news.fresh, *news.edits] if a.id is not None]
    return story, (news.story_id, shown_ids, shown_text)


def article_section(news: StoryNews) -> tuple[list[ArticleRef], list[str]]:
    """The new articles, and every outlet that ran one of them (first seen first)."""
    articles = [ArticleRef(a.ext_id, a.title, a.url, a.outlet, a.published_at) for a in news.fresh]
    return articles, news.new_outlets() if news.fresh else []


def _fresh_analyses(news: StoryNews) -> list[AnalyzedArticle]:
    return _analysed(news.fresh, news.analyses)


def summary_section(
    settings: DigestSettings, view: ChannelView, news: StoryNews, told: KnownText
) -> list[StatementRef]:
    """A new story's summary: what its new articles say most, not told to the channel."""
    with gc_paused():
        summary = summarize(
            _fresh_analyses(news), n=settings.summary_sentences, focus=view.focus, known=told,
            words=settings.summary_words, solver=settings.selection,
        )  # fmt: skip
    return [news.refs.statement(s) for s in summary]


async def new_section(
    store: Store, settings: DigestSettings, view: ChannelView, news: StoryNews, told: KnownText
) -> list[StatementRef]:
    """A known story's "what's new": statements its earlier coverage and the channel lack."""
    background = await known_texts(store, news.old, news.analyses)
    known_text = merge_known([told, known_of_texts(news.already), *background.values()])
    with gc_paused():
        novel = novel_statements(
            _fresh_analyses(news),
            known_text,
            max_items=settings.max_new_statements,
            focus=view.focus,
            words=settings.new_words,
            solver=settings.selection,
        )
    return [news.refs.statement(s) for s in novel]


def conflict_section(news: StoryNews) -> list[ConflictRef]:
    shown: list[ConflictRef] = []
    for conflict in news.conflicts:
        statements = [
            news.refs.statement(s, claim.removeprefix("claim by ") if claim else None)
            for s, claim in zip(conflict.statements, conflict.claims, strict=False)
        ]
        kind: Literal["contradiction", "revision"] = (
            "revision" if conflict.kind == "revision" else "contradiction"
        )
        shown.append(ConflictRef(kind, conflict.fact, statements))
    return shown


def edited_copy_section(news: StoryNews, shown: list[ConflictRef]) -> list[ArticleRef]:
    """An edited copy is listed where one of its statements is quoted."""
    quoted = {(s.text, s.source) for c in shown for s in c.statements}
    cited = {
        s.article_id for c in news.conflicts for s in c.statements if (s.text, s.outlet) in quoted
    }
    return [
        ArticleRef(c.ext_id, c.title, c.url, c.outlet, c.published_at)
        for c in news.edits
        if c.id in cited
    ]


# ------------------------------------------------------------------------- helpers
def topic_focus(topic: str | None) -> str:
    """The words a topic is about (its positive terms), which digests favour; a topic that
    is a followed story id, or none, focuses on nothing."""
    if not topic:
        return ""
    try:
        query = parse_query(topic)
    except UserError:
        return ""
    return " ".join(w for term in query.terms() for w in term.words)


RANKED_MIN = 50  # stories with news read and ranked, at least
RANKED_PER_SHOWN = 5  # ... or this many per story shown (max_stories)
RECENTLY_TOLD = 1000  # statements a new story's summary must not repeat (newest first)
