"""Each chat platform is registered once: its secrets, doctor check, log redaction and factory
are read from its entry in ``bot/platforms/registry.py`` by settings, doctor, logs and run."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from bot.errors import ConfigError
from bot.operations.doctor import diagnose
from bot.platforms.registry import (
    PLATFORMS,
    Platform,
    Readiness,
    create_runtimes,
    redaction_patterns,
    secret_names,
)
from bot.settings import SECRET_NAMES, Secrets, Settings, load_settings


def _settings(tmp_path: Path) -> Settings:
    return Settings.model_validate(
        {"database": {"path": str(tmp_path / "n.db")}, "seeds": {"folders": []}}
    )


def test_every_platform_has_secrets_a_required_one_and_a_lazy_factory() -> None:
    names = [p.name for p in PLATFORMS]
    assert len(names) == len(set(names)) and {"discord", "slack"} <= set(names)
    for platform in PLATFORMS:
        assert platform.required and set(platform.required) <= set(platform.secrets)
        module, _, attr = platform.factory.partition(":")
        assert module.startswith("bot.platforms.") and attr, platform.factory
    assert secret_names() == SECRET_NAMES  # Secrets reads exactly the registered names


def test_secrets_of_every_platform_are_read_from_env_or_file(tmp_path: Path) -> None:
    secret_file = tmp_path / "token"
    secret_file.write_text("from-a-file-123\n")
    env = {name: f"value-of-{name}" for name in SECRET_NAMES}
    env[f"{SECRET_NAMES[0]}"] = ""
    env[f"{SECRET_NAMES[0]}_FILE"] = str(secret_file)
    secrets = Secrets(env)
    assert secrets.get(SECRET_NAMES[0]) == "from-a-file-123"
    assert all(secrets.get(n) == f"value-of-{n}" for n in SECRET_NAMES[1:])


@pytest.mark.parametrize("name", [p.name for p in PLATFORMS])
def test_a_platform_section_in_the_config_file_is_refused(tmp_path: Path, name: str) -> None:
    config = tmp_path / "newsbot.toml"
    config.write_text(f"[{name}]\ntoken = 'x'\n")
    with pytest.raises(ConfigError, match=rf"\[{name}\]: secrets belong in the environment"):
        load_settings(config, env={})


async def test_run_skips_a_platform_without_its_required_secret_never_importing_it(
    tmp_path: Path,
) -> None:
    made: list[str] = []

    def factory(settings: Settings, services: Any, secrets: Secrets) -> Any:
        made.append(secrets.get("DISCORD_TOKEN") or "")
        return None  # the factory may still decline (a second credential missing)

    ghost = Platform(
        name="ghost",
        secrets=("GHOST_TOKEN",),
        required=("GHOST_TOKEN",),
        doctor=lambda present: Readiness(),
        redaction=(),
        factory="tests.no_such_adapter_module:create_runtime",
    )
    platforms = (ghost, *PLATFORMS)
    secrets = Secrets({"DISCORD_TOKEN": "discord-token-1"})
    runtimes = create_runtimes(
        _settings(tmp_path), None, secrets, platforms, factories={"discord": factory}
    )  # type: ignore[arg-type]
    assert runtimes == [] and made == ["discord-token-1"]
    assert "tests.no_such_adapter_module" not in sys.modules


@pytest.mark.parametrize(
    ("env", "starts", "warning"),
    [
        ({}, [], None),
        ({"DISCORD_TOKEN": "d-token-123"}, ["Discord"], None),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}, ["Slack (Socket Mode)"], None),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}, ["Slack (HTTP mode)"], None),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, [], "neither SLACK_APP_TOKEN nor SLACK_SIGNING_SECRET"),
    ],
)
async def test_doctor_reports_what_each_platform_entry_says(
    tmp_path: Path, env: dict[str, str], starts: list[str], warning: str | None
) -> None:
    checks = {c["name"]: c for c in await diagnose(_settings(tmp_path), env)}
    run = checks["run"]["detail"].removeprefix("would start: ").split(", ")
    assert run[3:] == starts
    if warning:
        assert checks["slack"]["status"] == "warn" and warning in checks["slack"]["detail"]
    else:
        assert not {p.name for p in PLATFORMS} & set(checks)


def test_every_redaction_pattern_compiles_and_masks_a_sample() -> None:
    import re

    samples = {
        "discord": ["POST /webhooks/123/aW50ZXJhY3Rpb24.tok?wait=1", "{'token': 'aW50.tok'}"],
        "slack": [
            "token xoxb-123-456-abcdef",
            "POST https://hooks.slack.com/commands/T1/2/abcdef",
            "url=https://hooks.slack.com/services/T000/B000/XXXX",
        ],
    }
    for platform in PLATFORMS:
        patterns = [re.compile(p) for p in platform.redaction]
        for sample in samples[platform.name]:
            assert any(p.search(sample) for p in patterns), (platform.name, sample)
    assert len(redaction_patterns()) == sum(len(p.redaction) for p in PLATFORMS)
