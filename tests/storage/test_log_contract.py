"""The `Log` contract, checked against FileLog and MemoryLog alike (one shared suite).

Rules come from issue 2 ("Storage engine", "Bad input") and Kafka's log semantics
(dense offsets, fetch returns whole batches and at least one, ListOffsets by timestamp).
"""

from __future__ import annotations

import struct

import pytest

from mqlite.storage import (
    Compression,
    CorruptBatch,
    InvalidBatch,
    LogClosed,
    LogConfig,
    OffsetOutOfRange,
    RecordIn,
    RecordTooLarge,
    decode_batch,
    encode_batch,
)
from mqlite.storage.recordbatch import parse_header


def _values(records):
    return [r.value for r in records]


def test_appends_get_dense_offsets_and_read_back(make_log):
    """Offsets are dense: n records get [end, end+n)."""
    log = make_log()
    r1 = log.append([(None, b"a"), (b"k", b"b")], now_ms=10)
    r2 = log.append([RecordIn(None, b"c", (("h", b"1"),), 20)])
    assert (r1.base_offset, r1.last_offset, r1.max_timestamp) == (0, 1, 10)
    assert (r2.base_offset, r2.last_offset, r2.max_timestamp) == (2, 2, 20)
    assert log.start_offset == 0 and log.end_offset == 3
    recs = log.read_records(0, 10)
    assert [(r.offset, r.key, r.value, r.timestamp) for r in recs] == [
        (0, None, b"a", 10),
        (1, b"k", b"b", 10),
        (2, None, b"c", 20),
    ]
    assert recs[2].headers == (("h", b"1"),)
    r1.durable.result(5)
    r2.durable.result(5)


def test_read_records_starts_inside_a_batch_and_honours_max_records(make_log):
    log = make_log()
    log.append([(None, bytes([i])) for i in range(10)], now_ms=1)
    log.append([(None, bytes([i])) for i in range(10, 20)], now_ms=1)
    recs = log.read_records(7, 5)
    assert [r.offset for r in recs] == [7, 8, 9, 10, 11]


def test_read_returns_whole_batches_starting_with_the_one_holding_the_offset(make_log):
    """Kafka fetch: whole batches, the first containing the offset."""
    log = make_log()
    for i in range(5):
        log.append([(None, b"x" * 10)] * 3, now_ms=i)
    batches = log.read(4, 10**6)
    assert [parse_header(b).base_offset for b in batches] == [3, 6, 9, 12]


def test_read_returns_one_batch_even_when_larger_than_max_bytes(make_log):
    """Kafka fetch: at least one batch, even over max_bytes, so a consumer progresses."""
    log = make_log()
    log.append([(None, b"x" * 1000)], now_ms=1)
    log.append([(None, b"y" * 1000)], now_ms=1)
    batches = log.read(0, 10)
    assert len(batches) == 1
    assert parse_header(batches[0]).base_offset == 0


def test_read_stops_at_max_bytes(make_log):
    log = make_log()
    for _ in range(10):
        log.append([(None, b"x" * 100)], now_ms=1)
    size = len(log.read(0, 1)[0])
    assert len(log.read(0, size * 3 + 5)) == 3


def test_read_at_end_offset_is_empty(make_log):
    log = make_log()
    assert log.read(0, 100) == []
    log.append([(None, b"a")], now_ms=1)
    assert log.read(1, 100) == []
    assert log.read_records(1) == []


@pytest.mark.parametrize("offset", [-1, 2, 10**12])
def test_read_of_negative_or_future_offset_raises(make_log, offset):
    """Bad input: a negative or future offset is a typed error (Kafka OFFSET_OUT_OF_RANGE)."""
    log = make_log()
    log.append([(None, b"a")], now_ms=1)
    with pytest.raises(OffsetOutOfRange) as info:
        log.read(offset, 100)
    assert (info.value.start, info.value.end) == (0, 1)
    with pytest.raises(OffsetOutOfRange):
        log.read_records(offset)


def _snapshot(log):
    return (
        log.start_offset,
        log.end_offset,
        log.size_bytes,
        log.read(log.start_offset, 10**9),
    )


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00" * 10,
        b"\x00" * 61,
    ],
    ids=["empty", "short", "zeros"],
)
def test_malformed_batch_is_refused_and_changes_nothing(make_log, raw):
    """Bad input: empty or malformed batch -> typed error, log unchanged."""
    log = make_log()
    log.append([(None, b"keep")], now_ms=1)
    before = _snapshot(log)
    with pytest.raises(InvalidBatch):
        log.append_batch(raw)
    assert _snapshot(log) == before


