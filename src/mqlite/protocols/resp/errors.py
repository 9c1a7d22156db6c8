"""The one table from errors to Redis error replies, with Redis's exact texts.

Owns: `CommandError` (a handler's way to answer `-<CODE> <text>`), the constructors of
Redis's recurring texts (unknown command, wrong arity, syntax, not-an-integer,
WRONGTYPE, NOGROUP, BUSYGROUP), and `to_reply(exc)`, which maps any `MqliteError`
(core errors included) to the error line a Redis client expects.
Pure functions; no state.
"""

from __future__ import annotations

import errno
import os

from mqlite.core import errors as core_errors
from mqlite.errors import MqliteError, ProtocolError, StorageError


class CommandError(ProtocolError):
    """Reply `-<text>`; `text` starts with the error code (`ERR`, `WRONGTYPE`, ...)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def _shown(args: list[bytes]) -> str:
    shown = []
    total = 0
    for a in args:
        s = a.decode("utf-8", "replace")
        if total + len(s) > 128:
            s = s[: max(0, 128 - total)]
        shown.append(f"'{s}' ")
        total += len(s)
        if total >= 128:
            break
    return "".join(shown)


def unknown_command(argv: list[bytes]) -> CommandError:
    name = argv[0].decode("utf-8", "replace")[:128]
    return CommandError(f"ERR unknown command '{name}', with args beginning with: {_shown(argv[1:])}")


def unknown_subcommand(cmd: str, sub: bytes) -> CommandError:
    s = sub.decode("utf-8", "replace")[:128]
    return CommandError(f"ERR unknown subcommand '{s}'. Try {cmd.upper()} HELP.")


def wrong_arity(name: str) -> CommandError:
    return CommandError(f"ERR wrong number of arguments for '{name.lower()}' command")


SYNTAX = "ERR syntax error"
NOT_INTEGER = "ERR value is not an integer or out of range"
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
BUSYGROUP = "BUSYGROUP Consumer Group name already exists"
NOAUTH = "NOAUTH Authentication required."
WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled."
NO_SUCH_KEY = "ERR no such key"
TIMEOUT_NEG = "ERR timeout is negative"
TIMEOUT_INVALID = "ERR timeout is not an integer or out of range"
DB_INDEX = "ERR DB index is out of range"


def syntax() -> CommandError:
    return CommandError(SYNTAX)


def not_integer() -> CommandError:
    return CommandError(NOT_INTEGER)


def nogroup(key: bytes, group: bytes, suffix: str = "") -> CommandError:
    """Redis's `-NOGROUP No such key '<k>' or consumer group '<g>'[ suffix]`."""
    k = key.decode("utf-8", "replace")
    g = group.decode("utf-8", "replace")
    return CommandError(f"NOGROUP No such key '{k}' or consumer group '{g}'{suffix}")


def nogroup_for_key(key: bytes, group: bytes) -> CommandError:
    """XGROUP/XINFO's form: `-NOGROUP No such consumer group '<g>' for key name '<k>'`."""
    k = key.decode("utf-8", "replace")
    g = group.decode("utf-8", "replace")
    return CommandError(f"NOGROUP No such consumer group '{g}' for key name '{k}'")


def misconf(exc: BaseException) -> str:
    """Redis's answer to a write it cannot persist (an AOF write that failed)."""
    cause = exc
    while cause is not None and getattr(cause, "errno", None) is None:
        cause = cause.__cause__ or cause.__context__  # type: ignore[assignment]
    err = getattr(cause, "errno", None)
    if err is None and "full" in str(exc):  # SQLite's "database or disk is full"
        err = errno.ENOSPC
    text = os.strerror(err) if err else str(exc)
    return f"MISCONF Errors writing to the AOF file: {text}"


def subscribed_context(name: str) -> CommandError:
    return CommandError(
        f"ERR Can't execute '{name.lower()}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / "
        "QUIT / RESET are allowed in this context"
    )


# The table: error class -> Redis error text; first match wins (subclasses first).
# `True` appends the error's own message (`ERR limit exceeded: ...`).
_TABLE: list[tuple[type[MqliteError], str, bool]] = [
    (core_errors.StreamNotFound, NO_SUCH_KEY, False),
    (core_errors.InvalidName, "ERR invalid key name", True),
    (core_errors.InvalidValue, "ERR invalid value", True),
    (core_errors.LimitExceeded, "ERR limit exceeded", True),
    (StorageError, "ERR storage error", True),
]


def to_reply(exc: BaseException) -> str:
    """The `-...` text (without the dash) for an error raised by a handler."""
    if isinstance(exc, CommandError):
        return exc.text
    if isinstance(exc, ProtocolError) and exc.message.split(" ", 1)[0].isupper():
        return exc.message  # StreamIDError etc. carry the full text
    for cls, text, detail in _TABLE:
        if isinstance(exc, cls):
            return f"{text}: {exc.message}" if detail and exc.message else text
    if isinstance(exc, MqliteError):
        return f"ERR {exc.message}"
    return "ERR internal error"
