"""The `Log` interface: one partition's append-only sequence of RecordBatch v2.

Owns the contract both implementations (`FileLog`, `MemoryLog`) honour and that one
shared test suite checks, plus what they share: `LogConfig`, `AppendResult`, batch
validation for `append_batch`, producer (idempotence) state.

Invariants:
- offsets are dense and increasing: an append of n records gets
  `[end_offset, end_offset + n)`; `start_offset <= end_offset`;
- a batch is stored byte for byte as given, except baseOffset and partitionLeaderEpoch
  (the fields outside the CRC, which a Kafka broker also rewrites);
- `read(offset, max_bytes)` returns whole batches, the first one containing `offset`,
  at least one batch even when it is larger than `max_bytes` (Kafka's fetch rule);
- a refused append (empty, malformed, CRC-failing, too large) changes nothing.

Concurrency contract: every public method is thread-safe (one lock per log). Appends
return at once; `AppendResult.durable` is a `concurrent.futures.Future` resolved by the
shared `GroupCommitter` per its `FsyncPolicy`.
"""

from __future__ import annotations

import abc
import logging
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Self

from mqlite.storage.batchcheck import check_batch
from mqlite.storage.compression import Compression
from mqlite.storage.errors import CorruptSegment, InvalidBatch, OffsetOutOfRange, RecordTooLarge
from mqlite.storage.recordbatch import (
    HEADER_SIZE,
    BatchHeader,
    Record,
    decode_batch_from,
    encode_batch,
    parse_header,
    validate_batch,
)

__all__ = [
    "AppendResult",
    "Log",
    "LogConfig",
    "ProducerBatch",
    "ProducerState",
    "split_batches",
]

DAY_MS = 24 * 3600 * 1000
log = logging.getLogger("mqlite.storage")


@dataclass(frozen=True, slots=True)
class LogConfig:
    """Per-log settings (Kafka's topic configs of the same meaning in brackets).

    segment_bytes (segment.bytes), segment_ms (segment.ms; None = no age roll),
    retention_ms (retention.ms; None = forever), retention_bytes (retention.bytes;
    None = unlimited), max_batch_bytes (max.message.bytes), index_interval_bytes
    (index.interval.bytes), leader_epoch (written into partitionLeaderEpoch).
    """

    segment_bytes: int = 1 << 30
    segment_ms: int | None = 7 * DAY_MS
    retention_ms: int | None = 7 * DAY_MS
    retention_bytes: int | None = None
    max_batch_bytes: int = 1024 * 1024 + 12
    index_interval_bytes: int = 4096
    leader_epoch: int = 0
    compact: bool = False  # cleanup.policy contains compact
    delete_retention_ms: int = DAY_MS  # delete.retention.ms: how long tombstones stay
    min_compaction_lag_ms: int = 0  # min.compaction.lag.ms
    timestamp_type: int = 0
    timestamp_before_max_ms: int | None = None
    timestamp_after_max_ms: int | None = None

    def __post_init__(self) -> None:
        if self.segment_bytes < HEADER_SIZE:
            raise ValueError(f"segment_bytes must be >= {HEADER_SIZE}")
        if self.max_batch_bytes < HEADER_SIZE:
            raise ValueError(f"max_batch_bytes must be >= {HEADER_SIZE}")
        if self.index_interval_bytes < 0:
            raise ValueError("index_interval_bytes must be >= 0")
        if self.timestamp_type not in (0, 1):
            raise ValueError("timestamp_type must be 0 (CreateTime) or 1 (LogAppendTime)")
        for name in ("segment_ms", "retention_ms", "retention_bytes",
                     "timestamp_before_max_ms", "timestamp_after_max_ms"):
            v = getattr(self, name)
            if v is not None and v < 0:
                raise ValueError(f"{name} must be >= 0 or None")


@dataclass(frozen=True, slots=True)
class AppendResult:
    """Offsets given to an append, and when it is durable (per the fsync policy)."""

    base_offset: int
    last_offset: int
    max_timestamp: int
    durable: Future[None]


