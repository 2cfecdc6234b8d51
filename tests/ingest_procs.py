"""Several ``newsbot`` processes on one database, started together (tests and
scripts/concurrent_ingest.py).

Each ingest process imports newsbot first and then waits for a shared start file, so the
processes really run at the same time instead of one after the other; reader processes loop
``stories``, ``export stories`` and ``search`` until the ingests end.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.storage import Store

REPO = Path(__file__).resolve().parents[1]
# Import newsbot, wait for the start file, then run the CLI with the remaining arguments.
WAIT_THEN_RUN = (
    "import os, sys, time\n"
    "from bot.cli import app\n"
    "go = sys.argv[1]\n"
    "while not os.path.exists(go):\n"
    "    time.sleep(0.005)\n"
    "sys.argv = ['newsbot', *sys.argv[2:]]\n"
    "app()\n"
)
_READ_COMMANDS = (["stories", "--all"], ["export", "stories"], ["search", "the"])


@dataclass(slots=True)
class Finished:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    def report(self) -> dict[str, Any]:
        """The ingest's ``--format json`` report."""
        data: dict[str, Any] = json.loads(self.stdout)
        return data


@dataclass(slots=True)
class Run:
    ingests: list[Finished]
    reads: list[Finished] = field(default_factory=list)
    seconds: float = 0.0


def env_for(tree: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(tree or REPO)
    env.pop("NEWSBOT_CONFIG", None)
    env.pop("NEWSBOT_DB", None)
    return env


def newsbot(db: Path, *args: str, tree: Path | None = None, cwd: Path | None = None) -> Finished:
    """One newsbot command run to its end."""
    argv = [sys.executable, "-m", "bot", "--db", str(db), *args]
    done = subprocess.run(
        argv, capture_output=True, text=True, env=env_for(tree), cwd=cwd or db.parent, check=False
    )
    return Finished(argv, done.returncode, done.stdout, done.stderr)


def concurrent_ingests(
    db: Path | str,
    groups: list[list[Path]],
    *,
    readers: int = 0,
    max_reads: int | None = None,
    tree: Path | None = None,
    workdir: Path | None = None,
) -> Run:
    """One ``newsbot ingest --format json`` process per group of files, all started at once,
    plus ``readers`` processes looping the read commands until the ingests end (or
    ``max_reads`` reads were run). ``db``: a SQLite file, or a PostgreSQL URL with
    ``workdir`` (where the processes run) and no readers."""
    if isinstance(db, str):
        assert workdir is not None and not readers, "a PostgreSQL run needs workdir, no readers"
        where, go = workdir, workdir / ".go-pg"
    else:
        where, go = db.parent, db.parent / f".go-{db.name}"
    go.unlink(missing_ok=True)
    env = env_for(tree)
    procs = []
    for files in groups:
        argv = [
            sys.executable, "-c", WAIT_THEN_RUN, str(go), "--db", str(db),
            "ingest", *map(str, files), "--format", "json", "--no-progress",
        ]  # fmt: skip
        proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=where
        )
        procs.append((argv, proc))
    time.sleep(0.3)  # let them import newsbot before the start
    started = time.perf_counter()
    go.touch()
    reads: list[Finished] = []
    if readers:
        # a reader needs the database to exist (the ingests create it)
        assert isinstance(db, Path)
        while not db.exists() and any(p.poll() is None for _, p in procs):
            time.sleep(0.01)
    while (
        readers
        and any(p.poll() is None for _, p in procs)
        and (max_reads is None or len(reads) < max_reads)
    ):
        for i in range(readers):
            reads.append(newsbot(db, *_READ_COMMANDS[(len(reads) + i) % 3], tree=tree))
    ingests = []
    for argv, proc in procs:
        out, err = proc.communicate()
        ingests.append(Finished(argv, proc.returncode, out, err))
    go.unlink(missing_ok=True)
    return Run(ingests, reads, time.perf_counter() - started)


def serial_ingests(db: Path, groups: list[list[Path]], *, tree: Path | None = None) -> Run:
    """The same groups ingested one after the other."""
    started = time.perf_counter()
    done = [
        newsbot(db, "ingest", *map(str, files), "--format", "json", "--no-progress", tree=tree)
        for files in groups
    ]
    return Run(done, seconds=time.perf_counter() - started)


def story_of(db: Path, *, tree: Path | None = None) -> dict[str, str]:
    """Article id -> story id, from ``newsbot export stories``."""
    done = newsbot(db, "export", "stories", tree=tree)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    return {r["id"]: r["story"] for r in rows}


def arrival_order(db: Path, *, tree: Path | None = None) -> list[str]:
    """Article ids in the order the database stored them."""
    done = newsbot(db, "export", "articles", tree=tree)
    assert done.returncode == 0, done.stderr
    return [json.loads(line)["id"] for line in done.stdout.splitlines() if line.strip()]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def story_consistency(db: Path | str) -> tuple[int, int]:
    """(live stories, those whose ``article_count`` is not their originals' number), read-only."""

    async def read() -> tuple[int, int]:
        store = await Store.open(db, writable=False)
        try:
            return await store.story_consistency()
        finally:
            await store.close()

    return asyncio.run(read())
