"""The Redis command table: name -> `Command(handler, arity, flags)`.

Owns registration (`@command(...)`) and the shared argument helpers. Arity follows
Redis's convention: a positive number is the exact argv length (name included), a
negative one the minimum. Handlers take `(conn, argv)` and return a reply value for
`codec.encode`, or an awaitable of one (blocking commands). The family modules are
imported at the bottom so that importing this package fills `COMMANDS`.
Pure registry; no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mqlite.protocols.resp.errors import CommandError, not_integer

Handler = Callable[[Any, list[bytes]], Any]


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    handler: Handler
    arity: int
    flags: tuple[str, ...] = ()
    first_key: int = 0
    last_key: int = 0
    step: int = 0
    noauth: bool = False
    pubsub_ok: bool = False
    group: str = "generic"
    summary: str = ""
    subcommands: tuple[str, ...] = ()
    key: bytes = b""  # the lowercase name, as bytes


COMMANDS: dict[bytes, Command] = {}
#: lookup without lowercasing for the usual spellings (`XADD`, `xadd`)
BY_SPELLING: dict[bytes, Command] = {}


def command(
    name: str,
    arity: int,
    *,
    flags: tuple[str, ...] = (),
    keys: tuple[int, int, int] = (0, 0, 0),
    noauth: bool = False,
    pubsub_ok: bool = False,
    group: str = "generic",
    summary: str = "",
    subcommands: tuple[str, ...] = (),
) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        COMMANDS[name.lower().encode()] = cmd = Command(
            name.lower(), fn, arity, flags, keys[0], keys[1], keys[2], noauth, pubsub_ok, group,
            summary or (fn.__doc__ or "").strip().splitlines()[0] if (summary or fn.__doc__) else "",
            subcommands,
            name.lower().encode(),
        )
        BY_SPELLING[name.lower().encode()] = BY_SPELLING[name.upper().encode()] = cmd
        return fn

    return register


def to_int(raw: bytes, error: str | None = None) -> int:
    try:
        if not raw or len(raw) > 20:
            raise ValueError
        v = int(raw)
        if raw != str(v).encode():
            raise ValueError
    except ValueError:
        raise CommandError(error) if error else not_integer() from None
    if not -(1 << 63) <= v < (1 << 63):
        raise CommandError(error) if error else not_integer()
    return v


def text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


from mqlite.protocols.resp.commands import (  # noqa: F401
    connection,
    info,
    other_types,
    pubsub,
    server_info,
    stream_claims,
    stream_groups,
    stream_info,
    streams,
    transactions,
)
