"""Build `Settings` from flags, `MQLITE_*` variables and TOML, all derived from the one
declaration of each setting in `mqlite.settings`.

Precedence is flag > environment > config file > default, setting by setting. Every
setting has the same name in each source: `--kafka-port`, `MQLITE_KAFKA_PORT`,
`kafka_port` (or `kafka-port`) in TOML. An unknown `MQLITE_*` variable or TOML key stops
the start, as does any value that does not parse: `ConfigError` is one line naming the
option as it was spelled and what it accepts. `python -m mqlite.config --markdown`
prints the table of docs/configuration.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mqlite.errors import MqliteError
from mqlite.setting_kinds import Kind
from mqlite.settings import Settings

ENV_PREFIX = "MQLITE_"
# Variables that are not server settings, so `serve` must not refuse them: the command
# line's own (`MQLITE_CONFIG`), the admin CLI's (`mqlite ls --url`, its credentials), and
# the test and conformance harnesses' (docs/reliability.md, docs/console.md,
# docs/aws-fidelity.md). Anything else spelled MQLITE_* that no setting declares is a typo.
ENV_COMMAND = {"MQLITE_CONFIG": "config", "MQLITE_URL": "ctl", "MQLITE_ADMIN_AUTH": "ctl",
               "MQLITE_FUZZ_CASES": "tests", "MQLITE_FUZZ_SEED": "tests",
               "MQLITE_CONSOLE_SCREENSHOTS": "tests", "MQLITE_CONFORMANCE_CACHE": "scripts"}


class ConfigError(MqliteError):
    """A setting could not be parsed; the message names where it came from."""


@dataclass(frozen=True, slots=True)
class Option:
    """One setting as users see it: its public name and the field it fills."""

    name: str  # public name, snake_case: `aws_key`
    field: str  # Settings attribute: `aws_keys`
    kind: Kind
    help: str
    group: str
    default: Any

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()


def options() -> tuple[Option, ...]:
    """Every setting, in declaration order."""
    return _OPTIONS


def _build_options() -> tuple[Option, ...]:
    found = []
    for f in dataclasses.fields(Settings):
        meta = f.metadata
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc,operator]
        found.append(Option(meta.get("name") or f.name, f.name, meta["kind"], meta["help"], meta["group"], default))
    return tuple(found)


_OPTIONS = _build_options()
_BY_NAME = {o.name: o for o in _OPTIONS}


def _convert(option: Option, value: Any, spelled: str) -> Any:
    try:
        return option.kind.parse(value)
    except (TypeError, ValueError) as exc:
        if option.kind.secret:
            raise ConfigError(f"{spelled}: {exc}") from None
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
        accepts = option.kind.accepts.replace("`", "")
        raise ConfigError(f"{spelled}: expected {accepts}, got {shown}") from None


def _apply(values: dict[str, Any], source: Mapping[str, Any], spell: Any, unknown: str) -> None:
    for raw_name, raw_value in source.items():
        option = _BY_NAME.get(raw_name.replace("-", "_").lower())
        if option is None:
            raise ConfigError(unknown.format(name=raw_name))
        values[option.field] = _convert(option, raw_value, spell(option, raw_name))


def env_settings(environ: Mapping[str, str]) -> dict[str, str]:
    """The `MQLITE_*` variables by public name; an unknown one is an error, since a
    misspelled security setting must never leave the server silently open."""
    found = {}
    for key, value in environ.items():
        if not key.startswith(ENV_PREFIX) or key in ENV_COMMAND:
            continue
        name = key[len(ENV_PREFIX):].lower()
        if name not in _BY_NAME:
            raise ConfigError(f"unknown environment variable {key} (see docs/configuration.md; "
                              f"unset it or fix its name)")
        found[name] = value
    return found


def read_toml(config_file: Path) -> dict[str, Any]:
    try:
        with open(config_file, "rb") as fh:
            document = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file {config_file} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {config_file} is a directory") from None
    except OSError as exc:
        raise ConfigError(f"config file {config_file}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {config_file}: {exc}") from None
    table = document.get("mqlite", document)  # a flat file or a [mqlite] table
    if not isinstance(table, dict):
        raise ConfigError(f"config file {config_file}: [mqlite] must be a table")
    return table


def load_settings(
    flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    config_file: Path | None = None,
) -> Settings:
    """Merge defaults, TOML file, environment and flags (later wins), then check the
    combination. `flags` are keyed by public name (`aws_key`) or field (`aws_keys`)."""
    values: dict[str, Any] = {}
    explicit: dict[str, str] = {}  # field -> how it was spelled, for combination errors
    environ = os.environ if environ is None else environ
    if config_file is None and environ.get("MQLITE_CONFIG"):
        config_file = Path(environ["MQLITE_CONFIG"])
    if config_file is not None:
        table = read_toml(config_file)
        _apply(values, table, lambda o, raw: f"{config_file}: {raw}",
               f"{config_file}: unknown setting {{name!r}} (see docs/configuration.md)")
        explicit.update({_BY_NAME[n.replace('-', '_').lower()].field: f"{n} in {config_file}" for n in table})
    env = env_settings(environ)
    _apply(values, env, lambda o, raw: o.env, "unknown environment variable {name}")
    explicit.update({_BY_NAME[n].field: _BY_NAME[n].env for n in env})
    if flags:
        given = {_public(k): v for k, v in flags.items() if v is not None}
        _apply(values, given, lambda o, raw: o.flag, "unknown option {name}")
        explicit.update({_BY_NAME[n].field: _BY_NAME[n].flag for n in given})
    _check_combination(values, explicit)
    return Settings(**values)


_FIELD_TO_NAME = {o.field: o.name for o in _OPTIONS}


def _public(key: str) -> str:
    return _FIELD_TO_NAME.get(key, key)


PORT_FIELDS = tuple(o.field for o in _OPTIONS if o.group == "ports")


def _check_combination(values: dict[str, Any], explicit: dict[str, str]) -> None:
    if values.get("memory") and values.get("data_dir") is not None:
        raise ConfigError(f"--memory and {explicit.get('data_dir', '--data-dir')} together: "
                          "choose one (memory keeps no data directory)")
    ports = {f: values.get(f, _BY_NAME[_public(f)].default) for f in PORT_FIELDS}
    if all(port is None for port in ports.values()):
        raise ConfigError("every port is off: enable at least one of " +
                          ", ".join(_BY_NAME[_public(f)].flag for f in PORT_FIELDS))


# -- the command line -----------------------------------------------------------------
GROUP_TITLES = {
    "process": "process", "ports": "ports (a port, 0 for any free port, or off)",
    "storage": "storage: defaults of every stream", "limits": "limits under hostile load",
    "aws": "AWS front-ends", "kafka": "Kafka", "amqp": "AMQP 0-9-1", "redis": "Redis", "mqtt": "MQTT",
    "security": "security: users and TLS (docs/security.md)",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per setting, grouped as in docs/configuration.md. Values stay strings
    here; `load_settings` parses them so every source gives the same errors."""
    groups: dict[str, Any] = {}
    for option in _OPTIONS:
        group = groups.get(option.group)
        if group is None:
            group = groups[option.group] = parser.add_argument_group(GROUP_TITLES.get(option.group, option.group))
        text = f"{option.help} [{option.env}]".replace("%", "%%")  # argparse %-formats help
        if option.kind.is_switch:
            group.add_argument(option.flag, dest=option.name, action="store_const", const=True, default=None, help=text)
        elif option.kind.repeatable:
            group.add_argument(option.flag, dest=option.name, action="append", metavar=option.kind.name.upper(), help=text)
        else:
            group.add_argument(option.flag, dest=option.name, metavar=option.kind.name.upper(), help=text)


