"""Redis's view of the one rule set: which keys/channels a command touches, NOPERM, ACL.

`denial(conn, cmd, argv)` runs the one authorization check (security/authz.py) for a
command's keys (kind `stream`: every mqlite Redis key is a stream) and channels (kind
`channel`) and returns Redis's NOPERM text for the first refused one, or None:
- keys from the command's key spec (first, last, step), plus XREAD/XREADGROUP's keys
  after STREAMS; a `write` command needs write (XADD on a missing key create as well),
  DEL/UNLINK admin, any other command read;
- PUBLISH/SPUBLISH need write on the channel, (S/P)SUBSCRIBE read.
`acl_list(authz)` renders rules as `ACL LIST` lines (`%R~`/`%W~` key patterns, `&`
channel patterns; create/admin and deny rules have no Redis spelling and are left out);
`setuser_rules(user, args)` reads `ACL SETUSER` key/channel permissions back into rules.
Pure functions over the connection's state.
"""

from __future__ import annotations

from typing import Any

from mqlite.security.authz import Rule

_PUBLISH = (b"publish", b"spublish")
_SUBSCRIBE = (b"subscribe", b"ssubscribe", b"psubscribe")
_DELETE = (b"del", b"unlink")


def _keys(cmd: Any, argv: list[bytes]) -> list[bytes]:
    if cmd.key in (b"xread", b"xreadgroup"):
        upper = [a.upper() for a in argv]
        if b"STREAMS" not in upper:
            return []
        rest = argv[upper.index(b"STREAMS") + 1:]
        return rest[: len(rest) // 2]
    if not cmd.first_key:
        return []
    last = cmd.last_key if cmd.last_key >= 0 else len(argv) + cmd.last_key
    return argv[cmd.first_key: last + 1: max(cmd.step, 1)]


def denial(conn: Any, cmd: Any, argv: list[bytes]) -> str | None:
    """Redis's NOPERM text for the first key or channel the user may not touch, or None."""
    authz = conn.state.authz
    principal = conn.principal
    user = principal or "default"
    if cmd.key in _PUBLISH or cmd.key in _SUBSCRIBE:
        op = "write" if cmd.key in _PUBLISH else "read"
        for raw in argv[1:2] if cmd.key in _PUBLISH else argv[1:]:
            name = raw.decode("utf-8", "surrogateescape")
            if not authz.allowed(principal, op, "channel", name):
                return f"NOPERM User {user} has no permissions to access the '{name}' channel"
        return None
    op = "admin" if cmd.key in _DELETE else "write" if "write" in cmd.flags else "read"
    for raw in _keys(cmd, argv):
        name = raw.decode("utf-8", "surrogateescape")
        ops = [op]
        if cmd.key == b"xadd" and conn.state.core.find_stream(name) is None:
            ops.append("create")
        if not all(authz.allowed(principal, o, "stream", name) for o in ops):
            return f"NOPERM User {user} has no permissions to access the '{name}' key"
    return None


def acl_list(authz: Any, users: Any) -> list[bytes]:
    """One `ACL LIST` line per user: its allowed key and channel patterns."""
    lines = []
    for name in sorted({"default", *users}):
        perms: list[str] = []
        for rule in authz.rules:
            if not rule.allow or rule.principal not in (name, "*"):
                continue
            if rule.kind in ("stream", "*"):
                flags = ("R" if "read" in rule.ops else "") + ("W" if "write" in rule.ops else "")
                if flags:
                    perms.append(f"%{flags}~{rule.pattern}")
            if rule.kind in ("channel", "*") and {"read", "write"} & set(rule.ops):
                perms.append(f"&{rule.pattern}")
        known = authz.users.get(name)
        everything = not authz.enabled or known is not None and known.admin
        lines.append(f"user {name} on sanitize-payload "
                     + ("~* &* +@all" if everything else " ".join(perms + ["resetchannels"] * (not perms) + ["+@all"])))
    return [line.encode() for line in lines]


def setuser_rules(user: str, args: list[bytes]) -> list[Rule] | str:
    """The rules of `ACL SETUSER user <args>`, or an error text."""
    rules: list[Rule] = []
    for raw in args:
        arg = raw.decode("utf-8", "surrogateescape")
        low = arg.lower()
        if low in ("on", "+@all", "allcommands", "sanitize-payload", "resetkeys", "resetchannels"):
            continue
        if low == "allkeys":
            arg = "~*"
        if low == "allchannels":
            arg = "&*"
        if arg.startswith("&"):
            rules.append(Rule(user, ("write", "read"), "channel", arg[1:]))
        elif arg.startswith("~"):
            rules.append(Rule(user, ("write", "read"), "stream", arg[1:]))
        elif arg.startswith("%") and "~" in arg:
            flags, pattern = arg[1:].split("~", 1)
            ops = tuple(op for flag, op in (("W", "write"), ("R", "read")) if flag in flags.upper())
            if not ops or set(flags.upper()) - {"R", "W"}:
                return f"ERR Error in ACL SETUSER modifier '{arg}': Syntax error"
            rules.append(Rule(user, ops, "stream", pattern))
        else:
            return (f"ERR Error in ACL SETUSER modifier '{arg}': mqlite sets key and channel "
                    "permissions only (users and passwords come from --user)")
    return rules
