"""The Redis view of one mqlite stream: entries by ID, consumer groups, PELs, waiters.

Owns, per Redis stream key, what Redis's `t_stream.c` keeps in its `stream` struct:
entries ordered by ID (`ids` sorted list + `entries` dict), `last_id`, `entries_added`,
`max_deleted_id`, and consumer groups (last-delivered-id, entries-read, the pending
entries list with consumer/delivery-time/delivery-count, consumers with seen/active
time). Blocked readers wait on `waiters`, woken on every add and on deletion.

Invariants: `ids` is strictly increasing and equals `entries`'s keys; every PEL entry of
a group is also in exactly one consumer's `pending`; `last_id` >= every ID ever added.
Durability is not here: `store.py` journals every mutation (entries to the stream's
log, group state to the catalog) and rebuilds these objects on open.
Concurrency: used from the server's event loop only.
"""

from __future__ import annotations

import asyncio
import bisect
import struct
from dataclasses import dataclass, field

from mqlite.protocols.resp.stream_ids import MIN_ID, StreamID

Fields = list[bytes]  # flat [field, value, field, value, ...]
_U32 = struct.Struct(">I")
CHECKPOINT_EVERY = 256


def encode_fields(fields: Fields) -> bytes:
    """Field/value pairs as stored (the record value): `( u32be len | bytes )*`."""
    pack = _U32.pack
    return b"".join([pack(len(f)) + f for f in fields])


def decode_fields(value: bytes) -> Fields:
    out: Fields = []
    pos, n = 0, len(value)
    unpack = _U32.unpack_from
    while pos + 4 <= n:
        (ln,) = unpack(value, pos)
        pos += 4
        out.append(value[pos : pos + ln])
        pos += ln
    return out


@dataclass(slots=True)
class PendingEntry:
    """One NACK: delivered to `consumer`, not yet acknowledged."""

    consumer: bytes
    delivery_time: int
    delivery_count: int


@dataclass(slots=True)
class Consumer:
    name: bytes
    seen_time: int
    active_time: int = -1
    pending: dict[StreamID, None] = field(default_factory=dict)


@dataclass(slots=True)
class Group:
    name: bytes
    last_id: StreamID
    entries_read: int  # -1 = unknown (Redis's SCG_INVALID_ENTRIES_READ)
    pel: dict[StreamID, PendingEntry] = field(default_factory=dict)
    consumers: dict[bytes, Consumer] = field(default_factory=dict)

    def consumer(self, name: bytes, now_ms: int, create: bool = True) -> Consumer | None:
        c = self.consumers.get(name)
        if c is None and create:
            c = self.consumers[name] = Consumer(name, now_ms)
        return c


