"""The ``newsbot`` command line (typer + rich progress bars).

Commands: ingest, digest, stories, story, search, export, sources import|export, run, doctor,
backup, migrate-db.

Global options ``--config FILE`` / ``NEWSBOT_CONFIG`` and ``--db FILE|URL`` / ``NEWSBOT_DB``. Every
command that prints data takes ``--format text|json``; the JSON shapes are documented in README.
Exit codes: 0 ok, 1 nothing could be done (e.g. nothing ingested), 2 bad configuration or usage.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape as markup_escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

from bot import __version__
from bot.errors import ConfigError, NewsbotError, StorageError, UserError
from bot.net.credentials import mask_in_text, masked
from bot.services import Services, open_services
from bot.settings import Settings, load_settings
from bot.text.sanitize import escape_controls, escape_controls_json

app = typer.Typer(
    name="newsbot",
    help="Self-hosted news monitoring: ingest feeds and files, group stories, post digests.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(soft_wrap=False)
err = Console(stderr=True)
T = TypeVar("T")


class Format(StrEnum):
    text = "text"
    json = "json"


class ExportFormat(StrEnum):
    json = "json"
    jsonl = "jsonl"
    text = "text"


class _State:
    config: str | None = None
    db: str | None = None
    verbose: bool = False


state = _State()


@app.callback()
def _global(
    config: Annotated[
        str | None,
        typer.Option("--config", envvar="NEWSBOT_CONFIG", help="Config file (TOML)."),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            envvar="NEWSBOT_DB",
            help="SQLite database file, or postgresql://USER@HOST:PORT/DB (preview).",
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
    version: Annotated[bool, typer.Option("--version", help="Print the version.")] = False,
) -> None:
    if version:
        out.print(f"newsbot {__version__}")
        raise typer.Exit(0)
    state.config, state.db, state.verbose = config, db, verbose


def settings() -> Settings:
    try:
        s = load_settings(state.config, db_path=state.db)
    except ConfigError as exc:
        say_err(str(exc))  # FILE:LINE: key: reason
        raise typer.Exit(2) from None
    level = logging.DEBUG if state.verbose else getattr(logging, s.logging.level)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_TerminalFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])
    return s


class _TerminalFormatter(logging.Formatter):
    """Log lines with control characters escaped (a logged title cannot drive the terminal)."""

    def format(self, record: logging.LogRecord) -> str:
        return escape_controls(super().format(record))


def run(
    make: Callable[[Services], Awaitable[T]], s: Settings | None = None, *, write: bool = True
) -> T:
    """Open the services, run one coroutine, close; map newsbot errors to exit codes.

    ``write=False`` for read commands: the database is opened query-only.
    """
    s = s or settings()

    async def main() -> T:
        services = await open_services(s, write=write)
        try:
            return await make(services)
        finally:
            await services.close()

    try:
        return asyncio.run(main())
    except (UserError, ConfigError) as exc:
        say_err(f"error: {exc}")
        raise typer.Exit(2) from None
    except StorageError as exc:
        say_err(f"database error: {exc}")
        raise typer.Exit(1) from None
    except NewsbotError as exc:
        say_err(f"error: {exc}")
        raise typer.Exit(1) from None
    except Exception as exc:
        if state.verbose:
            raise
        say_err(f"error: {type(exc).__name__}: {exc} (--verbose shows the traceback)")
        raise typer.Exit(1) from None


def say_err(text: str) -> None:
    """One unwrapped line to stderr (errors and warnings must stay one line); control
    characters shown escaped, never sent to the terminal."""
    sys.stderr.write(escape_controls(text).replace("\n", " ") + "\n")


def echo(text: str) -> None:
    """Plain text to stdout, already wrapped by the renderer (no rich re-wrapping); control
    characters (but newline and tab) shown escaped."""
    sys.stdout.write(escape_controls(text) + "\n")


def json_line(data: Any, *, indent: int | None = None) -> str:
    """JSON for a terminal: valid JSON with every control character escaped."""
    return escape_controls_json(json.dumps(data, ensure_ascii=False, indent=indent))


def print_json(data: Any) -> None:
    sys.stdout.write(json_line(data, indent=2) + "\n")


class ProgressBars:
    """Rich progress bars keyed by task label (bytes for archives, items for folders; rows
    with ``rows=True``)."""

    def __init__(self, enabled: bool, *, rows: bool = False) -> None:
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn() if rows else DownloadColumn(),
            TimeRemainingColumn(),
            console=err,
            disable=not enabled,
            transient=False,
        )
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, label: str, advance: int, total: int | None) -> None:
        task = self.tasks.get(label)
        if task is None:
            name = escape_controls(Path(label).name or label)
            task = self.progress.add_task(markup_escape(name), total=total)
            self.tasks[label] = task
        self.progress.update(task, advance=advance)

    def __enter__(self) -> ProgressBars:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(None, None, None)


# --------------------------------------------------------------------------- ingest
@app.command()
def ingest(
    locators: Annotated[list[str], typer.Argument(help="Files, folders or feed URLs.")],
    fmt: Annotated[Format, typer.Option("--format")] = Format.text,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
) -> None:
    """Ingest article files, folders, JSONL archives, feed files or feed URLs."""
    from bot.models import IngestReport

    async def go(sv: Services) -> IngestReport:
        with ProgressBars(progress and fmt is Format.text and err.is_terminal) as bars:
            return await sv.ingestor.ingest_many(locators, progress=bars)

    report = run(go)
    for warning in report.warnings:
        say_err(f"warning: {warning}")
    if fmt is Format.json:
        print_json(
            {
                "seen": report.seen,
                "stored": report.stored,
                "duplicates": report.duplicates,
                "unchanged": report.unchanged,
                "warnings": [{"where": w.where, "message": w.message} for w in report.warnings],
            }
        )
    else:
        out.print(
            f"{report.stored} stored, {report.duplicates} duplicates, "
            f"{report.unchanged} already known, {len(report.warnings)} warnings",
            highlight=False,
        )
    if report.stored + report.duplicates + report.unchanged == 0:
        raise typer.Exit(1)


# --------------------------------------------------------------------------- digest
@app.command()
def digest(
    channel: Annotated[str, typer.Option(help="Local channel whose memory to use.")] = "console",
    topic: Annotated[str | None, typer.Option(help="Topic query: only stories it matches.")] = None,
    story_id: Annotated[str | None, typer.Option("--story", help="Follow one story id.")] = None,
    commit: Annotated[
        bool, typer.Option("--commit", help="Record as delivered: the next digest shows only news.")
    ] = False,
    every_story: Annotated[
        bool, typer.Option("--all", help="Every story with news, not only [digest] max_stories.")
    ] = False,
    fmt: Annotated[Format, typer.Option("--format")] = Format.text,
    sync: Annotated[bool, typer.Option(help="Ingest the configured seed folders first.")] = True,
) -> None:
    """Print what CHANNEL has not been told yet: new stories summarised, known ones updated."""
    from bot.digest.codec import encode_digest
    from bot.digest.local import local_digest
    from bot.digest.render import render_digest
    from bot.models import utcnow

    async def go(sv: Services) -> Any:
        if sync:
            report = await sv.sync_seeds()
            for warning in report.warnings:
                say_err(f"warning: {warning}")
        return await local_digest(
            sv,
            channel=channel,
            now=utcnow(),
            topic=topic,
            story_ref=story_id,
            commit=commit,
            every_story=every_story,
        )

    # a preview (no --commit) writes nothing; only the seed sync it is asked for ingests
    result = run(go, write=commit or sync)
    if fmt is Format.json:
        print_json(encode_digest(result))
    else:
        echo(render_digest(result))


# --------------------------------------------------------------------------- stories
@app.command()
def stories(
    topic: Annotated[
        str | None, typer.Option("--topic", help="Only stories this topic query matches.")
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include quiet stories.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    fmt: Annotated[Format, typer.Option("--format")] = Format.text,
) -> None:
    """List stories (newest activity first), or those a topic matches and why."""
    from bot.queries.views import list_stories, render_stories

    data = run(
        lambda sv: list_stories(sv, topic=topic, include_inactive=all_, limit=limit), write=False
    )
    if fmt is Format.json:
        print_json(data)
    else:
        echo(render_stories(data))


@app.command()
def story(
    story_id: Annotated[str, typer.Argument(metavar="ID", help="Story id, e.g. s-4f2a.")],
    explain: Annotated[bool, typer.Option(help="Show the terms tying each article.")] = False,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Write a coverage timeline PNG here.")
    ] = None,
    fmt: Annotated[Format, typer.Option("--format")] = Format.text,
) -> None:
    """Show one story with its articles and outlets."""
    from bot.digest.plot import coverage_png
    from bot.queries.views import render_story_detail, story_detail

    data = run(lambda sv: story_detail(sv, story_id, explain=explain), write=False)
    if plot is not None:
        points = [(datetime.fromisoformat(c["published"]), c["source"]) for c in data["coverage"]]
        plot.write_bytes(coverage_png(data["title"], points))
        say_err(f"coverage timeline written to {plot}")
    if fmt is Format.json:
        print_json(data)
    else:
        echo(render_story_detail(data))


# --------------------------------------------------------------------------- search
@app.command()
def search(
    query: Annotated[str, typer.Argument(help='Words, "phrases", AND/OR/NOT, parentheses.')],
    limit: Annotated[int, typer.Option(min=1, max=100)] = 10,
    fmt: Annotated[Format, typer.Option("--format")] = Format.text,
) -> None:
    """Full-text search over stored articles (best match first)."""
    from bot.queries.views import render_search, search_articles

    data = run(lambda sv: search_articles(sv, query, limit=limit), write=False)
    if fmt is Format.json:
        print_json(data)
    else:
        echo(render_search(data))


# --------------------------------------------------------------------------- export
@app.command()
def export(
    what: Annotated[str, typer.Argument(help="articles | stories")],
    fmt: Annotated[ExportFormat, typer.Option("--format")] = ExportFormat.jsonl,
) -> None:
    """Export every ingested article (or its story assignment) as JSON Lines or JSON."""
    from bot.queries.views import export_rows

    if what not in ("articles", "stories"):
        say_err(f"error: export takes 'articles' or 'stories', not {what!r}")
        raise typer.Exit(2)
    rows = run(lambda sv: export_rows(sv, what), write=False)
    if fmt is ExportFormat.json:
        print_json(rows)
    else:
        for row in rows:
            sys.stdout.write(json_line(row) + "\n")


# --------------------------------------------------------------------------- sources
sources_app = typer.Typer(
    help="The operator's feeds ([[feeds]] and imported): OPML import and export.",
    no_args_is_help=True,
)
app.add_typer(sources_app, name="sources")


@sources_app.command("import")
def sources_import(
    file: Annotated[Path, typer.Argument(metavar="FILE.opml", help="OPML subscription list.")],
    fmt: Annotated[Format, typer.Option("--format")] = Format.text,
) -> None:
    """Add the feeds of an OPML file as sources; say what was imported and what was skipped."""
    from bot.net.ssrf import NetworkPolicy
    from bot.sources.opml import import_feeds, read_opml

    s = settings()
    try:
        data = file.read_bytes()
    except OSError as exc:
        say_err(f"error: {file}: cannot read: {exc.strerror or exc}")
        raise typer.Exit(2) from None
    try:
        feeds, unusable = read_opml(data, origin=str(file))
    except NewsbotError as exc:
        say_err(f"error: {exc}")
        raise typer.Exit(2) from None
    imported, skipped = run(
        lambda sv: import_feeds(sv.store, feeds, policy=NetworkPolicy(s.network.allow)), s
    )
    skipped = unusable + skipped
    if fmt is Format.json:
        print_json(
            {
                "imported": [{"url": masked(f.url), "name": f.name} for f in imported],
                "skipped": [{"what": masked(k.what), "why": mask_in_text(k.why)} for k in skipped],
            }
        )
    else:
        for feed in imported:
            echo(f"imported: {masked(feed.url)}" + (f" ({feed.name})" if feed.name else ""))
        for item in skipped:
            echo(f"skipped: {masked(item.what)}: {mask_in_text(item.why)}")
        echo(f"{len(imported)} imported, {len(skipped)} skipped")
    if not imported and not skipped:
        say_err(f"error: {file}: no feed outlines in the file")
    if not imported:
        raise typer.Exit(1)


@sources_app.command("export")
def sources_export(
    file: Annotated[Path, typer.Argument(metavar="FILE.opml", help="Where to write (- stdout).")],
    force: Annotated[bool, typer.Option("--force", help="Replace FILE if it exists.")] = False,
) -> None:
    """Write the operator's feeds as an OPML 2.0 file."""
    from bot.sources.opml import export_feeds, write_opml

    s = settings()
    to_stdout = str(file) == "-"
    if not to_stdout and file.exists() and not force:
        say_err(f"error: {file} exists; pass --force to replace it")
        raise typer.Exit(2)
    feeds = run(lambda sv: export_feeds(sv.store), s)
    data = write_opml(feeds)
    if to_stdout:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    try:
        file.write_bytes(data)
    except OSError as exc:
        say_err(f"error: {file}: cannot write: {exc.strerror or exc}")
        raise typer.Exit(2) from None
    say_err(f"{len(feeds)} feeds written to {file}")


