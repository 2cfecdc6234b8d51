"""Config: defaults documented in config/newsbot.toml, overrides, one clear error per bad key."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.settings import Secrets, Settings, load_settings, parse_duration
from tests.conftest import REPO


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(text)
    return path


def test_shipped_config_documents_every_setting_with_its_default() -> None:
    path = REPO / "config" / "newsbot.toml"
    assert load_settings(path, env={}) == Settings()
    data = tomllib.loads(path.read_text())
    text = path.read_text()
    for section, model in Settings.model_fields.items():
        if section == "feeds":
            assert "[[feeds]]" in text  # documented as a commented example
            continue
        assert section in data, f"[{section}] missing from config/newsbot.toml"
        sub = model.annotation
        for key in sub.model_fields:  # type: ignore[union-attr]
            assert key in data[section], f"{section}.{key} missing from config/newsbot.toml"


def test_unknown_key_names_the_key_and_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "[database]\npath = 'x.db'\n\n[stories]\nthreshhold = 0.3\n")
    with pytest.raises(ConfigError) as exc:
        load_settings(path, env={})
    assert str(exc.value) == f"{path}:5: stories.threshhold: unknown setting"


def test_bad_value_names_the_key_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "[[feeds]]\nurl = 'https://a.example/rss'\ninterval = 'soon'\n")
    with pytest.raises(ConfigError) as exc:
        load_settings(path, env={})
    assert f"{path}:3: feeds.0.interval:" in str(exc.value)
    assert "'soon' is not a duration" in str(exc.value)


def test_invalid_toml_is_one_clear_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "[database\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(path, env={})


def test_secrets_in_the_config_file_are_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "[discord]\ntoken = 'abc'\n")
    with pytest.raises(ConfigError, match="secrets belong in the environment") as exc:
        load_settings(path, env={})
    assert "abc" not in str(exc.value)


def test_env_and_explicit_arguments_override_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "[database]\npath = 'file.db'\n[logging]\nlevel = 'INFO'\n")
    env = {"NEWSBOT_DB": "env.db", "NEWSBOT_LOG_LEVEL": "debug"}
    assert load_settings(path, env=env).database.path == "env.db"
    assert load_settings(path, env=env).logging.level == "DEBUG"
    assert load_settings(path, db_path="flag.db", env=env).database.path == "flag.db"
    assert load_settings(env={"NEWSBOT_CONFIG": str(path)}).database.path == "file.db"


def test_missing_explicit_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.toml", env={})


def test_durations_accept_units() -> None:
    assert parse_duration("15m") == 900
    assert parse_duration("2h") == 7200
    assert parse_duration(30) == 30
    with pytest.raises(ValueError):
        parse_duration("-5s")


def test_secrets_come_from_env_or_file_and_never_show_in_repr(tmp_path: Path) -> None:
    secret_file = tmp_path / "tok"
    secret_file.write_text("xoxb-file-secret\n")
    secrets = Secrets({"DISCORD_TOKEN": "disc-secret", "SLACK_BOT_TOKEN_FILE": str(secret_file)})
    assert secrets.get("DISCORD_TOKEN") == "disc-secret"
    assert secrets.get("SLACK_BOT_TOKEN") == "xoxb-file-secret"
    assert "secret" not in repr(secrets)
    with pytest.raises(ConfigError) as exc:
        Secrets({"SLACK_APP_TOKEN_FILE": str(tmp_path / "missing")})
    assert "SLACK_APP_TOKEN_FILE" in str(exc.value)


def test_a_postgresql_url_from_db_env_or_config_selects_postgresql(tmp_path: Path) -> None:
    url = "postgresql://bot@db:5432/news"
    assert load_settings(db_path=url, env={}).db_target == url
    assert load_settings(env={"NEWSBOT_DB": url}).db_target == url
    config = _write(tmp_path, f"[database]\nurl = '{url}'\n")
    assert load_settings(config, env={}).db_target == url
    # an explicit SQLite file wins over the config's URL
    assert load_settings(config, db_path="x.db", env={}).db_target == "x.db"
    assert load_settings(env={}).db_target == "newsbot.db"


def test_a_database_url_with_a_password_or_another_scheme_is_refused(tmp_path: Path) -> None:
    secret = _write(tmp_path, "[database]\nurl = 'postgresql://bot:hunter2@db/news'\n")
    with pytest.raises(ConfigError) as exc:
        load_settings(secret, env={})
    assert "hunter2" not in str(exc.value) and "PGPASSWORD" in str(exc.value)
    other = _write(tmp_path, "[database]\nurl = 'mysql://bot@db/news'\n")
    with pytest.raises(ConfigError, match=r"database\.url: must be a postgresql://"):
        load_settings(other, env={})


def test_outbox_lease_and_flush_interval_are_durations_with_minute_defaults() -> None:
    assert (Settings().outbox.lease, Settings().outbox.flush_interval) == (120.0, 60.0)
    outbox = Settings.model_validate({"outbox": {"lease": "5m", "flush_interval": 15}}).outbox
    assert (outbox.lease, outbox.flush_interval) == (300.0, 15.0)
    with pytest.raises(ValueError, match="positive"):
        Settings.model_validate({"outbox": {"lease": 0}})