def test_batch_with_wrong_crc_is_refused_and_changes_nothing(make_log):
    """Bad input: CRC-32C failure -> CorruptBatch (Kafka CORRUPT_MESSAGE)."""
    log = make_log()
    log.append([(None, b"keep")], now_ms=1)
    before = _snapshot(log)
    raw = bytearray(encode_batch([(None, b"value")], now_ms=1))
    raw[-1] ^= 0xFF
    with pytest.raises(CorruptBatch):
        log.append_batch(bytes(raw))
    assert _snapshot(log) == before


def test_batch_with_a_trailing_partial_batch_is_refused_whole(make_log):
    log = make_log()
    good = encode_batch([(None, b"a")], now_ms=1)
    with pytest.raises(InvalidBatch):
        log.append_batch(good + good[:30])
    assert log.end_offset == 0 and log.size_bytes == 0


def test_empty_record_list_is_refused(make_log):
    log = make_log()
    with pytest.raises(InvalidBatch):
        log.append([])
    assert log.end_offset == 0


def test_batch_over_max_batch_bytes_is_refused(make_log):
    """Bad input: a record over the configured maximum -> RecordTooLarge (Kafka MESSAGE_TOO_LARGE)."""
    log = make_log(LogConfig(max_batch_bytes=500))
    with pytest.raises(RecordTooLarge) as info:
        log.append([(None, b"x" * 600)], now_ms=1)
    assert info.value.limit == 500
    with pytest.raises(RecordTooLarge):
        log.append_batch(encode_batch([(None, b"x" * 600)], now_ms=1))
    assert log.end_offset == 0 and log.size_bytes == 0


def test_append_batch_rewrites_only_base_offset_and_leader_epoch(make_log):
    """A pre-encoded batch is stored byte for byte except the fields outside the CRC."""
    log = make_log(LogConfig(leader_epoch=7))
    log.append([(None, b"first")], now_ms=1)
    raw = encode_batch(
        [(b"k", b"v", (("a", b"b"),), 5), (None, b"w", (), 6)],
        base_offset=999,
        producer_id=42,
        producer_epoch=3,
        base_sequence=10,
        compression=Compression.GZIP,
    )
    res = log.append_batch(raw)
    assert (res.base_offset, res.last_offset, res.max_timestamp) == (1, 2, 6)
    stored = log.read(1, 10**6)[0]
    assert stored[16:] == raw[16:]
    assert struct.unpack(">qii", stored[:16]) == (1, len(raw) - 12, 7)
    h, recs = decode_batch(stored)
    assert (h.producer_id, h.producer_epoch, h.base_sequence) == (42, 3, 10)
    assert [r.offset for r in recs] == [1, 2]


def test_append_batch_accepts_several_concatenated_batches(make_log):
    log = make_log()
    a = encode_batch([(None, b"a"), (None, b"b")], now_ms=1)
    b = encode_batch([(None, b"c")], now_ms=2)
    res = log.append_batch(a + b)
    assert (res.base_offset, res.last_offset) == (0, 2)
    assert _values(log.read_records(0)) == [b"a", b"b", b"c"]


def test_append_batch_copies_a_bytearray_argument(make_log):
    log = make_log()
    raw = bytearray(encode_batch([(None, b"a")], now_ms=1))
    log.append_batch(raw)
    raw[:] = b"\x00" * len(raw)
    assert _values(log.read_records(0)) == [b"a"]


def test_offset_for_timestamp_is_the_first_record_at_or_after_it(make_log):
    """Kafka ListOffsets: earliest offset whose timestamp >= the target; None past the end."""
    log = make_log()
    log.append([RecordIn(None, b"a", (), 100), RecordIn(None, b"b", (), 200)])
    log.append([RecordIn(None, b"c", (), 300)])
    log.append([RecordIn(None, b"d", (), 400), RecordIn(None, b"e", (), 500)])
    assert log.offset_for_timestamp(0) == 0
    assert log.offset_for_timestamp(150) == 1
    assert log.offset_for_timestamp(200) == 1
    assert log.offset_for_timestamp(401) == 4
    assert log.offset_for_timestamp(501) is None


