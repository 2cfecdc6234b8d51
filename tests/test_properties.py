"""Property-based tests (hypothesis): text cleaning, dedup fingerprints, the feed parser and
URL guard on arbitrary input, and the Discord/Slack renderers' limits on arbitrary digests."""

from __future__ import annotations

import contextlib
import html
import itertools
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.digest.model import ArticleRef, ConflictRef, Digest, StatementRef, StoryDigest
from bot.errors import ParseError
from bot.ingestion.normalize import clean_title
from bot.net.ssrf import BlockedAddress, NetworkPolicy, non_public_reason, parse_ip_literal
from bot.platforms import discord_render, slack_render
from bot.platforms.discord_render import render_discord
from bot.platforms.slack_render import render_slack
from bot.settings import DedupSettings
from bot.sources.feeds import parse_feed
from bot.sources.http import parse_retry_after
from bot.text.fingerprint import content_hash, words
from bot.text.html import html_to_text
from handlers.actions import parse_action

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text that tries every trick: markup, mentions, entities, bidi/zero-width, emoji, newlines.
HOSTILE = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("@<>&*_~`|#[]()!:/\\-\n \t\"'")),
        st.sampled_from(["\u202e", "\u200b", "\u2066", "\ufeff", "👍", "\U0001f3fd", "é", "中"]),
        st.characters(codec="utf-8", exclude_categories=["Cs"]),
    ),
    max_size=400,
)
WORDY = st.lists(st.from_regex(r"[a-z]{2,9}", fullmatch=True), min_size=0, max_size=60).map(
    " ".join
)
URLS = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "https://news.example/a",
            "javascript:alert(1)",
            "data:text/html,x",
            "https://evil.test/<script>",
            "http://xn--bnk-sna.example/login",
            "https://news.example/a?x=1|2>3",
        ]
    ),
)
WHEN = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


# --- text cleaning ------------------------------------------------------------------------------


@FAST
@given(HOSTILE)
def test_clean_title_is_one_trimmed_line(title: str) -> None:
    cleaned = clean_title(title)
    assert cleaned == cleaned.strip()
    assert "  " not in cleaned and "\t" not in cleaned


PRINTABLE = HOSTILE.map(lambda t: "".join(ch for ch in t if ch.isprintable() or ch in "\n\t"))


@FAST
@given(PRINTABLE)
def test_html_reduction_keeps_the_words_of_escaped_text_and_drops_markup(text: str) -> None:
    reduced = html_to_text(f"<div><p>{html.escape(text)}</p><script>var secret=1;</script></div>")
    assert "secret" not in reduced
    assert words(reduced) == words(text)


@FAST
@given(WORDY, st.sampled_from(["  ", "\n", "\t \n", " \u00a0"]))
def test_content_hash_ignores_whitespace_and_case(text: str, gap: str) -> None:
    respaced = gap.join(text.split()).upper()
    assert content_hash(respaced) == content_hash(text)


# --- dedup ---------------------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(st.randoms(use_true_random=False), st.integers(120, 300), st.data())
def test_a_copy_with_one_word_changed_is_a_near_duplicate(rng: Any, n: int, data: Any) -> None:
    from bot.ingestion.dedup import NearDuplicateIndex

    tokens = [f"w{rng.randrange(10**6)}" for _ in range(n)]
    index = NearDuplicateIndex(DedupSettings())
    original = index.signature(" ".join(tokens))
    assert original is not None
    index.add(1, original)
    tokens[data.draw(st.integers(0, n - 1))] = "zzzzzz"
    copy = index.signature(" ".join(tokens))
    assert copy is not None
    match = index.find(copy)
    assert match is not None and match.article_id == 1


@FAST
@given(
    st.lists(st.from_regex(r"[a-z]{2,9}", fullmatch=True), max_size=DedupSettings().min_words - 1)
)
def test_short_texts_are_left_to_exact_dedup(tokens: list[str]) -> None:
    from bot.ingestion.dedup import NearDuplicateIndex

    assert NearDuplicateIndex(DedupSettings()).signature(" ".join(tokens)) is None


# --- parser and guard on arbitrary input (P12) ----------------------------------------------------


@FAST
@given(
    st.one_of(
        st.binary(max_size=2000),
        HOSTILE.map(lambda t: f"<rss version='2.0'><channel><item><title>{t}</title>".encode()),
        HOSTILE.map(lambda t: json.dumps({"items": [{"title": t, "id": t}]}).encode()),
    )
)
def test_the_feed_parser_gives_articles_or_one_parse_error(data: bytes) -> None:
    try:
        articles, _ = parse_feed(data, origin="fuzz.xml", max_items=50)
    except ParseError as exc:
        assert str(exc).startswith("fuzz.xml: ") and "\n" not in str(exc)
    else:
        assert len(articles) <= 50


@FAST
@given(st.text(max_size=120))
def test_the_url_guard_only_ever_refuses_with_its_own_error(text: str) -> None:
    for url in (text, f"http://{text}/feed", f"https://[{text}]/"):
        with contextlib.suppress(BlockedAddress):
            NetworkPolicy().check_url(url)
    assert parse_retry_after(text) is None or parse_retry_after(text) >= 0  # type: ignore[operator]


