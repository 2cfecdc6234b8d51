"""Times a reader can trust: undated shown as undated on every platform, the year when it is
not the digest's, no 00:00 for a date-only source, platform timestamps in the reader's zone;
and the "+N more stories" line on every platform."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.digest.model import ArticleRef, ConflictRef, Digest, StatementRef, StoryDigest
from bot.digest.render import render_digest
from bot.digest.times import plain, statement_time
from bot.platforms.discord_render import render_discord
from bot.platforms.slack_render import render_slack

NOW = datetime(1999, 6, 10, 9, 0, tzinfo=UTC)
TIMED = datetime(1999, 6, 9, 14, 30, tzinfo=UTC)
LAST_YEAR = datetime(1998, 6, 3, 14, 30, tzinfo=UTC)
DATE_ONLY = datetime(1999, 6, 8, tzinfo=UTC)
FIRST_SEEN = datetime(1999, 6, 9, 20, 15, tzinfo=UTC)


def test_the_year_shows_only_when_it_is_not_the_digests() -> None:
    assert plain(TIMED, NOW) == "09 Jun 14:30 UTC"
    assert plain(LAST_YEAR, NOW) == "03 Jun 1998 14:30 UTC"


def test_a_date_only_time_shows_no_midnight() -> None:
    assert plain(DATE_ONLY, NOW) == "08 Jun"
    assert plain(datetime(1997, 1, 2, tzinfo=UTC), NOW) == "02 Jan 1997"


def test_an_undated_statement_reads_undated_first_seen() -> None:
    s = StatementRef("x", "a", "Wire", FIRST_SEEN, dated=False)
    assert statement_time(s, NOW) == "undated, first seen 09 Jun 20:15 UTC"


def digest() -> Digest:
    undated = StatementRef("Ten ships sank.", "a1", "Wire", FIRST_SEEN, dated=False)
    old = StatementRef("Twelve ships sank.", "a2", "Post", LAST_YEAR)
    dated_only = StatementRef("Eleven ships sank.", "a3", "Herald", DATE_ONLY)
    timed = StatementRef("Nine ships sank.", "a4", "Times", TIMED)
    story = StoryDigest(
        id="s-0001",
        title="Storm at sea",
        known=True,
        articles=[ArticleRef("a1", "Storm at sea", None, "Wire", FIRST_SEEN)],
        new=[timed],
        conflicts=[
            ConflictRef("contradiction", "ships", [old, undated]),
            ConflictRef("revision", "ships", [dated_only, timed]),
        ],
        outlets=["Wire"],
    )
    return Digest(channel="news", generated_at=NOW, stories=[story], more_stories=4)


def test_text_shows_undated_years_dates_and_what_was_left_out() -> None:
    text = render_digest(digest())
    assert "Wire, undated, first seen 09 Jun 20:15 UTC" in text
    assert "Post, 03 Jun 1998 14:30 UTC" in text
    assert "Herald, 08 Jun" in text and "08 Jun 00:00" not in text
    assert text.splitlines()[-1] == (
        "+4 more stories — newsbot digest --channel news --all lists them"
    )


def test_discord_uses_reader_zone_timestamps_and_keeps_undated() -> None:
    messages = render_discord(digest())
    description = messages[0]["embeds"][0]["description"]
    assert f"*Wire*, undated, first seen <t:{int(FIRST_SEEN.timestamp())}:f>" in description
    assert f"*Post*, <t:{int(LAST_YEAR.timestamp())}:f>" in description
    assert f"*Times*, <t:{int(TIMED.timestamp())}:f>" in description
    assert "*Herald*, 08 Jun" in description and "<t:" + str(int(DATE_ONLY.timestamp())) not in (
        description
    )
    assert "+4 more stories — More stories shows them (only to you)" in messages[-1]["content"]


def _slack_text(messages: list[dict[str, Any]]) -> str:
    parts: list[str] = []
    for m in messages:
        for block in m["blocks"]:
            text = block.get("text")
            if isinstance(text, dict):
                parts.append(str(text["text"]))
            parts.extend(str(e.get("text", "")) for e in block.get("elements", ()))
    return "\n".join(parts)


def test_slack_uses_date_tokens_with_a_fallback_and_keeps_undated() -> None:
    text = _slack_text(render_slack(digest()))
    epoch = int(FIRST_SEEN.timestamp())
    assert (
        f"_Wire_, undated, first seen <!date^{epoch}^{{date_short_pretty}} {{time}}"
        "|09 Jun 20:15 UTC>"
    ) in text
    assert (
        f"<!date^{int(LAST_YEAR.timestamp())}^{{date_short_pretty}} {{time}}|03 Jun 1998 " in text
    )
    assert "_Herald_, 08 Jun" in text
    assert "+4 more stories — More stories shows them (only to you)" in text
