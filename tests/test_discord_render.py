"""Command replies and digests -> Discord payloads: limits, escaping, links, attachments."""

from __future__ import annotations

import itertools
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.digest.model import ArticleRef, ConflictRef, Digest, StatementRef, StoryDigest
from bot.platforms.discord_render import (
    CONTENT_MAX,
    DESCRIPTION_MAX,
    EMBED_TOTAL_MAX,
    EMBEDS_PER_MESSAGE,
    FIELDS_MAX,
    REPLY_MESSAGES_MAX,
    TITLE_MAX,
    display_url,
    escape,
    linkify,
    render_discord,
    render_reply,
)
from handlers.actions import Action
from handlers.base import Attachment, Reply

WHEN = datetime(2025, 2, 13, 9, 30, tzinfo=UTC)
HOSTILE = "@everyone @here <@123> <@!456> <@&789> <#42> **bold** [bank](https://evil.example/)"


def _embed_chars(embed: dict[str, Any]) -> int:
    return (
        len(embed.get("title", ""))
        + len(embed.get("description", ""))
        + len(embed.get("footer", {}).get("text", ""))
        + sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields", []))
    )


def assert_within_limits(messages: list[dict[str, Any]]) -> None:
    assert messages
    for message in messages:
        assert len(message.get("content") or "") <= CONTENT_MAX
        embeds = message["embeds"]
        assert len(embeds) <= EMBEDS_PER_MESSAGE
        assert sum(_embed_chars(e) for e in embeds) <= EMBED_TOTAL_MAX
        for embed in embeds:
            assert len(embed.get("title", "")) <= TITLE_MAX
            assert len(embed.get("description", "")) <= DESCRIPTION_MAX
            assert len(embed.get("fields", [])) <= FIELDS_MAX


def assert_no_pings(messages: list[dict[str, Any]]) -> None:
    text = json.dumps(messages, default=str, ensure_ascii=False)
    for raw in ("@everyone", "@here", "<@123>", "<@!456>", "<@&789>", "<#42>"):
        assert raw not in text, raw
    assert "](https://evil" not in text  # no masked link hiding its host


# ------------------------------------------------------------------------------ escaping


def test_escape_breaks_mentions_and_markdown() -> None:
    out = escape(HOSTILE)
    assert "@everyone" not in out and "@here" not in out
    assert not re.search(r"<(@[!&]?|#)\d+>", out)
    assert "\\*\\*bold\\*\\*" in out and "\\[bank\\]" in out


def test_escape_drops_bidi_overrides_that_disguise_text() -> None:
    assert escape("invoice\u202egnp.exe") == "invoicegnp.exe"


def test_a_story_footer_drops_bidi_overrides_and_breaks_mentions() -> None:
    """The footer (outlets, matched terms) is not markdown: it gets no escaping, but an outlet
    named with a right-to-left override or a mention must not reach the channel as such."""
    story = StoryDigest(
        id="s-0001",
        title="",
        known=False,
        articles=[],
        summary=[],
        new=[],
        conflicts=[],
        outlets=["\u202eevil", "@everyone"],
        matched_terms=["ferry\u2066"],
    )
    digest = Digest(channel="c", generated_at=datetime(2026, 8, 22, tzinfo=UTC), stories=[story])
    footers = [e["footer"]["text"] for m in render_discord(digest) for e in m.get("embeds", [])]
    assert footers and all("\u202e" not in f and "\u2066" not in f for f in footers)
    assert all("@everyone" not in f for f in footers)


def test_linkify_keeps_http_links_with_their_host_and_escapes_the_rest() -> None:
    out = linkify("see https://news.example/a_b?x=1. and javascript:alert(1) ftp://x.example/")
    assert "<https://news.example/a_b?x=1>." in out  # clickable, unescaped, no preview
    assert "javascript:alert\\(1\\)" in out
    assert "<ftp" not in out


def test_links_never_show_a_fake_host() -> None:
    assert display_url("https://bank.example@evil.example/login") == "https://evil.example/login"
    assert display_url("https://x.example/@everyone") == "https://x.example/%40everyone"
    assert display_url("javascript:alert(1)") is None
    masked = linkify("[bank.example](https://evil.example/)")
    assert "](" not in masked.replace("\\](", "")
    assert "<https://evil.example/>" in masked