@FAST
@given(st.integers(0, 2**32 - 1))
def test_every_decimal_and_hex_spelling_of_an_ipv4_address_is_recognised(n: int) -> None:
    for spelling in (str(n), hex(n), f"{n >> 24}.{n & 0xFFFFFF}"):
        ip = parse_ip_literal(spelling)
        assert ip is not None and int(ip) == n
    ip = parse_ip_literal(str(n))
    assert ip is not None
    mapped = parse_ip_literal(f"[::ffff:{ip}]")
    assert mapped is not None and (non_public_reason(mapped) is None) == (
        non_public_reason(ip) is None
    )


# --- renderers' limits ----------------------------------------------------------------------------


def statement(text: str, source: str, when: datetime, claim: str | None) -> StatementRef:
    return StatementRef(text=text, article_id="a1", source=source, published=when, claim_by=claim)


STATEMENTS = st.builds(statement, HOSTILE, HOSTILE, WHEN, st.one_of(st.none(), HOSTILE))
ARTICLES = st.builds(ArticleRef, id=st.just("a1"), title=HOSTILE, url=URLS, source=HOSTILE,
                     published=WHEN)  # fmt: skip
STORIES = st.builds(
    StoryDigest,
    id=st.from_regex(r"s-[0-9a-f]{4}", fullmatch=True),
    title=HOSTILE,
    known=st.booleans(),
    articles=st.lists(ARTICLES, max_size=30),
    summary=st.lists(STATEMENTS, max_size=6),
    new=st.lists(STATEMENTS, max_size=8),
    conflicts=st.lists(
        st.builds(
            ConflictRef,
            kind=st.sampled_from(["contradiction", "revision"]),
            fact=HOSTILE,
            statements=st.lists(STATEMENTS, max_size=3),
        ),
        max_size=2,
    ),
    outlets=st.lists(HOSTILE, max_size=8),
    matched_terms=st.lists(HOSTILE, max_size=5),
    more_conflicts=st.integers(0, 50),
)
DIGESTS = st.builds(
    Digest,
    channel=st.just("c1"),
    generated_at=st.just(datetime(2026, 8, 22, 8, 0, tzinfo=UTC) + timedelta(0)),
    stories=st.lists(STORIES, max_size=25, unique_by=lambda s: s.id),  # a story once
    topic=st.one_of(st.none(), HOSTILE),
    more_stories=st.integers(0, 500),
    subscriptions=st.lists(st.from_regex(r"sub-[1-9][0-9]{0,6}", fullmatch=True), max_size=6),
)


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def embed_chars(embed: dict[str, Any]) -> int:
    size = len(embed.get("title", "")) + len(embed.get("description", ""))
    size += len(embed.get("footer", {}).get("text", ""))
    size += len(embed.get("author", {}).get("name", ""))
    return size + sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields", []))


@FAST
@given(DIGESTS)
def test_discord_payloads_respect_every_limit_and_never_ping(digest: Digest) -> None:
    d = discord_render
    messages = render_discord(digest)
    for message in messages:
        assert len(message.get("content") or "") <= d.CONTENT_MAX
        embeds = message.get("embeds") or []
        assert len(embeds) <= d.EMBEDS_PER_MESSAGE
        assert sum(embed_chars(e) for e in embeds) <= d.EMBED_TOTAL_MAX
        for e in embeds:
            assert len(e.get("title", "")) <= d.TITLE_MAX
            assert len(e.get("description", "")) <= d.DESCRIPTION_MAX
            assert len(e.get("footer", {}).get("text", "")) <= 2048
            assert len(e.get("fields", [])) <= d.FIELDS_MAX
            for f in e.get("fields", []):
                assert len(f["name"]) <= d.FIELD_NAME_MAX and len(f["value"]) <= d.FIELD_VALUE_MAX
            if "url" in e:
                assert e["url"].startswith(("http://", "https://"))
        for text in strings(message):
            assert not re.search(r"@(everyone|here)|<@[!&]?\d+>", text), text
            assert "\u202e" not in text
        rows = message.get("components") or []
        assert len(rows) <= d.ROWS_MAX
        ids = [c["custom_id"] for row in rows for c in row["components"]]
        assert len(ids) == len(set(ids)), "a custom_id is unique in its message"
        for row in rows:
            assert row["type"] == 1 and 0 < len(row["components"]) <= d.BUTTONS_PER_ROW
            for item in row["components"]:
                assert len(item["custom_id"]) <= d.CUSTOM_ID_MAX
                if item["type"] == 2:
                    assert 0 < len(item["label"]) <= d.BUTTON_LABEL_MAX
                    parse_action(item["custom_id"])  # every button parses back to its action
                else:
                    assert item["type"] == 3 and len(row["components"]) == 1
                    assert 0 < len(item["options"]) <= d.SELECT_OPTIONS_MAX
                    for option in item["options"]:
                        assert 0 < len(option["label"]) <= d.OPTION_LABEL_MAX
                        parse_action(item["custom_id"], [option["value"]])


