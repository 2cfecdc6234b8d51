"""The `/news` command: CommandRequest in, Reply out, no chat SDK involved."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.delivery.gateway import ChannelRef
from bot.delivery.outbox import Outbox
from bot.digest.model import Digest
from bot.net.ssrf import GuardSettings
from bot.services import Services, open_services
from bot.settings import Settings
from handlers import ALL_COMMANDS, autocomplete, dispatch, parse_text
from handlers.actions import digest_actions
from handlers.base import CommandRequest
from tests.conftest import DUC, need
from tests.feedserver import FeedServer


def settings_for(db: Path) -> Settings:
    return Settings.model_validate({"database": {"path": str(db)}, "seeds": {"folders": []}})


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with a few real newswire topics (8 articles each) and their stories."""
    need(DUC)
    folder = tmp_path_factory.mktemp("handlers")
    by_label: dict[str, list[str]] = {}
    with DUC.open(encoding="utf-8") as fh:
        for line in fh:
            by_label.setdefault(json.loads(line)["label"], []).append(line)
    subset = folder / "subset.jsonl"
    subset.write_text("".join(line for lines in list(by_label.values())[:5] for line in lines[:8]))
    db = folder / "template.db"

    async def build() -> None:
        sv = await open_services(settings_for(db))
        await sv.ingestor.ingest(str(subset), kind="archive")
        await sv.close()

    asyncio.run(build())
    return db


@pytest.fixture
async def sv(template_db: Path, tmp_path: Path) -> AsyncIterator[Services]:
    db = tmp_path / "n.db"
    shutil.copy(template_db, db)
    services = await open_services(settings_for(db))
    yield services
    await services.close()


def req(
    text: str, *, workspace: str = "T1", channel: str = "C1", admin: bool = False
) -> CommandRequest:
    command, args = parse_text(text)
    return CommandRequest(
        platform="slack",
        workspace=workspace,
        channel=channel,
        user="U1",
        is_admin=admin,
        command=command,
        args=args,
    )


class Gateway:
    platform = "slack"

    def __init__(self) -> None:
        self.posts: list[tuple[ChannelRef, Digest]] = []

    async def post_digest(self, channel: ChannelRef, digest: Digest) -> str:
        self.posts.append((channel, digest))
        return f"ts-{len(self.posts)}"

    async def notify_admins(self, workspace: str, text: str) -> None:
        return None


async def biggest_story(sv: Services) -> str:
    row = await sv.store.fetchone(
        "SELECT s.public_id FROM stories s JOIN articles a ON a.story_id = s.id "
        "GROUP BY s.id ORDER BY count(*) DESC, s.id LIMIT 1"
    )
    return str(row[0])


async def test_an_unknown_subcommand_answers_with_help_for_every_command(sv: Services) -> None:
    reply = await dispatch(req("frobnicate"), sv)
    assert reply.ephemeral and not reply.error
    for spec in ALL_COMMANDS:
        assert any(f"/news {spec.name}" in line for line in reply.lines)


async def test_a_user_mistake_is_a_one_line_ephemeral_error(sv: Services) -> None:
    mistakes = (
        "story s-zzzz",
        "subscribe quake schedule='daily 25:00'",
        "unsubscribe sub-x",
        "search (",
    )
    for text in mistakes:
        reply = await dispatch(req(text), sv)
        assert reply.error and reply.ephemeral and len(reply.lines) == 1, text
    reply = await dispatch(req("story"), sv)
    assert reply.error and "usage: /news story <story>" in reply.lines[0]


async def test_sources_is_refused_to_non_admins_and_changes_nothing(sv: Services) -> None:
    reply = await dispatch(req("sources add https://example.org/feed.xml"), sv)
    assert reply.error and "admins" in reply.lines[0]
    assert await sv.store.scalar("SELECT count(*) FROM sources WHERE workspace != ''") == 0


