"""XINFO STREAM [FULL [COUNT n]] | GROUPS | CONSUMERS | HELP: stream introspection.

Replies follow Redis 7.2 field for field (maps in RESP3, flat pairs in RESP2):
STREAM has length, radix-tree-keys/nodes (estimated as 100-entry nodes),
last-generated-id, max-deleted-entry-id, entries-added, recorded-first-entry-id, groups,
first-entry, last-entry (FULL: entries and groups with PELs and consumers); GROUPS has
name, consumers, pending, last-delivered-id, entries-read, lag; CONSUMERS has name,
pending, idle, inactive. MEMORY USAGE key: the bytes a stream key holds in RAM (its
ID index, values still queued for the log, PELs; the entries themselves live in the
log). Read-only.
"""

from __future__ import annotations

from typing import Any

from mqlite.protocols.resp.codec import Map
from mqlite.protocols.resp.commands import command, to_int
from mqlite.protocols.resp.commands.streams import entries_reply, get_stream, now_ms
from mqlite.protocols.resp.errors import (
    CommandError,
    nogroup_for_key,
    syntax,
    unknown_subcommand,
    wrong_arity,
)
from mqlite.protocols.resp.model import RedisStream
from mqlite.protocols.resp.stream_ids import StreamID, fmt


# -- XINFO --------------------------------------------------------------------------------
def _entry_or_nil(rs: RedisStream, sid: StreamID | None) -> Any:
    return None if sid is None else [fmt(sid), rs.fields(sid)]


@command("xinfo", -2, group="stream", keys=(2, 2, 1), flags=("readonly",),
         subcommands=("stream", "groups", "consumers", "help"))
def xinfo(conn: Any, argv: list[bytes]) -> Any:
    """XINFO STREAM key [FULL [COUNT n]] | GROUPS key | CONSUMERS key group | HELP"""
    sub = argv[1].lower()
    if sub == b"help":
        return [b"XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                b"CONSUMERS <key> <groupname>", b"GROUPS <key>", b"STREAM <key> [FULL [COUNT <count>]]", b"HELP"]
    if sub not in (b"stream", b"groups", b"consumers"):
        raise unknown_subcommand("xinfo", argv[1])
    need = {b"stream": 3, b"groups": 3, b"consumers": 4}[sub]
    if len(argv) < need or (sub != b"stream" and len(argv) != need):
        raise wrong_arity(f"xinfo|{sub.decode()}")
    rs = get_stream(conn, argv[2])
    if rs is None:
        raise CommandError("ERR no such key")
    now = now_ms(conn)
    if sub == b"groups":
        return [Map([
            ("name", g.name), ("consumers", len(g.consumers)), ("pending", len(g.pel)),
            ("last-delivered-id", fmt(g.last_id)),
            ("entries-read", g.entries_read if g.entries_read >= 0 else None),
            ("lag", rs.group_lag(g)),
        ]) for g in rs.groups.values()]
    if sub == b"consumers":
        g = rs.groups.get(argv[3])
        if g is None:
            raise nogroup_for_key(argv[2], argv[3])
        return [Map([
            ("name", c.name), ("pending", len(c.pending)), ("idle", max(0, now - c.seen_time)),
            ("inactive", max(0, now - c.active_time) if c.active_time >= 0 else -1),
        ]) for c in g.consumers.values()]
    # STREAM
    full = False
    count = 10
    if len(argv) > 3:
        if argv[3].lower() != b"full":
            raise syntax()
        full = True
        if len(argv) == 6 and argv[4].lower() == b"count":
            count = to_int(argv[5])
        elif len(argv) != 4:
            raise syntax()
    head = [
        ("length", len(rs)), ("radix-tree-keys", max(1, (len(rs) + 99) // 100) if len(rs) else 0),
        ("radix-tree-nodes", max(1, (len(rs) + 99) // 100) + 1 if len(rs) else 1),
        ("last-generated-id", fmt(rs.last_id)), ("max-deleted-entry-id", fmt(rs.max_deleted_id)),
        ("entries-added", rs.entries_added), ("recorded-first-entry-id", fmt(rs.first_id)),
    ]
    if not full:
        return Map(head + [
            ("groups", len(rs.groups)),
            ("first-entry", _entry_or_nil(rs, rs.first_live())),
            ("last-entry", _entry_or_nil(rs, rs.last_live())),
        ])
    positions = rs.head_positions(max(count, 0))
    groups = []
    for g in rs.groups.values():
        pel_sorted = sorted(g.pel)
        if count > 0:
            pel_sorted = pel_sorted[:count]
        consumers = []
        for c in g.consumers.values():
            cp = sorted(c.pending)
            if count > 0:
                cp = cp[:count]
            consumers.append(Map([
                ("name", c.name), ("seen-time", c.seen_time), ("active-time", c.active_time),
                ("pel-count", len(c.pending)),
                ("pending", [[fmt(s), g.pel[s].delivery_time, g.pel[s].delivery_count] for s in cp]),
            ]))
        groups.append(Map([
            ("name", g.name), ("last-delivered-id", fmt(g.last_id)),
            ("entries-read", g.entries_read if g.entries_read >= 0 else None), ("lag", rs.group_lag(g)),
            ("pel-count", len(g.pel)),
            ("pending", [[fmt(s), g.pel[s].consumer, g.pel[s].delivery_time, g.pel[s].delivery_count] for s in pel_sorted]),
            ("consumers", consumers),
        ]))
    return Map(head + [("entries", entries_reply(rs, positions)), ("groups", groups)])


@command("memory", -2, group="server", keys=(2, 2, 1), flags=("readonly",), subcommands=("usage", "help"))
def memory(conn: Any, argv: list[bytes]) -> Any:
    """MEMORY USAGE key [SAMPLES count] | HELP: a key's resident bytes (nil if none)."""
    sub = argv[1].lower()
    if sub == b"help":
        return [b"MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                b"USAGE <key> [SAMPLES <count>]", b"HELP"]
    if sub != b"usage":
        raise unknown_subcommand("memory", argv[1])
    if len(argv) not in (3, 5):
        raise wrong_arity("memory|usage") if len(argv) < 3 else syntax()
    if len(argv) == 5:
        if argv[3].lower() != b"samples":
            raise syntax()
        to_int(argv[4])
    rs = get_stream(conn, argv[2])
    return None if rs is None else rs.resident_bytes()