@FAST
@given(DIGESTS)
def test_a_discord_digest_is_the_fewest_messages_and_keeps_every_story(digest: Digest) -> None:
    """One embed per story, in order; a message ends only where the next embed would break
    the 10-embed or 6,000-character limit (so a digest that fits is one message); the head is
    on the first message and "+N more stories" on the last."""
    d = discord_render
    messages = render_discord(digest)
    embeds = [e for m in messages for e in m["embeds"]]
    assert len(embeds) == len(digest.stories)
    assert [e["footer"]["text"].split(" · ")[0] for e in embeds] == [s.id for s in digest.stories]
    for a, b in itertools.pairwise(messages):
        grown = [*a["embeds"], b["embeds"][0]]
        assert len(grown) > d.EMBEDS_PER_MESSAGE or sum(map(embed_chars, grown)) > d.EMBED_TOTAL_MAX
    if sum(map(embed_chars, embeds)) <= d.EMBED_TOTAL_MAX and len(embeds) <= d.EMBEDS_PER_MESSAGE:
        assert len(messages) == 1
    assert messages[0]["content"].startswith("**newsbot digest**")
    if digest.more_stories:
        assert f"+{digest.more_stories} more stories" in messages[-1]["content"]


_OUR_LINK = re.compile(r"<(https?://[^|>\s]+)\|[^<>]*>")
# The statement times newsbot writes: Slack shows them in the reader's time zone.
_OUR_DATE = re.compile(r"<!date\^-?\d+\^\{date_short_pretty\} \{time\}\|[^<>|]*>")


@FAST
@given(DIGESTS)
def test_slack_messages_respect_every_limit_and_carry_no_injected_markup(digest: Digest) -> None:
    s = slack_render
    for message in render_slack(digest):
        blocks = message["blocks"]
        assert message.get("text"), "a top-level fallback text is always set"
        assert len(blocks) <= s.BLOCKS_MAX
        total = 0
        action_ids = [
            e["action_id"] for b in blocks for e in b.get("elements", []) if "action_id" in e
        ]
        assert len(action_ids) == len(set(action_ids)), "an action_id is unique in its message"
        block_ids = [b["block_id"] for b in blocks if "block_id" in b]
        assert len(block_ids) == len(set(block_ids))
        for block in blocks:
            if block["type"] == "actions":
                assert 0 < len(block["elements"]) <= s.ACTIONS_ELEMENTS_MAX
                for button in block["elements"]:
                    assert 0 < len(button["text"]["text"]) <= s.BUTTON_TEXT_MAX
                    assert len(button["action_id"]) <= s.ACTION_ID_MAX
                    parse_action(button["action_id"])
                continue
            for obj in [block.get("text"), *block.get("elements", [])]:
                if not isinstance(obj, dict) or "text" not in obj:
                    continue
                limit = s.HEADER_MAX if block["type"] == "header" else s.TEXT_MAX
                assert len(obj["text"]) <= limit
                total += len(obj["text"])
                if obj.get("type") == "mrkdwn":
                    assert obj.get("verbatim") is True
                    ours = _OUR_DATE.sub("", _OUR_LINK.sub("", obj["text"]))
                    assert "<" not in ours, obj["text"]
        assert total <= s.MESSAGE_CHARS_MAX
        for text in strings(message):
            text = _OUR_DATE.sub("", text)
            assert "<!" not in text and "<@" not in text


def slack_chars(blocks: list[dict[str, Any]]) -> int:
    objs = [o for b in blocks for o in [b.get("text"), *b.get("elements", [])]]
    return sum(len(o["text"]) for o in objs if isinstance(o, dict) and "text" in o)


@FAST
@given(DIGESTS)
def test_a_slack_digest_is_the_fewest_messages_and_keeps_every_story(digest: Digest) -> None:
    """Each story's blocks end with a divider, stories in order; a message ends only where
    the next story would break the 50-block or character limit (a digest that fits is one
    message); "+N more stories" closes the last message."""
    s = slack_render
    messages = render_slack(digest)
    blocks = [b for m in messages for b in m["blocks"]]
    assert blocks[0]["type"] == "header"
    assert sum(b["type"] == "divider" for b in blocks) == len(digest.stories)
    for a, b in itertools.pairwise(messages):
        ends = [i for i, block in enumerate(b["blocks"]) if block["type"] == "divider"]
        story = b["blocks"][: ends[0] + 1] if ends else b["blocks"]
        grown = [*a["blocks"], *story]
        assert len(grown) > s.BLOCKS_MAX or slack_chars(grown) > s.MESSAGE_CHARS_MAX
    if len(blocks) <= s.BLOCKS_MAX and slack_chars(blocks) <= s.MESSAGE_CHARS_MAX:
        assert len(messages) == 1
    if digest.more_stories:
        # the last text block (the digest's own buttons may follow it, beside it)
        last = [b for b in messages[-1]["blocks"] if b["type"] != "actions"][-1]
        assert last["elements"][0]["text"].startswith(f"+{digest.more_stories} more stories")
