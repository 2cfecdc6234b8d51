"""Settings: defaults in code, overridden by ``config/newsbot.toml``, then env vars, then flags.

Every setting lives in one of the pydantic models below with its default; ``config/newsbot.toml``
documents the same keys (a test keeps the two in step). Secrets never come from the TOML file:
only from the environment or from a file named by ``<NAME>_FILE``; their names are the chat
platforms' (``bot/platforms/registry.py``).
A bad key or value raises :class:`ConfigError` naming the key and, when known, its line.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from bot.errors import ConfigError, UserError
from bot.net.ssrf import GuardSettings
from bot.platforms.registry import platform_names, secret_names
from bot.storage.backend import POSTGRESQL, kind_of

DEFAULT_CONFIG_PATH = Path("config/newsbot.toml")
SECRET_NAMES = secret_names()

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


MAX_DURATION_S = 366 * 86400.0  # no duration newsbot reads is longer than a year


def parse_duration(value: object) -> float:
    """``90``, ``"90s"``, ``"15m"``, ``"2h"``, ``"1d"`` -> seconds (finite, at most a year)."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 900, '15m' or '2h'")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        m = _DURATION_RE.match(str(value))
        if not m:
            raise ValueError(f"{value!r} is not a duration such as 900, '15m' or '2h'")
        seconds = float(m.group(1)) * _UNITS[m.group(2)]
    if not math.isfinite(seconds):
        raise ValueError(f"{value!r} is not a finite duration")
    if seconds <= 0:
        raise ValueError("a duration must be positive")
    if seconds > MAX_DURATION_S:
        raise ValueError(f"{value!r} is longer than a year")
    return seconds


def _timeout(value: float) -> float:
    if value > 3600:
        raise ValueError(f"{value:g}s is too long for a timeout (at most 3600)")
    return value


def check_feed_url(url: str) -> str:
    """An http(s) URL with a host; anything else would never be polled."""
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"not a valid URL ({exc})") from None
    del port
    if not parts.scheme:
        raise ValueError("not a URL such as https://example.com/rss.xml")
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError(f"feeds are fetched over http or https, not {parts.scheme}:")
    if not parts.hostname:
        raise ValueError("the URL has no host")
    if any(c.isspace() for c in text):
        raise ValueError("the URL contains spaces")
    return text


class _Section(BaseModel):
    # inf and nan are refused for every number (TOML spells them inf, nan)
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class DatabaseSettings(_Section):
    path: str = "newsbot.db"
    # postgresql://USER@HOST:PORT/DB selects PostgreSQL (preview); the password comes from
    # PGPASSWORD, NEWSBOT_DB_PASSWORD or NEWSBOT_DB_PASSWORD_FILE, never from here
    url: str = ""  # "": the SQLite file at ``path``
    busy_timeout_ms: int = Field(5000, ge=0, le=600_000)

    @field_validator("url")
    @classmethod
    def _postgres_url(cls, value: str) -> str:
        if value and kind_of(value) != POSTGRESQL:
            raise ValueError("must be a postgresql://USER@HOST:PORT/DB URL")
        if value and urlsplit(value).password:
            raise ValueError(
                "must not hold a password; set PGPASSWORD or NEWSBOT_DB_PASSWORD instead"
            )
        return value

    @property
    def target(self) -> str:
        """What :meth:`bot.storage.Store.open` opens: the URL, a PostgreSQL ``path``, or the
        SQLite file."""
        return self.url or self.path


class SeedSettings(_Section):
    folders: list[str] = ["seeds"]
    patterns: list[str] = ["*.txt", "*.md", "*.jsonl", "*.xml", "*.rss", "*.atom", "*.json"]
    rescan_interval: float = 300.0

    _dur = field_validator("rescan_interval", mode="before")(parse_duration)


