"""``newsbot doctor``: configuration, database and credentials checks (never prints secrets).

What each chat platform would do with the secrets present is its registry entry's ``doctor``
(``bot/platforms/registry.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.errors import ConfigError, StorageError
from bot.platforms.registry import PLATFORMS
from bot.settings import Secrets, Settings
from bot.storage import Store
from bot.storage.backend import shown
from bot.storage.leader import leader_name


def _check(name: str, status: str, detail: str) -> dict[str, str]:
    return {"name": name, "status": status, "detail": detail}


async def diagnose(settings: Settings, env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    checks: list[dict[str, Any]] = [_check("config", "ok", "settings loaded and valid")]
    try:
        store = await Store.open(settings.db_target)
    except StorageError as exc:
        checks.append(_check("database", "fail", str(exc)))
    else:
        try:
            version, latest, integrity = await store.schema_state()
            originals, dups = await store.count_articles()
            status = "ok" if integrity == "ok" and version == latest else "fail"
            checks.append(
                _check(
                    "database",
                    status,
                    f"{shown(settings.db_target)} ({store.backend}) schema v{version}, "
                    f"integrity {integrity}, "
                    f"{originals} articles + {dups} duplicates",
                )
            )
            if store.postgres:  # several workers may share it: who leads them
                leader = await leader_name(store)
                detail = f"worker {leader} leads" if leader else "no worker leads (none runs)"
                checks.append(_check("leader", "ok", detail))
        finally:
            await store.close()
    for folder in settings.seeds.folders:
        ok = Path(folder).is_dir()
        checks.append(
            _check(f"seeds {folder}", "ok" if ok else "warn", "found" if ok else "folder not found")
        )
    checks.append(_check("feeds", "ok", f"{len(settings.feeds)} configured"))
    try:
        secrets = Secrets(env)
    except ConfigError as exc:
        checks.append(_check("credentials", "fail", str(exc)))
        return checks
    present = frozenset(secrets.present())
    would_start = ["console channel", "feed and seed pollers", "scheduler"]
    for platform in PLATFORMS:
        readiness = platform.doctor(present)
        if readiness.starts:
            would_start.append(readiness.starts)
        if readiness.warning:
            checks.append(_check(platform.name, "warn", readiness.warning))
    names = ", ".join(sorted(present)) or "none"
    checks.append(_check("credentials", "ok", f"present: {names} (values never shown)"))
    checks.append(_check("run", "ok", "would start: " + ", ".join(would_start)))
    return checks
