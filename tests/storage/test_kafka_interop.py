"""Interop with a real Kafka client's codec: kafka-python's record builder and reader
(`kafka.record`, public modules) encode what we decode, and decode what we encode,
for every compression codec (Kafka protocol guide, RecordBatch v2)."""

from __future__ import annotations

import warnings

import pytest

with warnings.catch_warnings():
    # kafka-python's package import calls importlib.resources.open_text (deprecated on 3.11+)
    warnings.simplefilter("ignore", DeprecationWarning)
    from kafka.record.default_records import (
        DefaultRecordBatch,
        DefaultRecordBatchBuilder,
    )
    from kafka.record.memory_records import MemoryRecords

from mqlite.storage import (
    Compression,
    MemoryLog,
    RecordIn,
    decode_batch,
    encode_batch,
    validate_batch,
)

CODECS = [
    Compression.NONE,
    Compression.GZIP,
    Compression.SNAPPY,
    Compression.LZ4,
    Compression.ZSTD,
]


@pytest.mark.parametrize("codec", CODECS)
def test_batch_built_by_kafka_python_decodes_with_our_codec(codec):
    b = DefaultRecordBatchBuilder(
        magic=2,
        compression_type=int(codec),
        is_transactional=False,
        producer_id=77,
        producer_epoch=1,
        base_sequence=5,
        batch_size=1 << 20,
    )
    for i in range(50):
        b.append(
            i,
            timestamp=1_700_000_000_000 + i,
            key=b"k%d" % i if i % 2 else None,
            value=b"value-%d" % i * 3,
            headers=[("h", b"%d" % i), ("n", None)],
        )
    raw = bytes(b.build())
    h, recs = decode_batch(raw)
    assert h.compression == codec
    assert (h.producer_id, h.producer_epoch, h.base_sequence, h.record_count) == (
        77,
        1,
        5,
        50,
    )
    assert len(recs) == 50
    r = recs[7]
    assert (r.offset, r.timestamp, r.key, r.value) == (
        7,
        1_700_000_000_007,
        b"k7",
        b"value-7" * 3,
    )
    assert r.headers == (("h", b"7"), ("n", None))
    assert recs[8].key is None


@pytest.mark.parametrize("codec", CODECS)
def test_batch_built_by_our_codec_decodes_with_kafka_python(codec):
    recs = [RecordIn(b"k%d" % i, b"v" * i, (("x", b"y"),), 1000 + i) for i in range(30)]
    raw = encode_batch(
        recs,
        base_offset=100,
        producer_id=3,
        producer_epoch=0,
        base_sequence=0,
        compression=codec,
    )
    batch = DefaultRecordBatch(bytearray(raw))
    assert batch.validate_crc()
    assert batch.compression_type == int(codec)
    assert (batch.base_offset, batch.last_offset_delta, batch.producer_id) == (
        100,
        29,
        3,
    )
    got = list(batch)
    assert len(got) == 30
    assert (got[5].offset, got[5].timestamp, got[5].key, got[5].value) == (
        105,
        1005,
        b"k5",
        b"v" * 5,
    )
    assert list(got[5].headers) == [("x", b"y")]


def test_what_the_log_serves_is_readable_by_kafka_python_memory_records():
    """The Kafka fetch path: stored batches, concatenated, parsed by a client."""
    log = MemoryLog()
    b = DefaultRecordBatchBuilder(2, 0, False, -1, -1, -1, 1 << 20)
    for i in range(3):
        b.append(i, timestamp=10 + i, key=None, value=b"from-client-%d" % i, headers=[])
    log.append_batch(bytes(b.build()))
    log.append([(None, b"from-us")], now_ms=20)
    data = b"".join(log.read(0, 1 << 20))
    mr = MemoryRecords(data)
    values = []
    while mr.has_next():
        batch = mr.next_batch()
        values.extend((r.offset, r.value) for r in batch)
    assert values == [
        (0, b"from-client-0"),
        (1, b"from-client-1"),
        (2, b"from-client-2"),
        (3, b"from-us"),
    ]
    for raw in log.read(0, 1 << 20):
        validate_batch(raw)
