"""The Redis view of one mqlite stream: a compact ID index, consumer groups, PELs.

Owns, per Redis stream key, what Redis's `t_stream.c` keeps in its `stream` struct,
except the entries' field/values, which stay in the stream's log (DESIGN.md: a log
larger than RAM works):

- the ID index: three parallel arrays `ms`, `seq` (`array('Q')`) and `off`
  (`array('q')`, the entry record's log offset, -1 while the record is still queued
  for the writer): 24 bytes per entry, sorted by ID. Trimming moves `head` forward
  (the arrays are compacted once the dead prefix is half of them); XDEL adds the
  slot's absolute index to `deleted` (a set of ints, dropped again when trimmed).
- `unwritten`: the encoded values of entries whose record is not in the log yet
  (bounded by the writer's backlog); `store.py` calls `note_written` as records land.
- `last_id`, `entries_added`, `max_deleted_id`, and consumer groups (last-delivered-id,
  entries-read, the pending entries list with consumer/delivery-time/delivery-count,
  consumers with seen/active time).

Reads (`entries`, `fields_many`) take the values from `unwritten` or read the log
through `reader(offset, max_records)` (the core stream's partition 0), batching
nearby offsets into one read; a sequential reader reads ahead and the last long read
is kept as a window (at most WINDOW_BYTES of values per stream).

Invariants: (ms, seq) strictly increase over the slots; every live entry has a slot at
or after `head` whose absolute index (`base + position`) is not in `deleted`; every PEL
entry of a group is also in exactly one consumer's `pending`; `last_id` >= every ID
ever added. Durability is not here: `store.py` journals every mutation (entries to the
stream's log, group state to the catalog) and rebuilds these objects on open.
Concurrency: used from the server's event loop only.
"""

from __future__ import annotations

import asyncio
import sys
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mqlite.errors import MqliteError
from mqlite.protocols.resp.fields import (
    ID_HEADER,
    Fields,
    decode_fields,
    encode_fields,
    record_fields,
)
from mqlite.protocols.resp.stream_ids import MIN_ID, StreamID