@contextlib.contextmanager
def _store_exit_codes() -> Iterator[None]:
    """A refused request exits 2, a database failure 1, each as one line on stderr."""
    try:
        yield
    except UserError as exc:
        say_err(f"error: {exc}")
        raise typer.Exit(2) from None
    except StorageError as exc:
        say_err(f"database error: {exc}")
        raise typer.Exit(1) from None


# --------------------------------------------------------------------------- doctor
@app.command()
def backup(
    dest: Annotated[Path, typer.Argument(metavar="FILE", help="Where to write the copy.")],
    force: Annotated[bool, typer.Option("--force", help="Replace FILE if it exists.")] = False,
    fmt: Annotated[Format, typer.Option("--format")] = Format.text,
) -> None:
    """Write a consistent copy of the database (safe while `newsbot run` writes to it)."""
    from bot.operations.backup import backup_database

    s = settings()
    with _store_exit_codes():
        report = backup_database(s.db_target, dest, overwrite=force)
    if fmt is Format.json:
        print_json(report.to_json())
    else:
        counts = ", ".join(f"{n} {table}" for table, n in report.rows.items())
        echo(
            f"backup written to {report.path} ({report.size_bytes / 1e6:.1f} MB, "
            f"integrity {report.integrity}; {counts}) in {report.seconds:.1f}s"
        )


