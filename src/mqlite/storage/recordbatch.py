"""Kafka RecordBatch v2: the on-disk and on-wire record format (encode, decode, validate).

Owns the byte layout of a batch and the codec for it. Big-endian throughout; the CRC is
CRC-32C (Castagnoli, C-backed `crc32c`) over everything from `attributes` to the end::

    offset  size  field
    ------  ----  ---------------------------------------------------------------
         0     8  baseOffset            int64   (rewritten by the log on append)
         8     4  batchLength           int32   bytes after this field (= size - 12)
        12     4  partitionLeaderEpoch  int32   (rewritten by the log on append)
        16     1  magic                 int8    = 2
        17     4  crc                   uint32  CRC-32C of bytes [21, end)
        21     2  attributes            int16   bits 0-2 compression, 3 timestampType
                                                (1 = LogAppendTime), 4 isTransactional,
                                                5 isControlBatch, 6 hasDeleteHorizonMs
        23     4  lastOffsetDelta       int32
        27     8  baseTimestamp         int64   (ms)
        35     8  maxTimestamp          int64
        43     8  producerId            int64   (-1: none)
        51     2  producerEpoch         int16
        53     4  baseSequence          int32
        57     4  recordCount           int32
        61     .  records               (compressed as one block if bits 0-2 != 0)

    record (all varints zig-zag):
        length varint | attributes int8 (unused, 0) | timestampDelta varlong |
        offsetDelta varint | keyLength varint (-1 = null) | key |
        valueLength varint (-1 = null) | value | headerCount varint |
        ( headerKeyLength varint | headerKey utf-8 | headerValueLength varint | value )*

Invariants: `encode_batch` always produces a batch `validate_batch` accepts;
`decode_batch(encode_batch(rs))` returns rs with offsets and timestamps assigned.
Input records for `encode_batch` may be `RecordIn` (key, value, headers, timestamp),
plain tuples of 2 to 4 of those fields in that order, or `Record`s (offset ignored).
The value types (`Record`, `RecordIn`, `BatchHeader`) and the header-only checks
(`parse_header`, `validate_batch`, ...) live in batchheader.py, the record decoder
(`decode_records`, with its uniform-run fast path) in recorddecode.py; all are
re-exported here.
Pure functions over bytes; thread-safe.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from crc32c import crc32c

from mqlite.storage.batchheader import (
    ATTR_COMPRESSION_MASK,
    ATTR_CONTROL,
    ATTR_TIMESTAMP_TYPE,
    ATTR_TRANSACTIONAL,
    BODY_STRUCT,
    CRC_START,
    HEADER_SIZE,
    LOG_OVERHEAD,
    MAGIC,
    PREFIX_STRUCT,
    BatchHeader,
    Record,
    RecordIn,
    TimestampType,
    iter_batches,
    parse_header,
    rewrite_base_offset,
    validate_batch,
)
from mqlite.storage.compression import Compression, compress, decompress
from mqlite.storage.errors import InvalidBatch
from mqlite.storage.recorddecode import decode_records
from mqlite.storage.varint import MINUS_ONE, TABLE, TABLE_SIZE, encode_varint

__all__ = [
    "CRC_START",
    "HEADER_SIZE",
    "LOG_OVERHEAD",
    "MAGIC",
    "BatchHeader",
    "Compression",
    "Record",
    "RecordIn",
    "TimestampType",
    "decode_batch",
    "decode_records",
    "encode_batch",
    "encode_headers",
    "iter_batches",
    "parse_header",
    "rewrite_base_offset",
    "validate_batch",
]


# ---------------------------------------------------------------------------- encode


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _header_bytes(hdr: Any) -> bytes:
    """Encode a record's header array (count + entries)."""
    n = len(hdr)
    out = [TABLE[n] if n < TABLE_SIZE else encode_varint(n)]
    for k, v in hdr:
        kb = k.encode() if isinstance(k, str) else bytes(k)
        out.append(encode_varint(len(kb)))
        out.append(kb)
        if v is None:
            out.append(MINUS_ONE)
        else:
            out.append(encode_varint(len(v)))
            out.append(v)
    return b"".join(out)


def encode_headers(hdr: Any) -> bytes:
    """A record's header array as stored (count + entries), for callers that encode the
    same headers often (the Redis XADD journal)."""
    return _header_bytes(hdr)


