"""Value kinds of settings: how each one parses a string and what it accepts.

A kind turns what a user typed (a flag, an `MQLITE_*` variable, a TOML value) into the
typed value `Settings` holds, or raises `ValueError` whose text says what is accepted;
the loader prefixes the option's name, so every mistyped value is one line naming the
option. `accepts` is the same text for docs/configuration.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OFF_WORDS = ("off", "none", "disabled")
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")
SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1000, "kib": 1024, "m": 1024**2, "mb": 1000**2,
              "mib": 1024**2, "g": 1024**3, "gb": 1000**3, "gib": 1024**3}
TIME_UNITS_MS = {"ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_NUMBER_UNIT = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


@dataclass(frozen=True, slots=True)
class Kind:
    """One value kind: its parser, what it accepts (for errors and docs), and whether
    the flag repeats (a repeatable flag takes a comma-separated variable)."""

    name: str
    accepts: str
    parse: Callable[[Any], Any]
    repeatable: bool = False
    is_switch: bool = False  # a flag without a value (`--memory`)
    secret: bool = False  # never echo the value back in an error


def _text(value: Any) -> str:
    if isinstance(value, (list, dict)):
        raise ValueError("a single value")
    return str(value).strip()


def _port(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("a port")
    if isinstance(value, int):
        port = value
    else:
        text = _text(value).lower()
        if text in OFF_WORDS:
            return None
        if not text.isdigit():
            raise ValueError("a port")
        port = int(text)
    if not 0 <= port <= 65535:
        raise ValueError("a port")
    return port


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = _text(value).lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ValueError("a boolean")


def _int(minimum: int | None) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if isinstance(value, bool) or isinstance(value, float):
            raise ValueError("an integer")
        try:
            number = value if isinstance(value, int) else int(_text(value))
        except ValueError:
            raise ValueError("an integer") from None
        if minimum is not None and number < minimum:
            raise ValueError("an integer")
        return number

    return parse


def _size(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("a size")
    if isinstance(value, int):
        number, unit = float(value), ""
    else:
        match = _NUMBER_UNIT.match(_text(value))
        if match is None:
            raise ValueError("a size")
        number, unit = float(match.group(1)), match.group(2).lower()
    if unit not in SIZE_UNITS or number < 0:
        raise ValueError("a size")
    return int(number * SIZE_UNITS[unit])


def _duration(unit_ms: float, minimum: float | None) -> Callable[[Any], Any]:
    """A duration in the field's unit (ms or s); a suffix (`ms`, `s`, `m`, `h`) converts."""

    def parse(value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("a duration")
        if isinstance(value, (int, float)):
            amount = float(value)
        else:
            match = _NUMBER_UNIT.match(_text(value))
            if match is None:
                raise ValueError("a duration")
            number, unit = float(match.group(1)), match.group(2).lower()
            if unit and unit not in TIME_UNITS_MS:
                raise ValueError("a duration")
            amount = number * TIME_UNITS_MS[unit] / unit_ms if unit else number
        if minimum is not None and amount < minimum:
            raise ValueError("a duration")
        return int(amount) if unit_ms == 1.0 else amount

    return parse


def _fsync(value: Any) -> str:
    text = _text(value).lower()
    if text in ("always", "never"):
        return text
    text = text.removesuffix("ms")
    if not text.isdigit() or int(text) <= 0:
        raise ValueError("fsync")
    return text


def _path(value: Any) -> Path | None:
    text = _text(value)
    return Path(text).expanduser() if text else None


def _optional_text(value: Any) -> str | None:
    text = _text(value)
    return text or None


def _items(value: Any) -> list[str]:
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    return [str(item).strip() for item in items if str(item).strip()]


def _pairs(what: str) -> Callable[[Any], tuple[tuple[str, str], ...]]:
    def parse(value: Any) -> tuple[tuple[str, str], ...]:
        pairs = []
        for item in _items(value):
            name, colon, secret = item.partition(":")
            if not colon or not name:
                raise ValueError(f"expected {what}; an entry has no ':'")
            pairs.append((name, secret))
        return tuple(pairs)

    return parse


def _users(value: Any) -> tuple[str, ...]:
    from mqlite.security.users import parse_user  # the one definition of the syntax

    specs = tuple(_items(value))
    for spec in specs:
        parse_user(spec)
    return specs


def _destinations(value: Any) -> tuple[str, ...]:
    from mqlite.core.destinations import DestinationPolicy  # the one definition of the syntax

    items = tuple(_items(value))
    DestinationPolicy.parse(items)
    return items


def _acl(value: Any) -> tuple[str, ...]:
    from mqlite.security.authz import parse_rule  # the one definition of the syntax

    items = tuple(_items(value))
    for item in items:
        parse_rule(item)
    return items


def _tls_mode(value: Any) -> str | None:
    text = _text(value).lower()
    if text in ("", *OFF_WORDS):
        return None
    if text != "auto":
        raise ValueError("choice")
    return text


def _names(value: Any) -> tuple[str, ...]:
    return tuple(_items(value))


def _choice(*choices: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = _text(value).lower()
        if text not in choices:
            raise ValueError("choice")
        return text

    return parse


PORT = Kind("port", "a port 1-65535, 0 for any free port, or `off`", _port)
BOOL = Kind("bool", "true or false", _bool)
SWITCH = Kind("switch", "a switch (true or false)", _bool, is_switch=True)
TEXT = Kind("text", "text", _optional_text)
PATH = Kind("path", "a path", _path)
FSYNC = Kind("fsync", "`always`, `never` or an interval in milliseconds (e.g. `1000`)", _fsync)
SIZE = Kind("size", "a size in bytes, with an optional unit (`64KiB`, `10MB`, `1GiB`)", _size)
LOG_LEVEL = Kind("choice", "`debug`, `info`, `warning` or `error`", _choice("debug", "info", "warning", "error"))
LOG_FORMAT = Kind("choice", "`text` or `json` (one JSON object a line)", _choice("text", "json"))
OFFSET_RESET = Kind("choice", "`latest` or `earliest`", _choice("latest", "earliest"))
NAMES = Kind("list", "comma-separated names", _names, repeatable=True)
USERS = Kind("users", "NAME:SECRET[:ROLES] (repeatable; comma-separated in the variable)", _users,
             repeatable=True, secret=True)
TLS_MODE = Kind("choice", "`auto` or `off`", _tls_mode)
DESTINATIONS = Kind("list", "host names, `*.domains`, addresses or networks (repeatable; comma-separated in the variable)",
                    _destinations, repeatable=True)
def _accounts(value: Any) -> tuple[tuple[str, str], ...]:
    pairs = []
    for item in _items(value):
        name, colon, account = item.partition(":")
        if not colon or not name or not (len(account) == 12 and account.isdigit()):
            raise ValueError(f"expected USER:ACCOUNT (a 12-digit AWS account id), got {item!r}")
        pairs.append((name, account))
    return tuple(pairs)


AWS_ACCOUNTS = Kind("pairs", "USER:ACCOUNT, ACCOUNT a 12-digit AWS account id (repeatable; comma-separated in the variable)",
                    _accounts, repeatable=True)
ACL = Kind("rules", "`[!]USER:OPS:KIND:PATTERN` rules (repeatable; comma-separated in the variable)", _acl,
           repeatable=True)


def integer(minimum: int | None = None) -> Kind:
    """An integer, at least `minimum`."""
    floor = "" if minimum is None else f" >= {minimum}"
    return Kind("int", f"an integer{floor}", _int(minimum))


def milliseconds(minimum: float | None = 0) -> Kind:
    """A duration held in milliseconds (`3000`, `3s`, `500ms`)."""
    return Kind("duration", "milliseconds, or a duration with a unit (`500ms`, `3s`, `5m`)", _duration(1.0, minimum))


def fine_milliseconds() -> Kind:
    """A duration held in milliseconds, fractions kept (`0.5`, `250us` is not a unit)."""
    in_seconds = _duration(1000.0, 0)

    def parse(value: Any) -> float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if value < 0:
                raise ValueError("a duration")
            return float(value)
        match = _NUMBER_UNIT.match(_text(value))
        if match is not None and not match.group(2):  # a bare number is milliseconds
            return parse(float(match.group(1)))
        return float(in_seconds(value)) * 1000.0

    return Kind("duration", "milliseconds (fractions allowed), or a duration with a unit (`500ms`, `2s`)", parse)


def seconds(minimum: float | None = 0) -> Kind:
    """A duration held in seconds (`1.5`, `1500ms`, `2m`)."""
    return Kind("duration", "seconds, or a duration with a unit (`500ms`, `3s`, `5m`)", _duration(1000.0, minimum))


def pairs(what: str) -> Kind:
    """Repeatable NAME:SECRET entries (comma-separated in a variable)."""
    return Kind("pairs", f"{what} (repeatable; comma-separated in the variable)", _pairs(what),
                repeatable=True, secret=True)
