"""The record decoder (recorddecode.py) against a plain reference decoder.

Rule checked: Kafka protocol guide, "Record" — every length, offset delta and timestamp
delta is a zig-zag varint (varlong for the timestamp delta), a key/value length of -1 is
null, the header count and header key lengths are never negative. The decoder's fast
paths (inline 1-3 byte varints, uniform runs checked column by column) must give exactly
what a straightforward byte-by-byte decoder gives, for valid batches and for damaged ones
(same records, or both refuse the batch).
"""

from __future__ import annotations

import pytest
from crc32c import crc32c
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mqlite.storage import InvalidBatch, Record, decode_batch, encode_batch
from mqlite.storage.batchheader import BODY_STRUCT, HEADER_SIZE, PREFIX_STRUCT
from mqlite.storage.recordbatch import TimestampType, parse_header
from mqlite.storage.recorddecode import _decode_generic, decode_records
from mqlite.storage.uniformruns import decode_uniform
from mqlite.storage.varint import encode_varint

BOUNDARY_LENGTHS = [0, 1, 63, 64, 127, 128, 8191, 8192, 2**14, 2**20]
BOUNDARY_DELTAS = [
    0,
    1,
    63,
    64,
    127,
    128,
    8191,
    8192,
    2**20 - 1,
    2**20,
    2**31 - 1,
    -1,
    -64,
    -65,
    -8193,
    -(2**31),
]


# --------------------------------------------------------------- reference codec


