"""XCLAIM, XAUTOCLAIM: move idle pending entries of a consumer group to another consumer.

Redis's semantics (`t_stream.c`): XCLAIM takes the listed IDs that are pending and idle
at least min-idle-time (IDLE/TIME set the delivery time, RETRYCOUNT the count, FORCE
creates PEL entries for existing entries, JUSTID neither increments the count nor
returns fields, LASTID raises the group's last-delivered-id); XAUTOCLAIM scans the PEL
from `start`, at most COUNT*10 attempts, and returns the next start, the claimed
entries and the IDs of deleted entries it dropped from the PEL. Group changes are
persisted like every group change (`stream_groups.durable`).
"""

from __future__ import annotations

from typing import Any

from mqlite.protocols.resp import stream_ids as ids
from mqlite.protocols.resp.commands import command, text, to_int
from mqlite.protocols.resp.commands.stream_groups import (
    durable,
    groups_changed,
    lookup_group,
)
from mqlite.protocols.resp.commands.streams import now_ms
from mqlite.protocols.resp.errors import CommandError, nogroup, syntax
from mqlite.protocols.resp.model import Group, PendingEntry, RedisStream
from mqlite.protocols.resp.stream_ids import StreamID, fmt


# -- XCLAIM / XAUTOCLAIM ------------------------------------------------------------------
def _claim_one(rs: RedisStream, g: Group, sid: StreamID, consumer: bytes, now: int,
               delivery_time: int, retry: int | None, justid: bool) -> None:
    pe = g.pel.get(sid)
    assert pe is not None
    old = g.consumers.get(pe.consumer)
    if old is not None:
        old.pending.pop(sid, None)
    c = g.consumer(consumer, now)
    assert c is not None
    c.pending[sid] = None
    c.active_time = now
    pe.consumer = consumer
    pe.delivery_time = delivery_time
    if retry is not None:
        pe.delivery_count = retry
    elif not justid:
        pe.delivery_count += 1


def _drop_deleted(g: Group, sid: StreamID) -> None:
    pe = g.pel.pop(sid, None)
    if pe is not None:
        c = g.consumers.get(pe.consumer)
        if c is not None:
            c.pending.pop(sid, None)


@command("xclaim", -6, group="stream", keys=(1, 1, 1), flags=("write", "fast"))
@durable
def xclaim(conn: Any, argv: list[bytes]) -> Any:
    """XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms] [TIME ms]
    [RETRYCOUNT count] [FORCE] [JUSTID] [LASTID id]"""
    consumer = argv[3]
    min_idle = to_int(argv[4], "ERR Invalid min-idle-time argument for XCLAIM")
    min_idle = max(0, min_idle)
    sids: list[StreamID] = []
    i = 5
    while i < len(argv):
        try:
            sids.append(ids.parse(argv[i], 0, strict=True))
        except ids.StreamIDError:
            break
        i += 1
    now = now_ms(conn)
    delivery_time = now
    retry: int | None = None
    force = justid = False
    lastid: StreamID | None = None
    while i < len(argv):
        opt = argv[i].lower()
        more = i + 1 < len(argv)
        if opt == b"force":
            force = True
            i += 1
        elif opt == b"justid":
            justid = True
            i += 1
        elif opt == b"idle" and more:
            delivery_time = now - to_int(argv[i + 1], "ERR Invalid IDLE option argument for XCLAIM")
            i += 2
        elif opt == b"time" and more:
            delivery_time = to_int(argv[i + 1], "ERR Invalid TIME option argument for XCLAIM")
            i += 2
        elif opt == b"retrycount" and more:
            retry = to_int(argv[i + 1], "ERR Invalid RETRYCOUNT option argument for XCLAIM")
            i += 2
        elif opt == b"lastid" and more:
            lastid = ids.parse(argv[i + 1], 0, strict=True)
            i += 2
        else:
            raise CommandError(f"ERR Unrecognized XCLAIM option '{text(argv[i])}'")
    rs, g = lookup_group(conn, argv[1], argv[2])
    if rs is None or g is None:
        raise nogroup(argv[1], argv[2])
    if lastid is not None and lastid > g.last_id:
        g.last_id = lastid
    delivery_time = min(delivery_time, now)
    out: list[Any] = []
    claimed: list[StreamID] = []
    for sid in sids:
        exists = rs.contains(sid)
        pe = g.pel.get(sid)
        if pe is None:
            if not (force and exists):
                continue
            pe = g.pel[sid] = PendingEntry(consumer, now, 0)
        elif not exists:
            _drop_deleted(g, sid)
            continue
        if min_idle and now - pe.delivery_time < min_idle:
            continue
        _claim_one(rs, g, sid, consumer, now, delivery_time, retry, justid)
        claimed.append(sid)
    if justid:
        out = [fmt(sid) for sid in claimed]
    else:
        out = [[fmt(sid), f] for sid, f in zip(claimed, rs.fields_many(claimed))]
    c = g.consumers.get(consumer)  # XCLAIM creates the consumer only when it claims
    if c is not None:
        c.seen_time = now
    groups_changed(conn, rs, g.name, sids)
    return out


@command("xautoclaim", -6, group="stream", keys=(1, 1, 1), flags=("write", "fast"))
@durable
def xautoclaim(conn: Any, argv: list[bytes]) -> Any:
    """XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID]"""
    consumer = argv[3]
    min_idle = max(0, to_int(argv[4], "ERR Invalid min-idle-time argument for XAUTOCLAIM"))
    start = ids.parse_range_start(argv[5])
    count = 100
    justid = False
    i = 6
    while i < len(argv):
        opt = argv[i].lower()
        if opt == b"count" and i + 1 < len(argv):
            count = to_int(argv[i + 1])
            if count < 1 or count > (1 << 63) // 10:
                raise CommandError("ERR COUNT must be > 0")
            i += 2
        elif opt == b"justid":
            justid = True
            i += 1
        else:
            raise syntax()
    rs, g = lookup_group(conn, argv[1], argv[2])
    if rs is None or g is None:
        raise nogroup(argv[1], argv[2])
    now = now_ms(conn)
    attempts = count * 10
    claimed: list[Any] = []
    deleted: list[bytes] = []
    nxt: StreamID = ids.MIN_ID
    pending = sorted(s for s in g.pel if s >= start)
    idx = 0
    while idx < len(pending) and attempts > 0 and len(claimed) < count:  # count shrinks
        sid = pending[idx]
        idx += 1
        attempts -= 1
        pe = g.pel[sid]
        if not rs.contains(sid):
            _drop_deleted(g, sid)
            deleted.append(fmt(sid))
            count -= 1  # Redis: a deleted entry uses up COUNT too
            continue
        if min_idle and now - pe.delivery_time < min_idle:
            continue
        _claim_one(rs, g, sid, consumer, now, now, None, justid)
        claimed.append(sid)
    if idx < len(pending):
        nxt = pending[idx]
    g.consumer(consumer, now).seen_time = now  # type: ignore[union-attr]
    groups_changed(conn, rs, g.name, pending[:idx])
    if justid:
        replies: list[Any] = [fmt(sid) for sid in claimed]
    else:
        replies = [[fmt(sid), f] for sid, f in zip(claimed, rs.fields_many(claimed))]
    return [fmt(nxt), replies, deleted]