class FeedSettings(_Section):
    url: str
    name: str | None = None
    interval: float = 900.0
    filter: str | None = None  # a topic query items must match to be ingested

    _dur = field_validator("interval", mode="before")(parse_duration)
    _url = field_validator("url")(check_feed_url)

    @field_validator("filter")
    @classmethod
    def _query(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        from bot.queries.language import parse_query

        try:
            return parse_query(value).text
        except UserError as exc:
            raise ValueError(str(exc)) from None


class SourcesSettings(_Section):
    """Feeds added in chat feed only the workspace that added them, unless shared here:
    ``shared = "*"`` (every one) or a list of feed URLs or names (bot.storage.scope)."""

    shared: Literal["*"] | list[str] = []

    @field_validator("shared", mode="before")
    @classmethod
    def _entries(cls, value: Any) -> Any:
        if isinstance(value, str) and value != "*":
            raise ValueError('use "*" (every chat-added feed) or a list of feed URLs or names')
        if isinstance(value, list):
            return [str(v).strip() for v in value if str(v).strip()]
        return value


class FetchSettings(_Section):
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    max_redirects: int = Field(5, ge=0, le=20)
    max_body_bytes: int = Field(10_000_000, gt=0)
    user_agent: str = "newsbot/0.1 (+https://github.com/newsbot; feed reader)"
    parse_timeout: float = 20.0

    _dur = field_validator("connect_timeout", "read_timeout", "parse_timeout", mode="before")(
        parse_duration
    )
    _max = field_validator("connect_timeout", "read_timeout", "parse_timeout")(_timeout)


class IngestSettings(_Section):
    max_article_chars: int = Field(100_000, gt=0)
    max_items_per_feed: int = Field(500, gt=0)
    future_tolerance: float = 3600.0

    _dur = field_validator("future_tolerance", mode="before")(parse_duration)


class DedupSettings(_Section):
    near_duplicate_threshold: float = Field(0.5, gt=0, le=1)
    num_perm: int = Field(128, ge=16, le=512)
    shingle_words: int = Field(4, ge=1, le=10)
    min_words: int = Field(40, ge=1)


class PollSettings(_Section):
    """``[polling]``: feed schedule, backoff and auto-disable (durations: 900, "15m", "3d")."""

    min_interval: float = 900.0
    max_interval: float = 86400.0
    jitter: float = Field(0.1, ge=0, le=0.5)
    backoff_base: float = 300.0
    backoff_max: float = 86400.0
    retry_after_max: float = 86400.0
    throttle_default: float = 3600.0
    disable_after_failures: int = Field(10, ge=1)
    disable_after: float = 259200.0
    force_full_fetch_after: float = 43200.0
    first_fetch_new_items: int = Field(0, ge=0)
    stale_item_age: float = 604800.0
    max_concurrent: int = Field(8, ge=1)
    per_host: int = Field(2, ge=1)
    tick: float = Field(60.0, gt=0)  # how often `run` looks for due feeds
    claim_lease: float = Field(300.0, gt=0)  # a claimed feed's lease (renewed before ingest)

    _dur = field_validator(
        "tick",
        "claim_lease",
        "min_interval",
        "max_interval",
        "backoff_base",
        "backoff_max",
        "retry_after_max",
        "throttle_default",
        "disable_after",
        "force_full_fetch_after",
        "stale_item_age",
        mode="before",
    )(parse_duration)

    @field_validator("max_interval", "backoff_max")
    @classmethod
    def _not_below_its_floor(cls, value: float, info: ValidationInfo) -> float:
        floor = {"max_interval": "min_interval", "backoff_max": "backoff_base"}[
            str(info.field_name)
        ]
        low = info.data.get(floor)
        if low is not None and value < low:
            raise ValueError(f"{value:g}s is below {floor} ({low:g}s)")
        return value


class StorySettings(_Section):
    """Story grouping; the defaults were tuned on the DUC 2006 development topics."""

    threshold: float = Field(0.13, gt=0, lt=1)
    time_decay_days: float = Field(0.0, ge=0)  # half-life in days; 0: no decay
    active_days: float = Field(3650.0, gt=0)
    merge_threshold: float = Field(0.5, gt=0, le=1)
    centroid_terms: int = Field(100, ge=0)  # story terms matched against; 0: all
    entity_weight: float = Field(0.5, ge=0)
    title_weight: float = Field(2.0, ge=0)


class DigestSettings(_Section):
    schedule: str = "daily 08:00"
    timezone: str = "UTC"
    max_stories: int = Field(10, gt=0, le=1000)
    summary_sentences: int = Field(4, ge=2, le=12)
    max_new_statements: int = Field(5, gt=0, le=1000)
    # A story belongs to a free-text topic when its relevance score (0..1, bot/queries/relevance.py)
    # reaches topic_threshold and topic_relative x the best story's score for that topic.
    topic_threshold: float = Field(0.22, ge=0.0, le=1.0)
    topic_relative: float = Field(0.6, ge=0.0, le=1.0)
    max_conflicts: int = Field(3, gt=0)  # per story; "/news conflicts ID" lists them all
    summary_words: int = Field(100, gt=0, le=1000)  # word budget of a new story's summary
    new_words: int = Field(100, gt=0, le=1000)  # word budget of a known story's "what's new"
    selection: Literal["greedy", "exact"] = "greedy"  # coverage solver (README "Summaries")

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        from bot.delivery.schedules import parse_schedule

        try:
            parse_schedule(value)
        except UserError as exc:  # the value itself is not echoed (it could be a misplaced secret)
            m = re.search(r"\((.*)\): use", str(exc))
            detail = re.sub(r"'[^']*'", "a field", m.group(1) if m else "unknown form")
            raise ValueError(
                f"not a schedule ({detail}): use hourly, 'daily 08:00', 'weekdays 09:00', "
                "'weekly mon 09:00' or a cron line such as '0 8 * * 1-5'"
            ) from None
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        from bot.delivery.schedules import parse_timezone

        try:
            return parse_timezone(value).key
        except UserError:
            raise ValueError("unknown time zone: use an IANA name such as Europe/Paris") from None


class OutboxSettings(_Section):
    """``[outbox]``: how stored digests are sent (durations: 120, "2m")."""

    # How long a delivery stays the worker's that took it (renewed before each attempt): a
    # worker that dies mid-send holds it this long, then another worker sends it.
    lease: float = 120.0
    flush_interval: float = 60.0  # how often pending digests (retries, taken over) are sent

    _dur = field_validator("lease", "flush_interval", mode="before")(parse_duration)


class HealthSettings(_Section):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(9108, ge=0, le=65535)


class WorkerSettings(_Section):
    """``[workers]``: several ``newsbot run`` processes on one PostgreSQL database."""

    leader_retry: float = Field(15.0, gt=0)  # how often a follower tries to become leader

    _dur = field_validator("leader_retry", mode="before")(parse_duration)


class PermissionSettings(_Section):
    """Who may subscribe, follow, unsubscribe (and undo that) in chat. Empty: everyone.
    Server and workspace admins always may."""

    manage_role: str = ""  # Discord: a role name or id
    manage_users: list[str] = []  # Slack: user ids; ["admins"]: workspace admins only


class DiscordSettings(_Section):
    """Sharding: discord.py's ``AutoShardedClient`` runs ``shard_ids`` of ``shard_count``
    shards in this process (Discord sends each guild's events to shard ``guild_id >> 22 %
    shard_count``). ``shard_count = 0``: the count Discord recommends, every shard here;
    ``shard_ids = []``: every shard of ``shard_count`` here. Secrets never go here."""

    shard_count: int = Field(0, ge=0, le=100_000)
    shard_ids: list[int] = []

    @field_validator("shard_ids")
    @classmethod
    def _within_count(cls, value: list[int], info: ValidationInfo) -> list[int]:
        count = info.data.get("shard_count", 0)
        if value and not count:
            raise ValueError("needs shard_count (the total number of shards across workers)")
        outside = [i for i in value if not 0 <= i < count]
        if outside:
            raise ValueError(f"shard ids go from 0 to {count - 1}; {outside} is outside")
        if len(set(value)) != len(value):
            raise ValueError("lists a shard twice")
        return sorted(value)


# Settings a chat platform's own section may hold (anything else there is taken for a secret).
PLATFORM_SECTIONS: dict[str, type[_Section]] = {"discord": DiscordSettings}


class LogSettings(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class Settings(_Section):
    database: DatabaseSettings = DatabaseSettings()
    seeds: SeedSettings = SeedSettings()
    feeds: list[FeedSettings] = []
    sources: SourcesSettings = SourcesSettings()
    fetch: FetchSettings = FetchSettings()
    polling: PollSettings = PollSettings()
    network: GuardSettings = GuardSettings()
    ingest: IngestSettings = IngestSettings()
    dedup: DedupSettings = DedupSettings()
    stories: StorySettings = StorySettings()
    digest: DigestSettings = DigestSettings()
    outbox: OutboxSettings = OutboxSettings()
    health: HealthSettings = HealthSettings()
    workers: WorkerSettings = WorkerSettings()
    permissions: PermissionSettings = PermissionSettings()
    discord: DiscordSettings = DiscordSettings()
    logging: LogSettings = LogSettings()

    @property
    def db_path(self) -> Path:
        return Path(self.database.path)

    @property
    def db_target(self) -> str:
        """The database to open: a SQLite file path or a PostgreSQL URL."""
        return self.database.target


class Secrets:
    """Secrets read from the environment or ``<NAME>_FILE``; ``repr`` never shows a value."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        env = dict(os.environ) if env is None else env
        self._values: dict[str, SecretStr] = {}
        for name in SECRET_NAMES:
            value = env.get(name)
            file_name = env.get(f"{name}_FILE")
            if not value and file_name:
                try:
                    value = Path(file_name).read_text(encoding="utf-8").strip()
                except OSError as exc:
                    raise ConfigError(
                        f"{name}_FILE: cannot read secret file {file_name}: {exc.strerror}"
                    ) from None
            if value:
                self._values[name] = SecretStr(value)

    def get(self, name: str) -> str | None:
        secret = self._values.get(name)
        return secret.get_secret_value() if secret else None

    def present(self) -> list[str]:
        return sorted(self._values)

    def all_values(self) -> list[str]:
        return [s.get_secret_value() for s in self._values.values()]

    def __repr__(self) -> str:
        return f"Secrets(present={self.present()})"


def _key_line(text: str, loc: tuple[Any, ...]) -> int | None:
    """Best-effort line number of the key at ``loc`` in TOML ``text`` (1-based); an index in
    ``loc`` (``feeds.1.url``) picks that occurrence of the ``[[feeds]]`` table."""
    lines = text.splitlines()
    names = [str(p) for p in loc]
    if not names:
        return None
    start, end = 0, len(lines)
    path: list[str] = []
    i = 0
    while i < len(names) - 1:
        name = names[i]
        path.append(name)
        header = ".".join(path)
        index = int(names[i + 1]) if names[i + 1].isdigit() else None
        pat = re.compile(rf"^\s*\[\[?\s*{re.escape(header)}\s*\]\]?\s*(#.*)?$")
        hits = [n for n in range(start, end) if pat.match(lines[n])]
        wanted = index if index is not None else 0
        if len(hits) > wanted:
            start = hits[wanted]
            later = [n for n in range(start + 1, len(lines)) if re.match(r"^\s*\[", lines[n])]
            end = later[0] if later else len(lines)
        i += 2 if index is not None else 1
    key = names[-1]
    if key.isdigit():
        return start + 1 if start else None
    key_pat = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
    for n in range(start, end):
        if key_pat.match(lines[n]):
            return n + 1
    header_pat = re.compile(rf"^\s*\[\[?\s*{re.escape('.'.join(names))}\s*\]\]?")
    for n, line in enumerate(lines):
        if header_pat.match(line):
            return n + 1
    return start + 1 if start else None


def _format_validation(exc: ValidationError, source: str, text: str) -> str:
    err = exc.errors()[0]
    loc = tuple(err["loc"])
    key = ".".join(str(p) for p in loc)
    line = _key_line(text, loc) if text else None
    where = f"{source}:{line}" if line else source
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "unknown setting"
    elif err["type"] == "finite_number":
        msg = f"{err.get('input')!r} is not a finite number"
    return f"{where}: {key}: {msg}"


def load_settings(
    config_path: str | Path | None = None,
    *,
    db_path: str | None = None,
    env: dict[str, str] | None = None,
) -> Settings:
    """Load settings: code defaults < TOML file < env (``NEWSBOT_*``) < explicit arguments."""
    env = dict(os.environ) if env is None else env
    explicit = config_path or env.get("NEWSBOT_CONFIG")
    path = Path(explicit) if explicit else DEFAULT_CONFIG_PATH
    data: dict[str, Any] = {}
    text = ""
    if path.exists():
        try:
            text = path.read_text(encoding="utf-8")
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read config file: {exc}") from None
    elif explicit:
        raise ConfigError(f"{path}: config file not found")

    for section in (*platform_names(), "secrets"):
        if section not in data:
            continue
        model, value = PLATFORM_SECTIONS.get(section), data[section]
        if model and isinstance(value, dict) and set(value) <= model.model_fields.keys():
            continue  # the platform's own settings, no secret
        only = f"; [{section}] takes only {', '.join(model.model_fields)}" if model else ""
        raise ConfigError(
            f"{path}: [{section}]: secrets belong in the environment "
            f"({', '.join(SECRET_NAMES)}), not in the config file{only}"
        )
    db_override = db_path or env.get("NEWSBOT_DB")
    if db_override:
        key = "url" if kind_of(db_override) == POSTGRESQL else "path"
        data.setdefault("database", {})[key] = db_override
        if key == "path":
            data["database"]["url"] = ""  # an explicit SQLite file wins over the config
    if count := env.get("NEWSBOT_DISCORD_SHARD_COUNT"):
        data.setdefault("discord", {})["shard_count"] = count.strip()
    if ids := env.get("NEWSBOT_DISCORD_SHARD_IDS"):
        data.setdefault("discord", {})["shard_ids"] = [i for i in re.split(r"[,\s]+", ids) if i]
    if level := env.get("NEWSBOT_LOG_LEVEL"):
        data.setdefault("logging", {})["level"] = level.upper()
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_validation(exc, str(path), text)) from None