def _ref_varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise InvalidBatch("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return (result >> 1) ^ -(result & 1), pos
        shift += 7
        if shift > 63:
            raise InvalidBatch("varint longer than 10 bytes")


def _ref_bytes(buf: bytes, pos: int, n: int) -> tuple[bytes, int]:
    if n < 0 or pos + n > len(buf):
        raise InvalidBatch("field runs past the batch")
    return buf[pos : pos + n], pos + n


def reference_decode(
    base_offset: int, base_ts: int, count: int, body: bytes
) -> list[Record]:
    """Byte-by-byte decoder, as the protocol guide describes the record (CreateTime)."""
    out = []
    pos = 0
    for _ in range(count):
        length, pos = _ref_varint(body, pos)
        end = pos + length
        _attrs, pos = _ref_bytes(body, pos, 1)
        tsd, pos = _ref_varint(body, pos)
        od, pos = _ref_varint(body, pos)
        fields: list[bytes | None] = []
        for _f in range(2):
            n, pos = _ref_varint(body, pos)
            if n < -1:
                raise InvalidBatch("negative length")
            if n == -1:
                fields.append(None)
            else:
                got, pos = _ref_bytes(body, pos, n)
                fields.append(got)
        hc, pos = _ref_varint(body, pos)
        if hc < 0:
            raise InvalidBatch("negative header count")
        headers = []
        for _h in range(hc):
            n, pos = _ref_varint(body, pos)
            kb, pos = _ref_bytes(body, pos, n)
            try:
                k = kb.decode()
            except UnicodeDecodeError:
                raise InvalidBatch("header key not utf-8") from None
            n, pos = _ref_varint(body, pos)
            if n < -1:
                raise InvalidBatch("negative header value length")
            if n == -1:
                headers.append((k, None))
            else:
                v, pos = _ref_bytes(body, pos, n)
                headers.append((k, v))
        if pos != end:
            raise InvalidBatch("record length mismatch")
        out.append(
            Record(
                base_offset + od, base_ts + tsd, fields[0], fields[1], tuple(headers)
            )
        )
    return out


def raw_record(
    od: int, tsd: int, key: bytes | None, value: bytes | None, headers=()
) -> bytes:
    """One record encoded by hand (any offset delta, any timestamp delta)."""
    parts = [b"\x00", encode_varint(tsd), encode_varint(od)]
    for field in (key, value):
        if field is None:
            parts.append(encode_varint(-1))
        else:
            parts += [encode_varint(len(field)), field]
    parts.append(encode_varint(len(headers)))
    for k, v in headers:
        kb = k.encode()
        parts += [encode_varint(len(kb)), kb]
        parts += [encode_varint(-1)] if v is None else [encode_varint(len(v)), v]
    rec = b"".join(parts)
    return encode_varint(len(rec)) + rec


def raw_batch(body: bytes, count: int, base_offset: int = 0, base_ts: int = 0) -> bytes:
    """A CRC-valid batch around an arbitrary record section."""
    tail = BODY_STRUCT.pack(0, max(count - 1, 0), base_ts, base_ts, -1, -1, -1, count)
    crc = crc32c(body, crc32c(tail))
    prefix = PREFIX_STRUCT.pack(base_offset, HEADER_SIZE - 12 + len(body), -1)
    return prefix + b"\x02" + crc.to_bytes(4, "big") + tail + body


def decode_or_error(raw: bytes) -> list[Record] | str:
    try:
        return decode_batch(raw)[1]
    except InvalidBatch:
        return "invalid"


def reference_or_error(raw: bytes) -> list[Record] | str:
    h = parse_header(raw)
    try:
        return reference_decode(
            h.base_offset, h.base_timestamp, h.record_count, raw[HEADER_SIZE:]
        )
    except InvalidBatch:
        return "invalid"


# --------------------------------------------------------------- round trips

lengths = st.sampled_from(BOUNDARY_LENGTHS)
deltas = st.sampled_from(BOUNDARY_DELTAS)


def _blob(sizes: list[int]) -> st.SearchStrategy[bytes | None]:
    return st.none() | st.sampled_from(sizes).map(lambda n: b"\xa5" * n)


boundary_records = st.tuples(
    deltas,  # offset delta
    deltas,  # timestamp delta
    _blob(BOUNDARY_LENGTHS[:6]),  # key
    _blob(BOUNDARY_LENGTHS),  # value
    st.lists(
        st.tuples(
            st.sampled_from([0, 1, 63, 64, 127, 128]).map(lambda n: "h" * n),
            _blob(BOUNDARY_LENGTHS[:8]),
        ),
        max_size=2,
    ).map(tuple),
)


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    st.lists(boundary_records, min_size=1, max_size=12),
    st.sampled_from([0, 2**31 - 1, 2**40]),
    st.sampled_from([0, 1_700_000_000_000]),
)
def test_varint_boundary_values_round_trip(recs, base_offset, base_ts):
    """Lengths and deltas at every varint size boundary (0, 63/64, 8191/8192, 2^20,
    2^31-1) and negative deltas decode to exactly what was encoded."""
    body = b"".join(raw_record(*r) for r in recs)
    raw = raw_batch(body, len(recs), base_offset, base_ts)
    got = decode_batch(raw)[1]
    assert got == [
        Record(base_offset + od, base_ts + tsd, k, v, h) for od, tsd, k, v, h in recs
    ]
    assert got == reference_or_error(raw)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.none() | st.binary(max_size=3),
            st.sampled_from([b"", b"x" * 63, b"y" * 64, b"z" * 200, b"w" * 8192]),
        ),
        min_size=1,
        max_size=4,
    ),
    st.integers(1, 150),
    st.sampled_from([0, -1, 5]),
)
def test_encoded_batches_with_repeated_layouts_round_trip(shapes, repeats, ts_step):
    """Runs of identically shaped records (the uniform fast path) across the offset
    delta size changes at 64, mixed with records of other shapes."""
    recs = [
        (key, value, (), 1_000_000 + ts_step * i)
        for i, (key, value) in enumerate(
            shape for shape in shapes for _ in range(repeats)
        )
    ]
    raw = encode_batch(recs, base_offset=10, base_timestamp=1_000_000)
    got = decode_batch(raw)[1]
    assert [(r.key, r.value, r.timestamp) for r in got] == [
        (k, v, t) for k, v, _h, t in recs
    ]
    assert [r.offset for r in got] == list(range(10, 10 + len(recs)))
    assert got == reference_or_error(raw)


# --------------------------------------------------------------- damaged batches