@dataclass(frozen=True, slots=True)
class ProducerBatch:
    """One idempotent-producer batch as stored (Kafka keeps the last 5 per producer)."""

    first_sequence: int
    last_sequence: int
    base_offset: int
    last_offset: int


@dataclass(frozen=True, slots=True)
class ProducerState:
    """What the log knows of one producer id: its epoch and its last batches."""

    producer_id: int
    producer_epoch: int
    last_sequence: int
    last_offset: int
    last_timestamp: int
    batches: tuple[ProducerBatch, ...]


PRODUCER_BATCHES_KEPT = 5


def _note_producer(
    states: dict[int, ProducerState], h: BatchHeader, base_offset: int
) -> None:
    if h.producer_id < 0 or h.is_control:
        return
    old = states.get(h.producer_id)
    last_offset = base_offset + h.last_offset_delta
    pb = ProducerBatch(h.base_sequence, h.last_sequence, base_offset, last_offset)
    if old is None or old.producer_epoch != h.producer_epoch:
        batches: tuple[ProducerBatch, ...] = (pb,)
    else:
        batches = (old.batches + (pb,))[-PRODUCER_BATCHES_KEPT:]
    states[h.producer_id] = ProducerState(
        h.producer_id,
        h.producer_epoch,
        h.last_sequence,
        last_offset,
        h.max_timestamp,
        batches,
    )


def split_batches(
    raw: bytes | bytearray | memoryview, max_batch_bytes: int
) -> list[tuple[BatchHeader, memoryview]]:
    """Validate a concatenation of one or more whole v2 batches (header, lengths, CRC-32C).

    Returns (header, view of the batch bytes) for each. Raises `InvalidBatch` (empty,
    truncated, trailing bytes, bad magic/CRC) or `RecordTooLarge`; never partially accepts.
    """
    view = memoryview(raw)
    if view.ndim != 1 or view.itemsize != 1:
        view = view.cast("B")
    if len(view) == 0:
        raise InvalidBatch("empty record batch")
    out: list[tuple[BatchHeader, memoryview]] = []
    pos = 0
    n = len(view)
    while pos < n:
        h = parse_header(view, pos)
        if h.size > max_batch_bytes:
            raise RecordTooLarge(h.size, max_batch_bytes)
        h = validate_batch(view, pos)
        out.append((h, view[pos : pos + h.size]))
        pos += h.size
    return out


