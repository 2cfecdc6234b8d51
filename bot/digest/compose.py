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
from bot.analysis.conflicts import Conflict, conflicts_between, conflicts_in_sequence
from bot.analysis.novelty import novel_statements
from bot.analysis.summarize import summarize
from bot.digest.analyses import gc_paused, known_texts, load_analyses
from bot.digest.memory import (
    delivered_articles,
    delivered_statements,
    known_stories,
    recent_statements,
)
from bot.digest.model import ArticleRef, ConflictRef, Digest, StatementRef, StoryDigest
from bot.errors import UserError
from bot.models import Article
from bot.query import parse_query
from bot.settings import DigestSettings
from bot.storage import Store
from bot.topics import match_stories


@dataclass(slots=True)
class Composed:
    """A digest plus what it shows, for recording it as delivered."""

    digest: Digest
    shown: list[tuple[int, list[int], list[str]]] = field(default_factory=list)


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


async def _story_articles(
    store: Store, story_id: int
) -> tuple[list[Article], dict[int, list[str]], set[int]]:
    """A story's originals in time order, every outlet that ran each, and the backfill ids."""
    originals = await store.story_articles(story_id)
    outlets = await store.story_outlets(story_id)
    rows = await store.fetchall(
        "SELECT id FROM articles WHERE story_id = ? AND backfill = 1", (story_id,)
    )
    return originals, outlets, {int(r[0]) for r in rows}


async def candidate_stories(
    store: Store, *, topic: str | None, story_id: int | None, limit: int
) -> list[int]:
    if story_id is not None:
        return [story_id]
    if topic:
        return [m.story_id for m in await match_stories(store, topic, limit=limit * 3)]
    rows = await store.fetchall(
        "SELECT id FROM stories WHERE merged_into IS NULL ORDER BY last_seen_at DESC, id"
    )
    return [int(r[0]) for r in rows]


async def compose_digest(
    store: Store,
    settings: DigestSettings,
    *,
    key: str,
    channel: str,
    now: datetime,
    topic: str | None = None,
    story_id: int | None = None,
) -> Composed:
    """The digest for channel ``key``: new stories summarised, known ones updated."""
    digest = Digest(channel=channel, generated_at=now, topic=topic)
    focus = topic_focus(topic)
    composed = Composed(digest)
    seen_articles = await delivered_articles(store, key)
    seen_stories = await known_stories(store, key)
    told: KnownText | None = None
    for sid in await candidate_stories(
        store, topic=topic, story_id=story_id, limit=settings.max_stories
    ):
        if len(digest.stories) >= settings.max_stories:
            break
        originals, outlets, backfill = await _story_articles(store, sid)
        # Backfill (old items of a feed's first fetch, republished items) is never news, but it
        # is background the channel does not need repeated.
        fresh = [a for a in originals if a.id not in seen_articles and a.id not in backfill]
        edits = [
            c
            for c in edited_copies(originals, await store.story_articles(sid, copies=True))
            if c.id not in seen_articles and c.id not in backfill
        ]
        if not fresh and not edits:
            continue
        old = [a for a in originals if a.id in seen_articles or a.id in backfill]
        row = await store.fetchone("SELECT public_id, title FROM stories WHERE id = ?", (sid,))
        if row is None:
            continue
        refs = _Refs({a.id: a for a in [*originals, *edits] if a.id is not None})
        earlier, raising = conflict_articles(old, fresh)
        analyses = await load_analyses(
            store, [*fresh, *earlier, *edits, *originals_of(edits, originals)]
        )
        with gc_paused():
            conflicts = story_conflicts(
                [analyses[a.id] for a in earlier if a.id in analyses],
                [analyses[a.id] for a in raising if a.id in analyses],
            ) + copy_conflicts(edits, analyses)
        if not fresh and not conflicts:
            continue  # edited copies that change no fact are no news
        known = sid in seen_stories
        story = StoryDigest(id=row[0], title=row[1], known=known)
        for a in fresh:
            assert a.id is not None
            story.articles.append(ArticleRef(a.ext_id, a.title, a.url, a.outlet, a.published_at))
            for outlet in outlets.get(a.id, [a.outlet]):
                if outlet not in story.outlets:
                    story.outlets.append(outlet)
        fresh_analyses = [analyses[a.id] for a in fresh if a.id in analyses]
        shown_text: list[str] = []
        if told is None:  # what the channel was given lately, in any story
            told = known_of_texts(await recent_statements(store, key, RECENTLY_TOLD))
        if not known:
            with gc_paused():
                summary = summarize(
                    fresh_analyses, n=settings.summary_sentences, focus=focus, known=told
                )
            for s in summary:
                story.summary.append(refs.statement(s))
                shown_text.append(s.text)
            already: list[str] = []
        else:
            already = await delivered_statements(store, key, sid)
            background = await known_texts(store, old)
            known_text = merge_known([told, known_of_texts(already), *background.values()])
            with gc_paused():
                novel = novel_statements(
                    fresh_analyses, known_text, max_items=settings.max_new_statements, focus=focus
                )
            for s in novel:
                story.new.append(refs.statement(s))
                shown_text.append(s.text)
        for conflict in conflicts:
            statements = [
                refs.statement(s, claim.removeprefix("claim by ") if claim else None)
                for s, claim in zip(conflict.statements, conflict.claims, strict=False)
            ]
            if all(s.text in already for s in statements):
                continue  # the channel was shown this disagreement before
            kind: Literal["contradiction", "revision"] = (
                "revision" if conflict.kind == "revision" else "contradiction"
            )
            story.conflicts.append(ConflictRef(kind, conflict.fact, statements))
            shown_text.extend(s.text for s in statements)
        cited = {s.article_id for c in conflicts for s in c.statements}
        for c in edits:  # an edited copy is listed where one of its statements is quoted
            if c.id in cited:
                story.articles.append(
                    ArticleRef(c.ext_id, c.title, c.url, c.outlet, c.published_at)
                )
        digest.stories.append(story)
        told = merge_known([told, known_of_texts(shown_text)])  # no story repeats another
        shown_ids = [a.id for a in [*fresh, *edits] if a.id is not None]
        composed.shown.append((sid, shown_ids, shown_text))
    return composed


