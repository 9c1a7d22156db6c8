"""QueueState: the in-memory lease state of one queue and how it is rebuilt.

The state model is described in `queue.py`'s docstring; this module owns the data
structures (done set and low-water mark, receive counts, leases and their timer heap,
delayed messages, the ready heap of standard queues, FIFO groups, the dedup window, the
scan cursor with its read-ahead buffer) and the operations on them that never wait:
restore from the journal, scan, classify, pop the head, lease, end a lease, expire
timers, count. The public, partly async API is built on top by the mixins
`Queue` (queue.py) combines: expiry.py, admission.py, delivery.py, acks.py.
Concurrency: core's event loop only.
"""

from __future__ import annotations

import asyncio
import heapq
import math
from collections import deque
from collections.abc import Callable, Generator
from concurrent.futures import Future
from typing import Any

from mqlite.core.clock import Clock
from mqlite.core.errors import InvalidValue, QueueNotFound
from mqlite.core.message import Message
from mqlite.core.queue import config as cfgmod
from mqlite.core.queue.config import QueueConfig
from mqlite.core.queue.fifo import DedupWindow, FifoGroups
from mqlite.core.queue.journal import Journal
from mqlite.core.queue.leases import INF, Lease, make_receipt
from mqlite.core.queue.offsets import OffsetSet
from mqlite.core.queue.records import Stored, decode, id_prefix
from mqlite.core.queue.results import QueueCounts, fast_constructor
from mqlite.core.telemetry import Flow

# Message is a frozen slotted dataclass whose generated __init__ costs more than the
# rest of a delivery; deliveries build it through its slot descriptors instead.
_message = fast_constructor(Message)


READ_AHEAD = 512  # records decoded per log read when scanning
FIFO_RAM_CAP = 20_000  # FIFO messages scanned ahead into group lists at most
FIFO_RAM_BYTES = 64 * 1024 * 1024  # ... and their bytes at most
TRIM_EVERY = 4096
NEVER = 1 << 63  # "no expiry known" for the per-message TTL bounds
KEEP_BODY_BELOW = 8192  # leased messages at least this large keep no body in RAM  # delete log segments below lwm when it moved this far