# ------------------------------------------------------------------------------- replies


def test_reply_lines_are_escaped_and_mentions_never_ping() -> None:
    messages = render_reply(Reply(title="@everyone results", lines=[HOSTILE, "plain"]))
    assert_no_pings(messages)
    assert_within_limits(messages)
    assert messages[0]["embeds"][0]["description"].endswith("plain")


def test_long_replies_split_between_lines_across_embeds_and_messages() -> None:
    lines = [f"line {i:04d} " + "x" * 90 for i in range(150)]  # ~15,000 characters
    messages = render_reply(Reply(title="Search", lines=lines))
    assert 1 < len(messages) <= REPLY_MESSAGES_MAX
    assert_within_limits(messages)
    shown = "\n".join(e["description"] for m in messages for e in m["embeds"])
    assert shown.split("\n") == lines  # every line, in order, never cut in the middle
    assert messages[0]["embeds"][0]["title"] == "Search"
    assert all("title" not in e for m in messages for e in m["embeds"][1:])


def test_a_line_longer_than_a_description_is_clipped() -> None:
    messages = render_reply(Reply(title="t", lines=["word " * 2000]))
    assert_within_limits(messages)
    assert messages[0]["embeds"][0]["description"].endswith("…")


def test_huge_replies_are_capped_and_say_so() -> None:
    lines = ["y" * 3000 for _ in range(40)]
    messages = render_reply(Reply(title="big", lines=lines))
    assert len(messages) == REPLY_MESSAGES_MAX
    assert_within_limits(messages)
    assert "shortened" in messages[-1]["content"]


def test_errors_are_one_short_content_message() -> None:
    messages = render_reply(Reply(title="Error", lines=["no story 's-x' <@1>"], error=True))
    assert len(messages) == 1
    assert messages[0]["embeds"] == [] and messages[0]["attachments"] == []
    assert messages[0]["content"].startswith("⚠️") and "<@1>" not in messages[0]["content"]


def test_story_reply_attaches_its_image_to_the_first_message() -> None:
    png = Attachment("s-1 coverage?.png", b"\x89PNG\r\n\x1a\n...")
    reply = Reply(title="s-1", lines=["summary"], attachments=[png], digest=_digest(2))
    messages = render_reply(reply)
    first = messages[0]
    (attached,) = first["attachments"]
    assert attached.filename == "s-1_coverage_.png" and attached.data == png.data
    assert first["embeds"][0]["image"] == {"url": "attachment://s-1_coverage_.png"}
    assert all(m["attachments"] == [] for m in messages[1:])


def test_reply_with_only_a_digest_is_the_digest() -> None:
    digest = _digest(3)
    assert render_reply(Reply(title="Digest", digest=digest)) == [
        {**m, "attachments": []} for m in render_discord(digest)
    ]


@settings(max_examples=60, deadline=None)
@given(
    title=st.text(max_size=400),
    lines=st.lists(st.text(max_size=5000), max_size=30),
)
def test_any_reply_fits_discord_limits_and_pings_nobody(title: str, lines: list[str]) -> None:
    messages = render_reply(Reply(title=title, lines=lines))
    assert_within_limits(messages)
    assert len(messages) <= REPLY_MESSAGES_MAX
    text = json.dumps(messages, default=str, ensure_ascii=False)
    assert "@everyone" not in text and "@here" not in text


# ------------------------------------------------------------------------------- digests


def _story(i: int, long: bool = False) -> StoryDigest:
    body = ("Officials said the talks would resume. " * (40 if long else 2)).strip()
    statement = StatementRef(f"{body} @everyone", f"a{i}", "Wire <@&1>", WHEN, None)
    return StoryDigest(
        id=f"s-{i:04x}",
        title=f"@here story {i} **loud**",
        known=bool(i % 2),
        articles=[
            ArticleRef(
                f"a{i}-{j}",
                f"Headline {j} [bank](https://evil.example/)",
                f"https://bank.example@news{j}.example/{i}",
                f"Outlet {j}",
                WHEN,
            )
            for j in range(30)
        ],
        summary=[statement] * 3,
        new=[statement] * 2,
        conflicts=[ConflictRef("contradiction", "day of the talks", [statement, statement])],
        outlets=[f"Outlet {j}" for j in range(30)] + ["@everyone Daily"],
    )


