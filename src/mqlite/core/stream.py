"""Stream: a named, partitioned, append-only log (Kafka topic, Kinesis stream, Redis stream).

Owns its partitions' `Log`s (from `LogFactory`), the keyless partition cursor, and the
long-poll waiters. Records are storage `Record`s (Kafka RecordBatch v2 on disk).

Invariants:
- offsets in a partition are dense and increasing; `latest(p)` is the next offset to be
  written (Kafka's high watermark: every record below it is readable);
- a key always maps to `toPositive(murmur2(key)) % partition_count` (Kafka's default
  partitioner); keyless records go round-robin;
- `append*` return once the append is durable per the broker's fsync policy ("always":
  after the fsync that covers it; otherwise at once);
- `append_batch(partition, raw)` stores the client's RecordBatch bytes unchanged except
  baseOffset and partitionLeaderEpoch (the Kafka produce path), so fetch returns the
  producer's bytes;
- `read` returns exactly the stored data records, whether from the log or from the
  partition's cache of recent appends (`core/partition.py`); records of *control
  batches* (Kafka transaction markers, Redis XDEL/XTRIM/XSETID bookkeeping) are skipped
  unless the caller opts in with `include_control=True`, as Kafka consumers skip them
  (so Kinesis GetRecords, Firehose, EventBridge replays and Redis entry reads never see
  bookkeeping as data). A read may therefore return [] below `latest(p)` when only
  control batches remain; `read_batches` returns the stored bytes, control batches
  included (Kafka clients skip them themselves).

Long-poll: `wait_for_data(positions, timeout)` / `wait_for_bytes(positions, min_bytes,
timeout)` return as soon as any watched partition has data past its position (and, for
the latter, at least `min_bytes` of batches in total), or when the timeout expires;
`wait_for_streams(watch, min_bytes, timeout)` does the same over several streams (a
Kafka fetch spans topics). Timeouts are event-loop time; deleting the stream or closing
the broker ends the wait (False). A cancelled wait leaves nothing behind.

Kafka idempotence: storage tracks each producer id's epoch and last batches per log
(rebuilt from the log after a restart); `producer_state(partition, producer_id)` exposes
it, and the Kafka front-end makes the duplicate / out-of-order decision before calling
`append_batch`.

Concurrency: core's single event loop; only `append*` and `wait_*` suspend.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from mqlite.core.config import StreamConfig
from mqlite.core.errors import InvalidValue, OffsetOutOfRange, StreamNotFound
from mqlite.core.partition import Partition
from mqlite.core.partitioner import RoundRobin, partition_for_key
from mqlite.core.telemetry import Flow
from mqlite.storage.log import ProducerState
from mqlite.storage.recordbatch import Record, RecordIn, parse_header

if TYPE_CHECKING:  # pragma: no cover
    from mqlite.core.streams import StreamRegistry

Headers = Mapping[str, "bytes | str | None"] | Iterable[tuple[str, "bytes | str | None"]] | None


def _payload_bytes(record: Any) -> int:
    """Key + value bytes of a `Record`, a `RecordIn` or a plain (key, value, headers, ts)."""
    if type(record) is tuple:
        key, value = record[0], record[1]
    else:
        key, value = record.key, record.value
    return (len(value) if value else 0) + (len(key) if key else 0)


def _as_bytes(value: bytes | bytearray | memoryview | str | None, what: str) -> bytes | None:
    if value is None or type(value) is bytes:
        return value  # type: ignore[return-value]
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    raise InvalidValue(what, f"{what} must be bytes or str, got {type(value).__name__}")


def normalize_headers(headers: Headers) -> tuple[tuple[str, bytes | None], ...]:
    """Headers as storage keeps them: a tuple of (str, bytes | None); str values encoded."""
    if not headers:
        return ()
    items = headers.items() if isinstance(headers, Mapping) else headers
    out = []
    for name, value in items:
        if not isinstance(name, str):
            raise InvalidValue("headers", f"header names must be str, got {name!r}")
        out.append((name, _as_bytes(value, "header value")))
    return tuple(out)


class PartitionInfo(NamedTuple):
    """One partition's offsets and size, as `Stream.partition_info` reports them."""

    partition: int
    earliest: int
    latest: int
    size_bytes: int


