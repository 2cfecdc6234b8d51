"""One workspace's subscriptions and sources are invisible to another (and a Discord guild and a
Slack team with the same id are different workspaces), through the command dispatcher."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.models import utcnow
from bot.services import Services, open_services
from bot.settings import Settings
from bot.subscriptions import Subscriptions
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
