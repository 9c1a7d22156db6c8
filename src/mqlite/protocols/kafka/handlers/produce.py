"""Produce: append each partition's RecordBatch v2 bytes, as sent, to the topic's log.

Rules (Kafka protocol guide, `ReplicaManager.appendRecords`, KIP-98):
- acks must be 0, 1 or -1 (INVALID_REQUIRED_ACKS); acks=0 gets no response at all;
  with one broker, acks=1 and acks=-1 both answer once the append is done (durable per
  the broker's fsync policy);
- v3+ carries exactly one RecordBatch v2 per partition (more is INVALID_RECORD); a
  truncated or malformed batch or a CRC mismatch is CORRUPT_MESSAGE (storage
  validates, never re-encodes);
- a batch over the topic's `max.message.bytes` is MESSAGE_TOO_LARGE (the log's
  `max_batch_bytes`, which core sets from the topic config, refuses it);
- a topic that does not exist (Produce never auto-creates) or a partition out of range
  is UNKNOWN_TOPIC_OR_PARTITION;
- an internal stream (`core.naming.is_internal_stream`) does not exist for Kafka clients
  (core hides it): UNKNOWN_TOPIC_OR_PARTITION;
- idempotent batches (producer id >= 0) pass the sequence checks of `producer_ids`;
- transactional batches must come from the producer's current epoch
  (INVALID_PRODUCER_EPOCH: a fenced zombie) for a partition of its ongoing transaction
  (INVALID_TXN_STATE), as core's transaction coordinator checks (KIP-98, KIP-890);
- a zstd batch needs Produce v7+ (UNSUPPORTED_COMPRESSION_TYPE, KIP-110);
- storage checks the records against the header as Kafka's LogValidator does
  (`storage/batchcheck.py`): INVALID_RECORD (base offset, counts, control batches,
  malformed records), INVALID_TIMESTAMP (with RecordErrors, v8+), and a wrong
  maxTimestamp is corrected before the batch is stored.
Concurrency: the server's event loop; awaits each append's durability.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mqlite.core import alarms
from mqlite.core.api import BrokerCore, Stream
from mqlite.core.api import TransactionError
from mqlite.errors import MqliteError
from mqlite.protocols.kafka.codec import Request
from mqlite.protocols.kafka.errors import ErrorCode, code_for
from mqlite.protocols.kafka.handlers import producer_ids
from mqlite.protocols.kafka.handlers.topics import DENIED, topic_for
from mqlite.protocols.kafka.handlers.transactions import CODES
from mqlite.storage.errors import InvalidBatch
from mqlite.storage.recordbatch import parse_header

if TYPE_CHECKING:  # pragma: no cover
    from mqlite.protocols.kafka.frontend import KafkaFrontEnd, Session


def _result(index: int, code: int, base_offset: int = -1, log_start: int = -1,
            message: str | None = None, record_errors: Any = (), append_time: int = -1) -> dict[str, Any]:
    return {
        "Index": index,
        "ErrorCode": code,
        "BaseOffset": base_offset,
        "LogAppendTimeMs": append_time,
        "LogStartOffset": log_start,
        "RecordErrors": [{"BatchIndex": i, "BatchIndexErrorMessage": m} for i, m in record_errors],
        "ErrorMessage": message,
    }


ZSTD = 4
ZSTD_MIN_PRODUCE_VERSION = 7  # KIP-110: zstd batches need Produce v7+


async def _append(core: BrokerCore, stream: Stream, index: int, records: bytes | None, version: int = 7) -> dict[str, Any]:
    if not 0 <= index < stream.partition_count:
        return _result(index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    if not records:
        return _result(index, ErrorCode.CORRUPT_MESSAGE, message="no record batch")
    try:
        header = parse_header(records)
    except InvalidBatch as exc:
        return _result(index, ErrorCode.CORRUPT_MESSAGE, message=exc.message)
    if header.size < len(records):
        return _result(index, ErrorCode.INVALID_RECORD,
                       message="Produce requests with version 3 are only allowed to contain exactly one record batch")
    if header.size > len(records):
        return _result(index, ErrorCode.CORRUPT_MESSAGE, message="record batch truncated")
    if header.compression == ZSTD and version < ZSTD_MIN_PRODUCE_VERSION:
        return _result(index, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
                       message="Produce requests with ZStandard compression need version 7 or later")
    pid = header.producer_id
    if header.is_transactional:
        try:
            core.transactions.check_append(pid, header.producer_epoch, stream, index)
        except TransactionError as exc:
            return _result(index, CODES[exc.reason], message=exc.message)
    if pid >= 0 and header.base_sequence >= 0:
        first, last = header.base_sequence, header.last_sequence
        state = stream.producer_state(index, pid)
        code, duplicate = producer_ids.check(state, header.producer_epoch, first, last)
        if code:
            return _result(index, code)
        if duplicate is not None:
            return _result(index, ErrorCode.NONE, duplicate, stream.earliest(index))
    if header.is_transactional:
        try:  # no await between this check and the append: it notes the offset the batch gets
            core.transactions.begin_append(pid, header.producer_epoch, stream, index)
        except TransactionError as exc:
            return _result(index, CODES[exc.reason], message=exc.message)
    try:
        result = await stream.append_batch(index, records, client=True)
    except Exception as exc:
        reason = alarms.note_failure(core, exc)
        if reason is not None:  # disk full or I/O error: Kafka's answer for an offline log dir
            return _result(index, ErrorCode.KAFKA_STORAGE_ERROR, message=reason)
        if isinstance(exc, MqliteError):
            return _result(index, code_for(exc), message=exc.message,
                           record_errors=getattr(exc, "record_errors", ()))
        raise
    # LogAppendTime topics tell the producer the time they stamped (Kafka: -1 otherwise)
    append_time = int(result.max_timestamp) if stream.effective_config.timestamp_type else -1
    return _result(index, ErrorCode.NONE, int(result.base_offset), stream.earliest(index),
                   append_time=append_time)


async def produce(fe: KafkaFrontEnd, session: Session, req: Request) -> dict[str, Any] | None:
    """Produce: append record batches; acks=0 sends no response."""
    body = req.body
    acks = body["Acks"]
    responses = []
    for topic in body["TopicData"]:
        name = topic["Name"]
        parts = []
        stream = topic_for(fe, session, name, "write")
        for pdata in topic["PartitionData"]:
            index = pdata["Index"]
            if acks not in (0, 1, -1):
                parts.append(_result(index, ErrorCode.INVALID_REQUIRED_ACKS))
            elif stream is DENIED:
                parts.append(_result(index, ErrorCode.TOPIC_AUTHORIZATION_FAILED))
            elif stream is None:
                parts.append(_result(index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION))
            else:
                parts.append(await _append(fe.core, stream, index, pdata["Records"], req.api_version))
        responses.append({"Name": name, "PartitionResponses": parts})
    if acks == 0:
        return None
    return {"Responses": responses, "ThrottleTimeMs": 0}


APIS = {0: (3, 8, produce)}
