"""HELLO, AUTH, CLIENT, SELECT, PING, ECHO, QUIT, RESET, ACL WHOAMI: the handshake.

Implements Redis's connection family as clients use it: `HELLO 2|3 [AUTH u p]
[SETNAME n]` (switches RESP version, replies the server map), `AUTH [user] password`
against the configured users (`mqlite.security.users`; `--redis-password` is `default`), `CLIENT SETNAME/GETNAME/ID/
SETINFO/INFO/LIST/KILL/NO-EVICT/NO-TOUCH/REPLY/HELP`, `SELECT 0`, `PING [msg]` (the
`["pong", msg]` array when subscribed in RESP2), `ECHO`, `QUIT`, `RESET`.
State touched: only the calling connection (and the client registry for CLIENT).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from typing import Any

from mqlite.protocols.resp import access
from mqlite.protocols.resp.codec import OK, Error, Map, Simple, Verbatim
from mqlite.protocols.resp.commands import command, text, to_int
from mqlite.protocols.resp.errors import (
    DB_INDEX,
    WRONGPASS,
    CommandError,
    syntax,
    unknown_subcommand,
    wrong_arity,
)
from mqlite.security import throttle

log = logging.getLogger("mqlite.resp")

REDIS_VERSION = "7.4.2"  # the Redis whose behaviour mqlite follows (INFO, HELLO)


def _check_password(conn: Any, user: str, password: bytes) -> Any:
    """None when `user` and `password` match; else WRONGPASS, raised or (when the
    address has failed often, `mqlite.security.throttle`) from an awaitable that
    answers after the delay. A failure is logged once per connection, without secrets."""
    users: dict[str, str] = conn.state.users
    expected = users.get(user)
    if user == "default" and not conn.state.auth_required:
        conn.authed = True  # the default user is `nopass` unless a user is configured
        conn.user = user
        return None
    if expected is None or not hmac.compare_digest(expected.encode(), password):
        conn.state.stats["auth_denied"] += 1
        if not conn.auth_failure_logged:
            conn.auth_failure_logged = True
            log.info("redis %s: AUTH failed for user %r", conn.peername, user)
        delay = throttle.for_server(conn.state.core).failed(throttle.address_of(conn.peername))
        if not delay:
            raise CommandError(WRONGPASS)
        return _wrongpass_after(delay)
    conn.authed = True
    conn.user = user
    return None


async def _wrongpass_after(delay: float) -> Any:
    await asyncio.sleep(delay)
    raise CommandError(WRONGPASS)


@command("auth", -2, noauth=True, group="connection")
def auth(conn: Any, argv: list[bytes]) -> Any:
    """AUTH [username] password: authenticate the connection."""
    if len(argv) > 3:
        raise CommandError("ERR syntax error")
    if len(argv) == 2:
        if not conn.state.auth_required:
            raise CommandError(
                "ERR AUTH <password> called without any password configured for the default user. "
                "Are you sure your configuration is correct?"
            )
        refused = _check_password(conn, "default", argv[1])
    else:
        refused = _check_password(conn, text(argv[1]), argv[2])
    return OK if refused is None else refused


@command("hello", -1, noauth=True, group="connection")
def hello(conn: Any, argv: list[bytes]) -> Any:
    """HELLO [protover [AUTH username password] [SETNAME clientname]]: handshake."""
    proto = 3 if conn.resp3 else 2
    i = 1
    if len(argv) > 1:
        try:
            proto = to_int(argv[1])
        except CommandError:
            raise CommandError("ERR Protocol version is not an integer or out of range") from None
        if proto not in (2, 3):
            raise CommandError("NOPROTO unsupported protocol version")
        i = 2
    name = None
    while i < len(argv):
        opt = argv[i].lower()
        if opt == b"auth" and i + 2 < len(argv):
            refused = _check_password(conn, text(argv[i + 1]), argv[i + 2])
            if refused is not None:
                return refused
            i += 3
        elif opt == b"setname" and i + 1 < len(argv):
            name = _valid_name(argv[i + 1])
            i += 2
        else:
            raise CommandError(f"ERR Syntax error in HELLO option '{text(argv[i])}'")
    if not conn.authed:
        raise CommandError("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")
    if name is not None:
        conn.name = name
    conn.resp3 = proto == 3
    return Map([
        ("server", "redis"),
        ("version", REDIS_VERSION),
        ("proto", proto),
        ("id", conn.id),
        ("mode", "standalone"),
        ("role", "master"),
        ("modules", []),
    ])


def _valid_name(raw: bytes) -> bytes:
    if any(c < 33 or c > 126 for c in raw):
        raise CommandError("ERR Client names cannot contain spaces, newlines or special characters.")
    return raw


def client_line(conn: Any) -> str:
    now = time.time()
    host, port = (conn.peername or ("?", 0))[:2]
    lhost, lport = (conn.sockname or ("?", 0))[:2]
    flags = "P" if conn.subscriptions else "N"
    return (
        f"id={conn.id} addr={host}:{port} laddr={lhost}:{lport} fd=8 name={text(conn.name)} "
        f"age={int(now - conn.created)} idle={int(now - conn.last_time)} flags={flags} db={conn.db} "
        f"sub={len(conn.channels)} psub={len(conn.patterns)} ssub={len(conn.shard_channels)} "
        f"multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=1024 rbp=0 obl=0 oll=0 "
        f"omem={conn.write_buffer_size} tot-mem=0 events=r cmd={text(conn.last_cmd)} user={conn.user} "
        f"redir=-1 resp={3 if conn.resp3 else 2} lib-name={text(conn.lib_name)} lib-ver={text(conn.lib_ver)}"
    )


@command("client", -2, noauth=False, group="connection",
         subcommands=("setname", "getname", "id", "setinfo", "info", "list", "kill", "no-evict", "no-touch", "reply", "help"))
def client(conn: Any, argv: list[bytes]) -> Any:
    """CLIENT <subcommand>: connection introspection and naming."""
    sub = argv[1].lower()
    n = len(argv)
    if sub == b"setname":
        if n != 3:
            raise wrong_arity("client|setname")
        conn.name = _valid_name(argv[2])
        return OK
    if sub == b"getname":
        if n != 2:
            raise wrong_arity("client|getname")
        return conn.name or None
    if sub == b"id":
        if n != 2:
            raise wrong_arity("client|id")
        return conn.id
    if sub == b"setinfo":
        if n != 4:
            raise wrong_arity("client|setinfo")
        attr = argv[2].lower()
        if attr == b"lib-name":
            conn.lib_name = _valid_name(argv[3]) if argv[3] else b""
        elif attr == b"lib-ver":
            conn.lib_ver = _valid_name(argv[3]) if argv[3] else b""
        else:
            raise CommandError(f"ERR Unrecognized option '{text(argv[2])}'")
        return OK
    if sub == b"info":
        return Verbatim((client_line(conn) + "\n").encode("utf-8", "surrogateescape"))
    if sub == b"list":
        clients = list(conn.state.clients.values())
        if n >= 4 and argv[2].lower() == b"id":
            ids = {to_int(a) for a in argv[3:]}
            clients = [c for c in clients if c.id in ids]
        elif n >= 4 and argv[2].lower() == b"type":
            kind = argv[3].lower()
            if kind == b"pubsub":
                clients = [c for c in clients if c.subscriptions]
            elif kind == b"normal":
                clients = [c for c in clients if not c.subscriptions]
            elif kind in (b"master", b"replica", b"slave"):
                clients = []
            else:
                raise CommandError(f"ERR Unknown client type '{text(argv[3])}'")
        elif n != 2:
            raise syntax()
        return Verbatim("".join(client_line(c) + "\n" for c in clients).encode("utf-8", "surrogateescape"))
    if sub == b"kill":
        return _client_kill(conn, argv)
    if sub in (b"no-evict", b"no-touch"):
        if n != 3 or argv[2].lower() not in (b"on", b"off"):
            raise syntax()
        return OK
    if sub == b"reply":
        if n != 3 or argv[2].lower() not in (b"on", b"off", b"skip"):
            raise syntax()
        return OK
    if sub == b"help":
        return [Simple(s) for s in (
            "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GETNAME", "ID", "INFO", "KILL <ip:port> | <option> <value> [...]",
            "LIST [TYPE <type>] [ID <id> ...]", "SETINFO <LIB-NAME|LIB-VER> <value>",
            "SETNAME <name>", "HELP",
        )]
    raise unknown_subcommand("client", argv[1])


def _client_kill(conn: Any, argv: list[bytes]) -> Any:
    clients = list(conn.state.clients.values())
    if len(argv) == 3:  # old form: CLIENT KILL addr:port
        addr = text(argv[2])
        for c in clients:
            host, port = (c.peername or ("?", 0))[:2]
            if f"{host}:{port}" == addr:
                c.kill()
                return OK
        raise CommandError("ERR No such client")
    if len(argv) % 2:
        raise syntax()
    killed = 0
    filters = [(argv[i].lower(), argv[i + 1]) for i in range(2, len(argv), 2)]
    skipme = True
    for opt, val in filters:
        if opt == b"skipme":
            skipme = val.lower() == b"yes"
    for c in clients:
        ok = True
        for opt, val in filters:
            if opt == b"id":
                ok &= c.id == to_int(val)
            elif opt == b"addr":
                host, port = (c.peername or ("?", 0))[:2]
                ok &= f"{host}:{port}" == text(val)
            elif opt == b"laddr":
                host, port = (c.sockname or ("?", 0))[:2]
                ok &= f"{host}:{port}" == text(val)
            elif opt == b"user":
                ok &= c.user == text(val)
            elif opt == b"type":
                ok &= (val.lower() == b"pubsub") == bool(c.subscriptions)
            elif opt == b"skipme":
                pass
            elif opt == b"maxage":
                ok &= time.time() - c.created > to_int(val)
            else:
                raise syntax()
        if ok and not (skipme and c is conn):
            c.kill()
            killed += 1
    return killed


@command("select", 2, group="connection")
def select(conn: Any, argv: list[bytes]) -> Any:
    """SELECT index: only database 0 exists."""
    idx = to_int(argv[1], "ERR value is not an integer or out of range")
    if idx != 0:
        raise CommandError(DB_INDEX)
    return OK


@command("ping", -1, pubsub_ok=True, group="connection")
def ping(conn: Any, argv: list[bytes]) -> Any:
    """PING [message]: PONG, or the message (an array when subscribed in RESP2)."""
    if len(argv) > 2:
        raise wrong_arity("ping")
    if conn.subscriptions and not conn.resp3:
        return [b"pong", argv[1] if len(argv) == 2 else b""]
    return argv[1] if len(argv) == 2 else Simple("PONG")


@command("echo", 2, group="connection")
def echo(conn: Any, argv: list[bytes]) -> Any:
    """ECHO message: the message."""
    return argv[1]


@command("quit", -1, noauth=True, pubsub_ok=True, group="connection")
def quit_(conn: Any, argv: list[bytes]) -> Any:
    """QUIT: reply OK, then close the connection."""
    conn.closing = True
    return OK


@command("reset", 1, noauth=True, pubsub_ok=True, group="connection")
def reset(conn: Any, argv: list[bytes]) -> Any:
    """RESET: leave pub/sub, RESP2, default user, no name."""
    conn.state.pubsub.drop(conn)
    conn.multi = None
    conn.watched = {}
    conn.resp3 = False
    conn.name = b""
    conn.db = 0
    conn.authed = not conn.state.auth_required
    conn.user = "default"
    return Simple("RESET")


@command("acl", -2, group="server", subcommands=("whoami", "users", "list", "setuser"))
def acl(conn: Any, argv: list[bytes]) -> Any:
    """ACL WHOAMI | USERS | LIST | SETUSER: the connection's user; the configured users;
    the authorization rules (security/authz.py) as Redis ACL lines; adding key and
    channel permissions to them (admin role only)."""
    sub = argv[1].lower()
    if sub == b"whoami":
        return conn.user.encode()
    if sub == b"users":
        return [u.encode() for u in sorted({"default", *conn.state.users})]
    authz = conn.state.authz
    if sub == b"list":
        return access.acl_list(authz, conn.state.users)
    if sub == b"setuser" and len(argv) >= 3:
        if not authz.is_admin(conn.principal):
            return Error(f"NOPERM User {conn.principal or 'default'} has no permissions to run the 'acl|setuser' command")
        rules = access.setuser_rules(argv[2].decode("utf-8", "surrogateescape"), argv[3:])
        if isinstance(rules, str):
            return Error(rules)
        for rule in rules:
            authz.add(rule)
        return Simple("OK")
    raise unknown_subcommand("acl", argv[1])
