"""Share groups (KIP-932, "queues for Kafka"): queue semantics over a stream's partitions.

A share group reads a stream like a queue: every member may fetch from every partition,
and a record is leased (acquired) by one member at a time, for a lock duration. The
member acknowledges it: accept (done), release (back to available, delivered again with
a higher delivery count) or reject (archived, never delivered again). A lease that runs
out is released; a record whose delivery count reaches the limit is archived instead of
being made available again. This is the same lease / delivery-count model as core's
queues (`core.queue`), kept per (group, stream, partition) by offset, as Kafka's
`SharePartition` does:

- `start` (Kafka's share-partition start offset, SPSO): every record below it is done;
- `records`: offset -> `InFlight(state, count, member, deadline)` for records at or
  above `start` that were ever delivered; an offset not in the map was never delivered.

Durable state, in one place: catalog kv namespace `share_groups`, key
`<group>\\x1f<stream id hex>\\x1f<partition>` -> `{"start": n, "records": [[offset,
state, count], ...]}`, written on every change. An acquired record is stored as
available with its count, so after a restart it is delivered again (at least once).
Membership and share sessions (who fetches) are not durable: clients re-join.
Concurrency: the server's event loop; nothing here awaits.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any

NS = "share_groups"
AVAILABLE, ACQUIRED, ACKNOWLEDGED, ARCHIVED = 0, 1, 2, 4
GAP, ACCEPT, RELEASE, REJECT = 0, 1, 2, 3  # Kafka's AcknowledgeType values on the wire


class InvalidRecordState(Exception):
    """An acknowledgement names a record this member has not acquired (INVALID_RECORD_STATE)."""


@dataclass(slots=True)
class InFlight:
    state: int
    count: int
    member: str | None = None
    deadline: float = 0.0


@dataclass
class SharePartition:
    """One partition's queue state for one share group; see module docstring."""

    start: int = 0
    records: dict[int, InFlight] = field(default_factory=dict)

    def dump(self) -> dict[str, Any]:
        rows = [[o, AVAILABLE if r.state == ACQUIRED else r.state, r.count] for o, r in sorted(self.records.items())]
        return {"start": self.start, "records": rows}

    @classmethod
    def load(cls, value: dict[str, Any]) -> SharePartition:
        return cls(int(value["start"]), {int(o): InFlight(int(s), int(c)) for o, s, c in value["records"]})

    def first_free(self, earliest: int, hw: int) -> int | None:
        """The lowest offset a fetch can acquire, or None when everything below `hw` is taken."""
        if self.start < earliest:  # retention removed records: they are gone for the group too
            self.records = {o: r for o, r in self.records.items() if o >= earliest}
            self.start = earliest
        off = self.start
        while off < hw:
            r = self.records.get(off)
            if r is None or r.state == AVAILABLE:
                return off
            off += 1
        return None

    def acquire(self, member: str, first: int, end: int, limit: int, deadline: float) -> list[tuple[int, int, int]]:
        """Lease up to `limit` free records in [first, end) to `member`: [(first, last, count)]."""
        out: list[tuple[int, int, int]] = []
        taken = 0
        for off in range(first, end):
            if taken >= limit:
                break
            r = self.records.get(off)
            if r is not None and r.state != AVAILABLE:
                continue
            count = (r.count if r is not None else 0) + 1
            self.records[off] = InFlight(ACQUIRED, count, member, deadline)
            taken += 1
            if out and out[-1][1] == off - 1 and out[-1][2] == count:
                out[-1] = (out[-1][0], off, count)
            else:
                out.append((off, off, count))
        return out

    def acknowledge(self, member: str, first: int, last: int, types: list[int], max_count: int) -> None:
        """Apply one acknowledgement batch (all or nothing): `types` is one type for the whole
        range or one per offset. Raises InvalidRecordState."""
        if last < first or not types or (len(types) != 1 and len(types) != last - first + 1):
            raise InvalidRecordState("acknowledgement batch does not match its offsets")
        for off in range(first, last + 1):
            r = self.records.get(off)
            if r is None or r.state != ACQUIRED or r.member != member:
                raise InvalidRecordState(f"offset {off} is not acquired by this member")
        for i, off in enumerate(range(first, last + 1)):
            kind = types[0] if len(types) == 1 else types[i]
            r = self.records[off]
            if kind in (ACCEPT, GAP):
                r.state = ACKNOWLEDGED
            elif kind == REJECT:
                r.state = ARCHIVED
            else:
                self._release(r, max_count)
        self._advance()

    def _release(self, r: InFlight, max_count: int) -> None:
        r.state = ARCHIVED if r.count >= max_count else AVAILABLE
        r.member = None

    def _advance(self) -> None:
        while (r := self.records.get(self.start)) is not None and r.state in (ACKNOWLEDGED, ARCHIVED):
            del self.records[self.start]
            self.start += 1

    def expire(self, now: float, max_count: int, member: str | None = None) -> bool:
        """Release leases past their deadline (or all of `member`'s); True if any changed."""
        changed = False
        for r in self.records.values():
            if r.state == ACQUIRED and (r.deadline <= now if member is None else r.member == member):
                self._release(r, max_count)
                changed = True
        if changed:
            self._advance()
        return changed

    def next_deadline(self) -> float | None:
        return min((r.deadline for r in self.records.values() if r.state == ACQUIRED), default=None)


class ShareState:
    """Every share group's partition state, loaded lazily from and written to the catalog."""

    def __init__(self, core: Any, earliest: bool = False) -> None:
        self.core = core
        self.earliest = earliest  # where a new group starts: the log start, else the end
        self.parts: dict[tuple[str, str, int], SharePartition] = {}

    @staticmethod
    def _key(group: str, stream_id: str, partition: int) -> str:
        return f"{group}\x1f{stream_id}\x1f{partition}"

    def partition(self, group: str, stream: Any, partition: int) -> SharePartition:
        key = (group, str(stream.id), partition)
        sp = self.parts.get(key)
        if sp is None:
            stored = self.core.catalog.kv_get(NS, self._key(*key))
            begin = stream.earliest(partition) if self.earliest else stream.latest(partition)
            sp = SharePartition.load(stored) if stored else SharePartition(begin)
            self.parts[key] = sp
            if not stored:
                self.save(group, stream, partition)
        return sp

    def save(self, group: str, stream: Any, partition: int) -> None:
        sp = self.parts[(group, str(stream.id), partition)]
        self.core.catalog.kv_put(NS, self._key(group, str(stream.id), partition), sp.dump())

    def of_group(self, group: str) -> list[tuple[str, int, SharePartition]]:
        """(stream id, partition, state) of every partition the group has state for."""
        for k, v in self.core.catalog.kv_items(NS):
            g, sid, p = k.split("\x1f")
            if g == group and (g, sid, int(p)) not in self.parts:
                self.parts[(g, sid, int(p))] = SharePartition.load(v)
        return [(sid, p, sp) for (g, sid, p), sp in sorted(self.parts.items()) if g == group]

    def groups(self) -> set[str]:
        return {k.split("\x1f")[0] for k, _ in self.core.catalog.kv_items(NS)} | {g for g, _, _ in self.parts}


_STATES: weakref.WeakKeyDictionary[Any, ShareState] = weakref.WeakKeyDictionary()


def share_state(core: Any, earliest: bool = False) -> ShareState:
    """The one `ShareState` of a broker core (`earliest`: new groups start at the log start)."""
    state = _STATES.get(core)
    if state is None:
        state = _STATES[core] = ShareState(core, earliest)
    return state