@app.command("migrate-db")
def migrate_db(
    source: Annotated[str, typer.Argument(metavar="SRC", help="Database to copy (file or URL).")],
    target: Annotated[
        str, typer.Argument(metavar="DST", help="Empty database to fill (file or URL).")
    ],
    fmt: Annotated[Format, typer.Option("--format")] = Format.text,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
) -> None:
    """Copy every row of SRC into the empty DST (e.g. a SQLite file into PostgreSQL)."""
    from bot.storage.copy import migrate_database

    settings()  # logging as every command sets it up
    with (
        _store_exit_codes(),
        ProgressBars(progress and fmt is Format.text and err.is_terminal, rows=True) as bars,
    ):
        report = asyncio.run(migrate_database(source, target, progress=bars))
    if fmt is Format.json:
        print_json(report.to_json())
        return
    counts = ", ".join(f"{n} {table}" for table, n in report.rows.items() if n)
    echo(
        f"copied {report.total} rows from {report.source} to {report.target} "
        f"in {report.seconds:.1f}s ({counts or 'no rows'}); row counts match"
    )


@app.command()
def doctor(fmt: Annotated[Format, typer.Option("--format")] = Format.text) -> None:
    """Check configuration, database and credentials; say what `run` would start."""
    from bot.operations.doctor import diagnose

    s = settings()
    checks = asyncio.run(diagnose(s))
    if fmt is Format.json:
        print_json(checks)
    else:
        for check in checks:
            mark = {"ok": "[green]ok[/green]", "warn": "[yellow]warn[/yellow]"}.get(
                check["status"], "[red]FAIL[/red]"
            )
            detail = markup_escape(escape_controls(f"{check['name']}: {check['detail']}"))
            out.print(f"{mark}  {detail}", highlight=False, soft_wrap=True)
    if any(c["status"] == "fail" for c in checks):
        raise typer.Exit(1)


# --------------------------------------------------------------------------- run
@app.command("run")
def run_bot() -> None:
    """Run the bot: poll seeds and feeds on schedule, post digests, serve chat platforms."""
    from bot.app import run_forever

    s = settings()
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run_forever(s))
    except (UserError, ConfigError) as exc:
        say_err(f"error: {exc}")
        raise typer.Exit(2) from None
    except NewsbotError as exc:
        say_err(f"error: {exc}")
        raise typer.Exit(1) from None


def main() -> None:
    app()
