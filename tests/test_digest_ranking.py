"""When more stories carry news than max_stories: conflicts first, then updates to followed or
known stories, then new stories by distinct outlets and recency; what is left out is counted,
stays pending and comes next digest; nothing left out is marked delivered."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.digest import compose
from bot.digest.compose import Composed, merge_composed
from bot.digest.local import local_digest
from bot.digest.model import Digest, StoryDigest
from bot.digest.ranking import Candidate, choose
from bot.services import Services, open_services
from bot.settings import Settings

T0 = datetime(2025, 3, 1, 8, tzinfo=UTC)


def cand(
    sid: int, *, conflicts: int = 0, follows: bool = False, outlets: int = 1, hours: float = 0
) -> Candidate:
    return Candidate(sid, conflicts, follows, outlets, T0 + timedelta(hours=hours))


def test_conflicts_then_followed_then_new_by_outlets_then_recency() -> None:
    candidates = [
        cand(1, outlets=5, hours=9),  # new, widely covered
        cand(2, follows=True, hours=1),
        cand(3, conflicts=1, hours=0),
        cand(4, outlets=2, hours=2),
        cand(5, outlets=2, hours=8),  # as many outlets as 4, more recent
        cand(6, follows=True, outlets=3, hours=0),
    ]
    shown, left = choose(candidates, 4)
    assert [c.story_id for c in shown] == [3, 6, 2, 1]
    assert [c.story_id for c in left] == [5, 4]


def test_merging_a_channels_subscriptions_ranks_them_together_and_counts_each_story_once() -> None:
    def part(*cands: Candidate, left: tuple[Candidate, ...] = ()) -> Composed:
        digest = Digest(
            "c", T0, stories=[StoryDigest(f"s-{c.story_id}", "t", False) for c in cands]
        )
        shown = [(c.story_id, [c.story_id], []) for c in cands]
        return Composed(digest, shown, list(cands), list(left))

    a = part(cand(1, outlets=3), cand(2), left=(cand(7),))
    b = part(cand(3, conflicts=2), cand(1, outlets=3), left=(cand(2), cand(8)))
    merged = merge_composed([a, b], 2)
    assert [s.id for s in merged.digest.stories] == ["s-3", "s-1"]
    assert [s[0] for s in merged.shown] == [3, 1]
    # 2 was shown by a but dropped by the merge; 7 and 8 were left out; 2 counts once
    assert {c.story_id for c in merged.left_out} == {2, 7, 8}
    assert merged.digest.more_stories == 3


STORIES = {
    "glacier": (
        "Alpine glacier retreat measured by surveyors",
        "Surveyors measured the Morteratsch glacier retreating another forty metres this summer. "
        "Meltwater lakes have formed below the snout, according to the cantonal geology office. "
        "Guides in Pontresina now lead hikers along a longer moraine trail.",
    ),
    "glacier-2": (
        "Radar watches a crevasse above Pontresina",
        "Geologists installed a radar station to watch a crevasse on the Morteratsch glacier. "
        "The cantonal geology office said meltwater had widened the crack above the valley. "
        "Pontresina guides closed the moraine trail until the radar readings settle.",
    ),
    "port": (
        "Harbour crane strike halts container traffic",
        "Dockworkers in Rotterdam stopped the gantry cranes at dawn in a dispute over shift pay. "
        "Freighters queued at anchor in the North Sea while terminals stood idle. "
        "The union demands a bonus for night work and more rest between shifts.",
    ),
    "blight": (
        "Orchard blight spreads through apple growers",
        "A fungal blight is spreading through apple orchards across Normandy, cider makers warned. "
        "Growers burned infected branches and sprayed copper to slow the disease. "
        "Agronomists fear the harvest of Calvados apples could halve this autumn.",
    ),
    "telescope": (
        "Observatory telescope mirror is recoated",
        "Technicians at the Calar Alto observatory stripped the telescope mirror for recoating. "
        "A fresh aluminium layer will restore the reflectivity astronomers lost to dust. "
        "Night observations resume once the optics are aligned and tested on bright stars.",
    ),
    "ferry": (
        "Island ferry timetable cut for winter",
        "The operator of the Hebridean ferry route to Barra trimmed its winter sailings. "
        "Islanders complained that hospital appointments on the mainland will be harder to reach. "
        "Councillors asked ministers to fund an extra vessel before the storms arrive.",
    ),
    "bridge": (
        "Suspension bridge closed after cable inspection",
        "Engineers closed the Tamar suspension bridge after inspectors found corroded strands. "
        "Inspectors counted {n} damaged strands in the main cable, the highway authority said. "
        "Drivers face a long detour through Gunnislake while repairs are planned.",
    ),
}


def item(key: str, outlet: str, hours: float, n: int = 12) -> dict[str, str]:
    title, text = STORIES[key]
    return {
        "id": f"{key}-{outlet}-{n}",
        "title": title,
        "text": text.replace("{n}", str(n)),
        "source": outlet,
        "published": (T0 + timedelta(hours=hours)).isoformat(),
        "url": f"https://{outlet}.example/{key}/{n}",
    }


async def ingest(sv: Services, path: Path, items: list[dict[str, str]]) -> None:
    path.write_text("\n".join(json.dumps(i) for i in items), encoding="utf-8")
    await sv.ingestor.ingest(str(path))


async def delivered(sv: Services) -> set[int]:
    rows = await sv.store.fetchall("SELECT DISTINCT story_id FROM delivered_items")
    return {int(r[0]) for r in rows}


async def test_overflow_shows_what_matters_counts_the_rest_and_delivers_it_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings.model_validate(
        {
            "database": {"path": str(tmp_path / "n.db")},
            "seeds": {"folders": []},
            "digest": {"max_stories": 2},
        }
    )
    sv = await open_services(settings)
    try:
        await ingest(sv, tmp_path / "a.jsonl", [item("glacier", "wire", 0)])
        first = await local_digest(sv, channel="ch", now=T0 + timedelta(hours=1), commit=True)
        assert [s.title for s in first.stories] == [STORIES["glacier"][0]]
        await ingest(
            sv,
            tmp_path / "b.jsonl",
            [
                item("glacier-2", "post", 5),  # an update to a story the channel knows
                item("blight", "wire", 3),  # new, three outlets
                item("blight", "post", 3.1),
                item("blight", "herald", 3.2),
                item("telescope", "wire", 7),  # new, one outlet, recent
                item("ferry", "post", 2),  # new, one outlet, older
                item("bridge", "wire", 4, n=12),  # new, a changed figure between two outlets
                item("bridge", "post", 4.5, n=15),
            ],
        )
        second = await local_digest(sv, channel="ch", now=T0 + timedelta(hours=10), commit=True)
        assert [(s.title, s.known) for s in second.stories] == [
            (STORIES["bridge"][0], False),
            (STORIES["glacier-2"][0], True),
        ]
        assert second.stories[0].conflicts
        assert second.more_stories == 3
        shown_ids = await delivered(sv)
        assert len(shown_ids) == 2  # glacier story and bridge: the left-out stories stay pending

        third = await local_digest(sv, channel="ch", now=T0 + timedelta(hours=11), commit=True)
        assert [s.title for s in third.stories] == [STORIES["blight"][0], STORIES["telescope"][0]]
        assert third.more_stories == 1
        fourth = await local_digest(sv, channel="ch", now=T0 + timedelta(hours=12))
        assert [s.title for s in fourth.stories] == [STORIES["ferry"][0]]
        assert fourth.more_stories == 0
        every = await local_digest(
            sv, channel="fresh", now=T0 + timedelta(hours=12), every_story=True
        )
        assert len(every.stories) == 5 and every.more_stories == 0
        # Only the most recently active stories are read and ranked; the others are counted.
        monkeypatch.setattr(compose, "RANKED_MIN", 2)
        monkeypatch.setattr(compose, "RANKED_PER_SHOWN", 1)
        capped = await local_digest(sv, channel="capped", now=T0 + timedelta(hours=12))
        assert len(capped.stories) == 2 and capped.more_stories == 3
    finally:
        await sv.close()