def _digest(n: int, long: bool = False) -> Digest:
    return Digest(channel="c", generated_at=WHEN, stories=[_story(i, long) for i in range(n)])


def test_large_digests_split_across_messages_within_limits() -> None:
    messages = render_discord(_digest(25, long=True))
    assert len(messages) > 1
    assert_within_limits(messages)
    assert sum(len(m["embeds"]) for m in messages) == 25


def test_digest_embeds_ping_nobody_and_links_show_their_real_host() -> None:
    messages = render_discord(_digest(2))
    assert_no_pings(messages)
    text = json.dumps(messages, ensure_ascii=False)
    assert "bank.example" not in text  # user-info that would fake the host is dropped
    assert "](https://news0.example/0) — *Outlet 0* (news0.example)" in text


def test_a_topic_story_footer_says_which_terms_it_matched() -> None:
    story = StoryDigest(id="s-1", title="Concorde crash", known=False, outlets=["AP"])
    story.matched_terms = ["concorde", "@everyone"]
    footer = render_discord(Digest("c", WHEN, [story]))[0]["embeds"][0]["footer"]["text"]
    assert footer.startswith("s-1 · AP · matched: concorde")
    assert "@everyone" not in footer
    plain = StoryDigest(id="s-2", title="Other", known=False, outlets=["AP"])
    embed = render_discord(Digest("c", WHEN, [plain]))[0]["embeds"][0]
    assert embed["footer"]["text"] == "s-2 · AP"


def _source(j: int, when: datetime, url: str | None = None) -> ArticleRef:
    return ArticleRef(
        f"a{j}", f"Headline {j}", url or f"https://news.example/{j}", f"Outlet {j}", when
    )


def test_a_story_is_one_compact_embed_linking_its_newest_sources_and_the_full_story() -> None:
    """Title linked to the newest article, bullets with outlets, "Sources (5 of 61)" newest
    first, "+56 more sources" and the command that shows the whole story."""
    articles = [_source(j, WHEN + timedelta(hours=j)) for j in range(61)]
    articles[60] = _source(60, WHEN + timedelta(hours=60), "javascript:alert(1)")
    said = StatementRef("Talks resumed.", "a1", "Wire", WHEN)
    story = StoryDigest("s-4f2a", "Talks", False, articles=articles, summary=[said, said])
    (message,) = render_discord(Digest("c", WHEN, [story]))
    (embed,) = message["embeds"]
    assert embed["title"] == "New: Talks"
    assert embed["url"] == "https://news.example/59"  # the newest with an http(s) URL
    description = embed["description"]
    assert description.count("• Talks resumed. — *Wire*") == 2
    assert "**Sources (5 of 61)**" in description
    shown = re.findall(r"Headline (\d+)", description)
    assert shown == ["60", "59", "58", "57", "56"]
    assert "[Headline 59](https://news.example/59) — *Outlet 59* (news.example)" in description
    assert "javascript" not in description
    assert description.endswith("+56 more sources · full story: /news story s\\-4f2a")


def test_a_story_with_few_sources_lists_them_all_and_names_the_full_story() -> None:
    story = StoryDigest("s-1", "Talks", True, articles=[_source(1, WHEN)], outlets=["Outlet 1"])
    (embed,) = render_discord(Digest("c", WHEN, [story]))[0]["embeds"]
    assert embed["title"] == "Update: Talks"
    assert "**Sources (1)**" in embed["description"]
    assert embed["description"].endswith("Full story: /news story s\\-1")


def test_a_ten_story_digest_that_fits_is_one_message_of_ten_embeds() -> None:
    said = StatementRef("Officials said the talks would resume on Monday.", "a", "Wire", WHEN)
    stories = [
        StoryDigest(f"s-{i:04x}", f"Story {i}", False, articles=[_source(i, WHEN)], summary=[said])
        for i in range(10)
    ]
    digest = Digest("c", WHEN, stories, more_stories=4)
    (message,) = render_discord(digest)
    assert [e["title"] for e in message["embeds"]] == [f"New: Story {i}" for i in range(10)]
    assert message["content"].startswith("**newsbot digest**")
    assert message["content"].endswith("+4 more stories — More stories shows them (only to you)")


