"""Kafka-style transactions (KIP-98/KIP-447): the transaction coordinator and its durable state.

One `TransactionCoordinator` per core (`core.transactions`). Everything it must not
forget is in the catalog, in one place:
- kv namespace `transactions`, key = transactional id: `{"pid", "epoch", "timeout_ms",
  "state", "start_ms", "parts": [[stream, stream id hex, partition, first offset], ...],
  "groups": [...], "offsets": {group: [[stream, partition, offset, metadata, leader
  epoch], ...]}}` (first offset -1 until the transaction writes to that partition);
- kv namespace `transactions/aborted`, key `<stream id hex>\\x1f<partition>`: the
  aborted transactions of that partition, `[[producer id, first offset, marker
  offset], ...]` (Kafka's `.txnindex`), keyed by stream id so a re-created topic does
  not inherit them;
- producer ids come from the counter Kafka's InitProducerId always used (kv `kafka`,
  key `next_producer_id`; a reset keeps it, so ids are never reused).

Rules (Apache Kafka `TransactionCoordinator`, `TransactionMetadata`, KIP-98, KIP-360):
- states Empty -> Ongoing (AddPartitionsToTxn / AddOffsetsToTxn) -> PrepareCommit |
  PrepareAbort -> CompleteCommit | CompleteAbort -> Ongoing (next transaction);
- InitProducerId on a known id bumps the epoch, fencing the previous producer; an
  Ongoing transaction is aborted first (markers written with a bumped epoch); a
  transaction in Prepare* answers CONCURRENT_TRANSACTIONS (retriable);
- a call with the wrong producer id is INVALID_PRODUCER_ID_MAPPING, an old epoch
  PRODUCER_FENCED; EndTxn on an Empty transaction, or commit after abort (and abort
  after commit), is INVALID_TXN_STATE; a retried EndTxn of the same outcome succeeds;
- a transactional batch must be from the current epoch (INVALID_PRODUCER_EPOCH) for a
  partition added to the Ongoing transaction (INVALID_TXN_STATE: KIP-890 verification);
- EndTxn writes one control batch (COMMIT or ABORT marker) to every partition of the
  transaction, applies the offsets committed in it (TxnOffsetCommit) on commit only, and
  records the aborted range for read_committed fetches;
- the last stable offset of a partition is the first offset of its oldest open
  transaction (else its end); a transaction open longer than its timeout is aborted
  with a bumped epoch (the producer is fenced); after a restart, Prepare* transactions
  are completed and Ongoing ones keep their deadline (in-doubt recovery).
Errors are `TransactionError(reason)`; the Kafka front-end maps reasons to its codes.
Concurrency: core's event loop; completion (markers) is async, one at a time per id.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import struct
from dataclasses import dataclass, field
from typing import Any

from mqlite.core.errors import CoreError
from mqlite.storage.recordbatch import RecordIn, encode_batch

log = logging.getLogger("mqlite.transactions")

NS = "transactions"
ABORTED_NS = "transactions/aborted"
PID_NS, PID_KEY = "kafka", "next_producer_id"
_OLD_NS = "kafka/transactional-ids"  # where the Kafka front-end kept (pid, epoch) before
MAX_TIMEOUT_MS = 900_000  # Kafka's transaction.max.timeout.ms default
MAX_EPOCH = 32766  # Short.MAX_VALUE - 1: past it a producer gets a new id
ABORT, COMMIT = 0, 1  # control record types
PRUNE_EVERY_MS = 60_000
_SEP = "\x1f"


class TxnState(enum.Enum):
    """Kafka's transaction states (values are DescribeTransactions' strings)."""

    EMPTY = "Empty"
    ONGOING = "Ongoing"
    PREPARE_COMMIT = "PrepareCommit"
    PREPARE_ABORT = "PrepareAbort"
    COMPLETE_COMMIT = "CompleteCommit"
    COMPLETE_ABORT = "CompleteAbort"


PREPARING = (TxnState.PREPARE_COMMIT, TxnState.PREPARE_ABORT)


class TransactionError(CoreError):
    """A transactional call refused; `reason` is one of: invalid_timeout, unknown_producer,
    fenced, invalid_epoch, invalid_state, concurrent, not_found."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(slots=True)