class Log(abc.ABC):
    """One partition's log. See the module docstring for the contract."""

    config: LogConfig

    # -- appends ---------------------------------------------------------------------
    def append(
        self,
        records: Iterable[Any],
        *,
        compression: Compression | int = Compression.NONE,
        producer_id: int = -1,
        producer_epoch: int = -1,
        base_sequence: int = -1,
        now_ms: int | None = None,
    ) -> AppendResult:
        """Encode `records` (`RecordIn`, tuples `(key, value[, headers[, timestamp]])` or
        `Record`s) into one batch and append it. A None timestamp becomes `now_ms`
        (default wall clock). Raises `InvalidBatch` for no records, `RecordTooLarge`."""
        raw = encode_batch(
            records,
            0,
            None,
            producer_id,
            producer_epoch,
            base_sequence,
            compression,
            partition_leader_epoch=self.config.leader_epoch,
            now_ms=now_ms,
        )
        if len(raw) > self.config.max_batch_bytes:
            raise RecordTooLarge(len(raw), self.config.max_batch_bytes)
        return self._append_validated([(parse_header(raw), memoryview(raw))])

    def append_batch(
        self,
        raw: bytes | bytearray | memoryview,
        *,
        client: bool = False,
        now_ms: int | None = None,
    ) -> AppendResult:
        """Append one or more pre-encoded v2 batches (the Kafka produce path).

        Validates header, length and CRC-32C of each, then its records against its
        header as Kafka's LogValidator does (`batchcheck.check_batch`; `client=True`
        adds the rules for a producer's batch: base offset 0, no control batch, ...);
        rewrites baseOffset and partitionLeaderEpoch, and stores the rest byte for byte
        unless maxTimestamp or the timestamp type were wrong (then the header and CRC
        are corrected). `now_ms` (default: wall clock) bounds record timestamps.
        """
        if isinstance(raw, bytearray):
            raw = bytes(raw)  # the caller may mutate a bytearray after we return
        cfg = self.config
        now = int(time.time() * 1000) if now_ms is None else now_ms
        if client:  # Kafka checks each batch's base offset before its size and CRC
            first = parse_header(raw)
            if first.base_offset != 0:
                check_batch(first, memoryview(raw), now_ms=now, where=self._where())
        checked = []
        for h, view in split_batches(raw, cfg.max_batch_bytes):
            checked.append(check_batch(
                h, view, now_ms=now, timestamp_type=cfg.timestamp_type,
                before_max_ms=cfg.timestamp_before_max_ms,
                after_max_ms=cfg.timestamp_after_max_ms, client=client,
                where=self._where(),
            ))
        return self._append_validated(
            [(h, v if isinstance(v, memoryview) else memoryview(v)) for h, v in checked]
        )

    def _where(self) -> str:
        """How error messages name this log's partition."""
        return "partition"

    @abc.abstractmethod
    def _append_validated(
        self, batches: list[tuple[BatchHeader, memoryview]]
    ) -> AppendResult:
        """Assign offsets to already validated batches and store them."""

    # -- reads -----------------------------------------------------------------------
    @abc.abstractmethod
    def read(self, offset: int, max_bytes: int) -> list[bytes]:
        """Whole batches from the one containing `offset`, up to `max_bytes` (at least one).

        `offset == end_offset` gives []; outside `[start_offset, end_offset]` raises
        `OffsetOutOfRange`.
        """

    def read_records(
        self,
        offset: int,
        max_records: int = 500,
        *,
        include_control: bool = True,
        skip_corrupt: bool = False,
    ) -> list[Record]:
        """Decoded records with offsets >= `offset`, at most `max_records`; with
        `include_control=False` the records of control batches (Kafka markers, Redis
        bookkeeping) are stepped over and do not count towards `max_records`.

        A stored batch that fails its CRC or does not parse raises `CorruptSegment`
        (`InvalidBatch` for a MemoryLog); with `skip_corrupt` (readers that feed queues
        and internal state, which no client can check) it is stepped over instead, with
        a logged warning and `corrupt_records_skipped` counting the offsets lost."""
        out: list[Record] = []
        pos = offset
        budget = min(1024 * 1024, max(16 * 1024, max_records * 128))
        while len(out) < max_records:
            try:
                batches = self.read(pos, budget)
            except OffsetOutOfRange:
                if pos == offset:
                    raise
                break
            except CorruptSegment as exc:
                if not skip_corrupt:
                    raise
                pos = self._skip_corrupt(pos, exc)
                continue
            if not batches:
                break
            for raw in batches:
                try:
                    # only the records wanted are built (none before `offset`)
                    h, records = decode_batch_from(raw, max(offset, pos), max_records - len(out))
                except InvalidBatch as exc:
                    error = self._stored_batch_invalid(raw, exc)
                    if not skip_corrupt:
                        raise error from exc
                    pos = self._skip_corrupt(pos, error)
                    break
                if include_control or not h.is_control:
                    out.extend(records)
                    if len(out) >= max_records:
                        del out[max_records:]
                        return out
                pos = h.next_offset
            budget = min(budget * 2, 4 * 1024 * 1024)
        return out

    corrupt_records_skipped = 0

    def _skip_corrupt(self, offset: int, error: Exception) -> int:
        """Step over the corrupt batch holding `offset`; returns where reading resumes."""
        resume = max(offset + 1, min(self._next_readable(offset), self.end_offset))
        self.corrupt_records_skipped += resume - offset
        log.warning("skipped corrupt records at offsets [%d, %d) of %s: %s (%d skipped in"
                    " this log so far)", offset, resume, self._where(), error,
                    self.corrupt_records_skipped)
        return resume

    def _next_readable(self, offset: int) -> int:
        """The offset of the first valid batch after the corrupt one holding `offset`
        (a MemoryLog holds no corrupt bytes: the next offset)."""
        return offset + 1

    def _stored_batch_invalid(self, raw: bytes, exc: InvalidBatch) -> Exception:
        """The error to raise when a stored batch fails to decode (FileLog adds the path)."""
        return exc

    def read_headers(
        self, offset: int, max_bytes: int = 1024 * 1024
    ) -> list[BatchHeader]:
        """Headers of the batches `read(offset, max_bytes)` would return."""
        return [parse_header(b) for b in self.read(offset, max_bytes)]

    @abc.abstractmethod
    def offset_for_timestamp(self, timestamp: int) -> int | None:
        """The earliest offset whose record timestamp is >= `timestamp` (Kafka ListOffsets),
        or None when there is none."""

    # -- positions -------------------------------------------------------------------
    @property
    @abc.abstractmethod
    def start_offset(self) -> int:
        """The first readable offset."""

    @property
    @abc.abstractmethod
    def end_offset(self) -> int:
        """The offset the next appended record will get."""

    @property
    @abc.abstractmethod
    def size_bytes(self) -> int:
        """Bytes of batches held."""

    @property
    def closed(self) -> bool:
        """True once `close()` ran."""
        return bool(getattr(self, "_closed", False))

    def set_config(self, config: LogConfig) -> None:
        """Apply a changed configuration; it governs the next append, roll and retention."""
        with self._lock:
            self.config = config

    def _check_offset(self, offset: int) -> None:
        start, end = self.start_offset, self.end_offset
        if offset < start or offset > end:
            raise OffsetOutOfRange(offset, start, end)

    # -- maintenance -----------------------------------------------------------------
    @abc.abstractmethod
    def delete_before(self, offset: int) -> int:
        """Make `offset` (capped at `end_offset`) the start offset and delete whole segments
        below it. Returns the number of bytes freed."""

    @abc.abstractmethod
    def apply_retention(self, now_ms: int) -> int:
        """Delete whole segments past `retention_ms` or beyond `retention_bytes`. Returns bytes freed."""

    def compact(self, now_ms: int, upto: int, aborted: Any = None) -> int:
        """One log-compaction pass (storage/cleaner.py) below offset `upto`; returns the
        segments rewritten. In-memory logs are not compacted."""
        return 0

    @abc.abstractmethod
    def roll(self) -> None:
        """Start a new segment now (no-op when the active one is empty)."""

    @abc.abstractmethod
    def flush(self) -> None:
        """Write and fsync everything appended so far."""

    @abc.abstractmethod
    def close(self) -> None:
        """Flush and release files; later calls raise `LogClosed` (close is idempotent)."""

    def discard(self) -> None:
        """Release files without flushing, before the log's data is deleted (default:
        `close`; `FileLog` skips its fsyncs)."""
        self.close()

    # -- idempotent producers --------------------------------------------------------
    @abc.abstractmethod
    def _iter_headers_from(self, offset: int) -> Iterator[BatchHeader]:
        """Headers of the stored batches from the one holding `offset` on, in order."""

    def _producer_snapshot(self) -> tuple[dict[int, ProducerState], int]:
        """Producer states saved earlier and the offset they cover up to (exclusive)."""
        return {}, self.start_offset

    def producer_states(self) -> dict[int, ProducerState]:
        """Producer id -> its state (Kafka idempotence: epoch and last 5 batches).

        Built lazily on first use after open: from the snapshot written by the last clean
        close (FileLog), then the batch headers after it; kept current by appends.
        """
        with self._lock:
            if self._producers is None:
                states, upto = self._producer_snapshot()
                if (
                    upto > self.end_offset
                ):  # the snapshot is ahead of the data: unusable
                    states, upto = {}, self.start_offset
                upto = max(upto, self.start_offset)
                for h in self._iter_headers_from(upto):
                    if h.base_offset >= upto:
                        _note_producer(states, h, h.base_offset)
                self._producers = states
            return dict(self._producers)

    def producer_state(self, producer_id: int) -> ProducerState | None:
        return self.producer_states().get(producer_id)

    def _note_appended(self, h: BatchHeader, base_offset: int) -> None:
        """Called under the lock for each appended batch, with its assigned base offset."""
        if self._producers is not None and h.producer_id >= 0:
            _note_producer(self._producers, h, base_offset)

    _lock: Any
    _producers: dict[int, ProducerState] | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
