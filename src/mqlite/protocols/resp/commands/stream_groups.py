"""XGROUP, XREADGROUP, XACK, XPENDING: consumer groups (XCLAIM/XAUTOCLAIM: stream_claims).

Redis's semantics (`t_stream.c`): a group has a last-delivered-id and entries-read;
XREADGROUP `>` delivers entries after it and records each in the group's PEL (pending
entries list) with consumer, delivery time and count (not with NOACK); an explicit ID
re-reads the consumer's own PEL (history, count incremented, deleted entries as
`[id, nil]`). XACK removes from the PEL. Every change
is journaled with the PEL entries it touched (`store.groups_changed`); these commands
reply once that record is in the log (`durable`).
State touched: the stream store (groups live on `RedisStream.groups`).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from types import CoroutineType
from typing import Any

from mqlite.protocols.resp import stream_ids as ids
from mqlite.protocols.resp.codec import NULL_ARRAY, OK, Deferred
from mqlite.protocols.resp.commands import command, to_int
from mqlite.protocols.resp.commands.streams import (
    block_until,
    entries_reply,
    get_stream,
    now_ms,
    read_options,
    read_reply,
)
from mqlite.protocols.resp.errors import (
    BUSYGROUP,
    CommandError,
    nogroup,
    nogroup_for_key,
    syntax,
    unknown_subcommand,
    wrong_arity,
)
from mqlite.protocols.resp.model import Group, PendingEntry, RedisStream
from mqlite.protocols.resp.store import stream_name
from mqlite.protocols.resp.stream_ids import StreamID, fmt

REQUIRES_KEY = (
    "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want "
    "to use the MKSTREAM option to create an empty stream automatically."
)


def groups_changed(conn: Any, rs: RedisStream, group: bytes, touched: Any = (), new: bool = False) -> None:
    """Journal a change of `group` (`touched`: the IDs whose PEL entry changed)."""
    conn.state.store.groups_changed(rs, group, touched, new)


def durable(fn: Callable[[Any, list[bytes]], Any]) -> Callable[[Any, list[bytes]], Any]:
    """`--fsync always`: the command's reply waits until its group change committed."""

    @functools.wraps(fn)
    def run(conn: Any, argv: list[bytes]) -> Any:
        result = fn(conn, argv)
        if not conn.state.durable_replies:
            return result
        if type(result) is CoroutineType:  # blocked: the change happens when woken
            return _then_durable(conn, result)
        fut = conn.state.store.groups_durable()
        return result if fut is None else Deferred(fut, result)

    return run


async def _then_durable(conn: Any, coro: Any) -> Any:
    result = await coro
    fut = conn.state.store.groups_durable()
    if fut is not None:
        await asyncio.shield(fut)
    return result


def _group_id(rs: RedisStream, raw: bytes) -> StreamID:
    return rs.last_id if raw == b"$" else ids.parse(raw, 0, strict=True)


def _entries_read_arg(raw: bytes) -> int:
    n = to_int(raw)
    if n < 0 and n != -1:
        raise CommandError("ERR value for ENTRIESREAD must be positive or -1")
    return n


# -- XGROUP -------------------------------------------------------------------------------
@command("xgroup", -2, group="stream", keys=(2, 2, 1), flags=("write",),
         subcommands=("create", "destroy", "setid", "createconsumer", "delconsumer", "help"))
