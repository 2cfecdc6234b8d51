"""Slack Block Kit rendering: escaping of untrusted text, safe links, and Slack's limits."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.digest.model import ArticleRef, Digest, StatementRef, StoryDigest
from bot.platforms.slack_render import (
    BLOCKS_MAX,
    MESSAGE_CHARS_MAX,
    TEXT_MAX,
    escape,
    linkify,
    render_reply,
    render_slack,
)
from handlers.actions import Action
from handlers.base import Reply

WHEN = datetime(2025, 2, 13, 6, 14, tzinfo=UTC)
HOSTILE = "<!channel> <!here> <@U123> <!subteam^S1> <https://evil.test|Your bank> *bold* @channel"


def _texts(messages: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    for message in messages:
        out.append(message["text"])
        for block in message["blocks"]:
            if isinstance(block.get("text"), dict):
                out.append(block["text"]["text"])
            for e in block.get("elements", ()):
                text = e["text"]  # a button's text is a plain_text object
                out.append(text["text"] if isinstance(text, dict) else text)
    return out


def _assert_within_limits(messages: list[dict[str, Any]]) -> None:
    for message in messages:
        assert message["text"], "every message needs a text fallback"
        assert 0 < len(message["blocks"]) <= BLOCKS_MAX
        total = 0
        for block in message["blocks"]:
            texts = [block["text"]] if isinstance(block.get("text"), dict) else []
            texts += list(block.get("elements", ()))
            for t in texts:
                text = t["text"]["text"] if isinstance(t["text"], dict) else t["text"]
                assert len(text) <= TEXT_MAX
                total += len(text)
        assert total <= MESSAGE_CHARS_MAX


def _story(i: int, title: str = "Talks on Ukraine", url: str | None = None) -> StoryDigest:
    statement = StatementRef(f"Statement {i} " + "word " * 60, f"a{i}", "Outlet", WHEN)
    return StoryDigest(
        id=f"s-{i:04x}",
        title=f"{title} {i}",
        known=False,
        articles=[ArticleRef(f"a{i}", f"Headline {i}", url, "Outlet", WHEN)],
        summary=[statement, statement],
        new=[statement],
    )


def test_escape_makes_mentions_and_links_inert() -> None:
    out = escape(HOSTILE)
    assert "<" not in out and ">" not in out
    assert "&lt;!channel&gt;" in out and "&lt;@U123&gt;" in out
    assert "*bold*" not in out  # formatting characters are broken up


def test_escape_strips_bidi_and_zero_width_tricks() -> None:
    out = escape("\u202eevil\u200d text \ufeff")
    assert "\u202e" not in out and "\u200d" not in out and "\ufeff" not in out


def test_reply_lines_are_escaped_and_only_http_urls_become_links() -> None:
    reply = Reply(
        title="<!here> results",
        lines=[
            HOSTILE,
            "read https://example.org/a?x=1&y=2 now",
            "bad javascript:alert(1) and https://x.test/a|b>c",
        ],
    )
    joined = "\n".join(_texts(render_reply(reply)))
    assert "<!" not in joined and "<@" not in joined
    links = re.findall(r"<([^<>|]+)\|([^<>]*)>", joined)
    assert [href for href, _ in links] == [
        "https://evil.test",
        "https://example.org/a?x=1&amp;y=2",
        "https://x.test/a",
    ]
    for href, label in links:  # a link shows exactly where it goes: no "Your bank" labels
        assert label.replace("\u200b", "") == href
    assert "javascript" not in "".join(href for href, _ in links)


def test_linkify_keeps_trailing_punctuation_out_of_the_link() -> None:
    assert linkify("see https://example.org/x.").endswith(">.")


def test_a_long_reply_is_split_within_slack_limits_and_keeps_every_line() -> None:
    lines = [f"line {i:03d} " + "x" * 480 for i in range(200)]
    messages = render_reply(Reply(title="many", lines=lines))
    assert len(messages) > 1
    _assert_within_limits(messages)
    joined = "\n".join(_texts(messages))
    positions = [joined.index(f"line {i:03d} ") for i in range(200)]
    assert positions == sorted(positions)


def test_error_replies_are_marked_and_digest_replies_carry_the_digest() -> None:
    digest = Digest(channel="c", generated_at=WHEN, stories=[_story(1)])
    messages = render_reply(Reply(title="Error", lines=["nope"], error=True, digest=digest))
    texts = _texts(messages)
    assert texts[1].startswith(":warning: *Error*")
    assert any("Talks on Ukraine 1" in t for t in texts)


def test_a_large_digest_is_split_by_story_within_limits() -> None:
    digest = Digest(channel="c", generated_at=WHEN, stories=[_story(i) for i in range(60)])
    messages = render_slack(digest)
    assert len(messages) > 1
    _assert_within_limits(messages)
    for message in messages:  # a story's title block and its closing divider share a message
        kinds = [b["type"] for b in message["blocks"]]
        assert kinds[-1] == "divider"
    assert messages[0]["blocks"][0]["type"] == "header"


def test_digest_text_from_feeds_and_topics_cannot_ping_or_spoof_links() -> None:
    story = _story(1, title=HOSTILE, url="javascript:alert(1)")
    story.articles.append(ArticleRef("b", HOSTILE, "https://news.example.com/p|x", "<!here>", WHEN))
    digest = Digest(channel="c", generated_at=WHEN, stories=[story], topic="<!channel> war")
    joined = "\n".join(_texts(render_slack(digest)))
    assert "<!" not in joined and "<@" not in joined and "javascript:" not in joined.lower()
    assert "<https://news.example.com/p%7Cx|" in joined
    assert "(news.example.com)" in joined


def test_mrkdwn_text_objects_are_verbatim() -> None:
    digest = Digest(channel="c", generated_at=WHEN, stories=[_story(1, url="https://a.example/")])
    for message in render_slack(digest) + render_reply(Reply(title="t", lines=["x"])):
        for block in message["blocks"]:
            objs = [block["text"]] if isinstance(block.get("text"), dict) else []
            objs += list(block.get("elements", ()))
            for obj in objs:
                if obj["type"] == "mrkdwn":
                    assert obj["verbatim"] is True


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=400), st.lists(st.text(max_size=200), max_size=30))
def test_no_untrusted_text_survives_as_slack_markup(title: str, lines: list[str]) -> None:
    messages = render_reply(Reply(title=title, lines=lines))
    _assert_within_limits(messages)
    for text in _texts(messages):
        # The only markup left is our own links <http(s)://…|…>.
        stripped = re.sub(r"<https?://[^<>|\s]+\|[^<>]*>", "", text)
        assert "<" not in stripped and ">" not in stripped


def test_a_topic_story_says_which_terms_it_matched_escaped() -> None:
    story = _story(1)
    story.matched_terms = ["concorde", "<!channel>"]
    texts = _texts(render_slack(Digest(channel="c", generated_at=WHEN, stories=[story])))
    matched = [t.split("\n")[0] for t in texts if t.startswith("matched:")]
    assert matched and "concorde" in matched[0] and "<!channel>" not in matched[0]
    assert not [t for t in _texts(render_slack(Digest("c", WHEN, [_story(2)]))) if "matched" in t]


def test_a_story_is_compact_title_linked_sources_newest_first_and_the_full_story() -> None:
    articles = [
        ArticleRef(f"a{j}", f"Headline {j}", f"https://news.example/{j}", f"Outlet {j}",
                   WHEN + timedelta(hours=j))
        for j in range(61)
    ]  # fmt: skip
    said = StatementRef("Talks resumed.", "a1", "Wire", WHEN)
    story = StoryDigest("s-4f2a", "Talks", False, articles=articles, summary=[said, said])
    story.outlets = [f"Outlet {j}" for j in range(61)]
    (message,) = render_slack(Digest("c", WHEN, [story]))
    header, section, context, _buttons, divider = message["blocks"]
    assert header["type"] == "header" and divider == {"type": "divider"}
    assert section["text"]["text"] == (
        "*New:* <https://news.example/60|Headline 60>".replace("Headline 60", "Talks")
        + "\n• Talks resumed. — _Wire_" * 2
    )
    (small,) = context["elements"]
    lines = small["text"].split("\n")
    assert lines[0] == "Outlet 0, Outlet 1, Outlet 2 +58 more outlets"
    assert lines[1] == "*Sources (5 of 61)*"
    assert [re.findall(r"\|Headline (\d+)>", t)[0] for t in lines[2:7]] == [
        "60", "59", "58", "57", "56"
    ]  # fmt: skip
    assert lines[2] == "• <https://news.example/60|Headline 60> — _Outlet 60_ (news.example)"
    assert lines[7:] == ["+56 more sources · full story: /news story s-4f2a"]


def test_a_ten_story_digest_that_fits_is_one_message() -> None:
    stories = [_story(i, url=f"https://news.example/{i}") for i in range(10)]
    digest = Digest("c", WHEN, stories, more_stories=2)
    (message,) = render_slack(digest)
    _assert_within_limits([message])
    texts = _texts([message])
    titles = [t.split("\n")[0] for t in texts if t.startswith("*New:*")]
    assert titles == [f"*New:* <https://news.example/{i}|Talks on Ukraine {i}>" for i in range(10)]
    words = [t for t in texts if t != "More stories"]  # the button beside the line
    assert words[-1] == "+2 more stories — More stories shows them (only to you)"


def test_a_digest_too_big_for_one_message_takes_the_fewest_and_keeps_every_story() -> None:
    digest = Digest(channel="c", generated_at=WHEN, stories=[_story(i) for i in range(60)])
    messages = render_slack(digest)
    _assert_within_limits(messages)
    titles = [t for t in _texts(messages) if t.startswith("*New:*")]
    assert len(titles) == 60 and titles == [f"*New:* Talks on Ukraine {i}" + t[t.index("\n"):]
                      for i, t in enumerate(titles)]  # fmt: skip
    for a, b in itertools.pairwise(messages):  # the next story did not fit
        story = b["blocks"][: b["blocks"].index({"type": "divider"}) + 1]
        chars = sum(len(t) for t in _texts([{"text": "", "blocks": a["blocks"] + story}]))
        assert len(a["blocks"]) + len(story) > BLOCKS_MAX or chars > MESSAGE_CHARS_MAX


def test_each_story_has_its_buttons_and_the_more_line_its_own() -> None:
    stories = [_story(1), _story(2)]
    digest = Digest(
        channel="c", generated_at=WHEN, stories=stories, more_stories=4, subscriptions=["sub-9"]
    )
    blocks = [b for m in render_slack(digest) for b in m["blocks"]]
    actions = [b for b in blocks if b["type"] == "actions"]
    assert [[e["action_id"] for e in b["elements"]] for b in actions] == [
        ["newsbot:follow:s-0001", "newsbot:mute:s-0001", "newsbot:story:s-0001"],
        ["newsbot:follow:s-0002", "newsbot:mute:s-0002", "newsbot:story:s-0002"],
        ["newsbot:more:", "newsbot:unsubscribe:sub-9"],
    ]
    more = blocks.index(actions[-1]) - 1
    assert "+4 more stories" in blocks[more]["elements"][0]["text"]  # beside its line
    assert actions[-1]["elements"][1]["style"] == "danger"
    assert actions[0]["elements"][0]["text"] == {
        "type": "plain_text",
        "text": "Follow story",
        "emoji": False,
    }


def test_a_private_story_reply_carries_a_share_button() -> None:
    reply = Reply(
        title="s-1 · Talks", lines=["x"], ephemeral=True, actions=[Action("share", "s-0001")]
    )
    blocks = render_reply(reply)[0]["blocks"]
    assert blocks[-1]["type"] == "actions"
    assert blocks[-1]["elements"][0]["action_id"] == "newsbot:share:s-0001"


def test_a_channels_first_digest_is_headed_as_a_catch_up() -> None:
    story = StoryDigest(id="s-0001", title="Story", known=False)
    first = Digest(channel="c", generated_at=WHEN, stories=[story], topic="west nile")
    first.catch_up = True
    header = render_slack(first)[0]["blocks"][0]
    assert header["text"]["text"] == "Catching up: the latest on west nile · 13 Feb 2025 06:14 UTC"
    first.page = 2  # a page of More stories is no catch-up
    assert render_slack(first)[0]["blocks"][0]["text"]["text"].startswith("newsbot digest · ")
