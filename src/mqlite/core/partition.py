"""Partition: one stream partition's log, its long-poll waiters, and its tail cache.

The tail cache keeps the most recently appended records decoded, so a consumer that
tails the stream (the common case) reads what was just written without decoding the
RecordBatch bytes again. Invariant: `tail` holds exactly the records at offsets
[tail_base, tail_base + len(tail)) as stored, and always ends at the log's end; appends
that bypass it (raw Kafka batches, `append_records`) empty it. Offsets below the log's
start are never served (the stream checks the range before asking the cache).

Memory is bounded twice: per partition (`TAIL_RECORDS`, `TAIL_BYTES`) and over the
whole broker by a `TailBudget` (least recently appended partitions are dropped first),
so many partitions cannot add up to much RAM.

Concurrency: core's single event loop; no locks.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict

from mqlite.storage.log import Log
from mqlite.storage.recordbatch import Record

#: Per-partition cap on cached records and on their estimated bytes.
TAIL_RECORDS = 4096
TAIL_BYTES = 1 << 20
#: Estimated fixed cost of one cached Record (object, tuple slots) in bytes.
RECORD_OVERHEAD = 120


class TailBudget:
    """A broker-wide byte budget for all tail caches (LRU by last append)."""

    def __init__(self, max_bytes: int = 64 << 20) -> None:
        self.max_bytes = max_bytes
        self.used = 0
        self._lru: OrderedDict[Partition, None] = OrderedDict()

    def charge(self, part: Partition, delta: int) -> None:
        self.used += delta
        if part.tail:
            self._lru[part] = None
            self._lru.move_to_end(part)
        else:
            self._lru.pop(part, None)
        while self.used > self.max_bytes and self._lru:
            victim = next(iter(self._lru))
            victim.forget()  # charges -victim.tail_bytes and leaves the LRU


class Partition:
    """One partition of a stream; see module docstring."""

    __slots__ = (
        "budget", "index", "log", "tail", "tail_base", "tail_bytes", "waiters",
    )

    def __init__(self, index: int, log: Log, budget: TailBudget | None = None) -> None:
        self.index = index
        self.log = log
        self.waiters: set[asyncio.Future[None]] = set()
        self.budget = budget if budget is not None else TailBudget()
        self.tail: list[Record] = []
        self.tail_base = 0
        self.tail_bytes = 0

    def wake(self) -> None:
        """Resolve every long-poll waiting on this partition (they re-check)."""
        if self.waiters:
            waiters, self.waiters = self.waiters, set()
            for fut in waiters:
                if not fut.done():
                    fut.set_result(None)

    def remember(self, base: int, records: list[Record], nbytes: int) -> None:
        """Cache records just appended at `base` (contiguous with the tail, or anew).
        `nbytes` is their key+value bytes."""
        cost = nbytes + RECORD_OVERHEAD * len(records)
        if cost > TAIL_BYTES // 2 or len(records) > TAIL_RECORDS // 2:
            self.forget()
            return
        before = self.tail_bytes
        if not self.tail or self.tail_base + len(self.tail) != base:
            self.tail = []
            self.tail_base = base
            self.tail_bytes = 0
        self.tail.extend(records)
        self.tail_bytes += cost
        if len(self.tail) > TAIL_RECORDS or self.tail_bytes > TAIL_BYTES:
            drop = len(self.tail) // 2
            self.tail_bytes -= self.tail_bytes * drop // len(self.tail)
            del self.tail[:drop]
            self.tail_base += drop
        self.budget.charge(self, self.tail_bytes - before)

    def forget(self) -> None:
        """Empty the cache (reads go to the log)."""
        freed = self.tail_bytes
        self.tail = []
        self.tail_bytes = 0
        self.budget.charge(self, -freed)

    def cached(self, offset: int, max_records: int) -> list[Record] | None:
        """Records from `offset` if the tail holds it, else None."""
        i = offset - self.tail_base
        if self.tail and 0 <= i < len(self.tail):
            return self.tail[i : i + max_records]
        return None
