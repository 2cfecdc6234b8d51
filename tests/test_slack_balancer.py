"""Slack in HTTP mode behind a load balancer: any worker answers any request.

Two workers (each its own Services on one database, each the real bolt AsyncApp served by
bolt's aiohttp server) sit behind a tiny round-robin proxy, as a deployment would put them
behind nginx or a cloud balancer. The fake Slack (tests/fake_slack.py) receives the answers;
the requests are signed as Slack signs them. Every request goes to the other worker than the
one before, so each command and button press is answered by a worker that did not make the
state it reads: a subscription made on one is listed by the other, a button on a digest one
posted works on the other, and an Undo recorded by one is carried out by the other.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.delivery.gateway import ChannelRef
from bot.delivery.subscriptions import Subscriptions
from bot.digest.model import Digest, StatementRef, StoryDigest
from bot.services import Services, open_services
from bot.settings import Settings
from tests.conftest import SEEDS, need
from tests.fake_slack import FakeSlack, signed_form

BOT_TOKEN = "xoxb-balancer-bot-41c2"
SECRET = "balancer-signing-secret-9a7d"
TEAM, CHANNEL, USER = "T0FAKE", "C0NEWS", "U0MEMBER"


class RoundRobin:
    """A reverse proxy sending each request to the next backend in turn, body and headers
    unchanged (Slack's signature covers the body); ``served`` lists the backend of each."""

    def __init__(self, backends: list[str]) -> None:
        self.backends = backends
        self.served: list[int] = []
        self._turn = itertools.cycle(range(len(backends)))
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.url = ""

    async def start(self) -> None:
        self._session = aiohttp.ClientSession()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        index = next(self._turn)
        self.served.append(index)
        headers = {
            k: v for k, v in request.headers.items() if k.lower() not in {"host", "content-length"}
        }
        async with self._session.request(
            request.method,
            self.backends[index] + request.path_qs,
            data=await request.read(),
            headers=headers,
        ) as answer:
            body = await answer.read()
            return web.Response(
                status=answer.status, body=body, content_type=answer.content_type or None
            )


@dataclass
class Balanced:
    fake: FakeSlack
    proxy: RoundRobin
    workers: list[Any]  # SlackRuntime, one per worker
    services: list[Services]
    session: aiohttp.ClientSession

    async def _post(self, body: str, headers: dict[str, str]) -> dict[str, Any]:
        """Post through the balancer; the ack must be an immediate empty 200, the answer the
        response_url post that follows."""
        before = len(self.fake.responses)
        started = time.monotonic()
        url = self.proxy.url + "/slack/events"
        async with self.session.post(url, data=body, headers=headers) as response:
            assert response.status == 200, await response.text()
            assert await response.text() == ""
        assert time.monotonic() - started < 3.0  # acked within Slack's 3 s
        responses = await self.fake.wait_responses(before + 1)
        answer: dict[str, Any] = responses[before]["body"]
        return answer

    async def command(self, text: str) -> dict[str, Any]:
        fields = {
            "team_id": TEAM,
            "team_domain": "fake",
            "channel_id": CHANNEL,
            "channel_name": "news",
            "user_id": USER,
            "user_name": "max",
            "command": "/news",
            "text": text,
            "api_app_id": "A0FAKE",
            "is_enterprise_install": "false",
            "response_url": self.fake.response_url(),
            "trigger_id": "1.2.3",
        }
        return await self._post(*signed_form(fields, SECRET))

    async def press(self, message: dict[str, Any], action_id: str) -> dict[str, Any]:
        payload = self.fake.block_actions(message, action_id, user=USER, channel=CHANNEL)
        return await self._post(*signed_form({"payload": json.dumps(payload)}, SECRET))


def _text(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False)


def _action(message: dict[str, Any], prefix: str) -> str:
    ids = [
        e["action_id"]
        for b in message.get("blocks", [])
        for e in b.get("elements", ())
        if isinstance(e, dict) and str(e.get("action_id", "")).startswith(prefix)
    ]
    assert len(ids) == 1, (prefix, ids)
    return str(ids[0])


@pytest.fixture
async def balanced(tmp_path: Path, db_target: str) -> AsyncIterator[Balanced]:
    """Two workers on one database (a SQLite file, or PostgreSQL when
    NEWSBOT_TEST_POSTGRES_DSN is set) behind the balancer."""
    from bot.platforms.slack_adapter import SlackConfig, SlackRuntime

    need(SEEDS)
    settings = Settings.model_validate(
        {"database": {"path": db_target}, "seeds": {"folders": [str(SEEDS)]}}
    )
    fake = FakeSlack(bot_token=BOT_TOKEN, team_id=TEAM)
    fake.users = {USER: {"id": USER, "name": "max", "is_admin": False, "is_owner": False}}
    await fake.start()
    services = [await open_services(settings), await open_services(settings)]
    assert (await services[0].sync_seeds()).stored >= 3
    config = SlackConfig(bot_token=BOT_TOKEN, signing_secret=SECRET, port=0, base_url=fake.api_url)
    workers = [SlackRuntime(config, sv) for sv in services]
    for worker in workers:
        await worker.start()
    proxy = RoundRobin([f"http://127.0.0.1:{w.port}" for w in workers])
    await proxy.start()
    try:
        async with aiohttp.ClientSession() as session:
            yield Balanced(fake, proxy, workers, services, session)
    finally:
        await proxy.stop()
        for worker in workers:
            await worker.stop()
        for sv in services:
            await sv.close()
        await fake.stop()


async def _story(sv: Services) -> str:
    from bot.queries.views import list_stories

    stories = (await list_stories(sv))["stories"]
    return str(max(stories, key=lambda s: s["articles"])["id"])


def _digest(story: str, subscription: str) -> Digest:
    when = datetime.now(UTC)
    said = StatementRef("The toll rose to 12.", "a1", "Wire", when)
    item = StoryDigest(id=story, title="Talks", known=False, summary=[said])
    return Digest(channel=CHANNEL, generated_at=when, stories=[item], subscriptions=[subscription])


async def _topics(sv: Services) -> list[str | None]:
    subs = await Subscriptions(sv.store).for_channel(ChannelRef("slack", TEAM, CHANNEL))
    return sorted(s.topic_query or f"story {s.story_id}" for s in subs)


async def test_commands_and_buttons_answer_from_either_worker_with_the_same_state(
    balanced: Balanced,
) -> None:
    b = balanced
    story = await _story(b.services[0])

    made = await b.command('subscribe "putin"')  # worker 0
    assert "putin" in _text(made) and "newsbot:undo:" in _text(made)
    listed = await b.command("subscriptions")  # worker 1 lists what worker 0 stored
    assert "putin" in _text(listed)

    [sub] = await Subscriptions(b.services[1].store).all_enabled()
    ref = ChannelRef("slack", TEAM, CHANNEL)
    await b.workers[1].gateway.post_digest(ref, _digest(story, sub.public_id))
    digest = b.fake.posts[-1]  # posted by worker 1; its buttons are pressed on both

    followed = await b.press(digest, f"newsbot:follow:{story}")  # worker 0
    assert "Following" in _text(followed) and story in _text(followed)
    assert "putin" in _text(await b.command("subscriptions"))  # worker 1
    gone = await b.press(digest, f"newsbot:unsubscribe:{sub.public_id}")  # worker 0
    assert "Unsubscribed" in _text(gone) and sub.public_id in _text(gone)
    assert "putin" not in await _topics(b.services[1])

    # The Undo of worker 0's change, pressed on worker 1.
    undone = await b.press(gone, _action(gone, "newsbot:undo:"))  # worker 1
    assert "Undone" in _text(undone), _text(undone)
    assert "putin" in _text(await b.command("subscriptions"))  # worker 0

    assert b.proxy.served == [0, 1, 0, 1, 0, 1, 0]
    for sv in b.services:
        topics = await _topics(sv)
        assert "putin" in topics and len(topics) == 2, topics