async def test_sources_are_managed_per_workspace(sv: Services, feed_server: FeedServer) -> None:
    port = feed_server.base_url.rsplit(":", 1)[1]
    network = GuardSettings(allow=[f"127.0.0.1:{port}"])  # `add` fetches the feed first
    sv.settings = sv.settings.model_copy(update={"network": network})
    url = feed_server.file_url("node-feedparser/rss2sample.xml")
    added = await dispatch(req(f"sources add {url}", admin=True), sv)
    assert not added.error
    again = await dispatch(req(f"sources add {url}", admin=True), sv)
    assert again.error and "already" in again.lines[0]
    listed = await dispatch(req("sources list", admin=True), sv)
    assert listed.lines[0].startswith(url) and "not fetched yet" in listed.lines[0]
    other = await dispatch(req("sources list", workspace="T2", admin=True), sv)
    assert other.lines == ["No feeds added here yet."]
    refused = await dispatch(req(f"sources remove {url}", workspace="T2", admin=True), sv)
    assert refused.error
    bad = await dispatch(req("sources add file:///etc/passwd", admin=True), sv)
    assert bad.error
    removed = await dispatch(req(f"sources remove {url}", admin=True), sv)
    assert not removed.error
    assert (await dispatch(req("sources list", admin=True), sv)).lines == [
        "No feeds added here yet."
    ]


async def test_search_finds_a_stored_article_by_its_title_words(sv: Services) -> None:
    title = str(await sv.store.scalar("SELECT title FROM articles ORDER BY id DESC LIMIT 1"))
    words = [w for w in title.split() if w.isalpha() and len(w) > 4][:3]
    reply = await dispatch(req("search " + " ".join(words)), sv)
    assert not reply.error
    assert any(title in line for line in reply.lines)


async def test_story_shows_summary_sources_and_a_coverage_png(sv: Services) -> None:
    story_id = await biggest_story(sv)
    reply = await dispatch(req(f"story {story_id}"), sv)
    assert not reply.error and reply.title.startswith(story_id)
    assert reply.attachments and reply.attachments[0].data.startswith(b"\x89PNG")
    assert reply.digest is not None
    story = reply.digest.stories[0]
    assert story.summary and all(s.source for s in story.summary)
    assert story.articles and story.outlets


async def test_conflicts_and_topics_answer_for_real_stories(sv: Services) -> None:
    story_id = await biggest_story(sv)
    reply = await dispatch(req(f"conflicts {story_id}"), sv)
    assert not reply.error and story_id in reply.title and reply.lines
    topics = await dispatch(req("topics"), sv)
    assert any(line.startswith("s-") for line in topics.lines)


async def test_commands_take_now_from_the_services_clock(sv: Services) -> None:
    sv.clock = lambda: datetime(2024, 5, 6, 7, 0, tzinfo=UTC)  # a Monday
    reply = await dispatch(req("subscribe malaria daily 08:00 UTC"), sv)
    assert not reply.error and "next Mon 06 May 08:00" in reply.lines[0], reply.lines
    sv.clock = lambda: datetime(2024, 5, 6, 9, 0, tzinfo=UTC)
    listed = await dispatch(req("subscriptions"), sv)
    assert "next Tue 07 May 08:00" in listed.lines[0], listed.lines


async def test_subscribe_list_and_unsubscribe_within_the_channel(sv: Services) -> None:
    reply = await dispatch(req('subscribe "africa malaria" weekdays 09:00 Europe/Paris'), sv)
    assert not reply.error and reply.lines[0].startswith("sub-1 ·")
    assert "weekdays 09:00 Europe/Paris" in reply.lines[0]
    listed = await dispatch(req("subscriptions"), sv)
    assert [line.split(" ·")[0] for line in listed.lines] == ["sub-1"]
    # Another workspace can neither see, complete nor remove it.
    other = req("unsubscribe sub-1", workspace="T2", admin=True)
    assert (await dispatch(other, sv)).error
    assert await autocomplete("subscription", "", other, sv) == []
    assert await autocomplete("subscription", "sub", req("unsubscribe x"), sv) == [
        ('sub-1 · "africa malaria" · weekdays 09:00', "sub-1")
    ]
    # Another channel of the same workspace needs an admin to remove it.
    assert (await dispatch(req("unsubscribe sub-1", channel="C2"), sv)).error
    done = await dispatch(req("unsubscribe sub-1"), sv)
    assert not done.error
    assert (await dispatch(req("subscriptions"), sv)).lines[0].startswith("This channel has no")