class RedisStream:
    """Entries and groups of one stream key; see module docstring."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.ids: list[StreamID] = []
        # entries keep the encoded record value (one bytes object, untracked by the GC)
        self.entries: dict[StreamID, bytes] = {}
        self.last_id: StreamID = MIN_ID
        self.entries_added = 0
        self.max_deleted_id: StreamID = MIN_ID
        self.groups: dict[bytes, Group] = {}
        self.waiters: list[asyncio.Future[None]] = []
        self.version = 0  # bumped by every change (WATCH)
        self.log_end = 0  # next log offset not yet reflected here (see store._sync)
        self.max_value = 1 << 62  # largest encoded entry the stream's log accepts
        # sparse (id, log offset) of entry records, increasing: where the log may be cut
        # after trimming (store.reclaim); `reclaimed_to` is the last cut
        self.checkpoints: list[tuple[StreamID, int]] = []
        self.since_checkpoint = 0
        self.reclaimed_to = 0

    def checkpoint(self, sid: StreamID, offset: int) -> None:
        """Note an entry record's offset once every CHECKPOINT_EVERY entries."""
        self.since_checkpoint += 1
        if self.since_checkpoint >= CHECKPOINT_EVERY:
            self.since_checkpoint = 0
            if not self.checkpoints or self.checkpoints[-1][0] < sid:
                self.checkpoints.append((sid, offset))

    def cut_offset(self) -> int | None:
        """The offset of the last checkpoint at or below the first live entry: every
        record below it belongs to trimmed entries (or to control records that a
        `setid` snapshot supersedes)."""
        cps = self.checkpoints
        if not cps:
            return None
        if not self.ids:
            return cps[-1][1]
        i = bisect.bisect_right(cps, (self.ids[0], 1 << 64))
        return cps[i - 1][1] if i else None

    # -- entries ----------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.ids)

    @property
    def first_id(self) -> StreamID:
        return self.ids[0] if self.ids else MIN_ID

    def fields(self, sid: StreamID) -> Fields | None:
        value = self.entries.get(sid)
        return None if value is None else decode_fields(value)

    def add(self, sid: StreamID, fields: bytes) -> None:
        """Add an entry; `fields` is the encoded value (`encode_fields`)."""
        if self.ids and sid <= self.ids[-1]:
            bisect.insort(self.ids, sid)  # only during replay of odd logs
        else:
            self.ids.append(sid)
        self.entries[sid] = fields
        self.last_id = max(self.last_id, sid)
        self.entries_added += 1

    def delete(self, sid: StreamID) -> bool:
        if sid not in self.entries:
            return False
        del self.entries[sid]
        i = bisect.bisect_left(self.ids, sid)
        del self.ids[i]
        self.max_deleted_id = max(self.max_deleted_id, sid)
        return True

    def trim_before(self, count: int) -> int:
        """Drop the `count` oldest entries; returns how many were dropped."""
        count = min(count, len(self.ids))
        if count <= 0:
            return 0
        dropped = self.ids[:count]
        del self.ids[:count]
        for sid in dropped:
            del self.entries[sid]
        self.max_deleted_id = max(self.max_deleted_id, dropped[-1])
        return count

    def count_below(self, minid: StreamID) -> int:
        return bisect.bisect_left(self.ids, minid)

    def range(self, start: StreamID, end: StreamID, count: int = 0, rev: bool = False) -> list[StreamID]:
        if start > end:
            return []
        lo = bisect.bisect_left(self.ids, start)
        hi = bisect.bisect_right(self.ids, end)
        if rev:
            if count and hi - lo > count:
                lo = hi - count
            return self.ids[lo:hi][::-1]
        if count and hi - lo > count:
            hi = lo + count
        return self.ids[lo:hi]

    def after(self, sid: StreamID, count: int = 0) -> list[StreamID]:
        lo = bisect.bisect_right(self.ids, sid)
        hi = len(self.ids) if not count else min(len(self.ids), lo + count)
        return self.ids[lo:hi]

    # -- entries-read / lag (Redis 7's t_stream.c, function for function) -----------------
    def has_tombstones(self, start: StreamID) -> bool:
        """`streamRangeHasTombstones(s, start, NULL)`."""
        if not self.ids or self.max_deleted_id == MIN_ID:
            return False
        return start <= self.max_deleted_id <= self.last_id

    def estimate_entries_read(self, sid: StreamID) -> int:
        """`streamEstimateDistanceFromFirstEverEntry`; -1 when it cannot be known."""
        if not self.entries_added:
            return 0
        if not self.ids and sid <= self.last_id:
            return self.entries_added
        if sid == self.last_id:
            return self.entries_added
        if sid > self.last_id:
            return -1
        first = self.first_id
        if self.max_deleted_id == MIN_ID or self.max_deleted_id < first:
            if sid < first:
                return self.entries_added - len(self.ids)
            if sid == first:
                return self.entries_added - len(self.ids) + 1
        return -1

    def advance_group(self, g: Group, sid: StreamID) -> None:
        """A group delivers `sid` (> its last-delivered-id): keep entries-read right."""
        if g.entries_read >= 0 and not self.has_tombstones(sid):
            g.entries_read += 1
        elif self.entries_added:
            g.entries_read = self.estimate_entries_read(sid)
        g.last_id = sid

    def group_lag(self, g: Group) -> int | None:
        """XINFO's `lag`; None (nil) when it cannot be known."""
        if not self.entries_added:
            return 0
        if g.entries_read >= 0 and not self.has_tombstones(g.last_id):
            return self.entries_added - g.entries_read
        est = self.estimate_entries_read(g.last_id)
        return None if est < 0 else self.entries_added - est

    # -- blocking ---------------------------------------------------------------------
    def wake(self) -> None:
        waiters, self.waiters = self.waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)


__all__ = ["Consumer", "Fields", "Group", "PendingEntry", "RedisStream", "decode_fields", "encode_fields"]
