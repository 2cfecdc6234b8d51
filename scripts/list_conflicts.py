"""List the conflicts a new user would see on a JSONL archive, through the product path.

Ingests the archive into a fresh database (the ``newsbot ingest`` path), then for every
story asks what ``/news conflicts ID`` lists and what one digest (no earlier delivery,
``max_stories`` lifted) shows. With ``--steps N`` the archive arrives as a channel would
see it: N slices in time order, each ingested and followed by a committed digest (every
conflict a digest finds is listed, the per-story cap lifted), then the command at the end.
Writes one JSON object per conflict:
``{"story", "title", "where", "kind", "fact", "statements": [{"text", "outlet", "published"}]}``
(``where`` is ``command`` or ``digest``) and prints the counts.

    .venv/bin/python scripts/list_conflicts.py ../shared/data/dev/duc2006-topics.jsonl \
        --steps 8 --out /tmp/conflicts.jsonl
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


async def _run(archive: Path, tmp: Path, steps: int) -> list[dict[str, Any]]:
    from bot.digest.local import local_digest
    from bot.services import open_services
    from bot.settings import DigestSettings, Settings

    digest_settings: dict[str, int] = {"max_stories": 1000}
    if "max_conflicts" in DigestSettings.model_fields:  # older versions showed every conflict
        digest_settings["max_conflicts"] = 100_000
    settings = Settings.model_validate(
        {"database": {"path": str(tmp / "c.db")}, "seeds": {"folders": []},
         "digest": digest_settings}
    )  # fmt: skip
    rows = [line for line in archive.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows.sort(key=lambda line: str(json.loads(line).get("published") or ""))
    size = -(-len(rows) // steps)
    sv = await open_services(settings)
    out: list[dict[str, Any]] = []
    try:
        for k in range(steps):
            part = tmp / f"part{k}.jsonl"
            part.write_text("\n".join(rows[k * size : (k + 1) * size]) + "\n", encoding="utf-8")
            await sv.ingestor.ingest(str(part))
            now = datetime(2030, 1, 1 + k, tzinfo=UTC)
            digest = await local_digest(sv, channel="judge", now=now, commit=steps > 1)
            for story in digest.stories:
                for conflict in story.conflicts:
                    out.append({
                        "story": story.id, "title": story.title, "where": "digest",
                        "step": k, "kind": conflict.kind, "fact": conflict.fact,
                        "statements": [
                            {"text": s.text, "outlet": s.source,
                             "published": s.published.isoformat()}
                            for s in conflict.statements
                        ],
                    })  # fmt: skip
        for sid in sorted(await sv.store.live_story_ids()):
            heading = await sv.store.story_heading(sid)
            assert heading is not None
            public, title = heading
            for c in await _command_conflicts(sv, sid):
                out.append({"story": public, "title": title, "where": "command", **c})
    finally:
        await sv.close()
    return out


async def _command_conflicts(sv: Any, story_id: int) -> list[dict[str, Any]]:
    """What ``/news conflicts`` lists for a story (every conflict, not the shown few)."""
    try:
        from bot.digest.conflicts import story_conflicts
    except ImportError:  # before the one conflicts function existed
        from handlers.stories import story_conflicts

        blocks = await story_conflicts(sv, story_id)
        return [{"kind": b[0], "fact": "", "statements": [{"text": x} for x in b[1:]]}
                for b in blocks]  # fmt: skip
    found = await story_conflicts(sv.store, story_id)
    return [
        {"kind": c.kind, "fact": c.fact, "values": list(c.values),
         "statements": [{"text": s.text, "outlet": s.outlet, "published": s.published.isoformat()}
                        for s in c.statements]}
        for c in found.conflicts
    ]  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("archive", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--steps", type=int, default=1, help="slices delivered in time order")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        found = asyncio.run(_run(args.archive, Path(tmp), max(1, args.steps)))
    args.out.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in found))
    where = Counter(c["where"] for c in found)
    stories = Counter(c["story"] for c in found if c["where"] == "digest")
    print(f"conflicts listed by /news conflicts: {where['command']}; shown in a digest: "
          f"{where['digest']} in {len(stories)} stories; written to {args.out}")  # fmt: skip


if __name__ == "__main__":
    main()