class Stream:
    """A named stream of `partition_count` partitions; see module docstring."""

    def __init__(
        self,
        registry: StreamRegistry,
        name: str,
        partitions: list[Partition],
        config: StreamConfig,
        stream_id: bytes,
        created_ms: int,
    ) -> None:
        self._registry = registry
        self.name = name
        self._partitions = partitions
        self.flow = Flow()
        self.config = config  # as set by the user (None fields = broker defaults)
        self.id = stream_id  # 16 bytes (Kafka topic id)
        self.created_ms = created_ms
        self.deleted = False
        self._rr = RoundRobin()

    # -- description --------------------------------------------------------------------
    @property
    def partition_count(self) -> int:
        return len(self._partitions)

    @property
    def effective_config(self) -> StreamConfig:
        return self.config.resolved(self._registry.defaults)

    def _part(self, partition: int) -> Partition:
        if self.deleted:
            raise StreamNotFound(self.name)
        if type(partition) is not int or not 0 <= partition < len(self._partitions):
            raise InvalidValue(
                "partition",
                f"stream {self.name!r} has no partition {partition!r} "
                f"(partitions: {len(self._partitions)})",
                rule="partition-exists",
            )
        return self._partitions[partition]

    def partition_for(self, key: bytes | None) -> int:
        """Where a record with this key goes (murmur2 for a key, round-robin without)."""
        if key is None:
            return self._rr.next(len(self._partitions))
        return partition_for_key(key, len(self._partitions))

    def earliest(self, partition: int) -> int:
        return int(self._part(partition).log.start_offset)

    def latest(self, partition: int) -> int:
        """The next offset to be written (Kafka's high watermark / log end offset)."""
        return int(self._part(partition).log.end_offset)

    def offset_for_time(self, partition: int, timestamp_ms: int) -> int | None:
        """The first offset whose timestamp is >= `timestamp_ms`; None if there is none."""
        result = self._part(partition).log.offset_for_timestamp(timestamp_ms)
        if result is None:
            return None
        if isinstance(result, tuple):  # (offset, timestamp) from storage
            result = result[0]
        return None if result is None or result < 0 else int(result)

    def producer_state(self, partition: int, producer_id: int) -> ProducerState | None:
        """Storage's `ProducerState` (epoch, last sequence, last batches) of an idempotent
        producer on this partition, rebuilt from the log after a restart; None if unseen.
        For the Kafka front-end's duplicate / out-of-order sequence checks."""
        return self._part(partition).log.producer_state(producer_id)

    def partition_info(self, partition: int) -> PartitionInfo:
        """Start and end offsets and stored bytes of one partition (admin views)."""
        log = self._part(partition).log
        return PartitionInfo(partition, int(log.start_offset), int(log.end_offset), int(log.size_bytes))

    def describe(self) -> dict[str, Any]:
        """Name, id, configuration and per-partition offsets and sizes."""
        return {
            "name": self.name,
            "id": self.id.hex(),
            "created_ms": self.created_ms,
            "config": self.config.to_dict(),
            "partitions": [
                {
                    "partition": p.index,
                    "earliest": int(p.log.start_offset),
                    "latest": int(p.log.end_offset),
                    "size_bytes": int(p.log.size_bytes),
                }
                for p in self._partitions
            ],
        }

    def size_bytes(self, partition: int | None = None) -> int:
        parts = self._partitions if partition is None else [self._part(partition)]
        return sum(int(p.log.size_bytes) for p in parts)

    # -- writing --------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self.deleted:
            raise StreamNotFound(self.name)

    async def _durable(self, fut: Future[Any] | None) -> None:
        if fut is None:
            return
        if not fut.done():
            await asyncio.wrap_future(fut)
        fut.result()

    async def append(
        self,
        value: bytes | str | None,
        key: bytes | str | None = None,
        headers: Headers = None,
        partition: int | None = None,
        timestamp: int | None = None,
    ) -> tuple[int, int]:
        """Append one record; returns (partition, offset) once durable."""
        self._check_open()
        value = _as_bytes(value, "value")
        key = _as_bytes(key, "key")
        p = self.partition_for(key) if partition is None else self._part(partition).index
        ts = self._registry.clock.now_ms() if timestamp is None else timestamp
        hdrs = normalize_headers(headers)
        part = self._partitions[p]
        result = part.log.append([RecordIn(key, value, hdrs, ts)])
        base = int(result.base_offset)
        size = (len(value) if value else 0) + (len(key) if key else 0)
        part.remember(base, [Record(base, ts, key, value, hdrs)], size)
        part.wake()
        flow = self.flow
        flow.messages_in += 1
        flow.bytes_in += size
        await self._durable(result.durable)
        return p, base

    async def append_records(self, partition: int, records: Sequence[Record | RecordIn]) -> Any:
        """Append storage `Record`s (offsets ignored) or `RecordIn`s to one partition as
        one batch;
        returns storage's `AppendResult` once durable."""
        self._check_open()
        part = self._part(partition)
        if not records:
            raise InvalidValue("records", "cannot append an empty batch")
        result = part.log.append(list(records))
        part.forget()
        part.wake()
        flow = self.flow
        flow.messages_in += len(records)
        flow.bytes_in += sum(map(_payload_bytes, records))
        await self._durable(result.durable)
        return result

    async def append_many(
        self,
        values: Sequence[bytes | str | tuple[Any, ...]],
        partition: int | None = None,
        timestamp: int | None = None,
    ) -> list[tuple[int, int]]:
        """Append many records: each item a value, or (value, key) / (value, key, headers).
        Keyed items go to their key's partition; keyless ones all go to one partition
        (`partition`, or the next round-robin one, as Kafka's sticky batching does).
        Returns [(partition, offset)] in input order, once durable."""
        self._check_open()
        if partition is not None:
            self._part(partition)
        ts = self._registry.clock.now_ms() if timestamp is None else timestamp
        if values and all(type(v) is bytes for v in values):  # fast path: plain values
            plain = cast("Sequence[bytes]", values)
            p = partition if partition is not None else self._rr.next(len(self._partitions))
            part = self._partitions[p]
            result = part.log.append([(None, v, (), ts) for v in plain])
            base = int(result.base_offset)
            size = sum(map(len, plain))
            part.remember(base, [Record(base + i, ts, None, v, ()) for i, v in enumerate(plain)], size)
            part.wake()
            self.flow.messages_in += len(plain)
            self.flow.bytes_in += size
            await self._durable(result.durable)
            return [(p, base + i) for i in range(len(plain))]
        keyless = partition if partition is not None else None
        by_part: dict[int, list[RecordIn]] = {}
        order: list[tuple[int, int]] = []
        for item in values:
            if isinstance(item, tuple):
                value = _as_bytes(item[0], "value")
                key = _as_bytes(item[1], "key") if len(item) > 1 else None
                headers = normalize_headers(item[2]) if len(item) > 2 else ()
            else:
                value, key, headers = _as_bytes(item, "value"), None, ()
            if partition is not None:
                p = partition
            elif key is not None:
                p = partition_for_key(key, len(self._partitions))
            else:
                if keyless is None:
                    keyless = self._rr.next(len(self._partitions))
                p = keyless
            bucket = by_part.setdefault(p, [])
            order.append((p, len(bucket)))
            bucket.append(RecordIn(key, value, headers, ts))
        bases: dict[int, int] = {}
        futures = []
        flow = self.flow
        for p, records in by_part.items():
            part = self._partitions[p]
            result = part.log.append(records)
            base = bases[p] = int(result.base_offset)
            size = sum(len(r.value or b"") + len(r.key or b"") for r in records)
            part.remember(
                base, [Record(base + i, r.timestamp or ts, r.key, r.value, r.headers) for i, r in enumerate(records)], size)
            flow.messages_in += len(records)
            flow.bytes_in += size
            futures.append(result.durable)
            part.wake()
        for fut in futures:
            await self._durable(fut)
        return [(p, bases[p] + i) for p, i in order]

    async def append_batch(self, partition: int, raw: bytes, *, client: bool = False) -> Any:
        """Kafka produce: store a client's RecordBatch bytes unchanged but for the base
        offset (and a wrong maxTimestamp, which storage corrects). Returns storage's
        `AppendResult` (base_offset, last_offset, ...) once durable. `client=True`
        applies Kafka's rules for a producer's batch. Storage errors (InvalidBatch,
        CorruptBatch, InvalidRecord, InvalidTimestamp, RecordTooLarge) propagate."""
        self._check_open()
        part = self._part(partition)
        result = part.log.append_batch(
            raw, client=client, now_ms=self._registry.clock.now_ms()
        )
        part.forget()
        part.wake()
        flow = self.flow
        flow.messages_in += int(result.last_offset) - int(result.base_offset) + 1
        flow.bytes_in += len(raw)
        await self._durable(result.durable)
        return result

    # -- reading --------------------------------------------------------------------------
    def _check_offset(self, part: Partition, offset: int) -> None:
        start, end = int(part.log.start_offset), int(part.log.end_offset)
        if type(offset) is not int or not start <= offset <= end:
            raise OffsetOutOfRange(self.name, part.index, offset, start, end)

    def read(
        self, partition: int, offset: int, max_records: int = 100, *, include_control: bool = False,
        skip_corrupt: bool = False,
    ) -> list[Record]:
        """Up to `max_records` data records from `offset` (the end offset gives []).

        Records of control batches are skipped (they do not count towards
        `max_records`) unless `include_control` is True (the Redis store's recovery scan
        reads its XDEL/XTRIM/XSETID bookkeeping that way). `skip_corrupt` steps over a
        batch that fails its CRC (logged, counted) instead of raising CorruptSegment."""
        part = self._part(partition)
        self._check_offset(part, offset)
        if max_records < 1:
            raise InvalidValue("max_records", f"max_records must be >= 1, got {max_records}")
        if offset == part.log.end_offset:
            return []
        cached = part.cached(offset, max_records)
        if cached is None:  # the cache never holds control records: append_batch empties it
            cached = list(part.log.read_records(offset, max_records, include_control=include_control,
                                                skip_corrupt=skip_corrupt))
        self.flow.messages_out += len(cached)
        return cached

    def read_batches(self, partition: int, offset: int, max_bytes: int) -> list[bytes]:
        """Whole stored batches from the one containing `offset`, up to about `max_bytes`
        (the first batch is returned even when larger, as Kafka fetch does)."""
        part = self._part(partition)
        self._check_offset(part, offset)
        if offset == part.log.end_offset:
            return []
        batches = list(part.log.read(offset, max_bytes))
        if batches:
            flow = self.flow
            flow.messages_out += parse_header(batches[-1]).next_offset - offset
            flow.bytes_out += sum(map(len, batches))
        return batches

    # -- long poll ----------------------------------------------------------------------
    def _has_data(self, positions: Mapping[int, int]) -> bool:
        for p, pos in positions.items():
            if self._part(p).log.end_offset > pos:
                return True
        return False

    def _available_bytes(self, positions: Mapping[int, int], need: int) -> int:
        total = 0
        for p, pos in positions.items():
            log = self._part(p).log
            pos = max(pos, int(log.start_offset))
            while total < need and log.end_offset > pos:
                batches = log.read(pos, need - total)
                if not batches:
                    break
                total += sum(len(b) for b in batches)
                pos = parse_header(batches[-1]).next_offset
            if total >= need:
                break
        return total

    async def wait_for_data(self, positions: Mapping[int, int], timeout: float) -> bool:
        """Wait until any partition p in `positions` has data at or after `positions[p]`
        (i.e. `latest(p) > positions[p]`) or `timeout` seconds pass. True if data."""
        return await wait_for_streams([(self, positions)], 1, timeout)

    async def wait_for_bytes(
        self, positions: Mapping[int, int], min_bytes: int, timeout: float
    ) -> bool:
        """Like `wait_for_data`, but until at least `min_bytes` of stored batches are
        readable past the positions (Kafka fetch `min_bytes`). True if satisfied."""
        return await wait_for_streams([(self, positions)], min_bytes, timeout)

    # -- administration -------------------------------------------------------------------
    def add_partitions(self, count: int) -> int:
        """Add `count` partitions; returns the new partition count."""
        if type(count) is not int or count < 1:
            raise InvalidValue("partitions", f"must add at least one partition, got {count!r}")
        return self._registry._add_partitions(self, count)

    def set_partitions(self, total: int) -> int:
        """Grow to `total` partitions (Kafka CreatePartitions); shrinking is refused."""
        if type(total) is not int or total <= len(self._partitions):
            raise InvalidValue(
                "partitions",
                f"stream {self.name!r} has {len(self._partitions)} partitions; "
                f"the count can only grow (asked for {total!r})",
                rule="partitions-only-grow",
            )
        return self.add_partitions(total - len(self._partitions))

    def set_config(self, config: StreamConfig | Mapping[str, Any] | None = None, **changes: Any) -> StreamConfig:
        """Change settings (None removes an override); persisted; applied to the logs."""
        return self._registry._set_config(self, config, changes)

    def apply_retention(self, now_ms: int | None = None) -> int:
        """Drop segments past retention (age / bytes) on every partition; returns how
        many partitions changed their start offset."""
        now = self._registry.clock.now_ms() if now_ms is None else now_ms
        changed = 0
        for part in self._partitions:
            before = part.log.start_offset
            part.log.apply_retention(now)
            changed += part.log.start_offset != before
        return changed

    def delete_records(self, partition: int, before_offset: int) -> int:
        """Kafka DeleteRecords: make `before_offset` the new earliest (whole segments go
        at once; the start offset still moves exactly). Returns the new start offset."""
        part = self._part(partition)
        if before_offset == -1:
            before_offset = int(part.log.end_offset)
        self._check_offset(part, before_offset)
        part.log.delete_before(before_offset)
        return int(part.log.start_offset)

    def flush(self) -> None:
        for part in self._partitions:
            part.log.flush()

    def _wake_all(self) -> None:
        for part in self._partitions:
            part.wake()

    def __repr__(self) -> str:
        return f"Stream({self.name!r}, partitions={len(self._partitions)})"


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