def encode_batch(
    records: Iterable[Any],
    base_offset: int = 0,
    base_timestamp: int | None = None,
    producer_id: int = -1,
    producer_epoch: int = -1,
    base_sequence: int = -1,
    compression: Compression | int = Compression.NONE,
    *,
    partition_leader_epoch: int = -1,
    is_transactional: bool = False,
    is_control: bool = False,
    timestamp_type: int = TimestampType.CREATE_TIME,
    now_ms: int | None = None,
) -> bytes:
    """Encode records into one RecordBatch v2.

    `records`: `RecordIn`, tuples `(key, value[, headers[, timestamp]])`, or `Record`s.
    A tuple's headers may also be given already encoded (`encode_headers`: bytes).
    A record timestamp of None becomes `now_ms` (default: wall clock). `base_timestamp`
    defaults to the first record's timestamp. Raises `InvalidBatch` for no records.
    """
    table = TABLE
    tsize = TABLE_SIZE
    enc = encode_varint
    minus_one = MINUS_ONE
    out: list[bytes] = []
    append = out.append
    join = b"".join
    now = now_ms
    base_ts = base_timestamp
    max_ts = -1
    od = 0
    for r in records:
        if type(r) is Record:
            key = r.key
            value = r.value
            hdr = r.headers
            ts = r.timestamp
        else:
            n = len(r)
            if n == 4:
                key, value, hdr, ts = r
            elif n == 2:
                key, value = r
                hdr = ()
                ts = None
            elif n == 3:
                key, value, hdr = r
                ts = None
            else:
                raise InvalidBatch(f"record input must have 2 to 4 fields, got {n}")
        if ts is None:
            if now is None:
                now = _now_ms()
            ts = now
        if base_ts is None:
            base_ts = ts
        if ts > max_ts:  # noqa: PLR1730 - max() is a call; this is the hot loop
            max_ts = ts
        d = ts - base_ts
        if key is None:
            kv = minus_one
            key = b""
        else:
            kl = len(key)
            kv = table[kl] if kl < tsize else enc(kl)
        if value is None:
            vv = minus_one
            value = b""
        else:
            vl = len(value)
            vv = table[vl] if vl < tsize else enc(vl)
        rec = join(
            (
                b"\x00",
                table[d] if 0 <= d < tsize else enc(d),
                table[od] if od < tsize else enc(od),
                kv,
                key,
                vv,
                value,
                (hdr if type(hdr) is bytes else _header_bytes(hdr)) if hdr else b"\x00",
            )
        )
        size = len(rec)
        append(table[size] if size < tsize else enc(size))
        append(rec)
        od += 1
    if od == 0:
        raise InvalidBatch("a record batch needs at least one record")
    body = b"".join(out)
    codec = int(compression)
    if codec:
        body = compress(Compression(codec), body)
    attributes = codec
    if timestamp_type == TimestampType.LOG_APPEND_TIME:
        attributes |= ATTR_TIMESTAMP_TYPE
    if is_transactional:
        attributes |= ATTR_TRANSACTIONAL
    if is_control:
        attributes |= ATTR_CONTROL
    assert base_ts is not None
    tail = BODY_STRUCT.pack(
        attributes,
        od - 1,
        base_ts,
        max_ts,
        producer_id,
        producer_epoch,
        base_sequence,
        od,
    )
    crc = crc32c(body, crc32c(tail))
    return b"".join(
        (
            PREFIX_STRUCT.pack(
                base_offset,
                HEADER_SIZE - LOG_OVERHEAD + len(body),
                partition_leader_epoch,
            ),
            b"\x02",
            crc.to_bytes(4, "big"),
            tail,
            body,
        )
    )


# ---------------------------------------------------------------------------- decode


def decode_batch(
    data: bytes | bytearray | memoryview, *, verify_crc: bool = True
) -> tuple[BatchHeader, list[Record]]:
    """Decode one whole batch (the first in `data`) into its header and records.

    Offsets are absolute (baseOffset + delta); timestamps absolute (LogAppendTime
    batches give every record the batch's maxTimestamp, as Kafka does).
    """
    return decode_batch_from(data, None, None, verify_crc=verify_crc)


def decode_batch_from(
    data: bytes | bytearray | memoryview,
    first_offset: int | None,
    max_records: int | None,
    *,
    verify_crc: bool = True,
) -> tuple[BatchHeader, list[Record]]:
    """`decode_batch` keeping only records with offset >= `first_offset`, at most
    `max_records` (None: no bound); records outside are not built (storage-internal,
    for `Log.read_records`)."""
    h = validate_batch(data) if verify_crc else parse_header(data)
    end = h.size
    if end > len(data):
        raise InvalidBatch("record batch truncated")
    body = bytes(memoryview(data)[HEADER_SIZE:end])
    codec = h.attributes & ATTR_COMPRESSION_MASK
    if codec:
        body = decompress(codec, body)
    return h, decode_records(h, body, first_offset, max_records)