class QueueState:
    """One queue's lease state; see the module docstring."""

    def __init__(
        self,
        name: str,
        config: QueueConfig,
        log: Any,
        journal_log: Any,
        clock: Clock,
        *,
        token: str,
        resolve_queue: Callable[[str], Any] | None = None,
        resolve_router: Callable[[str], Any] | None = None,
    ) -> None:
        self.name = name
        self.config = config
        self.clock = clock
        self.flow = Flow()
        self.deleted = False
        self._flush_scheduled = False  # a _flush_soon is queued on the loop
        self.last_purge_ms = 0
        self.last_used_ms = clock.now_ms()
        self.resolve_queue = resolve_queue
        self.resolve_router = resolve_router
        self._log = log
        self._journal = Journal(journal_log)
        self._token = token
        self._prefix = id_prefix(token)
        self._fifo = config.fifo
        self._lwm = 0
        self._done = OffsetSet()
        self._counts: dict[int, tuple[int, int]] = {}  # offset -> (receive count, first ms)
        self._leases: dict[int, Lease] = {}
        self._lease_heap: list[tuple[int, int, int]] = []  # (until, offset, rc)
        self._owners: dict[Any, set[int]] = {}
        self._delayed: dict[int, Stored] = {}
        self._delay_heap: list[tuple[int, int]] = []
        self._ready: list[tuple[int, int, Stored]] = []  # (-priority, offset, msg)
        self._ready_set: set[int] = set()
        self._groups = FifoGroups()
        self._dedup = DedupWindow()
        self._peek: Stored | None = None
        self._cursor = 0
        self._buf: deque[Stored] = deque()
        self._moving: set[int] = set()
        self._waiters: list[asyncio.Future[None]] = []
        self._attempts: dict[str, tuple[int, list[Message]]] = {}
        self._live_bytes = 0
        self._inflight_bytes = 0
        self._trimmed_at = 0
        self.move_tasks: list[Any] = []
        self._expiring: asyncio.Task[int] | None = None
        # Per-message TTLs (RabbitMQ expires a message when it reaches the head): a
        # lower bound of every live message's expire_at (0 = unknown, after a restart),
        # and when tick() must next look at the head (reset to the bound whenever the
        # head may have changed: a lease taken or ended).
        self._ttl_floor = NEVER
        self._ttl_due = NEVER
        self._age_check: tuple[int, int] = (-1, 0)  # (lwm, when its age limit passes)
        self._transient_from = -1  # journalled: transient messages may live from here
        self._restore()

    # ================================================================== restore
    def _restore(self) -> None:
        state = self._journal.replay()
        log = self._log
        start, end = log.start_offset, log.end_offset
        if state.beyond(end):  # the message log lost an unsynced tail in a crash
            state.apply(["t", end])
            self._journal.write(["t", end])
        now = self.clock.now_ms()
        self._lwm = max(state.lwm, start)
        self._done = state.done
        self._done.discard_below(self._lwm)
        self._advance_lwm()
        if state.transient_from >= 0:
            self._drop_transient(max(state.transient_from, self._lwm), end)
        lwm = self._lwm
        self._counts = {o: v for o, v in state.counts.items() if lwm <= o < end and o not in self._done}
        self._cursor = lwm
        self._trimmed_at = lwm
        if lwm < end:
            self._ttl_floor = self._ttl_due = 0  # unknown: look at the head once
        for off, (rc, until, first) in sorted(state.leases.items()):
            if off < lwm or off >= end or off in self._done or until == INF or until <= now:
                continue
            st = self._read_one(off)
            if st is None:
                continue
            self._leases[off] = Lease(off, rc, until, None, first, now, st)
            heapq.heappush(self._lease_heap, (until, off, rc))
            self._inflight_bytes += st.size
            if self._fifo:
                self._groups.leased(st)
        need_full = self.config.max_priority > 0 or self.config.max_length_bytes is not None
        if need_full:
            for st in self._iter_log(lwm, end):
                if st.offset in self._done:
                    continue
                self._live_bytes += st.size
                if self.config.max_priority > 0 and st.offset not in self._leases:
                    self._classify(st, now)
            if self.config.max_priority > 0:
                self._cursor = end
        if self._fifo:
            since = log.offset_for_timestamp(now - 5 * 60 * 1000)
            if since is not None:
                for st in self._iter_log(max(since, start), end):
                    if st.dedup_id is not None:
                        self._dedup.put(self._dedup_key(st.group_id, st.dedup_id), st.timestamp,
                                        st.id, f"{st.offset:020d}")

    def _drop_transient(self, start: int, end: int) -> None:
        """Recovery: transient messages (AMQP delivery_mode 1) do not survive a restart
        (RabbitMQ classic queues); mark them done, durably, and clear the marker."""
        gone = [st.offset for st in self._iter_log(start, end)
                if st.transient and st.offset not in self._done]
        for off in gone:
            self._done.add(off)
        self._advance_lwm()
        self._journal.write(["b", [["d", gone], ["n", -1]]])

    def _iter_log(self, offset: int, end: int) -> Generator[Stored, None, None]:
        offset = max(offset, self._log.start_offset)
        while offset < end:
            recs = self._log.read_records(offset, READ_AHEAD, skip_corrupt=True)
            if not recs:
                return
            for r in recs:
                yield decode(r, self._prefix)
            offset = recs[-1].offset + 1

    def _read_one(self, offset: int) -> Stored | None:
        if offset < self._log.start_offset or offset >= self._log.end_offset:
            return None
        recs = self._log.read_records(offset, 1, skip_corrupt=True)
        return decode(recs[0], self._prefix) if recs and recs[0].offset == offset else None

    # ================================================================== helpers
    def _check_alive(self) -> None:
        if self.deleted:
            raise QueueNotFound(self.name)

    def _dedup_key(self, group: str | None, dedup: str) -> str:
        if self.config.dedup_scope == "messageGroup":
            return f"{group}\x1f{dedup}"
        return dedup

    def _notify(self, limit: int | None = None) -> None:
        """Wake long-pollers: all of them, or up to `limit` (one per newly visible
        message; a receiver that still leaves messages wakes the next one)."""
        waiters = self._waiters
        if not waiters:
            return
        if limit is None:
            self._waiters = []
            for fut in waiters:
                if not fut.done():
                    fut.set_result(None)
            return
        woken = i = 0
        n = len(waiters)
        while i < n and woken < limit:  # finished futures (cancelled polls) do not count
            fut = waiters[i]
            i += 1
            if not fut.done():
                fut.set_result(None)
                woken += 1
        del waiters[:i]

    def _advance_lwm(self) -> None:
        self._lwm = self._done.advance(self._lwm)

    def _mark_done(self, st: Stored) -> None:
        off = st.offset
        self._counts.pop(off, None)
        self._live_bytes -= st.size
        lwm = self._lwm
        if off == lwm:  # the common case: acks in order
            self._lwm = self._done.advance(off + 1)
            if self._lwm - self._trimmed_at >= TRIM_EVERY:
                self._trim()
        elif off > lwm:
            self._done.add(off)

    def _trim(self) -> None:
        target = min(self._lwm, self._log.end_offset)
        if target > self._log.start_offset:
            self._log.delete_before(target)
        self._trimmed_at = self._lwm

    def _journal_write(self, entry: list[Any]) -> Future[Any]:
        """Write now (with any pending entries); the future says when it is durable."""
        fut = self._journal.write(entry)
        if self._journal.wants_snapshot():
            self._snapshot()
        return fut

    def _journal_pend(self, entry: list[Any]) -> None:
        """Journal lazily: the entry rides the next write (see journal.py), at the
        latest at the end of this loop iteration, so a process crash loses no lease or
        visibility change a client was told about (only the fsync policy's window of a
        power cut remains)."""
        if self._journal.pend(entry):
            self._journal_write(["d", []])
        elif not self._flush_scheduled:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no loop (a synchronous caller): tick/close write it
                return
            self._flush_scheduled = True
            loop.call_soon(self._flush_soon)

    def _flush_soon(self) -> None:
        self._flush_scheduled = False
        if not self.deleted and not self._journal.log.closed:
            self._journal_flush()

    def _journal_flush(self) -> Future[Any] | None:
        """Write what is pending; the future covering it (for Ack)."""
        fut = self._journal.flush_pending()
        if self._journal.wants_snapshot():
            self._snapshot()
        return fut

    def _snapshot(self) -> None:
        leases = [[o, l.rc, l.until, l.first_ms] for o, l in self._leases.items()]
        self._journal.snapshot(self._lwm, self._done, dict(self._counts), leases,
                               self._transient_from)

    # ----------------------------------------------------------- classification
    def _classify(self, st: Stored, now: int) -> None:
        """Place a scanned or new message: delayed, ready heap/group, or leave to cursor."""
        if st.visible_at > now:
            self._delayed[st.offset] = st
            heapq.heappush(self._delay_heap, (st.visible_at, st.offset))
        elif self._fifo:
            self._groups.add(st)
        else:
            self._ready_set.add(st.offset)
            heapq.heappush(self._ready, (-st.priority, st.offset, st))

    def _held(self, off: int) -> bool:
        return (
            off < self._lwm
            or off in self._done
            or off in self._leases
            or off in self._ready_set
            or off in self._delayed
            or off in self._moving
            or (self._fifo and self._groups.holds(off))
        )

    def _scan_next(self) -> Stored | None:
        """The next record at/after the cursor (advancing it), or None at the end."""
        buf = self._buf
        while True:
            if buf:
                st = buf.popleft()
                if st.offset < self._cursor:
                    continue
                self._cursor = st.offset + 1
                return st
            end = self._log.end_offset
            if self._cursor >= end:
                return None
            if self._cursor < self._log.start_offset:
                self._cursor = self._log.start_offset
                continue
            recs = self._log.read_records(self._cursor, READ_AHEAD, skip_corrupt=True)
            if not recs:
                return None
            buf.extend(decode(r, self._prefix) for r in recs)

    def _scan_deliverable(self, now: int) -> Stored | None:
        while True:
            st = self._scan_next()
            if st is None:
                return None
            if self._held(st.offset):
                continue
            if st.visible_at > now:
                self._classify(st, now)
                continue
            return st

    def _pop_standard(self, now: int) -> Stored | None:
        if self._peek is None:
            self._peek = self._scan_deliverable(now)
        p = self._peek
        ready, rset = self._ready, self._ready_set
        while ready:
            negp, off, st = ready[0]
            if off not in rset:
                heapq.heappop(ready)
                continue
            if p is None or (negp, off) < (-p.priority, p.offset):
                heapq.heappop(ready)
                rset.discard(off)
                return st
            break
        if p is not None:
            self._peek = None
        return p

    def _expiry_reason(self, st: Stored, now: int) -> str | None:
        if st.timestamp + self.config.retention_ms <= now:
            return "retention"
        if st.expire_at and st.expire_at <= now:
            return "expired"
        ttl = self.config.message_ttl_ms
        if ttl is not None and st.timestamp + ttl <= now:
            return "expired"
        return None

    # ================================================================== timers
    def _advance(self, now: int) -> None:
        woke = 0
        heap = self._lease_heap
        while heap and heap[0][0] <= now:
            until, off, rc = heapq.heappop(heap)
            lease = self._leases.get(off)
            if lease is None or lease.rc != rc or lease.until != until:
                continue
            self._end_lease(lease, requeue=True)
            woke += 1
        dheap = self._delay_heap
        while dheap and dheap[0][0] <= now:
            _, off = heapq.heappop(dheap)
            st = self._delayed.pop(off, None)
            if st is None:
                continue
            if self._fifo:
                self._groups.add(st)
            else:
                self._ready_set.add(off)
                heapq.heappush(self._ready, (-st.priority, off, st))
            woke += 1
        if self._attempts:
            for key in [k for k, (t, _) in self._attempts.items() if t <= now]:
                del self._attempts[key]
        if woke:
            self._notify(woke)

    def _next_due(self) -> int | None:
        due = None
        if self._lease_heap:
            due = self._lease_heap[0][0]
        if self._delay_heap and (due is None or self._delay_heap[0][0] < due):
            due = self._delay_heap[0][0]
        return due

    def _head(self, now: int) -> Stored | None:
        """Remove and return the next deliverable message (the queue's head)."""
        if self._fifo:
            while not self._groups.has_available():
                if self._groups.pending_count >= FIFO_RAM_CAP:
                    return None
                st = self._scan_deliverable(now)
                if st is None:
                    return None
                self._groups.add(st)
            got = self._groups.take(1)
            if not got:
                return None
            st = got[0]
            self._groups.finished(st, requeue=False)
            return st
        return self._pop_standard(now)

    def _unpop(self, st: Stored) -> None:
        if self._fifo:
            self._groups.add(st)
        else:
            self._ready_set.add(st.offset)
            heapq.heappush(self._ready, (-st.priority, st.offset, st))

    def _visibility_ms(self, visibility_timeout: float | None) -> int:
        if visibility_timeout is None:
            return self.config.visibility_ms
        v = visibility_timeout
        if isinstance(v, bool) or not isinstance(v, (int, float)) or math.isnan(v):
            raise InvalidValue("visibility_timeout", f"bad visibility timeout {v!r}",
                               rule=cfgmod.VISIBILITY_RULE)
        if v == math.inf:
            return INF
        if not 0 <= v <= 43200:
            raise InvalidValue("visibility_timeout", f"visibility timeout must be 0-43200 "
                               f"seconds, got {v!r}", rule=cfgmod.VISIBILITY_RULE)
        return int(v * 1000)

    def _full(self, st: Stored) -> Stored:
        """`st` with its body (re-read from the log if a lease released it)."""
        if st.dropped:
            fresh = self._read_one(st.offset)
            st.body = fresh.body if fresh is not None else b""
            st.dropped = False
        return st

    def _lease(self, st: Stored, vis_ms: int, owner: Any, now: int, entries: list[list[int]]) -> Message:
        off = st.offset
        if st.dropped:
            self._full(st)
        rc, first = self._counts.get(off, (0, 0))
        rc += 1
        if not first:
            first = now
        self._counts[off] = (rc, first)
        self._ttl_due = self._ttl_floor  # the head moved on: look at the new one
        flow = self.flow
        flow.messages_out += 1
        flow.bytes_out += st.size
        until = INF if vis_ms == INF else now + vis_ms
        self._leases[off] = Lease(off, rc, until, owner, first, now, st)
        if until != INF:
            heapq.heappush(self._lease_heap, (until, off, rc))
        if owner is not None:
            self._owners.setdefault(owner, set()).add(off)
        self._inflight_bytes += st.size
        entries.append([off, rc, until, first])
        msg = _message(
            st.id, st.body, st.attributes, st.meta, make_receipt(self._token, off, rc),
            rc + st.prior_receives, st.timestamp, first, st.group_id, st.dedup_id, f"{off:020d}",
            st.priority, st.routing_key, off, st.source,
        )
        if st.size >= KEEP_BODY_BELOW:  # in-flight RAM: large bodies are re-read if needed
            st.body = b""
            st.dropped = True
        return msg

    def _end_lease(self, lease: Lease, requeue: bool) -> None:
        off = lease.offset
        del self._leases[off]
        self._inflight_bytes -= lease.stored.size
        if lease.owner is not None:
            owned = self._owners.get(lease.owner)
            if owned is not None:
                owned.discard(off)
                if not owned:
                    del self._owners[lease.owner]
        st = lease.stored
        if self._fifo:
            self._groups.finished(st, requeue)
        elif requeue:
            self._ready_set.add(off)
            heapq.heappush(self._ready, (-st.priority, off, st))
        if requeue:
            self._ttl_due = self._ttl_floor

    # ================================================================== counts
    def counts(self) -> QueueCounts:
        """Approximate counts (SQS ApproximateNumberOfMessages*): visible, in flight,
        delayed. Messages past their retention are counted until the scan meets them."""
        if not self.deleted:
            self._advance(self.clock.now_ms())
        live = self._log.end_offset - self._lwm - len(self._done)
        in_flight = len(self._leases)
        delayed = len(self._delayed)
        visible = max(0, live - in_flight - delayed)
        return QueueCounts(visible, in_flight, delayed)

    def browse(self, limit: int = 10, offset: int = 0) -> list[tuple[Stored, str]]:
        """Up to `limit` live messages from `offset` on, oldest first, each with its
        state ('visible', 'in_flight', 'delayed'), changing nothing (no lease, no
        receive count): the admin API's peek and LocalStack's SQS message browser."""
        self._check_alive()
        out: list[tuple[Stored, str]] = []
        now = self.clock.now_ms()
        for st in self._iter_log(max(offset, self._lwm), self._log.end_offset):
            if len(out) >= limit:
                break
            off = st.offset
            if off in self._done or off in self._moving:
                continue
            state = ("in_flight" if off in self._leases
                     else "delayed" if off in self._delayed or st.visible_at > now else "visible")
            out.append((st, state))
        return out

    @property
    def lwm(self) -> int:
        return self._lwm
