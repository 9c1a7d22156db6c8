"""COMMAND, INFO, CONFIG, DBSIZE, FLUSHDB, FLUSHALL, TIME, TYPE, EXISTS, DEL, UNLINK,
KEYS, SCAN: server introspection and the key space (which holds streams only).

Every mqlite stream is a key of type `stream`; `FLUSHDB`/`FLUSHALL` delete them all.
`COMMAND` answers for the commands implemented here, in Redis's reply shapes
(`COMMAND`, `COUNT`, `INFO`, `DOCS`, `LIST`); `INFO` is in `info.py`. `CONFIG GET` answers the keys clients ask for; `CONFIG SET`
accepts `client-output-buffer-limit` (pubsub class applies) and stores others.
State touched: the listener's `ServerState` and the stream store.
"""

from __future__ import annotations

import time
from typing import Any

from mqlite.protocols.resp.codec import OK, Map, Simple
from mqlite.protocols.resp.commands import COMMANDS, command, text, to_int
from mqlite.protocols.resp.errors import (
    CommandError,
    syntax,
    unknown_subcommand,
    wrong_arity,
)
from mqlite.protocols.resp.pubsub_hub import glob_match
from mqlite.protocols.resp.store import key_of, stream_name

CONFIG_DEFAULTS = {
    "maxmemory": "0",
    "maxmemory-policy": "noeviction",
    "save": "",
    "appendonly": "yes",
    "appendfsync": "everysec",
    "databases": "1",
    "timeout": "0",
    "tcp-keepalive": "300",
    "maxclients": "10000",
    "notify-keyspace-events": "",
    "stream-node-max-bytes": "4096",
    "stream-node-max-entries": "100",
    "cluster-enabled": "no",
    "port": "6379",
    "bind": "127.0.0.1",
    "protected-mode": "no",
    "loglevel": "notice",
    "slowlog-log-slower-than": "10000",
    "lua-time-limit": "5000",
}


def _keys(conn: Any) -> list[bytes]:
    """The key space as the user sees it: while rules exist, only the keys it may read
    (KEYS and SCAN list no other user's names; Redis itself does not filter them by key
    patterns, docs/security.md says why mqlite does)."""
    keys = [key_of(n) for n in conn.state.store.names()]
    authz = conn.state.authz
    if authz.enabled:
        principal = conn.principal
        keys = [k for k in keys if authz.allowed(principal, "read", "stream", k.decode("utf-8", "surrogateescape"))]
    return keys


@command("command", -1, group="server", subcommands=("count", "docs", "info", "list", "getkeys", "help"))
def command_(conn: Any, argv: list[bytes]) -> Any:
    """COMMAND [COUNT|DOCS|INFO|LIST]: describe the implemented commands."""
    if len(argv) == 1:
        return [_info(c) for c in COMMANDS.values()]
    sub = argv[1].lower()
    if sub == b"count":
        return len(COMMANDS)
    if sub == b"list":
        return [c.name.encode() for c in COMMANDS.values()]
    if sub == b"info":
        names = argv[2:] or [c.name.encode() for c in COMMANDS.values()]
        return [_info(COMMANDS[n.lower()]) if n.lower() in COMMANDS else None for n in names]
    if sub == b"docs":
        names = argv[2:] or [c.name.encode() for c in COMMANDS.values()]
        out: list[tuple[Any, Any]] = []
        for n in names:
            c = COMMANDS.get(n.lower())
            if c is not None:
                out.append((c.name.encode(), Map([
                    ("summary", c.summary), ("since", "1.0.0"), ("group", c.group),
                    ("complexity", "O(1)"), ("arguments", []),
                ])))
        return Map(out)
    if sub == b"getkeys":
        if len(argv) < 3:
            raise wrong_arity("command|getkeys")
        c = COMMANDS.get(argv[2].lower())
        if c is None:
            raise CommandError("ERR Invalid command specified")
        if not c.first_key:
            raise CommandError("ERR The command has no key arguments")
        args = argv[2:]
        last = c.last_key if c.last_key >= 0 else len(args) + c.last_key
        return [args[i] for i in range(c.first_key, last + 1, c.step or 1) if i < len(args)]
    if sub == b"help":
        return [Simple("COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"),
                Simple("COUNT"), Simple("DOCS [<command-name> ...]"), Simple("INFO [<command-name> ...]"),
                Simple("LIST"), Simple("GETKEYS <full-command>"), Simple("HELP")]
    raise unknown_subcommand("command", argv[1])


def _info(c: Any) -> list[Any]:
    flags = [Simple(f) for f in c.flags]
    return [c.name.encode(), c.arity, flags, c.first_key, c.last_key, c.step, [], [], [], []]


