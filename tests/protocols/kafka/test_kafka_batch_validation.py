# ruff: noqa: F401, F811, I001  (fixtures imported from kafka_support, which must come before kafka)
"""A producer's batch header is checked against its records, as Kafka's LogValidator does.

Rules checked (Apache Kafka `UnifiedLog.analyzeAndValidateRecords`, `LogValidator`):
maxTimestamp is recomputed from the records and a wrong header is rewritten (with its
CRC) before the batch is stored; a right one is stored byte for byte; a client's base
offset must be 0, lastOffsetDelta + 1 must equal recordCount, control batches and a
producer id without a sequence are INVALID_RECORD; record timestamps outside
`message.timestamp.before.max.ms` / `after.max.ms` are INVALID_TIMESTAMP;
`message.timestamp.type=LogAppendTime` stamps the batch with the broker's time.
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from crc32c import crc32c
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import NewTopic
from kafka.record.default_records import DefaultRecordBatchBuilder

from mqlite.protocols.kafka.errors import ErrorCode
from mqlite.storage.recordbatch import decode_batch, encode_batch

from kafka_raw import RawClient
from kafka_support import bootstrap, kafka, kafka_factory

PRODUCE = 0
DAY_MS = 24 * 3600 * 1000
NODE_DIR = Path(__file__).parent / "node"
HAVE_KAFKAJS = shutil.which("node") is not None and (NODE_DIR / "node_modules" / "kafkajs").is_dir()


def _produce(server: Any, topic: str, batch: bytes, version: int = 7) -> dict[str, Any]:
    c = RawClient("127.0.0.1", server.kafka_port)
    try:
        resp = c.request(PRODUCE, version, {
            "TransactionalId": None, "Acks": -1, "TimeoutMs": 5000,
            "TopicData": [{"Name": topic, "PartitionData": [{"Index": 0, "Records": batch}]}]})
    finally:
        c.close()
    return resp["Responses"][0]["PartitionResponses"][0]


def _create(bootstrap: str, topic: str, **configs: str) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(topic, 1, 1, topic_configs=configs)])
    finally:
        admin.close()


def _stored(server: Any, topic: str) -> list[bytes]:
    stream = server.core.get_stream(topic)
    return server.call(lambda: stream.read_batches(0, 0, 1 << 20))


def _kafka_python_batch(stamps: list[int]) -> bytes:
    builder = DefaultRecordBatchBuilder(2, 0, False, -1, -1, -1, 1 << 20)
    for i, ts in enumerate(stamps):
        builder.append(i, ts, None, f"v{i}".encode(), [])
    return bytes(builder.build())


def _with_crc(raw: bytearray) -> bytes:
    raw[17:21] = crc32c(bytes(raw[21:])).to_bytes(4, "big")
    return bytes(raw)


@pytest.mark.skipif(not HAVE_KAFKAJS, reason="kafkajs not installed (scripts/install-test-deps.sh)")
def test_kafkajs_batch_with_one_old_record_keeps_its_fresh_records(kafka: Any, bootstrap: str) -> None:
    """kafkajs writes maxTimestamp from only the records with an explicit timestamp; the
    broker recomputes it, so ListOffsets by time finds the fresh records and time-based
    retention (retention.ms = 5 days) keeps the segment that holds them."""
    _create(bootstrap, "mixed", **{"retention.ms": str(5 * DAY_MS)})
    now = int(time.time() * 1000)
    old = now - 10 * DAY_MS
    messages = [{"value": "fresh-1"}, {"value": "fresh-2"}, {"value": "old", "timestamp": str(old)}]
    out = subprocess.run(["node", str(NODE_DIR / "produce.js"), f"127.0.0.1:{kafka.kafka_port}", "mixed",
                          json.dumps(messages)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)[0]["errorCode"] == 0
    [raw] = _stored(kafka, "mixed")
    header, records = decode_batch(raw)
    assert [r.value for r in records] == [b"fresh-1", b"fresh-2", b"old"]
    assert header.max_timestamp == max(r.timestamp for r in records) >= now
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        tp = TopicPartition("mixed", 0)
        found = consumer.offsets_for_times({tp: now - 3600_000})[tp]
        assert found is not None and found.offset == 0
    finally:
        consumer.close()
    stream = kafka.core.get_stream("mixed")
    kafka.call(stream.apply_retention)
    assert (stream.earliest(0), stream.latest(0)) == (0, 3)


def test_wrong_max_timestamp_is_rewritten_with_a_valid_crc(kafka: Any, bootstrap: str) -> None:
    """A kafka-python batch whose header claims an old maxTimestamp: stored with the
    records' real maximum and a CRC that verifies; everything else byte for byte."""
    _create(bootstrap, "fixme")
    now = int(time.time() * 1000)
    sent = bytearray(_kafka_python_batch([now - 5, now, now - 10 * DAY_MS]))
    struct.pack_into(">q", sent, 35, now - 10 * DAY_MS)
    sent = bytearray(_with_crc(sent))
    assert _produce(kafka, "fixme", bytes(sent))["ErrorCode"] == 0
    [raw] = _stored(kafka, "fixme")
    header, _ = decode_batch(raw)  # verifies the CRC
    assert header.max_timestamp == now
    assert raw[:35] == bytes(sent[:17]) + raw[17:21] + bytes(sent[21:35])
    assert raw[43:] == bytes(sent[43:])