class Txn:
    """One transactional id's state (mutable; persisted whole on every change)."""

    txn_id: str
    pid: int
    epoch: int
    timeout_ms: int
    state: TxnState = TxnState.EMPTY
    start_ms: int = -1
    parts: dict[tuple[str, int], list[Any]] = field(default_factory=dict)  # -> [stream id hex, first]
    groups: list[str] = field(default_factory=list)
    offsets: dict[str, dict[tuple[str, int], tuple[int, str, int]]] = field(default_factory=dict)

    def dump(self) -> dict[str, Any]:
        return {
            "pid": self.pid, "epoch": self.epoch, "timeout_ms": self.timeout_ms, "state": self.state.value,
            "start_ms": self.start_ms,
            "parts": [[s, sid, p, first] for (s, p), (sid, first) in self.parts.items()],
            "groups": self.groups,
            "offsets": {g: [[s, p, *v] for (s, p), v in o.items()] for g, o in self.offsets.items()},
        }

    @classmethod
    def load(cls, txn_id: str, d: dict[str, Any]) -> Txn:
        return cls(
            txn_id, int(d["pid"]), int(d["epoch"]), int(d.get("timeout_ms", 60_000)),
            TxnState(d.get("state", "Empty")), int(d.get("start_ms", -1)),
            {(s, int(p)): [sid, int(first)] for s, sid, p, first in d.get("parts", [])},
            list(d.get("groups", [])),
            {g: {(s, int(p)): (int(o), m, int(e)) for s, p, o, m, e in rows}
             for g, rows in d.get("offsets", {}).items()},
        )


def marker_batch(pid: int, epoch: int, kind: int, now_ms: int) -> bytes:
    """A transaction marker: a control batch with one record, key (version 0, type),
    value (version 0, coordinator epoch 0), as Kafka's `EndTransactionMarker`."""
    record = RecordIn(struct.pack(">hh", 0, kind), struct.pack(">hi", 0, 0), (), now_ms)
    return encode_batch([record], producer_id=pid, producer_epoch=epoch, base_sequence=-1,
                        is_transactional=True, is_control=True, now_ms=now_ms)


