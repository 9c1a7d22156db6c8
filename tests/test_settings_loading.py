"""Settings precedence and parsing: flag > MQLITE_* environment > TOML file > default,
one declaration per setting, one line per mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from mqlite.config import ConfigError, load_settings, markdown_table, options
from mqlite.settings import Settings

DOCS = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


def test_defaults_are_the_documented_ports_and_loopback() -> None:
    settings = load_settings(environ={})
    assert (settings.http_port, settings.kafka_port, settings.amqp_port, settings.redis_port) == (
        4566, 9092, 5672, 6379)
    assert settings.host == "127.0.0.1"
    assert settings.data_dir == Path("mqlite-data")
    assert settings.kafka_initial_rebalance_delay_ms == 0  # a single node has nobody to wait for


def test_flag_beats_environment_beats_file(tmp_path: Path) -> None:
    config = tmp_path / "mqlite.toml"
    config.write_text('http_port = 1111\nkafka-port = 2222\nfsync = "always"\n')
    env = {"MQLITE_HTTP_PORT": "3333", "MQLITE_DATA_DIR": "/tmp/x"}
    settings = load_settings({"http_port": "4444"}, environ=env, config_file=config)
    assert settings.http_port == 4444
    assert settings.kafka_port == 2222
    assert settings.fsync == "always"
    assert settings.data_dir == Path("/tmp/x")


def test_config_file_from_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "mqlite.toml"
    config.write_text('[mqlite]\nredis_port = "off"\n')
    assert load_settings(environ={"MQLITE_CONFIG": str(config)}).redis_port is None


def test_off_disables_a_front_end_and_zero_means_any_port() -> None:
    settings = load_settings({"kafka_port": "off", "redis_port": "0"}, environ={})
    assert settings.kafka_port is None
    assert settings.redis_port == 0


def test_memory_flag_means_no_data_directory() -> None:
    settings = load_settings({"memory": True}, environ={})
    assert settings.data_dir is None and settings.memory


def test_memory_with_a_data_directory_is_refused() -> None:
    with pytest.raises(ConfigError, match="--memory and MQLITE_DATA_DIR together"):
        load_settings({"memory": True}, environ={"MQLITE_DATA_DIR": "d"})


def test_every_port_off_is_refused() -> None:
    flags = {f"{name}_port": "off" for name in ("http", "kafka", "amqp", "redis", "mqtt", "stomp")}
    with pytest.raises(ConfigError, match="every port is off"):
        load_settings(flags, environ={})


@pytest.mark.parametrize("value", ["sometimes", "-5", "0"])
def test_bad_fsync_policy_names_the_option_and_what_it_accepts(value: str) -> None:
    with pytest.raises(ConfigError, match="^--fsync: expected always, never or an interval in milliseconds"):
        load_settings({"fsync": value}, environ={})


def test_fsync_interval_accepts_milliseconds_suffix() -> None:
    assert load_settings({"fsync": "5ms"}, environ={}).fsync == "5"


@pytest.mark.parametrize(("source", "value", "expected"), [
    ("flag", "notaport", "--kafka-port: expected a port 1-65535, 0 for any free port, or off, got 'notaport'"),
    ("flag", "70000", "--kafka-port: expected a port"),
    ("env", "9x", "MQLITE_KAFKA_PORT: expected a port"),
])
def test_bad_port_names_the_spelling_used(source: str, value: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        if source == "flag":
            load_settings({"kafka_port": value}, environ={})
        else:
            load_settings(environ={"MQLITE_KAFKA_PORT": value})
    assert str(info.value).startswith(expected)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(("name", "value", "accepts"), [
    ("kafka_max_frame_bytes", "lots", "a size in bytes"),
    ("kafka_initial_rebalance_delay_ms", "soon", "milliseconds, or a duration"),
    ("kafka_auto_create_topics", "maybe", "true or false"),
    ("kafka_default_partitions", "0", "an integer >= 1"),
    ("log_level", "loud", "debug, info, warning or error"),
])
def test_every_kind_of_mistyped_value_is_one_line(name: str, value: str, accepts: str) -> None:
    with pytest.raises(ConfigError, match=f"^--{name.replace('_', '-')}: expected {accepts}"):
        load_settings({name: value}, environ={})


def test_sizes_and_durations_take_units() -> None:
    settings = load_settings({"kafka_max_frame_bytes": "10MiB", "kafka_initial_rebalance_delay_ms": "3s",
                              "events_schedule_interval": "250ms"}, environ={})
    assert settings.kafka_max_frame_bytes == 10 * 1024 * 1024
    assert settings.kafka_initial_rebalance_delay_ms == 3000
    assert settings.events_schedule_interval == 0.25


def test_unknown_setting_in_file_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("no_such_thing = 1\n")
    with pytest.raises(ConfigError, match="unknown setting 'no_such_thing'"):
        load_settings(environ={}, config_file=config)


def test_wrong_toml_type_names_the_file_and_key(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('kafka_port = [1, 2]\n')
    with pytest.raises(ConfigError, match=f"^{config}: kafka_port: expected a port"):
        load_settings(environ={}, config_file=config)


def test_unparsable_toml_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('kafka_port = \n')
    with pytest.raises(ConfigError, match=f"^config file {config}: ") as info:
        load_settings(environ={}, config_file=config)
    assert "\n" not in str(info.value)


def test_the_admin_cli_and_test_harness_variables_are_not_refused() -> None:
    """`MQLITE_URL` (the `mqlite ls` CLI's server) in a user's shell must not stop `serve`."""
    environ = {"MQLITE_URL": "http://127.0.0.1:4566", "MQLITE_ADMIN_AUTH": "a:b", "MQLITE_FUZZ_CASES": "5"}
    assert load_settings(environ=environ).http_port == 4566


def test_unknown_mqlite_variable_stops_the_start() -> None:
    with pytest.raises(ConfigError, match="unknown environment variable MQLITE_AWS_KEYZ"):
        load_settings(environ={"MQLITE_AWS_KEYZ": "a:b"})


def test_security_settings_under_the_documented_spellings_take_effect(tmp_path: Path) -> None:
    """`MQLITE_AWS_KEY` and `MQLITE_AMQP_USER` used to be silently ignored."""
    settings = load_settings(environ={"MQLITE_AWS_KEY": "id1:s1,id2:s2", "MQLITE_AMQP_USER": "app:pw"})
    assert settings.aws_keys == (("id1", "s1"), ("id2", "s2"))
    assert settings.amqp_users == (("app", "pw"),)
    config = tmp_path / "mqlite.toml"
    config.write_text('aws_key = ["AKID:secret"]\nkafka-user = ["alice:pw"]\n')
    settings = load_settings(environ={}, config_file=config)
    assert settings.aws_keys == (("AKID", "secret"),)
    assert settings.kafka_users == (("alice", "pw"),)


def test_key_secret_pair_without_colon_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({"aws_key": ["AKIDsupersecret"]}, environ={})
    assert str(info.value) == "--aws-key: expected ID:SECRET; an entry has no ':'"


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


def test_every_setting_has_a_flag_a_variable_and_a_key_of_one_name() -> None:
    for option in options():
        assert option.flag == "--" + option.name.replace("_", "-")
        assert option.env == "MQLITE_" + option.name.upper()
        assert option.help and option.kind.accepts


def test_docs_configuration_table_is_generated_from_the_declarations() -> None:
    """docs/configuration.md holds the generated table; regenerate it with
    `python -m mqlite.config --update docs/configuration.md` when a setting changes."""
    text = DOCS.read_text()
    begin, end = "<!-- settings:begin -->\n", "<!-- settings:end -->"
    assert begin in text and end in text
    assert text.split(begin, 1)[1].split(end, 1)[0].strip() == markdown_table().strip()