def edited_copies(originals: list[Article], copies: list[Article]) -> list[Article]:
    """The copies whose text differs from their original's (a syndicated copy that was
    edited: it may change a figure, a date, a name)."""
    hashes = {a.id: a.content_hash for a in originals}
    return [
        c
        for c in copies
        if c.duplicate_of in hashes and hashes[c.duplicate_of] != c.content_hash
    ]


def originals_of(copies: list[Article], originals: list[Article]) -> list[Article]:
    wanted = {c.duplicate_of for c in copies}
    return [a for a in originals if a.id in wanted]


def copy_conflicts(
    copies: list[Article], analyses: dict[int, AnalyzedArticle]
) -> list[Conflict]:
    """What each edited copy changes against its original: the same statements with a
    different figure, date, weekday, actor or negation."""
    found: list[Conflict] = []
    for c in copies:
        mine, theirs = analyses.get(c.id or -1), analyses.get(c.duplicate_of or -1)
        if mine is not None and theirs is not None:
            found.extend(conflicts_between(theirs.prepared, mine.prepared))
    return found


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


RECENTLY_TOLD = 1000  # statements a new story's summary must not repeat (newest first)
CONFLICT_WINDOW = 12  # a fresh article is checked against the articles reported just before it
CONFLICT_FRESH = 12  # at most this many of the newest fresh articles raise conflicts


def conflict_articles(
    old: list[Article], fresh: list[Article]
) -> tuple[list[Article], list[Article]]:
    """Which articles conflict detection reads: (the earlier ones in the window of the first
    article raising conflicts, the articles raising them: the newest ``CONFLICT_FRESH``
    fresh ones). A new story's long history is summarised, not re-litigated line by line."""
    ordered = old + fresh
    first = max(len(old), len(ordered) - CONFLICT_FRESH, 1)
    return ordered[max(0, first - CONFLICT_WINDOW) : first], ordered[first:]


def story_conflicts(
    earlier: list[AnalyzedArticle], raising: list[AnalyzedArticle]
) -> list[Conflict]:
    """Conflicts each article of ``raising`` (in time order, after ``earlier``) raises
    against the ``CONFLICT_WINDOW`` articles reported just before it.

    The window bounds the cost of a long story; a disagreement with something older has
    usually been restated, and flagged, in between.
    """
    return conflicts_in_sequence(
        [a.prepared for a in earlier + raising],
        first=max(len(earlier), 1),
        window=CONFLICT_WINDOW,
    )
