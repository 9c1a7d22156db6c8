"""The RecordBatch v2 codec: layout, round trips, validation (Kafka protocol guide,
"Record Batch" and "Record" sections; KIP-98 producer fields)."""

from __future__ import annotations

import struct

import pytest
from crc32c import crc32c
from hypothesis import given, settings
from hypothesis import strategies as st

from mqlite.storage import (
    Compression,
    CorruptBatch,
    InvalidBatch,
    Record,
    RecordIn,
    decode_batch,
    encode_batch,
)
from mqlite.storage.errors import UnsupportedCompression
from mqlite.storage.recordbatch import (
    HEADER_SIZE,
    TimestampType,
    encode_headers,
    iter_batches,
    parse_header,
    rewrite_base_offset,
    validate_batch,
)
from mqlite.storage.varint import decode_varint, encode_varint


def test_header_fields_sit_at_the_documented_byte_offsets():
    """Layout: baseOffset@0, batchLength@8, epoch@12, magic@16, crc@17, attributes@21 ..."""
    raw = encode_batch(
        [(b"k", b"v", (), 1000), (None, b"w", (), 1005)],
        base_offset=77,
        producer_id=5,
        producer_epoch=2,
        base_sequence=9,
        partition_leader_epoch=3,
    )
    assert struct.unpack_from(">q", raw, 0)[0] == 77
    assert struct.unpack_from(">i", raw, 8)[0] == len(raw) - 12
    assert struct.unpack_from(">i", raw, 12)[0] == 3
    assert raw[16] == 2
    assert struct.unpack_from(">I", raw, 17)[0] == crc32c(raw[21:])
    assert struct.unpack_from(">hiqqqhii", raw, 21) == (0, 1, 1000, 1005, 5, 2, 9, 2)


def test_record_is_varint_encoded_as_documented():
    """Record: length, attributes, timestampDelta, offsetDelta, key, value, headers."""
    raw = encode_batch([(b"ab", b"xyz", (("h", b"1"),), 10)], now_ms=10)
    body = raw[HEADER_SIZE:]
    # attrs 0, tsDelta 0, offDelta 0, keyLen 2 "ab", valLen 3 "xyz", 1 header: "h" -> "1"
    expected = b"\x00\x00\x00" + b"\x04ab" + b"\x06xyz" + b"\x02" + b"\x02h" + b"\x021"
    assert body == encode_varint(len(expected)) + expected


@pytest.mark.parametrize("codec", list(Compression))
def test_round_trip_with_every_compression(codec):
    recs = [
        RecordIn(
            b"key", b"value" * 20, (("a", b"1"), ("empty", b""), ("null", None)), 1000
        ),
        RecordIn(None, None, (), 999),
        RecordIn(b"", b"", (), 5000),
    ]
    raw = encode_batch(recs, base_offset=10, compression=codec)
    h, out = decode_batch(raw)
    assert h.compression == codec
    assert h.record_count == 3 and h.last_offset == 12
    assert h.base_timestamp == 1000 and h.max_timestamp == 5000
    assert out == [
        Record(
            10,
            1000,
            b"key",
            b"value" * 20,
            (("a", b"1"), ("empty", b""), ("null", None)),
        ),
        Record(11, 999, None, None, ()),
        Record(12, 5000, b"", b"", ()),
    ]


def test_records_may_be_given_as_tuples_or_records():
    raw = encode_batch(
        [(b"k", b"v"), (None, b"w", (("h", None),)), Record(99, 7, None, b"r")],
        now_ms=7,
    )
    _, out = decode_batch(raw)
    assert [(r.offset, r.timestamp, r.key, r.value, r.headers) for r in out] == [
        (0, 7, b"k", b"v", ()),
        (1, 7, None, b"w", (("h", None),)),
        (2, 7, None, b"r", ()),
    ]


def test_large_values_and_offset_deltas_use_multi_byte_varints():
    big = b"z" * 100_000
    recs = [(None, b"%d" % i) for i in range(40_000)] + [(b"k" * 70_000, big)]
    h, out = decode_batch(encode_batch(recs, now_ms=1))
    assert h.last_offset_delta == 40_000
    assert out[-1].value == big and out[-1].key == b"k" * 70_000
    assert out[39_999].value == b"39999"


def test_log_append_time_batches_give_every_record_the_max_timestamp():
    """Kafka: with timestampType=LogAppendTime, record timestamps are the batch maxTimestamp."""
    raw = encode_batch(
        [(None, b"a", (), 5), (None, b"b", (), 9)],
        timestamp_type=TimestampType.LOG_APPEND_TIME,
    )
    h, out = decode_batch(raw)
    assert h.timestamp_type == 1
    assert [r.timestamp for r in out] == [9, 9]


