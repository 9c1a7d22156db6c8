"""Checking a batch's header against its records before it is appended (Kafka's LogValidator).

A producer's header fields are claims; a broker that trusts them stores wrong facts
(kafkajs wrote maxTimestamp from only the records that carried an explicit timestamp,
so a batch of fresh records plus one ten days old was stored as "ten days old" and
time-based retention deleted the fresh ones). `check_batch` does what Apache Kafka's
`UnifiedLog.analyzeAndValidateRecords` + `LogValidator` do for a v2 batch:

- client batches only: baseOffset must be 0; lastOffsetDelta + 1 must equal
  recordCount (> 0); no control batches; a producer id needs a base sequence >= 0
  (all INVALID_RECORD, Kafka's texts);
- every record is parsed (decompressed first): the record section must hold exactly
  recordCount well-formed records with offset deltas 0..n-1 (INVALID_RECORD);
- CreateTime topics: each record timestamp other than -1 must lie within
  [now - timestamp_before_max_ms, now + timestamp_after_max_ms] (INVALID_TIMESTAMP,
  with the failing record indexes); a LogAppendTime batch where the record timestamp
  is -1 or the topic is LogAppendTime is INVALID_TIMESTAMP ("Producer should not set
  timestamp type to LogAppendTime");
- maxTimestamp is recomputed from the records (LogAppendTime topics: now) and the
  timestamp-type bit set to the topic's; when either differs from the header, both are
  rewritten and the CRC recomputed (`DefaultRecordBatch.setMaxTimestamp`). A batch that
  is already right is returned unchanged: stored byte for byte.

The batch CRC is checked earlier (`batchheader.validate_batch`, CORRUPT_MESSAGE).
Producer epoch and sequence continuity are the front-end's (Kafka's ProducerStateManager
runs in the produce path, `protocols/kafka/handlers/producer_ids.py`). Pure functions;
thread-safe.
"""

from __future__ import annotations

import dataclasses
import struct

from crc32c import crc32c

from mqlite.storage.batchheader import (
    ATTR_COMPRESSION_MASK,
    ATTR_TIMESTAMP_TYPE,
    CRC_START,
    HEADER_SIZE,
    BatchHeader,
    TimestampType,
)
from mqlite.storage.compression import decompress
from mqlite.storage.errors import InvalidBatch, InvalidRecord, InvalidTimestamp
from mqlite.storage.recorddecode import decode_records

__all__ = ["check_batch"]

NO_TIMESTAMP = -1
#: attributes bits a v2 batch defines (compression, timestamp type, transactional,
#: control, delete horizon); Kafka's computeAttributes drops the rest when it rewrites
_KNOWN_ATTRS = 0x7F
_ATTR_MAXTS = struct.Struct(">h")
_MAXTS = struct.Struct(">q")
ATTRIBUTES_AT = 21
MAX_TIMESTAMP_AT = 35


def _check_client_header(h: BatchHeader, where: str) -> None:
    last = h.base_offset + h.last_offset_delta
    if h.base_offset != 0:
        raise InvalidRecord(
            f"The baseOffset of the record batch in the append to {where} should be 0, "
            f"but it is {h.base_offset}"
        )
    if h.last_offset_delta < 0:
        raise InvalidRecord(
            f"Batch has an invalid offset range: [{h.base_offset}, {last}] in partition {where}"
        )
    if h.record_count <= 0:
        raise InvalidRecord(
            f"Invalid reported count for record batch: {h.record_count} in partition {where}"
        )
    if h.last_offset_delta + 1 != h.record_count:
        raise InvalidRecord(
            f"Inconsistent batch offset range [{h.base_offset}, {last}] and count of "
            f"records {h.record_count} in partition {where}"
        )
    if h.is_control:
        raise InvalidRecord(
            f"Clients are not allowed to write control records in partition {where}"
        )
    if h.producer_id >= 0 and h.base_sequence < 0:
        raise InvalidRecord(
            f"Invalid sequence number {h.base_sequence} in record batch with producerId "
            f"{h.producer_id} in partition {where}"
        )


