"""PutRecord, PutRecords, GetRecords.

Writes: a record goes to the open shard whose hash-key range holds MD5(PartitionKey)
(or ExplicitHashKey), as Kinesis routes; it is stored as a storage record with key =
the partition key's UTF-8 bytes and value = Data, so Kafka consumers see (key, value)
and Kafka-produced records read back with PartitionKey = their key. Limits (Kinesis
docs): Data <= the stream's MaxRecordSizeInKiB (default 1 MiB, see `capacity.py`), PartitionKey 1-256 characters, ExplicitHashKey in [0, 2^128-1],
PutRecords 1-500 records and <= 5 MiB in total (data + keys; more when the stream's
record limit is larger). A bad record fails the
whole request before anything is written (nothing half-written); no throttling, so
PutRecords has no per-record failures today (FailedRecordCount 0).
SequenceNumberForOrdering is accepted: sequence numbers are already strictly increasing
per shard.
Reads: GetRecords returns up to Limit (1-10000, default 10000) records and at most
10 MiB from the iterator's position (clamped to the trim horizon), the next iterator
(absent once a closed shard is read to its end, with ChildShards instead), and
MillisBehindLatest (0 when caught up, else the age of the last record returned).
Concurrency: the server's event loop; appends await durability per the fsync policy.
"""

from __future__ import annotations

import asyncio
from binascii import b2a_base64
from typing import Any

from mqlite.core.api import BrokerCore
from mqlite.core.naming import namespace_body
from mqlite.protocols.aws.frontend import AwsContext
from mqlite.protocols.aws.kinesis import errors
from mqlite.protocols.aws.kinesis.capacity import max_record_bytes, max_request_bytes
from mqlite.protocols.aws.kinesis.iterators import (
    Position,
    check_fresh,
    decode_iterator,
    encode_iterator,
)
from mqlite.protocols.aws.kinesis.sequence import (
    MAX_HASH_KEY,
    encode_seq,
    hash_key,
    seq_base,
    shard_id,
)
from mqlite.protocols.aws.kinesis.shards import child_shards_shape
from mqlite.protocols.aws.kinesis.state import KinesisState, StreamMeta

MAX_BATCH = 500
MAX_GET_BYTES = 10 * 1024 * 1024