def test_right_batch_is_stored_byte_for_byte(kafka: Any, bootstrap: str) -> None:
    _create(bootstrap, "exact")
    now = int(time.time() * 1000)
    sent = _kafka_python_batch([now - 3, now - 1, now - 2])
    assert _produce(kafka, "exact", sent)["ErrorCode"] == 0
    [raw] = _stored(kafka, "exact")
    assert raw[16:] == sent[16:]


@pytest.mark.parametrize("case", ["base_offset", "count", "control", "sequence", "trailing", "offset_delta"])
def test_inconsistent_headers_are_invalid_record_and_nothing_is_stored(kafka: Any, bootstrap: str, case: str) -> None:
    """Kafka's LogValidator rejects these client batches with INVALID_RECORD."""
    _create(bootstrap, "strict")
    if case == "base_offset":
        batch = bytearray(encode_batch([(b"k", b"v")], base_offset=7))
    elif case == "count":  # recordCount 2 with lastOffsetDelta 0
        batch = bytearray(encode_batch([(b"k", b"v")]))
        struct.pack_into(">i", batch, 57, 2)
    elif case == "control":
        batch = bytearray(encode_batch([(b"k", b"v")], is_control=True))
    elif case == "sequence":  # a producer id without a base sequence
        batch = bytearray(encode_batch([(b"k", b"v")], producer_id=5, producer_epoch=0, base_sequence=-1))
    elif case == "trailing":  # a record section longer than its records
        batch = bytearray(encode_batch([(b"k", b"v")]) + b"\x00\x00")
        struct.pack_into(">i", batch, 8, len(batch) - 12)
    else:  # two records both at offset delta 0
        one = encode_batch([(b"k", b"v")])
        record = one[61:]
        batch = bytearray(one[:61] + record + record)
        struct.pack_into(">i", batch, 8, len(batch) - 12)
        struct.pack_into(">i", batch, 23, 1)
        struct.pack_into(">i", batch, 57, 2)
    resp = _produce(kafka, "strict", _with_crc(batch))
    assert resp["ErrorCode"] == ErrorCode.INVALID_RECORD, resp
    assert kafka.core.get_stream("strict").latest(0) == 0
    assert _produce(kafka, "strict", encode_batch([(b"k", b"fine")]))["ErrorCode"] == 0


def test_zstd_batch_before_produce_v7_is_unsupported_compression_type(kafka: Any, bootstrap: str) -> None:
    """KIP-110: a broker refuses zstd batches in Produce requests older than v7."""
    from mqlite.storage.compression import Compression

    _create(bootstrap, "zstd")
    batch = encode_batch([(b"k", b"v" * 50)], compression=Compression.ZSTD)
    assert _produce(kafka, "zstd", batch, version=6)["ErrorCode"] == ErrorCode.UNSUPPORTED_COMPRESSION_TYPE
    assert _produce(kafka, "zstd", batch, version=7)["ErrorCode"] == 0


def test_crc_mismatch_is_corrupt_message(kafka: Any, bootstrap: str) -> None:
    _create(bootstrap, "crc")
    batch = bytearray(encode_batch([(b"k", b"v")]))
    batch[-1] ^= 1
    assert _produce(kafka, "crc", bytes(batch))["ErrorCode"] == ErrorCode.CORRUPT_MESSAGE


def test_timestamp_outside_the_topic_bounds_is_invalid_timestamp(kafka: Any, bootstrap: str) -> None:
    """message.timestamp.before.max.ms / after.max.ms (KIP-937): INVALID_TIMESTAMP with
    the index of each failing record in RecordErrors (Produce v8+)."""
    _create(bootstrap, "bounded", **{"message.timestamp.before.max.ms": str(DAY_MS),
                                     "message.timestamp.after.max.ms": "3600000"})
    now = int(time.time() * 1000)
    resp = _produce(kafka, "bounded", _kafka_python_batch([now, now - 2 * DAY_MS, now + 7200_000]), version=8)
    assert resp["ErrorCode"] == ErrorCode.INVALID_TIMESTAMP
    assert resp["ErrorMessage"] == "One or more records have been rejected due to invalid timestamp"
    assert [e["BatchIndex"] for e in resp["RecordErrors"]] == [1, 2]
    assert kafka.core.get_stream("bounded").latest(0) == 0
    assert _produce(kafka, "bounded", _kafka_python_batch([now - 1000, now]))["ErrorCode"] == 0


def test_log_append_time_topic_stamps_the_broker_time(kafka: Any, bootstrap: str) -> None:
    """message.timestamp.type=LogAppendTime: the stored batch carries the LogAppendTime
    attribute and the broker's time as maxTimestamp, which consumers see as every
    record's timestamp; the response's LogAppendTimeMs says which time it was."""
    _create(bootstrap, "stamped", **{"message.timestamp.type": "LogAppendTime"})
    before = int(time.time() * 1000)
    resp = _produce(kafka, "stamped", _kafka_python_batch([1000, 2000]))
    assert resp["ErrorCode"] == 0 and resp["LogAppendTimeMs"] >= before
    [raw] = _stored(kafka, "stamped")
    header, records = decode_batch(raw)
    assert header.timestamp_type == 1
    assert [r.timestamp for r in records] == [resp["LogAppendTimeMs"]] * 2
    consumer = KafkaConsumer("stamped", bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                             consumer_timeout_ms=5000)
    try:
        got = [(m.timestamp, m.timestamp_type) for m in consumer]
    finally:
        consumer.close()
    assert got == [(resp["LogAppendTimeMs"], 1)] * 2