def check_batch(
    h: BatchHeader,
    raw: memoryview | bytes,
    *,
    now_ms: int,
    timestamp_type: int = TimestampType.CREATE_TIME,
    before_max_ms: int | None = None,
    after_max_ms: int | None = None,
    client: bool = True,
    where: str = "partition",
) -> tuple[BatchHeader, memoryview | bytes]:
    """Check one CRC-valid batch (`h` its parsed header) and return it with its header
    made true: `raw` itself when nothing needed rewriting, else new bytes (attributes,
    maxTimestamp and CRC rewritten). Raises `InvalidRecord` / `InvalidTimestamp`."""
    if client:
        _check_client_header(h, where)
    body = bytes(raw[HEADER_SIZE : h.size])
    codec = h.attributes & ATTR_COMPRESSION_MASK
    if codec:
        try:
            body = decompress(codec, body)
        except InvalidBatch:
            raise
        except Exception as exc:  # a codec library's own error on garbage input
            raise InvalidRecord(f"cannot decompress record batch: {exc}") from None
    try:  # every record parsed: framing, key, value, headers, and nothing after them
        records = decode_records(dataclasses.replace(h, base_offset=0), body, exact=True)
    except InvalidRecord:
        raise
    except InvalidBatch as exc:
        raise InvalidRecord(exc.message) from None
    if len(records) != h.record_count:
        raise InvalidRecord("Incorrect declared batch size, premature EOF reached")
    offsets = [r[0] for r in records]
    if offsets != list(range(len(records))):
        i = next(i for i, o in enumerate(offsets) if o != i)
        raise InvalidRecord(
            f"Record at index {i} has offset delta {offsets[i]}, expected {i}",
            ((i, "offset delta out of order"),),
        )
    # a LogAppendTime batch decodes every record as its maxTimestamp, as Kafka reads it
    log_append_batch = bool(h.attributes & ATTR_TIMESTAMP_TYPE)
    stamps = [r[1] for r in records]
    errors: list[tuple[int, str]] = []
    bounded = before_max_ms is not None or after_max_ms is not None
    if bounded or log_append_batch:  # else no record can fail: skip the per-record loop
        low = -(2**63) if before_max_ms is None else now_ms - before_max_ms
        high = 2**63 if after_max_ms is None else now_ms + after_max_ms
        for i, ts in enumerate(stamps):
            if timestamp_type == TimestampType.CREATE_TIME and ts != NO_TIMESTAMP:
                if ts < low or ts > high:
                    errors.append((i, (
                        f"Timestamp {ts} of message with offset {i} is out of range. The "
                        f"timestamp should be within [{low}, {high}]"
                    )))
            elif log_append_batch:
                errors.append((i, (
                    f"Invalid timestamp type in message at offset {i}. Producer should "
                    "not set timestamp type to LogAppendTime."
                )))
    if errors:
        raise InvalidTimestamp(
            "One or more records have been rejected due to invalid timestamp",
            tuple(errors),
        )
    if timestamp_type == TimestampType.LOG_APPEND_TIME:
        attributes = (h.attributes & _KNOWN_ATTRS) | ATTR_TIMESTAMP_TYPE
        max_ts = now_ms
    else:
        attributes = h.attributes & _KNOWN_ATTRS & ~ATTR_TIMESTAMP_TYPE
        max_ts = max(stamps, default=NO_TIMESTAMP)
    if attributes == h.attributes and max_ts == h.max_timestamp:
        return h, raw
    out = bytearray(raw[: h.size])
    _ATTR_MAXTS.pack_into(out, ATTRIBUTES_AT, attributes)
    _MAXTS.pack_into(out, MAX_TIMESTAMP_AT, max_ts)
    crc = crc32c(memoryview(out)[CRC_START:])
    out[17:21] = crc.to_bytes(4, "big")
    return (
        dataclasses.replace(h, attributes=attributes, max_timestamp=max_ts, crc=crc),
        bytes(out),
    )