@durable
def xgroup(conn: Any, argv: list[bytes]) -> Any:
    """XGROUP CREATE|DESTROY|SETID|CREATECONSUMER|DELCONSUMER key group ..."""
    sub = argv[1].lower()
    arity = {b"create": (5, 8), b"destroy": (4, 4), b"setid": (5, 7), b"createconsumer": (5, 5), b"delconsumer": (5, 5)}
    if sub == b"help":
        return [b"XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                b"CREATE <key> <groupname> <id|$> [option]", b"CREATECONSUMER <key> <groupname> <consumer>",
                b"DELCONSUMER <key> <groupname> <consumername>", b"DESTROY <key> <groupname>",
                b"SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]", b"HELP"]
    if sub not in arity:
        raise unknown_subcommand("xgroup", argv[1])
    lo, hi = arity[sub]
    if not lo <= len(argv) <= hi:
        raise wrong_arity(f"xgroup|{sub.decode()}")
    gname = argv[3]
    mkstream = False
    entries_read: int | None = None
    if sub in (b"create", b"setid"):
        i = 5
        while i < len(argv):
            opt = argv[i].lower()
            if opt == b"mkstream" and sub == b"create":
                mkstream = True
                i += 1
            elif opt == b"entriesread" and i + 1 < len(argv):
                entries_read = _entries_read_arg(argv[i + 1])
                i += 2
            else:
                raise syntax()
    rs = get_stream(conn, argv[2], create=mkstream)
    if rs is None:
        raise CommandError(REQUIRES_KEY)
    now = now_ms(conn)
    if sub == b"create":
        last = _group_id(rs, argv[4])
        if gname in rs.groups:
            raise CommandError(BUSYGROUP)
        rs.groups[gname] = Group(gname, last, entries_read if entries_read is not None else -1)
        groups_changed(conn, rs, gname, new=True)
        return OK
    g = rs.groups.get(gname)
    if g is None:
        if sub == b"destroy":
            return 0
        raise nogroup_for_key(argv[2], gname)
    if sub == b"destroy":
        del rs.groups[gname]
        groups_changed(conn, rs, gname, new=True)
        conn.state.store.notify(rs.name)
        return 1
    if sub == b"setid":
        g.last_id = _group_id(rs, argv[4])
        g.entries_read = entries_read if entries_read is not None else -1
        groups_changed(conn, rs, gname)
        return OK
    if sub == b"createconsumer":
        if argv[4] in g.consumers:
            return 0
        g.consumer(argv[4], now)
        groups_changed(conn, rs, gname)
        return 1
    # delconsumer
    c = g.consumers.pop(argv[4], None)
    if c is None:
        return 0
    for sid in c.pending:
        g.pel.pop(sid, None)
    groups_changed(conn, rs, gname, c.pending)
    return len(c.pending)


# -- XREADGROUP ---------------------------------------------------------------------------
def _deliver_new(conn: Any, rs: RedisStream, g: Group, consumer: bytes, count: int, noack: bool) -> Any:
    positions = rs.after(g.last_id, count)
    if not positions:
        return []
    got = rs.sids(positions)
    now = now_ms(conn)
    c = g.consumer(consumer, now)
    assert c is not None
    c.seen_time = c.active_time = now
    if g.entries_read >= 0 and (rs.max_deleted_id == ids.MIN_ID or got[0] > rs.max_deleted_id):
        g.entries_read += len(got)  # no tombstone at or after got[0]: advance_group's +1 each
        g.last_id = got[-1]
    else:
        for sid in got:
            rs.advance_group(g, sid)
    if noack:
        groups_changed(conn, rs, g.name)
        return entries_reply(rs, positions)
    for sid in got:
        old = g.pel.get(sid)
        if old is not None:
            prev = g.consumers.get(old.consumer)
            if prev is not None:
                prev.pending.pop(sid, None)
        g.pel[sid] = PendingEntry(consumer, now, 1)
        c.pending[sid] = None
    groups_changed(conn, rs, g.name, got)
    return entries_reply(rs, positions)


def _deliver_history(conn: Any, rs: RedisStream, g: Group, consumer: bytes, start: StreamID, count: int) -> list[Any]:
    now = now_ms(conn)
    c = g.consumer(consumer, now)
    assert c is not None
    c.seen_time = now
    sids = sorted(s for s in c.pending if s > start)
    if count:
        sids = sids[:count]
    out = []
    for sid, fields in zip(sids, rs.fields_many(sids)):
        pe = g.pel[sid]
        pe.delivery_time = now
        pe.delivery_count += 1
        out.append([fmt(sid), fields if fields is not None else NULL_ARRAY])  # deleted: nil array
    groups_changed(conn, rs, g.name, sids)
    return out


