"""One workspace's subscriptions and sources are invisible to another (and a Discord guild and a
Slack team with the same id are different workspaces), through the command dispatcher."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.delivery.subscriptions import Subscriptions
from bot.digest.compose import compose_digest
from bot.models import RawArticle, utcnow
from bot.services import Services, open_services
from bot.settings import Settings
from bot.storage.memory import stories_with_unseen
from bot.storage.scope import EVERYTHING, Scope, sync_shared
from handlers import autocomplete, dispatch, parse_text
from handlers.base import CommandRequest, Reply

FEED_A = "https://feeds.example.org/team-a.xml"


@pytest.fixture
async def sv(tmp_path: Path) -> AsyncIterator[Services]:
    settings = Settings.model_validate(
        {"database": {"path": str(tmp_path / "i.db")}, "seeds": {"folders": []}}
    )
    services = await open_services(settings)
    yield services
    await services.close()


def req(text: str, *, platform: str, workspace: str, channel: str = "C1") -> CommandRequest:
    command, args = parse_text(text)
    return CommandRequest(
        platform=platform,
        workspace=workspace,
        channel=channel,
        user="U1",
        is_admin=True,
        command=command,
        args=args,
    )


def text_of(reply: Reply) -> str:
    return "\n".join([reply.title, *reply.lines])


# Same channel id everywhere: only the workspace (and platform) tells them apart.
A = {"platform": "slack", "workspace": "T-A"}
OTHERS = (
    {"platform": "slack", "workspace": "T-B"},
    {"platform": "discord", "workspace": "T-A"},  # a guild whose id equals team A's
)


async def test_subscriptions_of_one_workspace_are_invisible_to_another(sv: Services) -> None:
    made = await dispatch(req('subscribe "harbour strike" daily 08:00', **A), sv)
    assert not made.error, text_of(made)
    public_id = re.search(r"sub-\d+", text_of(made))
    assert public_id is not None
    sub_id = public_id.group(0)
    mine = await dispatch(req("subscriptions", **A), sv)
    assert sub_id in text_of(mine)
    for other in OTHERS:
        listed = await dispatch(req("subscriptions", **other), sv)
        assert sub_id not in text_of(listed) and "harbour" not in text_of(listed)
        suggestions = await autocomplete("subscription", "", req("unsubscribe", **other), sv)
        assert all(sub_id not in label and sub_id != value for label, value in suggestions)
        taken = await dispatch(req(f"unsubscribe {sub_id}", **other), sv)
        assert taken.error, text_of(taken)
    assert [s.public_id for s in await Subscriptions(sv.store).all_enabled()] == [sub_id]
    own = await autocomplete("subscription", "", req("unsubscribe", **A), sv)
    assert any(value == sub_id for _label, value in own)


async def test_sources_of_one_workspace_are_invisible_to_another(sv: Services) -> None:
    async with sv.store.transaction() as conn:  # as `sources add` stores it (no fetch here)
        await sv.store.upsert_source(
            conn, kind="feed", locator=FEED_A, workspace="slack:T-A", now=utcnow()
        )
    assert FEED_A in text_of(await dispatch(req("sources list", **A), sv))
    assert not (await dispatch(req(f"sources status {FEED_A}", **A), sv)).error
    for other in OTHERS:
        listed = await dispatch(req("sources list", **other), sv)
        assert FEED_A not in text_of(listed)
        for action in ("status", "remove"):
            answer = await dispatch(req(f"sources {action} {FEED_A}", **other), sv)
            assert answer.error and "not one of this workspace's sources" in text_of(answer)
    assert FEED_A in text_of(await dispatch(req("sources list", **A), sv))
    rows = await sv.store.fetchall("SELECT workspace, enabled FROM sources")
    assert rows == [("slack:T-A", 1)]  # nobody else removed or disabled it


# ------------------------------------------------------------------ isolation of sources
# A feed added in one workspace feeds that workspace only; the operator's sources (seeds,
# [[feeds]]) and the feeds the operator shares feed everyone (bot/storage/scope.py).

FEED_B = "https://feeds.example.org/team-b.xml"
SEED_TEXT = (
    "The lighthouse keepers of the northern coast voted on Tuesday to accept the new rota, "
    "ending a dispute that had left three lighthouses unstaffed for most of the winter. The "
    "keepers' association said the lighthouse rota would start next month."
)
A_TEXT = (
    "The zeppelin regatta over the lake was postponed on Sunday after strong winds grounded "
    "the airships, the organisers said. Eleven zeppelin crews had registered for the regatta, "
    "which draws thousands of spectators to the shore every summer."
)
B_TEXT = (
    "The marmot census in the high valleys counted more marmots than in any year since the "
    "survey began, rangers said on Monday. The marmot colonies grew after a mild spring and "
    "a late snowfall that kept the meadows green."
)
B = {"platform": "slack", "workspace": "T-B"}
DISCORD_A = {"platform": "discord", "workspace": "T-A"}  # same id as team A, other platform


async def _feed(sv: Services, workspace: str, url: str) -> int:
    """A feed as `sources add` stores it (``''``: the operator's, as `[[feeds]]` are)."""
    async with sv.store.transaction() as conn:
        return await sv.store.upsert_source(
            conn, kind="feed", locator=url, workspace=workspace, now=utcnow()
        )


async def _item(
    sv: Services, source_id: int, url: str, title: str, text: str, *, link: str | None = None
) -> None:
    """One feed item through the ingest path the poller uses."""
    raw = RawArticle(
        title=title,
        text=text,
        origin=url,
        url=link or f"{url.removesuffix('.xml')}/{abs(hash(title))}",
        guid=title,
        outlet="Example " + url.rsplit("/", 1)[-1],
        published=utcnow(),
        source_id=source_id,
    )
    outcome = await sv.ingestor.ingest_item(raw, locator=url)
    assert outcome.status in ("stored", "duplicate", "unchanged"), outcome


async def _story_of(sv: Services, word: str) -> str:
    row = await sv.store.fetchone(
        "SELECT s.public_id FROM stories s JOIN articles a ON a.story_id = s.id "
        "WHERE a.title LIKE ? AND a.duplicate_of IS NULL",
        (f"%{word}%",),
    )
    assert row is not None, word
    return str(row[0])


async def _sees(sv: Services, where: dict[str, str], word: str) -> dict[str, bool]:
    """Whether ``word`` (an article's headline word) reaches this workspace: search, digest,
    active stories, autocomplete, story and conflicts commands, a topic subscription."""
    request = {**where, "channel": "C-look"}
    story = await _story_of(sv, word)
    searched = await dispatch(req(f"search {word}", **request), sv)
    digest = await dispatch(req("digest", **request), sv)
    assert digest.digest is not None or digest.lines[0].startswith("Nothing new")
    topics = await dispatch(req("topics", **request), sv)
    suggested = await autocomplete("story", "", req("story", **request), sv)
    typed = await autocomplete("story", word.lower(), req("story", **request), sv)
    shown = await dispatch(req(f"story {story}", **request), sv)
    disputed = await dispatch(req(f"conflicts {story}", **request), sv)
    # (in another channel: this one's digest must stay the every-story digest)
    topical = await dispatch(req(f"subscribe {word.lower()}", **where, channel=f"C-{word}"), sv)
    digest_text = text_of(digest) + " ".join(
        f"{s.title} {' '.join(a.title for a in s.articles)} {' '.join(s.outlets)}"
        for s in (digest.digest.stories if digest.digest else [])
    )
    return {
        "search": word in " ".join(searched.lines),
        "digest": word in digest_text,
        "topics": story in text_of(topics) or word in text_of(topics),
        "autocomplete": any(value == story for _label, value in suggested)
        or any(word in label for label, _value in typed),
        "story": not shown.error,
        "conflicts": not disputed.error,
        "subscribe": "No stored story matches" not in text_of(topical),
    }


def _everywhere(seen: dict[str, bool]) -> bool:
    return all(seen.values())


def _nowhere(seen: dict[str, bool]) -> bool:
    return not any(seen.values())


async def _two_feeds(sv: Services) -> None:
    seeds = await _feed(sv, "", "https://operator.example/wire.xml")
    await _item(sv, seeds, "https://operator.example/wire.xml", "Lighthouse rota agreed", SEED_TEXT)
    a = await _feed(sv, "slack:T-A", FEED_A)
    await _item(sv, a, FEED_A, "Zeppelin regatta postponed", A_TEXT)
    b = await _feed(sv, "slack:T-B", FEED_B)
    await _item(sv, b, FEED_B, "Marmot census record", B_TEXT)


async def test_a_workspace_feed_reaches_only_that_workspace(sv: Services) -> None:
    await _two_feeds(sv)
    assert _everywhere(await _sees(sv, A, "Zeppelin"))
    assert _everywhere(await _sees(sv, B, "Marmot"))
    for other in (B, DISCORD_A):
        assert _nowhere(await _sees(sv, other, "Zeppelin")), other
    assert _nowhere(await _sees(sv, A, "Marmot"))
    for anyone in (A, B, DISCORD_A):  # the operator's sources feed everyone
        assert _everywhere(await _sees(sv, anyone, "Lighthouse")), anyone


async def test_followed_or_scheduled_digests_of_another_workspace_stay_out(
    sv: Services,
) -> None:
    await _two_feeds(sv)
    story = await _story_of(sv, "Zeppelin")
    refused = await dispatch(req(f"follow {story}", **B), sv)
    assert refused.error and "no story" in text_of(refused)
    subs = Subscriptions(sv.store)
    assert not (await dispatch(req("subscribe zeppelin OR marmot", **B), sv)).error
    (sub,) = await subs.all_enabled()
    composed = await compose_digest(
        sv.store,
        sv.settings.digest,
        key=sub.channel_key,
        channel=sub.channel,
        now=utcnow(),
        topic=sub.topic_query,
        scope=Scope.of(sub.platform, sub.workspace),
    )
    titles = [a.title for s in composed.digest.stories for a in s.articles]
    assert titles == ["Marmot census record"]


async def test_a_feed_the_operator_shares_reaches_every_workspace(tmp_path: Path) -> None:
    for shared in ([FEED_A], ["Team A wire"], "*"):
        settings = Settings.model_validate(
            {
                "database": {"path": str(tmp_path / f"{len(str(shared))}.db")},
                "seeds": {"folders": []},
                "sources": {"shared": shared},
            }
        )
        sv = await open_services(settings)
        try:
            async with sv.store.transaction() as conn:
                a = await sv.store.upsert_source(
                    conn,
                    kind="feed",
                    locator=FEED_A,
                    workspace="slack:T-A",
                    name="Team A wire",
                    now=utcnow(),
                )
            b = await _feed(sv, "slack:T-B", FEED_B)
            await sync_shared(sv.store, settings.sources.shared)  # as at start / sources add
            await _item(sv, a, FEED_A, "Zeppelin regatta postponed", A_TEXT)
            await _item(sv, b, FEED_B, "Marmot census record", B_TEXT)
            assert _everywhere(await _sees(sv, B, "Zeppelin")), shared
            marmot_seen_by_a = await _sees(sv, A, "Marmot")
            assert _everywhere(marmot_seen_by_a) == (shared == "*"), shared
        finally:
            await sv.close()


async def test_unsharing_a_feed_in_the_config_takes_it_back(sv: Services) -> None:
    a = await _feed(sv, "slack:T-A", FEED_A)
    await _item(sv, a, FEED_A, "Zeppelin regatta postponed", A_TEXT)
    assert await sync_shared(sv.store, [FEED_A]) == 1
    assert _everywhere(await _sees(sv, B, "Zeppelin"))
    assert await sync_shared(sv.store, [FEED_A]) == 0  # nothing to change: no write
    assert await sync_shared(sv.store, []) == 1
    assert _nowhere(await _sees(sv, B, "Zeppelin"))


async def test_one_url_added_in_two_workspaces_feeds_both(sv: Services) -> None:
    url = "https://feeds.example.org/common.xml"
    a = await _feed(sv, "slack:T-A", url)
    b = await _feed(sv, "slack:T-B", url)
    await _item(sv, a, url, "Zeppelin regatta postponed", A_TEXT)
    await _item(sv, b, url, "Zeppelin regatta postponed", A_TEXT)  # the same item, polled again
    assert await sv.store.scalar("SELECT count(*) FROM articles") == 1  # dedup kept one row
    for owner in (A, B):
        assert _everywhere(await _sees(sv, owner, "Zeppelin")), owner
    assert _nowhere(await _sees(sv, DISCORD_A, "Zeppelin"))


async def test_a_copy_through_another_feed_shows_the_original_to_its_owner(
    sv: Services,
) -> None:
    a = await _feed(sv, "slack:T-A", FEED_A)
    b = await _feed(sv, "slack:T-B", FEED_B)
    await _item(sv, a, FEED_A, "Zeppelin regatta postponed", A_TEXT)
    # B's feed runs the same text under its own URL and outlet: stored as a copy.
    await _item(sv, b, FEED_B, "Zeppelin regatta is off", A_TEXT, link="https://b.example/z")
    assert await sv.store.count_articles() == (1, 1)
    for owner in (A, B):
        assert _everywhere(await _sees(sv, owner, "Zeppelin")), owner
    assert _nowhere(await _sees(sv, DISCORD_A, "Zeppelin"))
    # A sees only its own outlet for the story, not the copy that came through B's feed.
    story = await _story_of(sv, "Zeppelin")
    shown_a = await dispatch(req(f"story {story}", **A), sv)
    assert "1 articles (+0 copies) from 1 outlets" in text_of(shown_a)
    shown_b = await dispatch(req(f"story {story}", **B), sv)
    assert "1 articles (+1 copies) from 2 outlets" in text_of(shown_b)


async def test_a_story_shows_another_workspace_only_the_headlines_it_sees(
    sv: Services,
) -> None:
    """A story grouping a private article with a shared one is titled, for the others, by
    what they can see."""
    a = await _feed(sv, "slack:T-A", FEED_A)
    wire = await _feed(sv, "", "https://operator.example/wire.xml")
    await _item(sv, a, FEED_A, "Zeppelin regatta postponed as winds ground airships", A_TEXT)
    second = A_TEXT.replace("Sunday", "Monday").replace("Eleven", "Twelve")
    await _item(
        sv, wire, "https://operator.example/wire.xml", "Lake airship race called off", second
    )
    story = await _story_of(sv, "Zeppelin")
    assert story == await _story_of(sv, "airship race")  # one story of both articles
    assert "Zeppelin regatta" in (await dispatch(req(f"story {story}", **A), sv)).title
    shown_b = await dispatch(req(f"story {story}", **B), sv)
    assert shown_b.title == f"{story} · Lake airship race called off"
    assert "zeppelin" not in text_of(shown_b).lower()  # nor in its key terms
    labels = await autocomplete("story", "", req("story", **B), sv)
    assert [label for label, value in labels if value == story] == [shown_b.title]


def test_a_scope_alias_must_be_an_identifier() -> None:
    with pytest.raises(ValueError):
        Scope("slack:T").articles("a; DROP TABLE articles")
    assert EVERYTHING.articles() == ("TRUE", ())
    assert Scope.of("console", "") is EVERYTHING


def test_shared_must_be_star_or_a_list() -> None:
    with pytest.raises(ValueError):
        Settings.model_validate({"sources": {"shared": "https://feeds.example.org/a.xml"}})
    assert Settings.model_validate({"sources": {"shared": "*"}}).sources.shared == "*"


async def test_removing_a_feed_with_articles_takes_them_out_of_every_view(sv: Services) -> None:
    a = await _feed(sv, "slack:T-A", FEED_A)
    await _item(sv, a, FEED_A, "Zeppelin regatta postponed", A_TEXT)
    removed = await dispatch(req(f"sources remove {FEED_A}", **A), sv)
    assert not removed.error, text_of(removed)
    assert FEED_A not in text_of(await dispatch(req("sources list", **A), sv))
    for anyone in (A, B):  # the article stays stored, seen by no workspace through it
        assert _nowhere(await _sees(sv, anyone, "Zeppelin")), anyone
    assert await sync_shared(sv.store, "*") == 0  # a removed feed is not shared again
    assert _nowhere(await _sees(sv, B, "Zeppelin"))
    again = await dispatch(req(f"sources remove {FEED_A}", **A), sv)
    assert again.error and "not one of this workspace's sources" in text_of(again)


async def test_a_free_text_topic_digest_scores_only_the_workspace_s_stories(
    sv: Services,
) -> None:
    await _two_feeds(sv)

    async def titles(where: dict[str, str], topic: str) -> list[str]:
        composed = await compose_digest(
            sv.store,
            sv.settings.digest,
            key=f"slack:{where['workspace']}:C-topic-{topic}",
            channel="C-topic",
            now=utcnow(),
            topic=topic,
            scope=Scope.of("slack", where["workspace"]),
        )
        return [a.title for s in composed.digest.stories for a in s.articles]

    assert await titles(A, "zeppelin regatta") == ["Zeppelin regatta postponed"]
    assert await titles(B, "zeppelin regatta") == []
    # B's best match sets B's relative cut: A's better-scoring story does not raise it.
    assert await titles(B, "marmot census regatta") == ["Marmot census record"]


async def test_stories_beyond_the_ranked_ones_are_counted_only_when_the_workspace_sees_them(
    sv: Services,
) -> None:
    """``more_stories`` counts stories with news past the ranked ones without reading them:
    that pre-filter applies the scope too, so B is never told of A's stories' existence."""
    await _two_feeds(sv)
    a_story = int(await _row_story(sv, "Zeppelin"))
    b_story = int(await _row_story(sv, "Marmot"))
    ids = [a_story, b_story]
    assert set(await stories_with_unseen(sv.store, "slack:T-B:C9", ids)) == set(ids)
    seen_by_b = await stories_with_unseen(sv.store, "slack:T-B:C9", ids, Scope.of("slack", "T-B"))
    assert set(seen_by_b) == {b_story}


async def _row_story(sv: Services, word: str) -> int:
    row = await sv.store.fetchone(
        "SELECT story_id FROM articles WHERE title LIKE ? AND duplicate_of IS NULL",
        (f"%{word}%",),
    )
    assert row is not None and row[0] is not None, word
    return int(row[0])
