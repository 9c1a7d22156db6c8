"""The lease journal: what a queue must remember across restarts besides its messages.

Owns the queue's second log (`logs.open('queue-journal', name, 0)`). Each journal record
is one JSON array (orjson) describing one operation on many messages:

    ["d", [offset, ...]]                     done: deleted, acked, expired, moved away
    ["r", [[offset, rc, until_ms, first_ms], ...]]  received: lease with receive count rc
                                             (until_ms -1 = until released, AMQP)
    ["v", [[offset, until_ms], ...]]         visibility changed (0 = released to ready)
    ["p", end_offset]                        purge: every offset below end is done
    ["P", [end_offset, [kept, ...]]]         purge but the leased offsets `kept`: every
                                             other offset below end is done (AMQP)
    ["b", [entry, ...]]                      several entries written together
    ["n", offset]                            transient messages may live at/after offset
                                             (-1: none); recovery scans from there
    ["t", end_offset]                        the message log ends at end_offset (a crash
                                             cut its unsynced tail): forget everything
                                             at or above it
    ["s", {"lwm": n, "done": [[a, b], ...], "counts": [[off, rc, first_ms], ...],
           "leases": [[off, rc, until_ms, first_ms], ...], "transient_from": n}]
                                             snapshot (compaction)

Replaying from the journal's start gives `JournalState`; a snapshot resets the state,
so compaction = append a snapshot, then (once it is durable) `delete_before` it.
Durability: entries are *pended* and written together with the next write, by
`flush_pending` (at the end of the loop iteration that pended them, on tick, flush and
close, and when 512 are pending), or at once for a purge or a batch delete, so a killed
process loses none of them. A caller that needs a delete durable (SQS DeleteMessage,
the embedded API) awaits the delete's `Ack`, which flushes and waits for the fsync
under fsync=always, so an acknowledged delete never comes back. Under an fsync interval
a power cut loses at most the interval's entries (AMQP acks, which have no reply;
receives; visibility changes): a redelivery, an under-counted receive or an early end
of a lease: at-least-once holds.
Concurrency: core's event loop only.
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import orjson

from mqlite.core.queue.offsets import OffsetSet
from mqlite.storage.recordbatch import RecordIn

SNAPSHOT_EVERY = 20_000  # journal records between snapshots
PEND_MAX = 512  # pending entries that force a write


@dataclass(slots=True)
class JournalState:
    lwm: int = 0
    done: OffsetSet = field(default_factory=OffsetSet)
    counts: dict[int, tuple[int, int]] = field(default_factory=dict)  # off -> (rc, first_ms)
    leases: dict[int, tuple[int, int, int]] = field(default_factory=dict)  # off -> (rc, until, first)
    transient_from: int = -1  # transient messages may live at/after this offset (-1: none)

    def apply(self, entry: list[Any]) -> None:
        op, arg = entry[0], entry[1]
        if op == "b":
            for sub in arg:
                self.apply(sub)
            return
        if op == "d":
            done, counts, leases = self.done, self.counts, self.leases
            lwm = self.lwm
            for off in arg:
                if off >= lwm:
                    done.add(off)
                counts.pop(off, None)
                leases.pop(off, None)
        elif op == "r":
            for off, rc, until, first in arg:
                if off >= self.lwm and off not in self.done:
                    self.counts[off] = (rc, first)
                    self.leases[off] = (rc, until, first)
        elif op == "v":
            for off, until in arg:
                lease = self.leases.get(off)
                if lease is None:
                    continue
                if until == 0:
                    del self.leases[off]
                else:
                    self.leases[off] = (lease[0], until, lease[2])
        elif op == "p":
            end = int(arg)
            self.lwm = max(self.lwm, end)
            self._trim()
        elif op == "n":
            off = int(arg)
            if off < 0 or self.transient_from < 0:
                self.transient_from = off
            else:
                self.transient_from = min(self.transient_from, off)
        elif op == "P":
            end, kept = int(arg[0]), [int(o) for o in arg[1]]
            keep = set(kept)
            if kept:
                self.lwm = max(self.lwm, min(kept[0], end))
                self.done = OffsetSet.between(kept, end)
            else:
                self.lwm = max(self.lwm, end)
            self.counts = {o: v for o, v in self.counts.items() if o in keep}
            self.leases = {o: v for o, v in self.leases.items() if o in keep}
            self._trim()
        elif op == "t":
            end = int(arg)
            self.lwm = min(self.lwm, end)
            self.done.discard_from(end)
            self.counts = {o: v for o, v in self.counts.items() if o < end}
            self.leases = {o: v for o, v in self.leases.items() if o < end}
        elif op == "s":
            self.lwm = int(arg["lwm"])
            self.done = OffsetSet(arg["done"])
            self.counts = {o: (rc, first) for o, rc, first in arg["counts"]}
            self.leases = {o: (rc, until, first) for o, rc, until, first in arg["leases"]}
            self.transient_from = int(arg.get("transient_from", -1))
        self._advance()

    def beyond(self, end: int) -> bool:
        """Does the state mention offsets at or above `end`?"""
        return (
            self.lwm > end
            or self.done.max() > end
            or any(o >= end for o in self.counts)
            or any(o >= end for o in self.leases)
        )

    def _advance(self) -> None:
        self.lwm = self.done.advance(self.lwm)

    def _trim(self) -> None:
        lwm = self.lwm
        self.done.discard_below(lwm)
        self.counts = {o: v for o, v in self.counts.items() if o >= lwm}
        self.leases = {o: v for o, v in self.leases.items() if o >= lwm}


class Journal:
    """Append-only lease journal over a storage Log; see module docstring."""

    def __init__(self, log: Any) -> None:
        self.log = log
        self._since_snapshot = 0
        self._pending_trim: tuple[int, Future[Any]] | None = None
        self._pending: list[list[Any]] = []
        self._last: Future[Any] | None = None

    def pend(self, entry: list[Any]) -> bool:
        """Queue an entry for the next write; True when enough are pending to write."""
        self._pending.append(entry)
        return len(self._pending) >= PEND_MAX

    def flush_pending(self) -> Future[Any] | None:
        """Write the pending entries; the future of the write that holds every entry
        pended so far (the last write when none are pending; None if nothing yet)."""
        if not self._pending:
            return self._last
        return self.write(["d", []])

    def replay(self) -> JournalState:
        state = JournalState(lwm=0)
        offset = self.log.start_offset
        end = self.log.end_offset
        n = 0
        while offset < end:
            records = self.log.read_records(offset, 1000, skip_corrupt=True)
            if not records:
                break
            for rec in records:
                if rec.value:
                    state.apply(orjson.loads(rec.value))
                    n += 1
                offset = rec.offset + 1
        self._since_snapshot = n
        return state

    def write(self, entry: list[Any]) -> Future[Any]:
        """Append one entry (with the pending ones); returns the durability future."""
        if self._pending:
            self._pending.append(entry)
            entry = ["b", self._pending]
            self._pending = []
        result = self.log.append([RecordIn(None, orjson.dumps(entry), (), None)])
        self._since_snapshot += 1
        durable: Future[Any] = result.durable
        self._last = durable
        return durable

    def wants_snapshot(self) -> bool:
        return self._since_snapshot >= SNAPSHOT_EVERY

    def snapshot(
        self,
        lwm: int,
        done: OffsetSet,
        counts: dict[int, tuple[int, int]],
        leases: list[list[int]],
        transient_from: int = -1,
    ) -> None:
        """Write a full-state snapshot; drop the segments before the previous one."""
        self._trim_done()
        self._pending = []  # the snapshot holds their effect
        body = {
            "lwm": lwm,
            "done": done.ranges(),
            "counts": [[o, rc, first] for o, (rc, first) in counts.items()],
            "leases": leases,
            "transient_from": transient_from,
        }
        result = self.log.append([RecordIn(None, orjson.dumps(["s", body]), (), None)])
        self._since_snapshot = 0
        self._last = result.durable
        self._pending_trim = (result.base_offset, result.durable)

    def _trim_done(self) -> None:
        if self._pending_trim is not None and self._pending_trim[1].done():
            self.log.delete_before(self._pending_trim[0])
            self._pending_trim = None
