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
(`parse_header`, `validate_batch`, ...) live in batchheader.py and are re-exported here.
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
                _header_bytes(hdr) if hdr else b"\x00",
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


def _varint_slow(buf: bytes, pos: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return (result >> 1) ^ -(result & 1), pos
        shift += 7
        if shift > 63:
            raise InvalidBatch("varint longer than 10 bytes")


def decode_records(h: BatchHeader, body: bytes) -> list[Record]:
    """Decode the (uncompressed) record section of a batch whose header is `h`."""
    out: list[Record] = []
    append = out.append
    base_off = h.base_offset
    base_ts = h.base_timestamp
    log_append = h.attributes & ATTR_TIMESTAMP_TYPE
    max_ts = h.max_timestamp
    slow = _varint_slow
    mk = tuple.__new__
    cls = Record
    pos = 0
    end_all = len(body)
    try:
        for _ in range(h.record_count):
            # Fast paths: lengths and offset deltas are non-negative, so a one-byte
            # varint with the low bit clear is just b >> 1; two-byte ones are inlined.
            b = body[pos]
            if b < 0x80 and not b & 1:
                length = b >> 1
                pos += 1
            else:
                c = body[pos + 1]
                if b >= 0x80 and c < 0x80 and not b & 1:
                    length = ((b & 0x7F) | (c << 7)) >> 1
                    pos += 2
                else:
                    length, pos = slow(body, pos)
            end = pos + length
            if length < 6 or end > end_all:
                raise InvalidBatch(f"record length {length} runs past the batch")
            b = body[pos + 1]  # skips the record attributes byte
            if b < 0x80:
                tsd = (b >> 1) ^ -(b & 1)
                pos += 2
            else:
                tsd, pos = slow(body, pos + 1)
            b = body[pos]
            if b < 0x80 and not b & 1:
                od = b >> 1
                pos += 1
            else:
                od, pos = slow(body, pos)
            b = body[pos]
            if b == 1:
                key: bytes | None = None
                pos += 1
            else:
                if b < 0x80 and not b & 1:
                    kl = b >> 1
                    pos += 1
                else:
                    kl, pos = slow(body, pos)
                    if kl < -1:
                        raise InvalidBatch(f"negative key length {kl}")
                key = body[pos : pos + kl] if kl >= 0 else None
                pos += max(kl, 0)
            b = body[pos]
            if b == 1:
                value: bytes | None = None
                pos += 1
            else:
                if b < 0x80 and not b & 1:
                    vl = b >> 1
                    pos += 1
                else:
                    c = body[pos + 1]
                    if b >= 0x80 and c < 0x80 and not b & 1:
                        vl = ((b & 0x7F) | (c << 7)) >> 1
                        pos += 2
                    else:
                        vl, pos = slow(body, pos)
                        if vl < -1:
                            raise InvalidBatch(f"negative value length {vl}")
                value = body[pos : pos + vl] if vl >= 0 else None
                pos += max(vl, 0)
            b = body[pos]
            if b == 0:
                headers: tuple[tuple[str, bytes | None], ...] = ()
                pos += 1
            else:
                hc, pos = slow(body, pos)
                hl: list[tuple[str, bytes | None]] = []
                for _h in range(hc):
                    hkl, pos = slow(body, pos)
                    hk = body[pos : pos + hkl].decode()
                    pos += hkl
                    hvl, pos = slow(body, pos)
                    if hvl >= 0:
                        hl.append((hk, body[pos : pos + hvl]))
                        pos += hvl
                    else:
                        hl.append((hk, None))
                headers = tuple(hl)
            if pos != end:
                raise InvalidBatch(
                    f"record at offset delta {od} declares {length} bytes but holds {pos - end + length}"
                )
            append(
                mk(
                    cls,
                    (
                        base_off + od,
                        max_ts if log_append else base_ts + tsd,
                        key,
                        value,
                        headers,
                    ),
                )
            )
    except IndexError:
        raise InvalidBatch("record section truncated") from None
    except UnicodeDecodeError:
        raise InvalidBatch("record header key is not UTF-8") from None
    return out


def decode_batch(
    data: bytes | bytearray | memoryview, *, verify_crc: bool = True
) -> tuple[BatchHeader, list[Record]]:
    """Decode one whole batch (the first in `data`) into its header and records.

    Offsets are absolute (baseOffset + delta); timestamps absolute (LogAppendTime
    batches give every record the batch's maxTimestamp, as Kafka does).
    """
    h = validate_batch(data) if verify_crc else parse_header(data)
    end = h.size
    if end > len(data):
        raise InvalidBatch("record batch truncated")
    body = bytes(memoryview(data)[HEADER_SIZE:end])
    codec = h.attributes & ATTR_COMPRESSION_MASK
    if codec:
        body = decompress(codec, body)
    return h, decode_records(h, body)