@st.composite
def damaged_batches(draw: st.DrawFn) -> bytes:
    n = draw(st.sampled_from([1, 7, 8, 9, 64, 65, 130]))
    keyed = draw(st.booleans())
    size = draw(st.sampled_from([0, 5, 60, 70]))
    recs = [(b"k" if keyed else None, b"v" * size, (), 100 + (i % 3)) for i in range(n)]
    if draw(st.booleans()):
        recs[draw(st.integers(0, n - 1))] = (None, b"odd", (("a", b"b"),), 100)
    body = bytearray(encode_batch(recs, now_ms=100)[HEADER_SIZE:])
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(body) - 1))
        body[at] = draw(
            st.sampled_from([0x00, 0x01, 0x02, 0x7F, 0x80, 0x81, 0xFE, 0xFF])
        )
    if draw(st.booleans()):
        del body[draw(st.integers(0, len(body) - 1)) :]
    return raw_batch(bytes(body), n, 0, 100)


@settings(max_examples=300, deadline=None)
@given(damaged_batches())
def test_damaged_record_sections_decode_like_the_reference(raw):
    """A damaged but CRC-valid batch gives the reference decoder's records or is
    refused with InvalidBatch (never a crash, never different records)."""
    assert decode_or_error(raw) == reference_or_error(raw)


@pytest.mark.parametrize("keyed", [False, True])
def test_every_single_byte_change_in_a_uniform_run_decodes_like_the_reference(keyed):
    """Each byte of two records (one in the 1-byte, one in the 2-byte offset-delta run)
    set to each varint-relevant value: the fast path must notice every change of
    framing (length, attributes, timestamp/offset deltas, key/value lengths, header
    count) exactly as the reference decoder does."""
    recs = [(b"key" if keyed else None, b"v" * 10, (), 100 + i % 2) for i in range(70)]
    body = encode_batch(recs, now_ms=100)[HEADER_SIZE:]
    for index in (5, 66):
        start = sum(
            len(raw_record(i, i % 2, recs[i][0], recs[i][1])) for i in range(index)
        )
        size = len(raw_record(index, index % 2, recs[index][0], recs[index][1]))
        for at in range(start, start + size):
            for byte in (0x00, 0x01, 0x02, 0x03, 0x7E, 0x7F, 0x80, 0x81, 0xFF):
                damaged = bytearray(body)
                damaged[at] = byte
                raw = raw_batch(bytes(damaged), 70, 0, 100)
                assert decode_or_error(raw) == reference_or_error(raw), (
                    index,
                    at,
                    byte,
                )


def test_uniform_run_falls_back_at_the_first_record_of_another_shape():
    """The fast path covers runs of one layout and hands the rest to the generic loop;
    both parts together give every record."""
    recs = [(None, b"x" * 100)] * 8300
    recs[100] = (b"key", b"x" * 100)
    raw = encode_batch(recs, now_ms=5)
    h = parse_header(raw)
    body = raw[HEADER_SIZE:]
    out: list[Record] = []
    pos, index = decode_uniform(h, body, out, 0, 8300)
    # the 1-byte offset-delta run; the 2-byte one (64..8191) holds the keyed record
    assert len(out) == index == 64
    _decode_generic(h, body, pos, index, out)
    assert out == reference_decode(0, 5, 8300, body)
    assert decode_records(h, body) == out


def test_non_minimal_varints_are_accepted_like_java_kafka():
    """Kafka's ByteUtils.readVarint accepts an over-long encoding (0x80 0x00 is 0)."""

    def over_long(od: int) -> bytes:
        # attributes, tsDelta 0 in two bytes, offsetDelta, null key, value "abc" with
        # its length 3 in two bytes, no headers
        rec = (
            b"\x00"
            + b"\x80\x00"
            + encode_varint(od)
            + b"\x01"
            + b"\x86\x00abc"
            + b"\x00"
        )
        return encode_varint(len(rec)) + rec

    raw = raw_batch(over_long(0), 1, 7, 50)
    assert decode_batch(raw)[1] == [Record(7, 50, None, b"abc", ())]
    body = b"".join(
        over_long(i) if i == 3 else raw_record(i, 0, None, b"abc") for i in range(10)
    )
    many = raw_batch(body, 10)
    assert decode_or_error(many) == reference_or_error(many)
    assert decode_or_error(many)[3] == Record(3, 0, None, b"abc", ())


@pytest.mark.parametrize("n", [8, 64, 65, 8192, 8193])
def test_uniform_batches_at_offset_delta_size_boundaries(n):
    """Batches ending just before/after the offset-delta varint grows a byte."""
    raw = encode_batch([(b"kk", b"v" * 10)] * n, base_offset=3, now_ms=9)
    got = decode_batch(raw)[1]
    assert got == reference_or_error(raw)
    assert got[-1] == Record(3 + n - 1, 9, b"kk", b"v" * 10, ())