async def test_follow_takes_a_story_id_and_autocomplete_suggests_them(sv: Services) -> None:
    story_id = await biggest_story(sv)
    suggestions = await autocomplete("story", story_id[:4], req("follow x"), sv)
    assert story_id in [value for _, value in suggestions]
    reply = await dispatch(req(f"follow {story_id} hourly"), sv)
    assert not reply.error and story_id in reply.lines[0] and "hourly" in reply.lines[0]


async def test_digest_posts_through_the_outbox_and_the_channel_remembers_it(
    sv: Services,
) -> None:
    gateway = Gateway()
    sv.outbox = Outbox(sv.store, {"slack": gateway}, min_interval=0, events=sv.events)
    first = await dispatch(req("digest"), sv)
    assert not first.error and first.lines[0].startswith("Posted")
    assert len(gateway.posts) == 1 and gateway.posts[0][0] == ChannelRef("slack", "T1", "C1")
    again = await dispatch(req("digest"), sv)
    if gateway.posts[1:]:  # more stories than one digest holds: the rest, none repeated
        first_ids = {s.id for s in gateway.posts[0][1].stories}
        assert first_ids.isdisjoint(s.id for s in gateway.posts[1][1].stories)
    while not again.lines[0].startswith("Nothing new"):
        again = await dispatch(req("digest"), sv)
    assert await sv.store.scalar("SELECT count(*) FROM deliveries WHERE status = 'sent'") == len(
        gateway.posts
    )
    # Another channel has its own memory.
    elsewhere = await dispatch(req("digest", channel="C9"), sv)
    assert elsewhere.lines[0].startswith("Posted")


async def test_digest_without_a_running_outbox_is_a_preview_that_records_nothing(
    sv: Services,
) -> None:
    reply = await dispatch(req("digest"), sv)
    assert reply.digest is not None and not reply.digest.empty
    assert await sv.store.scalar("SELECT count(*) FROM delivered_items") == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'subscribe "ukraine grain" daily 07:30 Europe/Kyiv',
            (
                "subscribe",
                {"topic": '"ukraine grain"', "schedule": "daily 07:30", "timezone": "Europe/Kyiv"},
            ),
        ),
        ("search trump AND putin", ("search", {"query": "trump AND putin"})),
        (
            "sources status https://x.example/f",
            ("sources", {"action": "status", "url": "https://x.example/f"}),
        ),
        ("unsubscribe sub-3", ("unsubscribe", {"subscription": "sub-3"})),
        ("", ("help", {})),
    ],
)
def test_slash_command_text_becomes_a_request(
    text: str, expected: tuple[str, dict[str, str]]
) -> None:
    assert parse_text(text) == expected


@pytest.mark.parametrize(
    ("text", "typed"),
    [
        ("subscribe ukraine every tuesday", {"topic": "ukraine", "schedule": "every tuesday"}),
        ("subscribe ukraine at 9am", {"topic": "ukraine", "schedule": "at 9am"}),
        (
            "subscribe ukraine daily 08:00 Europe/Pariss",
            {"topic": "ukraine", "schedule": "daily 08:00", "timezone": "Europe/Pariss"},
        ),
    ],
)
async def test_slack_text_with_words_that_are_no_schedule_gets_discords_error(
    sv: Services, text: str, typed: dict[str, str]
) -> None:
    """Slack sends text, Discord typed options: the same mistake, the same one-line error,
    and no subscription (never the topic "ukraine every tuesday")."""
    from_text = await dispatch(req(text), sv)
    discord = CommandRequest(
        platform="discord",
        workspace="G1",
        channel="C1",
        user="U1",
        is_admin=False,
        command="subscribe",
        args=typed,
    )
    from_options = await dispatch(discord, sv)
    assert from_text.error and len(from_text.lines) == 1
    assert from_text.lines == from_options.lines
    assert "use hourly" in from_text.lines[0] or "time zone" in from_text.lines[0]
    assert await sv.store.scalar("SELECT count(*) FROM subscriptions") == 0