async def wait_for_streams(
    watch: Sequence[tuple[Stream, Mapping[int, int]]], min_bytes: int = 1, timeout: float = 0.0
) -> bool:
    """Long-poll over several streams at once (a Kafka fetch spans topics): return True
    as soon as any watched partition has data past its position and, in total over all
    of them, at least `min_bytes` of stored batches are readable; False when `timeout`
    seconds pass first (or every watched stream was deleted). Positions are
    {partition: offset}; an unknown partition raises InvalidValue at once."""
    for stream, positions in watch:
        for p in positions:
            stream._part(p)

    def satisfied() -> bool:
        live = [(s, pos) for s, pos in watch if not s.deleted]
        if not any(s._has_data(pos) for s, pos in live):
            return False
        if min_bytes <= 1:
            return True
        total = 0
        for s, pos in live:
            total += s._available_bytes(pos, min_bytes - total)
            if total >= min_bytes:
                return True
        return False

    if satisfied():
        return True
    if timeout <= 0:
        return False
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        parts = [s._partitions[p] for s, pos in watch if not s.deleted for p in pos]
        if not parts:
            return False
        fut: asyncio.Future[None] = loop.create_future()
        for part in parts:
            part.waiters.add(fut)
        timer = loop.call_at(deadline, _resolve, fut)
        try:
            await fut
        finally:
            timer.cancel()
            for part in parts:
                part.waiters.discard(fut)
            if not fut.done():
                fut.cancel()
        if satisfied():
            return True
        if loop.time() >= deadline:
            return False
