"""What the request hook (`protocols.observe`) is told about a Redis command: its name
as Redis spells it in `INFO commandstats` (`XADD`), the error prefix of an error reply
(`ERR`, `WRONGTYPE`, `NOGROUP`). The key it names is the argv's first argument
(`protocols.observe.entity_name` reads it when a line is logged)."""

from __future__ import annotations

from typing import Any

from mqlite.protocols.resp.codec import Error
from mqlite.protocols.resp.commands import COMMANDS

_ACTIONS: dict[bytes, str] = {}


def action_of(name: bytes) -> str:
    """The command's upper-case name; `unknown` for names that are no command (a client's
    free text must not become a metric label)."""
    action = _ACTIONS.get(name)
    if action is None:
        if name.lower() not in COMMANDS:
            return "unknown"
        action = _ACTIONS[name] = name.decode().upper()
    return action


def error_of(result: Any) -> str | None:
    if type(result) is Error:
        return result.text.split(" ", 1)[0]
    return None

