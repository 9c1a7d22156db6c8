"""Build `Settings` from the three sources the CLI accepts: flags, `MQLITE_*`, TOML.

Precedence is flag > environment > config file > default, field by field. Every field
of `Settings` can be set in each source under the same name: `--http-port`,
`MQLITE_HTTP_PORT`, `http_port = 4566` (or `http-port`) in the TOML file. Ports take
an integer, `0` (any free port) or `off`; the fsync policy takes `always`, `never` or
milliseconds. Parsing errors raise `ConfigError` naming the source and the field.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mqlite.errors import MqliteError
from mqlite.settings import Settings

PORT_FIELDS = ("http_port", "kafka_port", "amqp_port", "redis_port")
PAIR_FIELDS = ("aws_keys", "kafka_users", "amqp_users", "redis_users")  # "ID:SECRET" entries
PATH_FIELDS = ("data_dir", "s3_dir")
BOOL_FIELDS = ("kafka_auto_create_topics",)
INT_FIELDS = ("kafka_default_partitions", "kafka_max_frame_bytes", "kafka_initial_rebalance_delay_ms",
              "kafka_group_min_session_timeout_ms", "kafka_group_max_session_timeout_ms", "amqp_heartbeat", "amqp_frame_max", "redis_pubsub_buffer_bytes",
              "sns_sign_workers")


class ConfigError(MqliteError):
    """A setting could not be parsed; the message names where it came from."""


def parse_port(text: str | int | None) -> int | None:
    if text is None or isinstance(text, int):
        return text
    if text.strip().lower() in ("off", "none", "disabled"):
        return None
    port = int(text)
    if not 0 <= port <= 65535:
        raise ValueError(f"port {port} out of range 0-65535")
    return port


def parse_fsync(text: str | int) -> str:
    value = str(text).strip().lower()
    if value in ("always", "never"):
        return value
    value = value.removesuffix("ms")
    if not value.isdigit() or int(value) <= 0:
        raise ValueError("fsync must be 'always', 'never' or a positive number of milliseconds")
    return value


def parse_pairs(value: Any) -> tuple[tuple[str, str], ...]:
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    pairs = []
    for item in items:
        item = str(item).strip()
        if not item:
            continue
        if ":" not in item:
            raise ValueError(f"expected NAME:SECRET, got {item!r}")
        name, secret = item.split(":", 1)
        pairs.append((name, secret))
    return tuple(pairs)


def _convert(name: str, value: Any) -> Any:
    if name in PORT_FIELDS:
        return parse_port(value)
    if name == "fsync":
        return parse_fsync(value)
    if name in PAIR_FIELDS:
        return parse_pairs(value)
    if name in PATH_FIELDS:
        return None if value in (None, "") else Path(value)
    if name in BOOL_FIELDS:
        return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes", "on")
    if name in INT_FIELDS:
        return int(value)
    return value


def _apply(values: dict[str, Any], source: Mapping[str, Any], where: str) -> None:
    names = {f.name for f in dataclasses.fields(Settings)}
    for raw_name, raw_value in source.items():
        name = raw_name.replace("-", "_")
        if name == "memory":
            if raw_value in (True, "1", "true", "yes", "on"):
                values["data_dir"] = None
            continue
        if name not in names or name == "extra":
            raise ConfigError(f"{where}: unknown setting {raw_name!r}")
        try:
            values[name] = _convert(name, raw_value)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: {raw_name}: {exc}") from None


def env_settings(environ: Mapping[str, str]) -> dict[str, str]:
    """The `MQLITE_*` variables as setting names (MQLITE_HTTP_PORT -> http_port)."""
    names = {f.name for f in dataclasses.fields(Settings)} | {"memory"}
    found = {}
    for key, value in environ.items():
        if key.startswith("MQLITE_"):
            name = key[len("MQLITE_"):].lower()
            if name in names:
                found[name] = value
    return found


def load_settings(
    flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    config_file: Path | None = None,
) -> Settings:
    """Merge defaults, TOML file, environment and flags (later wins), then validate."""
    values: dict[str, Any] = {}
    if config_file is not None:
        try:
            with open(config_file, "rb") as fh:
                document = tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{config_file}: {exc}") from None
        # Accept both a flat file and a [mqlite] table.
        _apply(values, document.get("mqlite", document), str(config_file))
    _apply(values, env_settings(os.environ if environ is None else environ), "environment")
    if flags:
        _apply(values, {k: v for k, v in flags.items() if v is not None}, "command line")
    return Settings(**values)