class RecordActions:
    def __init__(self, core: BrokerCore, state: KinesisState) -> None:
        self.core = core
        self.state = state

    def _route(self, meta: StreamMeta, key: str, explicit: str | None, index: int | None = None) -> int:
        where = "partitionKey" if index is None else f"records.{index + 1}.member.partitionKey"
        if not 1 <= len(key) <= 256:
            raise errors.validation(key, where, "Member must have length less than or equal to 256"
                                    if key else "Member must have length greater than or equal to 1")
        if explicit is not None:
            if not explicit.isdigit() or int(explicit) > MAX_HASH_KEY:
                raise errors.invalid_argument(
                    f"Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. "
                    f"Specified value was {explicit}")
            h = int(explicit)
        else:
            h = hash_key(key)
        p = meta.map.route(h)
        if p is None:  # no open shard covers h (cannot happen for a Kinesis-made stream)
            raise errors.invalid_argument(f"No open shard of stream {meta.aws_name} covers hash key {h}.")
        return p

    def _check_data(self, data: bytes, limit: int, index: int | None = None) -> None:
        """Data over the limit gets the model's text, with the value as Kinesis's Java
        front end prints a blob (the limit is the data blob's: PutRecord's reference)."""
        if len(data) > limit:
            where = "data" if index is None else f"records.{index + 1}.member.data"
            raise errors.validation(f"java.nio.HeapByteBuffer[pos=0 lim={len(data)} cap={len(data)}]",
                                    where, f"Member must have length less than or equal to {limit}")

    async def put_record(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """PutRecord: PartitionKey (or ExplicitHashKey) -> shard; returns ShardId and
        SequenceNumber."""
        name = self.state.name_of(p)
        meta = self.state.meta(name)
        data = p["Data"]
        key = p["PartitionKey"]
        self._check_data(data, max_record_bytes(meta))
        part = self._route(meta, key, p.get("ExplicitHashKey"))
        stream = self.core.get_stream(name)
        _, off = await stream.append(data, key=key.encode(), partition=part)
        return {"ShardId": shard_id(part), "SequenceNumber": encode_seq(part, off),
                "EncryptionType": meta.data.get("encryption", "NONE")}

    async def put_records(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """PutRecords: 1-500 records, <= 5 MiB; results in request order."""
        name = self.state.name_of(p)
        entries = p["Records"]
        if not entries:
            raise errors.validation("[]", "records", "Member must have length greater than or equal to 1")
        if len(entries) > MAX_BATCH:
            raise errors.validation(None, "records", "Member must have length less than or equal to 500")
        meta = self.state.meta(name)
        total = 0
        by_part: dict[int, list[tuple[bytes, bytes]]] = {}
        order: list[tuple[int, int]] = []
        route = meta.map.route
        max_record = max_record_bytes(meta)
        for i, e in enumerate(entries):
            data = e["Data"]
            key = e["PartitionKey"]
            total += len(data) + len(key)
            if len(data) > max_record:
                self._check_data(data, max_record, i)
            explicit = e.get("ExplicitHashKey")
            if explicit is None and 1 <= len(key) <= 256:
                part = route(hash_key(key))
                if part is None:
                    part = self._route(meta, key, None, i)
            else:
                part = self._route(meta, key, explicit, i)
            bucket = by_part.get(part)
            if bucket is None:
                bucket = by_part[part] = []
            order.append((part, len(bucket)))
            bucket.append((data, key.encode()))
        max_request = max_request_bytes(meta)
        if total > max_request:
            raise errors.invalid_argument(f"Records size exceeds {max_request // (1024 * 1024)} MB limit")
        stream = self.core.get_stream(name)
        parts = list(by_part)
        results = await asyncio.gather(*(stream.append_many(by_part[q], partition=q) for q in parts))
        bases = {q: seq_base(q) + res[0][1] + 1 for q, res in zip(parts, results, strict=True)}
        ids = {q: shard_id(q) for q in parts}
        out = [{"SequenceNumber": str(bases[q] + i), "ShardId": ids[q]} for q, i in order]
        return {"FailedRecordCount": 0, "Records": out,
                "EncryptionType": meta.data.get("encryption", "NONE")}

    async def get_records(self, ctx: AwsContext, p: dict[str, Any], native: bool = False) -> dict[str, Any]:
        """GetRecords: Limit, NextShardIterator, MillisBehindLatest, ChildShards.

        The result is already in JSON wire form (Data base64, timestamps epoch seconds):
        the service renders GetRecords' output with `orjson` directly (see __init__);
        `native` leaves Data as bytes (for the CBOR protocol, rendered by the shape)."""
        pos = decode_iterator(p["ShardIterator"])
        now = self.core.clock.now_ms()
        check_fresh(pos, now, self.state.iterator_ttl_ms)
        limit = p.get("Limit", 10000)
        if not 1 <= limit <= 10000:
            raise errors.validation(limit, "limit", "Member must have value less than or equal to 10000"
                                    if limit > 0 else "Member must have value greater than or equal to 1")
        meta = self.state.meta(pos.stream)
        if meta.data["id"][:16] != pos.stream_id:
            raise errors.stream_not_found(pos.stream, self.state.account)
        info = meta.shard(pos.partition)
        if info is None:
            raise errors.not_found(f"Shard {shard_id(pos.partition)} in stream {namespace_body(pos.stream)} under "
                                   f"account {self.state.account} does not exist")
        stream = self.core.get_stream(pos.stream)
        q = pos.partition
        latest = stream.latest(q)
        end = latest if info.closed_at is None else min(info.closed_at, latest)
        off = max(pos.offset, stream.earliest(q))
        off = min(off, latest)
        records: list[dict[str, Any]] = []
        last_ts = None
        if off < end:
            got = stream.read(q, off, min(limit, end - off))
            size = 0
            base = seq_base(q) + 1
            fallback_key = str(q)
            append = records.append
            b64 = b2a_base64
            raw = native
            last_off = None
            # Records are (offset, timestamp, key, value, headers) tuples: unpacking them
            # is ~15% cheaper than attribute access in this per-record loop.
            for offset, ts, key, value, _headers in got:
                if offset >= end:
                    break
                if value is None:
                    value = b""
                size += len(value)
                if size > MAX_GET_BYTES and records:
                    break
                append({
                    "SequenceNumber": str(base + offset),
                    "ApproximateArrivalTimestamp": ts / 1000,
                    "Data": value if raw else b64(value, newline=False).decode(),
                    "PartitionKey": key.decode("utf-8", "replace") if key is not None else fallback_key,
                })
                last_ts = ts
                last_off = offset
            if last_off is not None:
                off = last_off + 1
        out: dict[str, Any] = {"Records": records}
        if info.closed_at is not None and off >= end:
            out["ChildShards"] = child_shards_shape(meta.shards, q)
            out["MillisBehindLatest"] = 0
            return out
        out["NextShardIterator"] = encode_iterator(Position(pos.stream, q, off, now, pos.stream_id))
        out["MillisBehindLatest"] = 0 if off >= latest or last_ts is None else max(0, now - last_ts)
        return out
