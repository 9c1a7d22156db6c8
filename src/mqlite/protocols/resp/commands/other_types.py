"""GET, STRLEN, HGET, HGETALL, HLEN, LRANGE, LLEN, SMEMBERS, SCARD, ZRANGE, ZCARD and the
common writes SET, HSET, LPUSH, RPUSH, SADD, ZADD, INCR: keys of other Redis types.

mqlite's key space holds streams only. Reads of a missing key answer as Redis does for
a missing key (nil, 0, empty); any of these commands on a stream key answers
`-WRONGTYPE Operation against a key holding the wrong kind of value`, Redis's reply for
a type mismatch; writes to a missing key are refused with an explicit error.
State touched: none (reads the stream store's key set).
"""

from __future__ import annotations

from typing import Any

from mqlite.protocols.resp.codec import Map, Set
from mqlite.protocols.resp.commands import command
from mqlite.protocols.resp.errors import WRONGTYPE, CommandError
from mqlite.protocols.resp.store import stream_name

_MISSING: dict[str, Any] = {
    "get": None, "strlen": 0, "hget": None, "hgetall": "map", "hlen": 0, "lrange": [],
    "llen": 0, "smembers": "set", "scard": 0, "zrange": [], "zcard": 0,
}
_ARITY = {
    "get": 2, "strlen": 2, "hget": 3, "hgetall": 2, "hlen": 2, "lrange": 4, "llen": 2,
    "smembers": 2, "scard": 2, "zrange": -4, "zcard": 2,
    "set": -3, "hset": -4, "lpush": -3, "rpush": -3, "sadd": -3, "zadd": -4, "incr": 2,
}


def _make(name: str) -> None:
    def handler(conn: Any, argv: list[bytes]) -> Any:
        if conn.state.store.exists(stream_name(argv[1])):
            raise CommandError(WRONGTYPE)
        if name not in _MISSING:
            raise CommandError(
                f"ERR mqlite stores only streams: '{name}' (a {_kind(name)} command) is not supported"
            )
        missing = _MISSING[name]
        if missing == "map":
            return Map([])
        if missing == "set":
            return Set([])
        return missing

    handler.__doc__ = f"{name.upper()}: WRONGTYPE on a stream key; missing-key reply otherwise."
    command(name, _ARITY[name], group="other", keys=(1, 1, 1))(handler)


def _kind(name: str) -> str:
    return {"set": "string", "incr": "string", "hset": "hash", "lpush": "list", "rpush": "list",
            "sadd": "set", "zadd": "sorted set"}.get(name, "data")


for _name in _ARITY:
    _make(_name)
