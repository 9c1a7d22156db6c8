"""Settings precedence and parsing: flag > MQLITE_* environment > TOML file > default."""

from __future__ import annotations

from pathlib import Path

import pytest

from mqlite.config import ConfigError, load_settings
from mqlite.settings import Settings


def test_defaults_are_the_documented_ports_and_loopback() -> None:
    settings = load_settings(environ={})
    assert (settings.http_port, settings.kafka_port, settings.amqp_port, settings.redis_port) == (
        4566, 9092, 5672, 6379)
    assert settings.host == "127.0.0.1"
    assert settings.data_dir == Path("mqlite-data")


def test_flag_beats_environment_beats_file(tmp_path: Path) -> None:
    config = tmp_path / "mqlite.toml"
    config.write_text('http_port = 1111\nkafka-port = 2222\nfsync = "always"\n')
    env = {"MQLITE_HTTP_PORT": "3333", "MQLITE_DATA_DIR": "/tmp/x"}
    settings = load_settings({"http_port": "4444"}, environ=env, config_file=config)
    assert settings.http_port == 4444
    assert settings.kafka_port == 2222
    assert settings.fsync == "always"
    assert settings.data_dir == Path("/tmp/x")


def test_off_disables_a_front_end_and_zero_means_any_port() -> None:
    settings = load_settings({"kafka_port": "off", "redis_port": "0"}, environ={})
    assert settings.kafka_port is None
    assert settings.redis_port == 0


def test_memory_flag_means_no_data_directory() -> None:
    settings = load_settings({"memory": True}, environ={})
    assert settings.data_dir is None and settings.memory


@pytest.mark.parametrize("value", ["sometimes", "-5", "0"])
def test_bad_fsync_policy_names_the_source_and_field(value: str) -> None:
    with pytest.raises(ConfigError, match="command line: fsync"):
        load_settings({"fsync": value}, environ={})


def test_fsync_interval_accepts_milliseconds_suffix() -> None:
    assert load_settings({"fsync": "5ms"}, environ={}).fsync == "5"


def test_unknown_setting_in_file_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("no_such_thing = 1\n")
    with pytest.raises(ConfigError, match="unknown setting 'no_such_thing'"):
        load_settings(environ={}, config_file=config)


def test_aws_keys_parse_as_id_secret_pairs() -> None:
    settings = load_settings({"aws_keys": ["AKID:secret", "B:c:d"]}, environ={})
    assert settings.aws_keys == (("AKID", "secret"), ("B", "c:d"))


def test_settings_replace_returns_a_new_frozen_copy() -> None:
    base = Settings()
    assert base.replace(host="0.0.0.0").host == "0.0.0.0"
    assert base.host == "127.0.0.1"


def test_redis_users_parse_from_flags_and_environment() -> None:
    settings = load_settings({"redis_users": ["alice:s3cret"]}, environ={"MQLITE_REDIS_PASSWORD": "pw"})
    assert settings.redis_users == (("alice", "s3cret"),)
    assert settings.redis_password == "pw"