COMPACT_MIN = 4096  # compact the index arrays once this many dead slots lead them
NEAR = 64  # offsets closer than this are read in one log read
MAX_READ = 1024  # records per log read
READ_AHEAD = 512  # records a sequential reader (XREADGROUP, XREAD) reads ahead
WINDOW_MIN = 64  # reads at least this long are kept as the read-ahead window
WINDOW_BYTES = 512 * 1024  # the window is kept only when its values are this small


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
    """The index and groups of one stream key; see module docstring."""

    def __init__(self, name: str, reader: Callable[[int, int], list[Any]] | None = None) -> None:
        self.name = name
        self.ms = array("Q")
        self.seq = array("Q")
        self.off = array("q")
        self.head = 0  # position of the first untrimmed slot
        self.base = 0  # absolute index of position 0 (slots compacted away before it)
        self.deleted: set[int] = set()  # absolute indexes of XDELeted slots >= head
        self.unwritten: dict[StreamID, bytes] = {}  # values not yet in the log
        self.next_unwritten = 0  # absolute index where `note_written` looks first
        self.reader = reader
        self.last_id: StreamID = MIN_ID
        self.entries_added = 0
        self.max_deleted_id: StreamID = MIN_ID
        self.groups: dict[bytes, Group] = {}
        self.groups_from = 0  # log offset where the group change records after the snapshot start
        self.group_changes = 0  # group change records since the last snapshot
        self.waiters: list[asyncio.Future[None]] = []
        self.version = 0  # bumped by every change (WATCH)
        self.log_end = 0  # next log offset not yet reflected here (see store._sync)
        self.max_value = 1 << 62  # largest encoded entry the stream's log accepts
        self.reclaimed_to = 0  # the last log cut (store.reclaim)
        self.last_trimmed_offset = -1  # log offset of the newest trimmed entry, if known
        # the last long log read (records at consecutive offsets), so that sequential
        # readers do not re-decode a stored batch per call (bounded: WINDOW_BYTES)
        self.window: list[Any] = []
        self.window_first = -1

    # -- index ------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.ms) - self.head - len(self.deleted)

    def sid_at(self, pos: int) -> StreamID:
        return (self.ms[pos], self.seq[pos])

    def sids(self, positions: list[int]) -> list[StreamID]:
        ms, seq = self.ms, self.seq
        return [(ms[p], seq[p]) for p in positions]

    def _bisect(self, sid: StreamID, right: bool, lo: int | None = None) -> int:
        ms, seq = self.ms, self.seq
        m0, s0 = sid
        lo = self.head if lo is None else lo
        hi = len(ms)
        while lo < hi:
            mid = (lo + hi) >> 1
            m = ms[mid]
            if m < m0 or (m == m0 and (seq[mid] <= s0 if right else seq[mid] < s0)):
                lo = mid + 1
            else:
                hi = mid
        return lo

    def position(self, sid: StreamID) -> int | None:
        """The position of live entry `sid`, or None."""
        p = self._bisect(sid, False)
        if (p < len(self.ms) and self.ms[p] == sid[0] and self.seq[p] == sid[1]
                and (not self.deleted or self.base + p not in self.deleted)):
            return p
        return None

    def contains(self, sid: StreamID) -> bool:
        return self.position(sid) is not None

    def _live(self, lo: int, hi: int, count: int = 0, rev: bool = False) -> list[int]:
        if lo >= hi:
            return []
        deleted, base = self.deleted, self.base
        if not deleted:
            if count and hi - lo > count:
                if rev:
                    lo = hi - count
                else:
                    hi = lo + count
            return list(range(hi - 1, lo - 1, -1)) if rev else list(range(lo, hi))
        out: list[int] = []
        it = range(hi - 1, lo - 1, -1) if rev else range(lo, hi)
        for p in it:
            if base + p not in deleted:
                out.append(p)
                if count and len(out) >= count:
                    break
        return out

    def first_live(self) -> StreamID | None:
        got = self._live(self.head, len(self.ms), 1)
        return self.sid_at(got[0]) if got else None

    def last_live(self) -> StreamID | None:
        got = self._live(self.head, len(self.ms), 1, rev=True)
        return self.sid_at(got[0]) if got else None

    def head_positions(self, count: int = 0) -> list[int]:
        """The first `count` live entries (all when 0)."""
        return self._live(self.head, len(self.ms), count)

    @property
    def first_id(self) -> StreamID:
        first = self.first_live()
        return MIN_ID if first is None else first

    def append_new(self, sid: StreamID, value: bytes) -> None:
        """XADD: `sid` is above every ID so far; the record is queued for the log."""
        self.ms.append(sid[0])
        self.seq.append(sid[1])
        self.off.append(-1)
        self.unwritten[sid] = value
        self.last_id = sid
        self.entries_added += 1

    def add(self, sid: StreamID, offset: int) -> None:
        """Replay: an entry whose record is at log `offset`."""
        n = len(self.ms)
        if n > self.head and sid <= self.sid_at(n - 1):  # only during replay of odd logs
            p = self._bisect(sid, False)
            self.ms.insert(p, sid[0])
            self.seq.insert(p, sid[1])
            self.off.insert(p, offset)
            a = self.base + p
            self.deleted = {d + 1 if d >= a else d for d in self.deleted}
        else:
            self.ms.append(sid[0])
            self.seq.append(sid[1])
            self.off.append(offset)
        self.last_id = max(self.last_id, sid)
        self.entries_added += 1

    def note_written(self, sid: StreamID, offset: int) -> None:
        """The record of entry `sid` landed at log `offset` (called in log order)."""
        self.unwritten.pop(sid, None)
        ms, seq, off = self.ms, self.seq, self.off
        n = len(off)
        p = max(self.next_unwritten - self.base, 0)
        while p < n and off[p] >= 0:
            p += 1
        if not (p < n and ms[p] == sid[0] and seq[p] == sid[1]):
            p = self._bisect(sid, False, 0)
            if not (p < n and ms[p] == sid[0] and seq[p] == sid[1]):
                return  # trimmed and compacted away meanwhile
        off[p] = offset
        self.next_unwritten = self.base + p + 1

    def note_written_run(self, sids: list[StreamID | None], offset: int) -> None:
        """`note_written` for consecutive records from `offset` (None: not an entry).
        Fast path: all entries, landing on the next unwritten slots in order."""
        k = len(sids)
        p = self.next_unwritten - self.base
        off = self.off
        n = len(off)
        if (
            k and p >= 0 and p + k <= n and sids[0] is not None and sids[-1] is not None
            and self.ms[p] == sids[0][0] and self.seq[p] == sids[0][1]
            and self.ms[p + k - 1] == sids[-1][0] and self.seq[p + k - 1] == sids[-1][1]
            and off[p : p + k].count(-1) == k and None not in sids
        ):
            off[p : p + k] = array("q", range(offset, offset + k))
            self.next_unwritten = self.base + p + k
            unwritten = self.unwritten
            if p + k == n:  # no slot after these: nothing else is unwritten
                unwritten.clear()
            else:
                for sid in sids:
                    unwritten.pop(sid, None)  # type: ignore[arg-type]
            return
        for i, sid in enumerate(sids):
            if sid is not None:
                self.note_written(sid, offset + i)

    def delete(self, sid: StreamID) -> bool:
        p = self.position(sid)
        if p is None:
            return False
        self.deleted.add(self.base + p)
        self.unwritten.pop(sid, None)
        self.max_deleted_id = max(self.max_deleted_id, sid)
        return True

    def trim_before(self, count: int) -> int:
        """Drop the `count` oldest entries; returns how many were dropped."""
        count = min(count, len(self))
        if count <= 0:
            return 0
        head = self.head
        if not self.deleted:
            new = head + count
        else:
            dropped = self._live(head, len(self.ms), count)
            new = dropped[-1] + 1
        last = self.sid_at(new - 1)
        self.max_deleted_id = max(self.max_deleted_id, last)
        off = self.off
        if off[new - 1] >= 0:
            self.last_trimmed_offset = max(self.last_trimmed_offset, off[new - 1])
        if self.unwritten:
            for p in range(head, new):
                if off[p] < 0:
                    self.unwritten.pop(self.sid_at(p), None)
        if self.deleted:
            limit = self.base + new
            self.deleted = {d for d in self.deleted if d >= limit}
        self.head = new
        if new >= COMPACT_MIN and 2 * new >= len(self.ms):
            if off[new - 1] >= 0:
                self.last_trimmed_offset = max(self.last_trimmed_offset, off[new - 1])
            del self.ms[:new]
            del self.seq[:new]
            del self.off[:new]
            self.base += new
            self.head = 0
        return count

    def count_below(self, minid: StreamID) -> int:
        p = self._bisect(minid, False)
        n = p - self.head
        if self.deleted:
            limit = self.base + p
            n -= sum(1 for d in self.deleted if d < limit)
        return n

    def range(self, start: StreamID, end: StreamID, count: int = 0, rev: bool = False) -> list[int]:
        """Positions of live entries with IDs in [start, end] (newest first if `rev`)."""
        if start > end:
            return []
        lo = self._bisect(start, False)
        hi = self._bisect(end, True, lo)
        return self._live(lo, hi, count, rev)

    def after(self, sid: StreamID, count: int = 0) -> list[int]:
        """Positions of the live entries above `sid`."""
        return self._live(self._bisect(sid, True), len(self.ms), count)

    def cut_offset(self) -> int | None:
        """Where the log may be cut: every record below it belongs to trimmed entries
        (or to control records a `setid` snapshot supersedes); None when unknown."""
        got = self._live(self.head, len(self.ms), 1)
        if got:
            o = self.off[got[0]]
            return o if o >= 0 else None
        if self.head and self.off[self.head - 1] >= 0:
            return self.off[self.head - 1] + 1
        return self.last_trimmed_offset + 1 if self.last_trimmed_offset >= 0 else None

    def resident_bytes(self) -> int:
        """Memory held for this key's entries (MEMORY USAGE): the index, the values
        still queued for the log, the deleted set and the groups' PEL (estimated)."""
        size = sys.getsizeof(self.ms) + sys.getsizeof(self.seq) + sys.getsizeof(self.off)
        size += sys.getsizeof(self.unwritten) + sum(len(v) + 33 for v in self.unwritten.values())
        size += sys.getsizeof(self.deleted) + 28 * len(self.deleted)
        for g in self.groups.values():
            size += 200 + 150 * len(g.pel) + 100 * len(g.consumers)
        return size

    # -- values (from the log) ----------------------------------------------------------
    def fields(self, sid: StreamID) -> Fields | None:
        return self.fields_many([sid])[0]

    def fields_many(self, sids: list[StreamID]) -> list[Fields | None]:
        """Field/values of each of `sids` (None for an entry that is not live)."""
        positions = [self.position(s) for s in sids]
        live = [p for p in positions if p is not None]
        values = dict(zip(live, self.values(live)))
        return [None if p is None else values[p] for p in positions]

    def entries(self, positions: list[int]) -> list[list[Any]]:
        """`[[b"ms-seq", [f, v, ...]], ...]` for live positions (a reply)."""
        ms, seq = self.ms, self.seq
        return [[b"%d-%d" % (ms[p], seq[p]), f] for p, f in zip(positions, self.values(positions))]

    def values(self, positions: list[int]) -> list[Fields | None]:
        out: list[Fields | None] = [None] * len(positions)
        off, ms, seq = self.off, self.ms, self.seq
        need: list[tuple[int, int]] = []
        unwritten = self.unwritten
        for i, p in enumerate(positions):
            o = off[p]
            if o < 0:
                v = unwritten.get((ms[p], seq[p]))
                out[i] = decode_fields(v) if v is not None else None
            else:
                need.append((o, i))
        if need:
            need.sort()
            got = self._read([o for o, _ in need])
            for o, i in need:
                out[i] = got.get(o)
        return out

    def _read(self, offsets: list[int]) -> dict[int, Fields]:
        """Fields of the records at sorted `offsets`: from the read-ahead window, else
        from the log, nearby offsets in one read."""
        res: dict[int, Fields] = {}
        reader = self.reader
        if reader is None:
            return res
        win, wf = self.window, self.window_first
        wn = len(win)
        if wn:
            rest = []
            for o in offsets:
                i = o - wf
                if 0 <= i < wn and win[i].offset == o:
                    res[o] = record_fields(win[i])
                else:
                    rest.append(o)
            offsets = rest
        k, n = 0, len(offsets)
        while k < n:
            first = offsets[k]
            j = k
            while j + 1 < n and offsets[j + 1] - offsets[j] < NEAR and offsets[j + 1] - first < MAX_READ:
                j += 1
            want = offsets[j] - first + 1
            ahead = first == wf + wn and want < READ_AHEAD  # a sequential reader: read ahead
            try:
                recs = reader(first, READ_AHEAD if ahead else want)
            except MqliteError:  # cut from the log meanwhile: reads as missing
                recs = []
            if not recs:
                k += 1
                continue
            if (ahead or len(recs) >= WINDOW_MIN) and sum(len(r.value or b"") for r in recs) <= WINDOW_BYTES:
                self.window, self.window_first = recs, recs[0].offset
                wf, wn = recs[0].offset, len(recs)
            start = k
            for rec in recs:
                o = rec.offset
                while k <= j and offsets[k] < o:
                    k += 1  # not in the log (cut): reads as missing
                if k > j:
                    break
                if offsets[k] == o:
                    res[o] = record_fields(rec)
                    k += 1
            last_seen = recs[-1].offset
            while k <= j and offsets[k] <= last_seen:
                k += 1
            if k == start:
                k += 1  # no progress: give up on this offset
        return res

    # -- entries-read / lag (Redis 7's t_stream.c, function for function) -----------------
    def has_tombstones(self, start: StreamID) -> bool:
        """`streamRangeHasTombstones(s, start, NULL)`."""
        if not len(self) or self.max_deleted_id == MIN_ID:
            return False
        return start <= self.max_deleted_id <= self.last_id

    def estimate_entries_read(self, sid: StreamID) -> int:
        """`streamEstimateDistanceFromFirstEverEntry`; -1 when it cannot be known."""
        if not self.entries_added:
            return 0
        if not len(self) and sid <= self.last_id:
            return self.entries_added
        if sid == self.last_id:
            return self.entries_added
        if sid > self.last_id:
            return -1
        first = self.first_id
        if self.max_deleted_id == MIN_ID or self.max_deleted_id < first:
            if sid < first:
                return self.entries_added - len(self)
            if sid == first:
                return self.entries_added - len(self) + 1
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
        if not self.entries_added or not len(self):
            return 0
        first = self.first_id
        if g.last_id < first and self.max_deleted_id < first:
            return len(self)  # Redis 7.4: everything is still ahead of the group
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


__all__ = [
    "ID_HEADER", "Consumer", "Fields", "Group", "PendingEntry", "RedisStream", "decode_fields",
    "encode_fields", "record_fields",
]