def test_delete_before_moves_start_offset_and_frees_space(make_log):
    log = make_log(LogConfig(segment_bytes=200))
    for i in range(10):
        log.append([(None, b"x" * 50)], now_ms=i)
    size = log.size_bytes
    freed = log.delete_before(6)
    assert log.start_offset == 6
    assert freed > 0 and log.size_bytes == size - freed
    assert [r.offset for r in log.read_records(6)] == [6, 7, 8, 9]
    with pytest.raises(OffsetOutOfRange):
        log.read(5, 100)
    assert log.delete_before(3) == 0 and log.start_offset == 6


def test_delete_before_end_offset_frees_everything_and_appends_continue(make_log):
    log = make_log()
    for i in range(3):
        log.append([(None, b"x")], now_ms=i)
    log.delete_before(100)
    assert log.start_offset == log.end_offset == 3
    assert log.size_bytes == 0
    assert log.append([(None, b"y")], now_ms=5).base_offset == 3
    assert _values(log.read_records(3)) == [b"y"]


def test_retention_by_bytes_keeps_the_newest_data(make_log):
    """Retention deletes whole segments, oldest first, never below retention_bytes."""
    log = make_log(LogConfig(segment_bytes=200, retention_bytes=400))
    for i in range(20):
        log.append([(None, b"x" * 50)], now_ms=i)
    log.apply_retention(100)
    assert 400 - 200 <= log.size_bytes <= 400 + 200
    assert log.start_offset > 0
    assert log.read_records(log.start_offset)[-1].offset == 19


def test_retention_by_age_deletes_expired_data(make_log):
    log = make_log(LogConfig(segment_bytes=200, retention_ms=1000))
    for i in range(10):
        log.append([(None, b"x" * 50)], now_ms=1000 + i * 100)
    assert (
        log.apply_retention(2000) == 0
    )  # nothing is older than now - retention_ms yet
    log.apply_retention(1000 + 5 * 100 + 1000 + 1)
    assert 0 < log.start_offset <= 6
    assert [r.offset for r in log.read_records(log.start_offset)][-1] == 9
    log.apply_retention(10**9)
    assert log.start_offset == log.end_offset == 10
    assert log.append([(None, b"new")], now_ms=10**9).base_offset == 10


def test_producer_state_tracks_last_sequence_per_producer(make_log):
    """Idempotent producers: the log exposes each producer id's epoch and last sequence."""
    log = make_log()
    log.append_batch(
        encode_batch(
            [(None, b"a"), (None, b"b")],
            producer_id=9,
            producer_epoch=1,
            base_sequence=0,
            now_ms=1,
        )
    )
    log.append(
        [(None, b"c")], producer_id=9, producer_epoch=1, base_sequence=2, now_ms=1
    )
    log.append([(None, b"plain")], now_ms=1)
    st = log.producer_state(9)
    assert st is not None
    assert (st.producer_epoch, st.last_sequence, st.last_offset) == (1, 2, 2)
    assert [(b.first_sequence, b.last_sequence, b.base_offset) for b in st.batches] == [
        (0, 1, 0),
        (2, 2, 2),
    ]
    assert log.producer_state(10) is None


@pytest.mark.parametrize("how", ["close", "discard"])
def test_closed_log_refuses_operations(make_log, how):
    """`close` flushes; `discard` (before the log's data is deleted) does not. Both are
    idempotent and leave a log that refuses every operation."""
    log = make_log()
    log.append([(None, b"a")], now_ms=1)
    getattr(log, how)()
    getattr(log, how)()
    with pytest.raises(LogClosed):
        log.append([(None, b"b")], now_ms=1)
    with pytest.raises(LogClosed):
        log.read(0, 10)


def test_reopen_keeps_acknowledged_records(make_log):
    log = make_log(LogConfig(segment_bytes=300))
    for i in range(20):
        log.append([(str(i).encode(), b"v" * i)], now_ms=i)
    log = make_log.reopen(log)
    assert log.end_offset == 20
    recs = log.read_records(0, 100)
    assert [r.key for r in recs] == [str(i).encode() for i in range(20)]
    assert log.append([(None, b"after")], now_ms=99).base_offset == 20


def test_set_config_governs_later_appends(make_log):
    log = make_log()
    log.append([(None, b"x" * 100)], now_ms=1)
    log.set_config(LogConfig(max_batch_bytes=100))
    with pytest.raises(RecordTooLarge):
        log.append([(None, b"x" * 100)], now_ms=1)
    assert not log.closed
    log.close()
    assert log.closed