class TransactionCoordinator:
    """Transactions over core streams and groups; see module docstring."""

    def __init__(self, core: Any) -> None:
        self.core = core
        self.catalog = core.catalog
        self.clock = core.clock
        self.txns: dict[str, Txn] = {}
        self._open: dict[str, Txn] = {}  # Ongoing or Prepare*: what holds last stable offsets
        self._by_pid: dict[int, Txn] = {}
        self._aborted: dict[str, list[list[int]]] = {}
        self._busy: set[str] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._pruned_ms = 0
        self._load()

    # -- state in the catalog --------------------------------------------------------------
    def _load(self) -> None:
        self.txns.clear()
        self._by_pid.clear()
        for txn_id, value in self.catalog.kv_items(_OLD_NS):
            self.txns[txn_id] = Txn(txn_id, int(value["pid"]), int(value["epoch"]), 60_000)
        for txn_id, value in self.catalog.kv_items(NS):
            self.txns[txn_id] = Txn.load(txn_id, value)
        for t in self.txns.values():
            self._by_pid[t.pid] = t
        self._open = {i: t for i, t in self.txns.items() if t.state is TxnState.ONGOING or t.state in PREPARING}
        self._aborted = {k: v for k, v in self.catalog.kv_items(ABORTED_NS)}

    def _save(self, t: Txn) -> None:
        self.catalog.kv_put(NS, t.txn_id, t.dump())

    async def open(self) -> None:
        from mqlite.core.reset import on_reset

        on_reset(self.core, self._after_reset, "after")
        for t in list(self.txns.values()):
            if t.state in PREPARING:  # stopped while writing markers: finish the job
                self._spawn(t, t.state is TxnState.PREPARE_COMMIT, bump=False)

    def _after_reset(self, _selection: Any) -> None:
        self._load()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    def allocate_producer_id(self) -> int:
        current = int(self.catalog.kv_get(PID_NS, PID_KEY) or 1000)
        self.catalog.kv_put(PID_NS, PID_KEY, current + 1)
        return current

    # -- the producer's calls ---------------------------------------------------------------
    async def init_producer(self, txn_id: str, timeout_ms: int, pid: int = -1, epoch: int = -1) -> tuple[int, int]:
        """InitProducerId for a transactional id: (producer id, epoch), fencing older ones."""
        if not 0 < timeout_ms <= MAX_TIMEOUT_MS:
            raise TransactionError("invalid_timeout", f"The transaction timeout {timeout_ms} ms is larger than "
                                   f"the maximum value allowed by the broker (transaction.max.timeout.ms={MAX_TIMEOUT_MS}) "
                                   "or not positive")
        t = self.txns.get(txn_id)
        if t is None:
            t = Txn(txn_id, self.allocate_producer_id(), 0, timeout_ms)
            self.txns[txn_id] = t
            self._by_pid[t.pid] = t
            self._save(t)
            return t.pid, t.epoch
        if pid >= 0 and (pid, epoch) != (t.pid, t.epoch):
            raise TransactionError("fenced", "There is a newer producer with the same transactionalId "
                                   "which fences the current one")
        if t.state in PREPARING or txn_id in self._busy:
            raise TransactionError("concurrent", "The producer attempted to update a transaction while "
                                   "another concurrent operation on the same transaction was ongoing")
        if t.state is TxnState.ONGOING:
            await self._complete(t, commit=False, bump=True)
        if t.epoch >= MAX_EPOCH:
            self._by_pid.pop(t.pid, None)
            t.pid, t.epoch = self.allocate_producer_id(), 0
            self._by_pid[t.pid] = t
        else:
            t.epoch += 1
        t.timeout_ms = timeout_ms
        t.state, t.start_ms = TxnState.EMPTY, -1
        self._save(t)
        return t.pid, t.epoch

    def _require(self, txn_id: str, pid: int, epoch: int) -> Txn:
        t = self.txns.get(txn_id)
        if t is None or t.pid != pid:
            raise TransactionError("unknown_producer", "The producer attempted to use a producer id which is "
                                   "not currently assigned to its transactional id.")
        if epoch != t.epoch:
            raise TransactionError("fenced", "There is a newer producer with the same transactionalId "
                                   "which fences the current one.")
        if t.state in PREPARING or txn_id in self._busy:
            raise TransactionError("concurrent", "The producer attempted to update a transaction while "
                                   "another concurrent operation on the same transaction was ongoing.")
        return t

    def _begin(self, t: Txn) -> None:
        if t.state is not TxnState.ONGOING:
            t.state, t.start_ms = TxnState.ONGOING, self.clock.now_ms()
            t.parts, t.groups, t.offsets = {}, [], {}
            self._open[t.txn_id] = t

    def add_partitions(self, txn_id: str, pid: int, epoch: int, streams: list[tuple[Any, int]]) -> None:
        """AddPartitionsToTxn: (stream, partition) pairs join the transaction (starting one)."""
        t = self._require(txn_id, pid, epoch)
        self._begin(t)
        for stream, partition in streams:
            t.parts.setdefault((stream.name, partition), [stream.id.hex(), -1])
        self._save(t)

    def add_group(self, txn_id: str, pid: int, epoch: int, group: str) -> None:
        """AddOffsetsToTxn: the group's offsets will be committed with the transaction."""
        t = self._require(txn_id, pid, epoch)
        self._begin(t)
        if group not in t.groups:
            t.groups.append(group)
        self._save(t)

    def commit_offsets(self, txn_id: str, group: str, pid: int, epoch: int,
                       offsets: dict[tuple[str, int], tuple[int, str, int]]) -> None:
        """TxnOffsetCommit: offsets held until the transaction commits (dropped on abort)."""
        t = self.txns.get(txn_id)
        if t is None or t.pid != pid:
            raise TransactionError("unknown_producer", "The producer attempted to use a producer id which is "
                                   "not currently assigned to its transactional id.")
        if epoch != t.epoch:
            raise TransactionError("invalid_epoch", "Producer attempted to commit offsets with an old epoch.")
        if t.state is not TxnState.ONGOING or group not in t.groups:
            raise TransactionError("invalid_state", f"The group {group} was not added to an ongoing transaction "
                                   "of this producer (AddOffsetsToTxn first).")
        t.offsets.setdefault(group, {}).update(offsets)
        self._save(t)

    async def end(self, txn_id: str, pid: int, epoch: int, commit: bool) -> None:
        """EndTxn: commit or abort the ongoing transaction (a retry of the same outcome is fine)."""
        t = self._require(txn_id, pid, epoch)
        if t.state is TxnState.ONGOING:
            await self._complete(t, commit, bump=False)
            return
        if (t.state, commit) in ((TxnState.COMPLETE_COMMIT, True), (TxnState.COMPLETE_ABORT, False)):
            return
        raise TransactionError("invalid_state", f"TransactionalId {txn_id}: cannot "
                               f"{'commit' if commit else 'abort'} a transaction in state {t.state.value}")

    # -- the partitions' side ----------------------------------------------------------------
    def begin_append(self, pid: int, epoch: int, stream: Any, partition: int) -> None:
        """`check_append`, then note the transaction's first offset in the partition (the
        last stable offset): call it with no await before the append."""
        t, entry = self.check_append(pid, epoch, stream, partition)
        if entry[1] < 0:
            entry[1] = stream.latest(partition)
            self._save(t)

    def check_append(self, pid: int, epoch: int, stream: Any, partition: int) -> tuple[Txn, list[Any]]:
        """Check a transactional batch: the producer's current epoch (before any sequence
        check: a fenced zombie's retry is not a duplicate), a partition of its ongoing
        transaction."""
        t = self._by_pid.get(pid)
        if t is None:
            raise TransactionError("unknown_producer", f"Producer id {pid} has no transactional id")
        if epoch != t.epoch:
            raise TransactionError("invalid_epoch", f"Producer epoch {epoch} is not the current epoch "
                                   f"{t.epoch} of producer {pid}")
        entry = t.parts.get((stream.name, partition))
        if t.state is not TxnState.ONGOING or entry is None or entry[0] != stream.id.hex():
            raise TransactionError("invalid_state", f"The partition {stream.name}-{partition} was not added "
                                   "to the ongoing transaction")
        return t, entry

    def last_stable(self, stream: Any, partition: int) -> int:
        """The offset below which every transaction is decided."""
        lso = int(stream.latest(partition))
        if not self._open:  # the common case: no transaction open anywhere
            return lso
        key, sid = (stream.name, partition), stream.id.hex()
        for t in self._open.values():
            if t.state is TxnState.ONGOING or t.state in PREPARING:
                entry = t.parts.get(key)
                if entry is not None and entry[1] >= 0 and entry[0] == sid:
                    lso = min(lso, entry[1])
        return lso

    def aborted(self, stream: Any, partition: int, start: int, end: int) -> list[tuple[int, int]]:
        """(producer id, first offset) of aborted transactions overlapping [start, end)."""
        rows = self._aborted.get(f"{stream.id.hex()}{_SEP}{partition}", ())
        return [(pid, first) for pid, first, last in rows if last >= start and first < end]

    # -- completion ---------------------------------------------------------------------------
    async def _complete(self, t: Txn, commit: bool, bump: bool) -> None:
        self._busy.add(t.txn_id)
        try:
            if bump:  # a coordinator-side abort fences the producer that was running it
                t.epoch += 1
            t.state = TxnState.PREPARE_COMMIT if commit else TxnState.PREPARE_ABORT
            self._save(t)
            now = self.clock.now_ms()
            marker = marker_batch(t.pid, t.epoch, COMMIT if commit else ABORT, now)
            aborted: dict[str, list[int]] = {}
            for (name, partition), (sid, first) in t.parts.items():
                stream = self.core.streams.find(name)
                if stream is None or stream.id.hex() != sid or partition >= stream.partition_count:
                    continue  # deleted (or re-created) since: nothing to mark
                result = await stream.append_batch(partition, marker)
                if not commit and first >= 0:
                    aborted[f"{sid}{_SEP}{partition}"] = [t.pid, first, int(result.base_offset)]
            with self.catalog.transaction():
                if commit:
                    for group, offsets in t.offsets.items():
                        if offsets:
                            self.core.groups.get(group).commit_many(offsets)
                for key, row in aborted.items():
                    rows: list[list[int]] = [*self._aborted.get(key, []), row]
                    self.catalog.kv_put(ABORTED_NS, key, rows)
                    self._aborted[key] = rows
                t.state = TxnState.COMPLETE_COMMIT if commit else TxnState.COMPLETE_ABORT
                t.parts, t.groups, t.offsets, t.start_ms = {}, [], {}, -1
                self._save(t)
            self._open.pop(t.txn_id, None)
        finally:
            self._busy.discard(t.txn_id)

    def _spawn(self, t: Txn, commit: bool, bump: bool) -> None:
        async def run() -> None:
            try:
                await self._complete(t, commit, bump)
                if bump:
                    log.info("transaction %r (producer %d) timed out after %d ms: aborted, epoch now %d",
                             t.txn_id, t.pid, t.timeout_ms, t.epoch)
            except Exception:  # kept in Prepare*: the next tick tries again
                log.exception("completing transaction %r failed", t.txn_id)

        self._busy.add(t.txn_id)  # _complete re-adds it; claimed now so no tick doubles it
        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _prune(self) -> None:
        """Forget aborted ranges that retention or DeleteRecords removed, and those of
        deleted streams (their keys name stream ids no stream has any more)."""
        live = {stream.id.hex(): stream for stream in self.core.streams}
        for key, rows in list(self._aborted.items()):
            sid, _, part = key.partition(_SEP)
            stream = live.get(sid)
            if stream is None or int(part) >= stream.partition_count:
                kept: list[list[int]] = []
            else:
                start = stream.earliest(int(part))
                kept = [r for r in rows if r[2] >= start]
            if len(kept) != len(rows):
                if kept:
                    self.catalog.kv_put(ABORTED_NS, key, kept)
                    self._aborted[key] = kept
                else:
                    self.catalog.kv_delete(ABORTED_NS, key)
                    del self._aborted[key]

    def tick(self) -> None:
        """Abort transactions past their timeout; finish ones left in Prepare*; now and
        then, prune the aborted ranges."""
        now = self.clock.now_ms()
        if self._aborted and now - self._pruned_ms >= PRUNE_EVERY_MS:
            self._pruned_ms = now
            self._prune()
        for t in list(self._open.values()):
            if t.txn_id in self._busy:
                continue
            if t.state is TxnState.ONGOING and now - t.start_ms > t.timeout_ms:
                self._spawn(t, commit=False, bump=True)
            elif t.state in PREPARING:
                self._spawn(t, t.state is TxnState.PREPARE_COMMIT, bump=False)

    def describe(self, txn_id: str) -> Txn:
        t = self.txns.get(txn_id)
        if t is None:
            raise TransactionError("not_found", f"The transactionalId {txn_id} could not be found")
        return t