def test_flags_and_producer_fields_round_trip():
    raw = encode_batch(
        [(None, b"a")],
        producer_id=123,
        producer_epoch=4,
        base_sequence=2**31 - 1,
        is_transactional=True,
        now_ms=1,
    )
    h = validate_batch(raw)
    assert h.is_transactional and not h.is_control
    assert (h.producer_id, h.producer_epoch, h.base_sequence, h.last_sequence) == (
        123,
        4,
        2**31 - 1,
        2**31 - 1,
    )


def test_rewrite_base_offset_keeps_the_crc_valid_and_the_records_untouched():
    raw = encode_batch([(None, b"a"), (None, b"b")], base_offset=0, now_ms=1)
    out = rewrite_base_offset(raw, 1000, 5)
    assert out[16:] == raw[16:]
    h, recs = decode_batch(out)
    assert h.partition_leader_epoch == 5
    assert [r.offset for r in recs] == [1000, 1001]


def test_validate_refuses_bad_magic_truncation_crc_and_codec():
    raw = encode_batch([(None, b"a")], now_ms=1)
    with pytest.raises(InvalidBatch, match="magic"):
        validate_batch(raw[:16] + b"\x01" + raw[17:])
    with pytest.raises(InvalidBatch, match="truncated"):
        validate_batch(raw[:-1])
    with pytest.raises(InvalidBatch, match="truncated"):
        validate_batch(raw[:20])
    flipped = bytearray(raw)
    flipped[-1] ^= 1
    with pytest.raises(CorruptBatch):
        validate_batch(bytes(flipped))
    bad_codec = bytearray(raw)
    bad_codec[22] = 7  # attributes low byte: codec 7
    struct.pack_into(">I", bad_codec, 17, crc32c(bytes(bad_codec[21:])))
    with pytest.raises(UnsupportedCompression):
        validate_batch(bytes(bad_codec))


def test_record_count_must_fit_last_offset_delta():
    raw = bytearray(encode_batch([(None, b"a"), (None, b"b")], now_ms=1))
    struct.pack_into(">i", raw, 23, 0)  # lastOffsetDelta 0 with 2 records
    struct.pack_into(">I", raw, 17, crc32c(bytes(raw[21:])))
    with pytest.raises(InvalidBatch, match="lastOffsetDelta"):
        validate_batch(bytes(raw))


def test_garbage_record_section_is_an_invalid_batch_not_a_crash():
    raw = bytearray(encode_batch([(None, b"abc")], now_ms=1))
    raw[HEADER_SIZE] = 0x7E  # record length 63: runs past the batch
    struct.pack_into(">I", raw, 17, crc32c(bytes(raw[21:])))
    with pytest.raises(InvalidBatch):
        decode_batch(bytes(raw))


def test_iter_batches_splits_a_concatenation_and_ignores_a_partial_tail():
    a = encode_batch([(None, b"a")], base_offset=0, now_ms=1)
    b = encode_batch([(None, b"b")], base_offset=1, now_ms=1)
    found = [(pos, h.base_offset) for pos, h in iter_batches(a + b + b[:20])]
    assert found == [(0, 0), (len(a), 1)]


def test_encode_refuses_no_records():
    with pytest.raises(InvalidBatch):
        encode_batch([])


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_varint_round_trips_any_int64(n):
    enc = encode_varint(n)
    assert decode_varint(enc, 0) == (n, len(enc))


header = st.tuples(st.text(max_size=5), st.none() | st.binary(max_size=8))
record_in = st.builds(
    RecordIn,
    st.none() | st.binary(max_size=40),
    st.none() | st.binary(max_size=300),
    st.lists(header, max_size=3).map(tuple),
    st.integers(min_value=0, max_value=2**41),
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(record_in, min_size=1, max_size=30),
    st.sampled_from(list(Compression)),
    st.integers(0, 2**40),
)
def test_any_records_round_trip(recs, codec, base):
    h, out = decode_batch(encode_batch(recs, base_offset=base, compression=codec))
    assert h.record_count == len(recs)
    assert [(r.key, r.value, r.headers, r.timestamp) for r in out] == [
        tuple(r) for r in recs
    ]
    assert [r.offset for r in out] == list(range(base, base + len(recs)))
    assert parse_header(encode_batch(recs)).max_timestamp == max(
        r.timestamp for r in recs
    )


def test_pre_encoded_headers_give_the_same_batch_bytes() -> None:
    """A tuple's headers given as `encode_headers` bytes encode exactly as the pairs do
    (the Redis XADD journal encodes its one header itself)."""
    pairs = (("redis-id", b"1700000000000-7"), ("other", None))
    as_pairs = encode_batch([(None, b"v", pairs, 1_700_000_000_000)])
    as_bytes = encode_batch([(None, b"v", encode_headers(pairs), 1_700_000_000_000)])
    assert as_bytes == as_pairs
    (rec,) = decode_batch(as_bytes)[1]
    assert rec.headers == (("redis-id", b"1700000000000-7"), ("other", None))