def press(
    reply_or_id: object, *, user: str = "U1", admin: bool = False, **kw: str
) -> CommandRequest:
    """The request a press of a reply's (first) button makes, as the adapters build it."""
    from handlers.actions import command_request, parse_action

    button_id = reply_or_id if isinstance(reply_or_id, str) else reply_or_id.actions[0].custom_id  # type: ignore[attr-defined]
    base = CommandRequest(
        platform="slack",
        workspace=kw.get("workspace", "T1"),
        channel="C1",
        user=user,
        is_admin=admin,
        command="",
    )
    return command_request(parse_action(button_id), base)


async def channel_subs(sv: Services) -> list[tuple[str | None, str]]:
    from bot.delivery.subscriptions import Subscriptions

    subs = await Subscriptions(sv.store).for_channel(ChannelRef("slack", "T1", "C1"))
    return [(s.topic_query, s.schedule) for s in subs]


async def test_undo_reverses_a_subscribe_an_update_and_an_unsubscribe_once(sv: Services) -> None:
    added = await dispatch(req("subscribe malaria daily 07:00"), sv)
    assert [b.custom_id for b in added.actions] == ["newsbot:undo:1"]
    updated = await dispatch(req("subscribe malaria weekdays 09:00"), sv)
    assert await channel_subs(sv) == [("malaria", "weekdays 09:00")]
    back = await dispatch(press(updated), sv)
    assert back.ephemeral and not back.error and "back to daily 07:00" in back.lines[0]
    assert await channel_subs(sv) == [("malaria", "daily 07:00")]
    again = await dispatch(press(updated), sv)
    assert again.error and "can no longer be undone" in again.lines[0]
    removed = await dispatch(req("unsubscribe sub-1"), sv)
    assert await channel_subs(sv) == []
    restored = await dispatch(press(removed), sv)
    assert not restored.error and "sub-1 restored (daily 07:00 UTC)" in restored.lines[0]
    assert await channel_subs(sv) == [("malaria", "daily 07:00")]
    follow = await dispatch(req(f"follow {await biggest_story(sv)}"), sv)
    assert not (await dispatch(press(follow), sv)).error
    assert await channel_subs(sv) == [("malaria", "daily 07:00")]
    # The first "Subscribed" button still undoes that subscription, restored or not.
    assert not (await dispatch(press(added), sv)).error
    assert await channel_subs(sv) == []
    # A subscription removed since: nothing to undo.
    quake = await dispatch(req("subscribe quake"), sv)
    await dispatch(req("unsubscribe sub-1"), sv)
    gone = await dispatch(press(quake), sv)
    assert not gone.error and "sub-1 was already removed" in gone.lines[0]


async def test_undo_is_for_its_author_or_an_admin_in_the_same_workspace(sv: Services) -> None:
    reply = await dispatch(req("subscribe malaria"), sv)
    other_team = await dispatch(press(reply, workspace="T2", admin=True), sv)
    assert other_team.error and "can no longer be undone" in other_team.lines[0]
    stranger = await dispatch(press(reply, user="U2"), sv)
    assert stranger.error and "only the member who made this change" in stranger.lines[0]
    assert await channel_subs(sv) == [("malaria", "daily 08:00")]
    admin = await dispatch(press(reply, user="U3", admin=True), sv)
    assert not admin.error and await channel_subs(sv) == []