@command("xreadgroup", -7, group="stream", keys=(0, 0, 0), flags=("write", "blocking"))
@durable
def xreadgroup(conn: Any, argv: list[bytes]) -> Any:
    """XREADGROUP GROUP group consumer [COUNT n] [BLOCK ms] [NOACK] STREAMS key [...] id [...]"""
    if argv[1].lower() != b"group":
        raise CommandError("ERR Missing GROUP option for XREADGROUP")
    gname, consumer = argv[2], argv[3]
    count, block, noack, keys, raw_ids = read_options(argv, 4, "xreadgroup", noack_allowed=True)
    store = conn.state.store
    names = [stream_name(k) for k in keys]
    specs: list[tuple[bytes, str, StreamID | None]] = []
    for k, name, raw in zip(keys, names, raw_ids):
        rs = store.get(name)
        if rs is None or gname not in rs.groups:
            raise nogroup(k, gname, " in XREADGROUP with GROUP option")
        specs.append((k, name, None if raw == b">" else ids.parse(raw, 0, strict=True)))

    def attempt(first: bool) -> Any:
        results = []
        for k, name, start in specs:
            rs = store.get(name)
            g = rs.groups.get(gname) if rs is not None else None
            if rs is None or g is None:
                raise CommandError("UNBLOCKED the stream key no longer exists" if rs is None else
                                   "NOGROUP the consumer group this client was blocked on no longer exists")
            if start is None:
                got = _deliver_new(conn, rs, g, consumer, count, noack)
                if got:
                    results.append((k, got))
            else:
                results.append((k, _deliver_history(conn, rs, g, consumer, start, count)))
        return read_reply(conn, results) if results else None

    result = attempt(True)
    if result is not None:
        return result
    # mark the consumer as seen even when nothing was delivered
    for _, name, _s in specs:
        rs = store.streams[name]
        rs.groups[gname].consumer(consumer, now_ms(conn))
        groups_changed(conn, rs, gname)
    if block is None or conn.no_block or any(s is not None for _, _, s in specs):
        return NULL_ARRAY
    return block_until(conn, names, block, lambda: attempt(False))


# -- XACK / XPENDING ----------------------------------------------------------------------
def lookup_group(conn: Any, raw_key: bytes, gname: bytes) -> tuple[RedisStream | None, Group | None]:
    rs = get_stream(conn, raw_key)
    return rs, (rs.groups.get(gname) if rs is not None else None)


@command("xack", -4, group="stream", keys=(1, 1, 1), flags=("write", "fast"))
@durable
def xack(conn: Any, argv: list[bytes]) -> Any:
    """XACK key group id [id ...]: acknowledge; returns how many were pending."""
    parsed = [ids.parse(raw, 0, strict=True) for raw in argv[3:]]
    rs, g = lookup_group(conn, argv[1], argv[2])
    if g is None or rs is None:
        return 0
    acked = 0
    for sid in parsed:
        pe = g.pel.pop(sid, None)
        if pe is not None:
            c = g.consumers.get(pe.consumer)
            if c is not None:
                c.pending.pop(sid, None)
            acked += 1
    if acked:
        groups_changed(conn, rs, g.name, parsed)
    return acked


@command("xpending", -3, group="stream", keys=(1, 1, 1), flags=("readonly",))
def xpending(conn: Any, argv: list[bytes]) -> Any:
    """XPENDING key group [[IDLE min-idle-time] start end count [consumer]]"""
    n = len(argv)
    min_idle = 0
    i = 3
    if n > 3:
        if argv[3].lower() == b"idle":
            if n < 5:
                raise syntax()
            min_idle = to_int(argv[4])
            i = 5
        if n - i not in (3, 4):
            raise syntax()
    rs, g = lookup_group(conn, argv[1], argv[2])
    if n > 3:
        start = ids.parse_range_start(argv[i])
        end = ids.parse_range_end(argv[i + 1])
        count = to_int(argv[i + 2])
        consumer = argv[i + 3] if n - i == 4 else None
    if rs is None or g is None:
        raise nogroup(argv[1], argv[2])
    if n == 3:
        if not g.pel:
            return [0, None, None, NULL_ARRAY]
        sids = sorted(g.pel)
        per: dict[bytes, int] = {}
        for pe in g.pel.values():
            per[pe.consumer] = per.get(pe.consumer, 0) + 1
        return [len(sids), fmt(sids[0]), fmt(sids[-1]), [[c, str(k).encode()] for c, k in per.items()]]
    if count <= 0:
        return []
    now = now_ms(conn)
    out: list[Any] = []
    pool: Any = g.consumers[consumer].pending if consumer is not None and consumer in g.consumers else (
        {} if consumer is not None else g.pel)
    for sid in sorted(pool):
        if sid < start:
            continue
        if sid > end or len(out) >= count:
            break
        pe = g.pel[sid]
        idle = max(0, now - pe.delivery_time)
        if idle < min_idle:
            continue
        out.append([fmt(sid), pe.consumer, idle, pe.delivery_count])
    return out