def test_negative_header_count_is_refused():
    rec = b"\x00\x00\x00\x01\x01" + encode_varint(-2)
    raw = raw_batch(encode_varint(len(rec)) + rec, 1)
    with pytest.raises(InvalidBatch):
        decode_batch(raw)


def test_header_value_running_past_the_batch_is_refused():
    """The last header's value claims more bytes than the batch holds."""
    rec = b"\x00\x00\x00\x01\x01\x02\x02h" + encode_varint(40) + b"short"
    body = encode_varint(len(rec) + 35) + rec
    raw = raw_batch(body, 1)
    with pytest.raises(InvalidBatch):
        decode_batch(raw)


def test_log_append_time_uniform_batch_gives_every_record_the_max_timestamp():
    """Kafka: a LogAppendTime batch's records all carry the batch's maxTimestamp."""
    recs = [(None, b"v", (), 1000 + i) for i in range(100)]
    raw = encode_batch(recs, timestamp_type=TimestampType.LOG_APPEND_TIME)
    assert {r.timestamp for r in decode_batch(raw)[1]} == {1099}


@st.composite
def batches_for_ranges(draw: st.DrawFn) -> bytes:
    """Dense uniform, dense mixed, gapped, shuffled and arbitrary offset deltas."""
    n = draw(st.sampled_from([1, 5, 8, 63, 64, 65, 200]))
    kind = draw(st.sampled_from(["uniform", "mixed", "gaps", "shuffled", "wild"]))
    if kind == "uniform":
        return encode_batch([(None, b"u" * 20)] * n, base_offset=100, now_ms=1)
    sizes = [draw(st.sampled_from([0, 3, 70])) for _ in range(n)]
    ods = list(range(n))
    if kind == "gaps":
        ods = sorted(draw(st.sets(st.integers(0, 3 * n), min_size=n, max_size=n)))
    elif kind == "shuffled":
        ods = draw(st.permutations(ods))
    elif kind == "wild":  # any deltas, even negative, under a header claiming 0..n-1
        ods = draw(st.lists(st.integers(-5, 3 * n), min_size=n, max_size=n))
    body = b"".join(raw_record(od, 0, None, b"m" * s) for od, s in zip(ods, sizes))
    raw = bytearray(raw_batch(body, n, 100, 1))
    # lastOffsetDelta as Kafka sets it: the last record's offset delta
    raw[23:27] = (n - 1 if kind == "wild" else max(ods[-1], n - 1)).to_bytes(4, "big")
    tail_crc = crc32c(bytes(raw[21:]))
    raw[17:21] = tail_crc.to_bytes(4, "big")
    return bytes(raw)


@settings(max_examples=200, deadline=None)
@given(
    batches_for_ranges(),
    st.none() | st.integers(90, 400),
    st.none() | st.integers(0, 80),
)
def test_decoding_a_range_gives_the_filtered_records(raw, first_offset, max_records):
    """decode_records(first_offset, max_records) == the records with offset >=
    first_offset, the first max_records of them (Log.read_records' contract per batch),
    whether the batch's offset deltas are dense, gapped or out of order."""
    h = parse_header(raw)
    body = raw[HEADER_SIZE:]
    full = decode_records(h, body)
    expected = [r for r in full if first_offset is None or r.offset >= first_offset]
    if max_records is not None:
        expected = expected[:max_records]
    assert decode_records(h, body, first_offset, max_records) == expected


def test_range_of_a_whole_batch_still_filters_offsets_below_first_offset():
    """A batch claiming dense deltas (lastOffsetDelta == count - 1) whose only record
    has delta -50: asking for offsets >= 100 gives nothing, not offset 50."""
    raw = raw_batch(raw_record(-50, 0, None, b"x"), 1, 100, 1)
    h = parse_header(raw)
    assert decode_records(h, raw[HEADER_SIZE:]) == [Record(50, 1, None, b"x", ())]
    assert decode_records(h, raw[HEADER_SIZE:], 100, 3) == []
