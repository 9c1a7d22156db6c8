"""FIFO queue state: message groups (strict order, blocked while in flight) and dedup.

`FifoGroups` holds, per message group, the messages scanned from the log but not yet
delivered, sorted by offset, and how many of the group's messages are in flight. A
group is *available* when it has pending messages and none in flight (SQS: "a group is
blocked while one of its messages is in flight"); available groups are served oldest
head first. A message whose lease ends without delete goes back to its group's front
(sorted insert), so order within the group is the send order.

`DedupWindow` remembers deduplication ids for 5 minutes (SQS FIFO dedup interval),
keyed by id, or by (group, id) when the queue's dedup scope is 'messageGroup'.
Concurrency: core's event loop only; plain data structures, no I/O.
"""

from __future__ import annotations

import bisect
import heapq
from collections import OrderedDict

from mqlite.core.queue.records import Stored

DEDUP_WINDOW_MS = 5 * 60 * 1000


class _Group:
    __slots__ = ("inflight", "pending")

    def __init__(self) -> None:
        self.pending: list[Stored] = []
        self.inflight = 0


class FifoGroups:
    """Per-group pending lists and the available-group heap; see module docstring."""

    def __init__(self) -> None:
        self._groups: dict[str, _Group] = {}
        self._avail: list[tuple[int, str]] = []  # (head offset, group), lazily validated
        self.pending_count = 0
        self.pending_bytes = 0
        self._offsets: set[int] = set()

    def holds(self, offset: int) -> bool:
        return offset in self._offsets

    def add(self, st: Stored) -> None:
        """A message became deliverable (scanned, matured, released, lease expired)."""
        key = st.group_id or ""
        g = self._groups.get(key)
        if g is None:
            g = self._groups[key] = _Group()
        pend = g.pending
        if not pend or pend[-1].offset < st.offset:
            pend.append(st)
        else:
            bisect.insort(pend, st, key=lambda s: s.offset)
        self.pending_count += 1
        self.pending_bytes += st.size
        self._offsets.add(st.offset)
        if g.inflight == 0 and pend[0] is st:
            heapq.heappush(self._avail, (st.offset, key))

    def find(self, offset: int) -> Stored | None:
        """The pending message at `offset`, if any (linear in its group's size)."""
        if offset not in self._offsets:
            return None
        for g in self._groups.values():
            for s in g.pending:
                if s.offset == offset:
                    return s
        return None

    def remove(self, st: Stored) -> bool:
        """Drop a pending message (deleted while waiting for redelivery)."""
        if st.offset not in self._offsets:
            return False
        key = st.group_id or ""
        g = self._groups[key]
        for i, s in enumerate(g.pending):
            if s.offset == st.offset:
                del g.pending[i]
                break
        self._offsets.discard(st.offset)
        self.pending_count -= 1
        self.pending_bytes -= st.size
        self._settle(key, g)
        return True

    def has_available(self) -> bool:
        avail = self._avail
        while avail:
            head, key = avail[0]
            g = self._groups.get(key)
            if g is not None and g.inflight == 0 and g.pending and g.pending[0].offset == head:
                return True
            heapq.heappop(avail)
        return False

    def head(self) -> Stored | None:
        """The oldest available group's first message (for drop-head), not removed."""
        if not self.has_available():
            return None
        return self._groups[self._avail[0][1]].pending[0]

    def take(self, limit: int) -> list[Stored]:
        """Up to `limit` messages, in order, from the oldest available group; the
        group becomes blocked (in flight) until `finished` is called for each."""
        if not self.has_available():
            return []
        _, key = heapq.heappop(self._avail)
        g = self._groups[key]
        out = g.pending[:limit]
        del g.pending[:limit]
        g.inflight += len(out)
        self.pending_count -= len(out)
        for st in out:
            self._offsets.discard(st.offset)
            self.pending_bytes -= st.size
        return out

    def leased(self, st: Stored) -> None:
        """Count a lease restored after restart (its group is blocked)."""
        key = st.group_id or ""
        g = self._groups.get(key)
        if g is None:
            g = self._groups[key] = _Group()
        g.inflight += 1

    def finished(self, st: Stored, requeue: bool) -> None:
        """A lease on `st` ended: deleted (requeue False) or back to the group's front."""
        key = st.group_id or ""
        g = self._groups.get(key)
        if g is None:
            return
        g.inflight -= 1
        if requeue:
            self.add(st)
        self._settle(key, g)

    def _settle(self, key: str, g: _Group) -> None:
        if g.inflight == 0:
            if g.pending:
                heapq.heappush(self._avail, (g.pending[0].offset, key))
            else:
                del self._groups[key]

    def clear(self) -> None:
        self._groups.clear()
        self._avail.clear()
        self._offsets.clear()
        self.pending_count = 0
        self.pending_bytes = 0

    def blocked_groups(self) -> int:
        return sum(1 for g in self._groups.values() if g.inflight)


class DedupWindow:
    """dedup key -> (expires_ms, message id, sequence number), for 5 minutes.

    Shared by SQS FIFO queues and SNS FIFO topics (which persist it themselves).
    Entries must be put in order of their send time (they expire from the front)."""

    def __init__(self) -> None:
        self._seen: OrderedDict[str, tuple[int, str, str]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    def expire(self, now_ms: int) -> list[str]:
        """Drop the entries whose window has passed; returns their keys."""
        seen = self._seen
        gone: list[str] = []
        while seen:
            key, (until, _, _) = next(iter(seen.items()))
            if until > now_ms:
                break
            seen.popitem(last=False)
            gone.append(key)
        return gone

    def get(self, key: str, now_ms: int) -> tuple[str, str] | None:
        """(message id, sequence number) of the first send of `key` within the window."""
        if self._seen:
            self.expire(now_ms)
        hit = self._seen.get(key)
        return None if hit is None else (hit[1], hit[2])

    def put(self, key: str, sent_ms: int, message_id: str, sequence: str) -> None:
        self._seen[key] = (sent_ms + DEDUP_WINDOW_MS, message_id, sequence)

    def clear(self) -> None:
        self._seen.clear()