def test_a_digest_too_big_for_one_message_takes_the_fewest_and_keeps_every_story() -> None:
    digest = _digest(12, long=True)
    digest.more_stories = 3
    messages = render_discord(digest)
    assert_within_limits(messages)
    titles = [e["title"] for m in messages for e in m["embeds"]]
    assert titles == [render_discord(Digest("c", WHEN, [s]))[0]["embeds"][0]["title"]
                      for s in digest.stories]  # fmt: skip
    for a, b in itertools.pairwise(messages):  # no message could take the next one
        moved = [*a["embeds"], b["embeds"][0]]
        assert len(moved) > EMBEDS_PER_MESSAGE or sum(map(_embed_chars, moved)) > EMBED_TOTAL_MAX
    assert "+3 more stories" in messages[-1]["content"]
    assert messages[0]["content"].startswith("**newsbot digest**")


# ------------------------------------------------------------------------------- buttons


def _stories(n: int) -> list[StoryDigest]:
    return [StoryDigest(id=f"s-{i:04x}", title=f"Talks {i}", known=False) for i in range(n)]


def test_a_digest_of_few_stories_has_a_row_of_buttons_per_story_and_its_own() -> None:
    digest = Digest(
        channel="c", generated_at=WHEN, stories=_stories(2), more_stories=3, subscriptions=["sub-4"]
    )
    (message,) = render_discord(digest)
    rows = message["components"]
    assert [[c["custom_id"] for c in r["components"]] for r in rows] == [
        ["newsbot:follow:s-0000", "newsbot:mute:s-0000", "newsbot:story:s-0000"],
        ["newsbot:follow:s-0001", "newsbot:mute:s-0001", "newsbot:story:s-0001"],
        ["newsbot:more:", "newsbot:unsubscribe:sub-4"],
    ]
    assert rows[0]["components"][0]["label"] == "Follow story s-0000"
    assert rows[2]["components"][1]["style"] == 4  # Unsubscribe is destructive


def test_a_digest_of_many_stories_has_one_select_per_action() -> None:
    stories = _stories(7)
    said = StatementRef("x", "a1", "Wire", WHEN)
    stories[3].conflicts = [ConflictRef("revision", "toll", [said])]
    digest = Digest(channel="c", generated_at=WHEN, stories=stories, subscriptions=["sub-4"])
    rows = render_discord(digest)[-1]["components"]
    selects = [r["components"][0] for r in rows[:4]]
    assert [s["custom_id"] for s in selects] == [
        "newsbot:follow:",
        "newsbot:mute:",
        "newsbot:conflicts:",
        "newsbot:story:",
    ]
    assert [o["value"] for o in selects[0]["options"]] == [s.id for s in stories]
    assert [o["value"] for o in selects[2]["options"]] == ["s-0003"]  # only where there are any
    assert rows[4]["components"][0]["custom_id"] == "newsbot:unsubscribe:sub-4"


def test_a_private_story_reply_carries_a_share_button() -> None:
    reply = Reply(
        title="s-0001 · Talks", lines=["x"], ephemeral=True, actions=[Action("share", "s-0001")]
    )
    first = render_reply(reply)[0]
    [row] = first["components"]
    assert row["components"][0] == {
        "type": 2,
        "style": 2,
        "label": "Share to channel",
        "custom_id": "newsbot:share:s-0001",
    }


def test_a_channels_first_digest_is_headed_as_a_catch_up_with_its_topic_escaped() -> None:
    story = StoryDigest(id="s-0001", title="Story", known=False)
    first = Digest(channel="c", generated_at=WHEN, stories=[story], topic="west *nile*")
    first.catch_up = True
    head = render_discord(first)[0]["content"]
    assert head.startswith("**Catching up: the latest on west \\*nile\\*** · 13 Feb 2025")
    assert "topic:" not in head  # the title names it
    first.catch_up = False
    assert render_discord(first)[0]["content"].startswith("**newsbot digest** · ")
    empty = Digest(channel="c", generated_at=WHEN, catch_up=True)
    assert "Nothing to catch up on yet." in render_discord(empty)[0]["content"]