async def test_undo_expires(sv: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import timedelta

    from bot.delivery.subscriptions import UNDO_SECONDS

    reply = await dispatch(req("subscribe malaria"), sv)
    later = sv.clock() + timedelta(seconds=UNDO_SECONDS + 1)
    monkeypatch.setattr(sv, "clock", lambda: later)
    expired = await dispatch(press(reply), sv)
    assert expired.error and "undo lasts 15 minutes" in expired.lines[0]
    assert await channel_subs(sv) == [("malaria", "daily 08:00")]


async def test_undo_works_after_a_restart_and_from_another_process_once(sv: Services) -> None:
    reply = await dispatch(req("subscribe malaria"), sv)
    updated = await dispatch(req("subscribe malaria hourly"), sv)
    # Another process over the same database (a restarted bot, another worker) undoes it.
    other = await open_services(sv.settings)
    try:
        back = await dispatch(press(updated), other)
        assert not back.error and "back to daily 08:00" in back.lines[0]
        assert await channel_subs(sv) == [("malaria", "daily 08:00")]
        twice = await dispatch(press(updated), sv)  # the first process: undone already
        assert twice.error and "can no longer be undone" in twice.lines[0]
        assert not (await dispatch(press(reply), other)).error
    finally:
        await other.close()
    assert await channel_subs(sv) == []


async def test_expired_undo_entries_are_purged_when_a_change_is_recorded(
    sv: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import timedelta

    from bot.delivery.subscriptions import UNDO_SECONDS

    first = await dispatch(req("subscribe malaria"), sv)
    await dispatch(req("subscribe quake"), sv)
    assert await sv.undo.repo.count() == 2
    later = sv.clock() + timedelta(seconds=UNDO_SECONDS + 1)
    monkeypatch.setattr(sv, "clock", lambda: later)
    latest = await dispatch(req("subscribe flood"), sv)
    assert await sv.undo.repo.count() == 1  # the two expired ones are gone
    assert "can no longer be undone" in (await dispatch(press(first), sv)).lines[0]
    # Numbers are never reused: the new change has its own, and an old button stays dead.
    assert latest.actions[0].custom_id == "newsbot:undo:3"


async def test_more_stories_pages_through_what_the_channel_was_not_told_privately(
    sv: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    from handlers.actions import Action

    two = sv.settings.digest.model_copy(update={"max_stories": 2})
    monkeypatch.setattr(sv, "settings", sv.settings.model_copy(update={"digest": two}))
    seen: list[str] = []
    page, reply = 1, await dispatch(press("newsbot:more:"), sv)
    while True:
        assert reply.ephemeral and not reply.error and reply.digest is not None, reply.lines
        assert reply.title == f"More stories (page {page})"
        ids = [s.id for s in reply.digest.stories]
        assert 0 < len(ids) <= 2 and not set(ids) & set(seen)  # each page shows new stories
        seen += ids
        more = [a for a in digest_actions(reply.digest) if a.verb == "more"]
        if not reply.digest.more_stories:
            assert more == []
            break
        assert more == [Action("more", str(page + 1))]
        page, reply = page + 1, await dispatch(press(more[0].custom_id), sv)
    assert page >= 2 and len(seen) == len(set(seen)) >= 3
    # Nothing was recorded: the channel's digest still has every one of them.
    assert (await dispatch(press("newsbot:more:"), sv)).digest.stories[0].id == seen[0]  # type: ignore[union-attr]
    past = await dispatch(press(f"newsbot:more:{page + 1}"), sv)
    assert past.lines == ["Nothing more: this channel has been told every story with news."]


async def test_a_member_without_the_permission_is_refused_in_one_line(sv: Services) -> None:
    from dataclasses import replace

    reply = await dispatch(req("subscribe malaria"), sv)
    for text in ("subscribe quake", f"follow {await biggest_story(sv)}", "unsubscribe sub-1"):
        denied = replace(req(text), may_manage=False, managers="members with the Editors role")
        refusal = await dispatch(denied, sv)
        assert refusal.error and refusal.lines == [
            "only members with the Editors role may change this channel's subscriptions"
        ], text
    refused_undo = await dispatch(replace(press(reply), may_manage=False), sv)
    assert refused_undo.error and "may change this channel's subscriptions" in refused_undo.lines[0]
    assert await channel_subs(sv) == [("malaria", "daily 08:00")]
    listed = await dispatch(replace(req("subscriptions"), may_manage=False), sv)
    assert not listed.error  # reading is not changing


def test_a_button_id_that_is_no_action_is_not_a_request() -> None:
    from bot.errors import UserError
    from handlers.actions import command_request, parse_action

    base = CommandRequest(
        platform="slack", workspace="T1", channel="C1", user="U1", is_admin=False, command=""
    )
    for value in ("newsbot:frobnicate:1", "other:undo:1", "newsbot:undo:", "newsbot:undo", ""):
        with pytest.raises(UserError):
            parse_action(value)
    request = command_request(parse_action("newsbot:undo:7"), base)
    assert request is not None and request.command == "undo" and request.args == {"id": "7"}
