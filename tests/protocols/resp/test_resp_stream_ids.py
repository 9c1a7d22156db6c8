"""Stream ID rules from Redis's t_stream.c: parsing, XADD auto IDs, exclusive ranges."""

from __future__ import annotations

import pytest

from mqlite.protocols.resp import stream_ids as ids
from mqlite.protocols.resp.stream_ids import StreamIDError, XaddID

U64 = ids.UINT64_MAX


def test_partial_id_takes_the_given_missing_seq() -> None:
    assert ids.parse(b"5") == (5, 0)
    assert ids.parse_range_end(b"5") == (5, U64)
    assert ids.parse(b"-") == (0, 0) and ids.parse(b"+") == (U64, U64)


def test_exclusive_range_bounds_step_over_the_id() -> None:
    """XRANGE `(id`: exclusive start is the next ID, exclusive end the previous one."""
    assert ids.parse_range_start(b"(5-1") == (5, 2)
    assert ids.parse_range_start(b"(5-" + str(U64).encode()) == (6, 0)
    assert ids.parse_range_end(b"(5-0") == (4, U64)
    with pytest.raises(StreamIDError, match="invalid end ID"):
        ids.parse_range_end(b"(0-0")


@pytest.mark.parametrize("raw", [b"abc", b"1-x", b"-1", b"18446744073709551616", b"1-2-3"])
def test_malformed_ids_have_redis_error_text(raw: bytes) -> None:
    with pytest.raises(StreamIDError) as info:
        ids.parse(raw, strict=True)
    assert info.value.message == "ERR Invalid stream ID specified as stream command argument"


def test_xadd_auto_id_uses_clock_or_increments_sequence() -> None:
    assert XaddID(b"*").next_id((0, 0), 1000) == (1000, 0)
    assert XaddID(b"*").next_id((2000, 4), 1000) == (2000, 5)  # clock went back
    assert XaddID(b"7-*").next_id((7, 3), 0) == (7, 4)
    assert XaddID(b"8-*").next_id((7, 3), 0) == (8, 0)


def test_xadd_explicit_id_must_exceed_top_item_and_0_0() -> None:
    with pytest.raises(StreamIDError) as info:
        XaddID(b"5-1").next_id((5, 1), 0)
    assert info.value.message == "ERR The ID specified in XADD is equal or smaller than the target stream top item"
    with pytest.raises(StreamIDError) as info2:
        XaddID(b"0-0")
    assert info2.value.message == "ERR The ID specified in XADD must be greater than 0-0"
    with pytest.raises(StreamIDError):
        XaddID(b"5-*").next_id((6, 0), 0)