def flag_values(args: argparse.Namespace) -> dict[str, Any]:
    """The setting flags a parsed command line gave (None = not given)."""
    return {o.name: getattr(args, o.name) for o in _OPTIONS if getattr(args, o.name, None) is not None}


# -- docs/configuration.md ------------------------------------------------------------
def _shown_default(option: Option) -> str:
    value = option.default
    if value is None or value == ():
        return "—"
    if isinstance(value, tuple):
        return "`" + ",".join(":".join(item) if isinstance(item, tuple) else str(item) for item in value) + "`"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    return f"`{value}`"


def markdown_rows() -> Iterator[str]:
    for group, title in GROUP_TITLES.items():
        yield f"\n### {title[0].upper() + title[1:]}\n"
        yield "| flag | variable | TOML key | default | accepts | meaning |"
        yield "|---|---|---|---|---|---|"
        for o in _OPTIONS:
            if o.group == group:
                yield (f"| `{o.flag}` | `{o.env}` | `{o.name}` | {_shown_default(o)} | "
                       f"{o.kind.accepts} | {o.help} |")


def markdown_table() -> str:
    return "\n".join(markdown_rows()).lstrip("\n") + "\n"


BEGIN, END = "<!-- settings:begin -->\n", "<!-- settings:end -->"


def update_docs(path: Path) -> None:
    """Rewrite the generated table between the markers of docs/configuration.md."""
    text = path.read_text()
    head, rest = text.split(BEGIN, 1)
    path.write_text(head + BEGIN + markdown_table() + END + rest.split(END, 1)[1])


if __name__ == "__main__":  # pragma: no cover - regenerates the docs page
    if sys.argv[1:] == ["--markdown"]:
        sys.stdout.write(markdown_table())
    elif sys.argv[1:2] == ["--update"] and len(sys.argv) == 3:
        update_docs(Path(sys.argv[2]))
    else:
        sys.exit("usage: python -m mqlite.config --markdown | --update docs/configuration.md")