@command("config", -2, group="server", subcommands=("get", "set", "resetstat", "rewrite", "help"))
def config(conn: Any, argv: list[bytes]) -> Any:
    """CONFIG GET pattern [pattern ...] | SET param value [...] | RESETSTAT | REWRITE."""
    state = conn.state
    sub = argv[1].lower()
    values = {**CONFIG_DEFAULTS, **state.config}
    if sub == b"get":
        if len(argv) < 3:
            raise wrong_arity("config|get")
        found: dict[str, str] = {}
        for pat in argv[2:]:
            p = pat.lower()
            for k, v in values.items():
                if glob_match(p, k.encode()):
                    found[k] = v
        return Map([(k.encode(), v.encode()) for k, v in found.items()])
    if sub == b"set":
        if len(argv) < 4 or len(argv) % 2:
            raise wrong_arity("config|set")
        for i in range(2, len(argv), 2):
            k = text(argv[i]).lower()
            v = text(argv[i + 1])
            if k == "client-output-buffer-limit":
                try:
                    state.set_output_limit(v)
                except (ValueError, IndexError):
                    raise CommandError(
                        f"ERR CONFIG SET failed (possibly related to argument '{k}') - Invalid argument '{v}'"
                    ) from None
            elif k in values:
                state.config[k] = v
            else:
                raise CommandError(f"ERR Unknown option or number of arguments for CONFIG SET - '{k}'")
        return OK
    if sub == b"resetstat":
        state.reset_stats()
        return OK
    if sub == b"rewrite":
        return OK
    if sub == b"help":
        return [Simple("CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"),
                Simple("GET <pattern>"), Simple("SET <directive> <value>"), Simple("RESETSTAT"), Simple("REWRITE")]
    raise unknown_subcommand("config", argv[1])


@command("dbsize", 1, group="server")
def dbsize(conn: Any, argv: list[bytes]) -> Any:
    """DBSIZE: the number of keys (streams)."""
    return len(conn.state.store.names())


async def _flush(conn: Any) -> Any:
    store = conn.state.store
    for name in store.names():
        await store.delete(name)
    return OK


@command("flushdb", -1, group="server")
def flushdb(conn: Any, argv: list[bytes]) -> Any:
    """FLUSHDB [ASYNC|SYNC]: delete every stream."""
    if len(argv) > 2 or (len(argv) == 2 and argv[1].lower() not in (b"async", b"sync")):
        raise syntax()
    return _flush(conn)


@command("flushall", -1, group="server")
def flushall(conn: Any, argv: list[bytes]) -> Any:
    """FLUSHALL [ASYNC|SYNC]: delete every stream."""
    if len(argv) > 2 or (len(argv) == 2 and argv[1].lower() not in (b"async", b"sync")):
        raise syntax()
    return _flush(conn)


@command("time", 1, group="server")
def time_(conn: Any, argv: list[bytes]) -> Any:
    """TIME: [unix seconds, microseconds]."""
    ns = time.time_ns()
    return [str(ns // 1_000_000_000).encode(), str((ns // 1000) % 1_000_000).encode()]


@command("type", 2, group="generic", keys=(1, 1, 1))
def type_(conn: Any, argv: list[bytes]) -> Any:
    """TYPE key: `stream` or `none`."""
    return Simple("stream" if conn.state.store.exists(stream_name(argv[1])) else "none")


@command("exists", -2, group="generic", keys=(1, -1, 1))
def exists(conn: Any, argv: list[bytes]) -> Any:
    """EXISTS key [key ...]: how many of the keys exist (repeats count)."""
    names = set(conn.state.store.names())
    return sum(1 for k in argv[1:] if stream_name(k) in names)


async def _delete(conn: Any, keys: list[bytes]) -> int:
    store = conn.state.store
    n = 0
    for k in keys:
        if await store.delete(stream_name(k)):
            n += 1
    return n


@command("del", -2, group="generic", keys=(1, -1, 1))
def del_(conn: Any, argv: list[bytes]) -> Any:
    """DEL key [key ...]: delete streams; returns how many existed."""
    return _delete(conn, argv[1:])


@command("unlink", -2, group="generic", keys=(1, -1, 1))
def unlink(conn: Any, argv: list[bytes]) -> Any:
    """UNLINK key [key ...]: as DEL."""
    return _delete(conn, argv[1:])


@command("keys", 2, group="generic")
def keys(conn: Any, argv: list[bytes]) -> Any:
    """KEYS pattern: the stream keys matching a glob."""
    return [k for k in _keys(conn) if glob_match(argv[1], k)]


@command("scan", -2, group="generic")
def scan(conn: Any, argv: list[bytes]) -> Any:
    """SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]: iterate the key space."""
    cursor = to_int(argv[1], "ERR invalid cursor")
    if cursor < 0:
        raise CommandError("ERR invalid cursor")
    pattern = None
    count = 10
    kind = None
    i = 2
    while i < len(argv):
        opt = argv[i].lower()
        if i + 1 >= len(argv):
            raise syntax()
        if opt == b"match":
            pattern = argv[i + 1]
        elif opt == b"count":
            count = to_int(argv[i + 1])
            if count < 1:
                raise syntax()
        elif opt == b"type":
            kind = argv[i + 1].lower()
        else:
            raise syntax()
        i += 2
    all_keys = sorted(_keys(conn))
    page = all_keys[cursor : cursor + count]
    nxt = cursor + count if cursor + count < len(all_keys) else 0
    if pattern is not None:
        page = [k for k in page if glob_match(pattern, k)]
    if kind is not None and kind != b"stream":
        page = []
    return [str(nxt).encode(), page]
