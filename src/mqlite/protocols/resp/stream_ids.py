"""Redis stream ID rules: `<ms>-<seq>` IDs, `*`, partial `<ms>-*`, range bounds.

Owns parsing and formatting of stream IDs exactly as Redis's `t_stream.c` does:

- An ID is two unsigned 64-bit integers `ms-seq`, ordered lexicographically; here it is
  the tuple `(ms, seq)` (`StreamID`). `0-0` is the smallest and is never a valid entry.
- XADD: `*` (auto: max(now, last.ms), seq+1 on the same ms), `<ms>` (seq 0 or next),
  `<ms>-*` (auto seq), `<ms>-<seq>` (explicit; must be > the top item).
- Ranges (XRANGE/XREVRANGE/XPENDING/XAUTOCLAIM): `-` and `+`, `<ms>` (seq 0 for a start,
  max for an end), `(<id>` exclusive (Redis >= 6.2).
- Errors carry Redis's exact texts ("Invalid stream ID specified as stream command
  argument", "The ID specified in XADD must be greater than 0-0", ...).

Pure functions; no state, no I/O.
"""

from __future__ import annotations

from mqlite.errors import ProtocolError

UINT64_MAX = (1 << 64) - 1
StreamID = tuple[int, int]
MIN_ID: StreamID = (0, 0)
MAX_ID: StreamID = (UINT64_MAX, UINT64_MAX)
INVALID_ID = "ERR Invalid stream ID specified as stream command argument"


class StreamIDError(ProtocolError):
    """A malformed or out-of-order stream ID; `message` is the full Redis error text."""


def fmt(sid: StreamID) -> bytes:
    return b"%d-%d" % sid


def _u64(b: bytes) -> int:
    if not b or not b.isdigit() or len(b) > 20:
        raise StreamIDError(INVALID_ID)
    v = int(b)
    if v > UINT64_MAX:
        raise StreamIDError(INVALID_ID)
    return v


def parse(raw: bytes, missing_seq: int = 0, *, strict: bool = False) -> StreamID:
    """Parse `ms[-seq]` (and `-`/`+` unless strict). A missing seq takes `missing_seq`."""
    if not strict:
        if raw == b"-":
            return MIN_ID
        if raw == b"+":
            return MAX_ID
    dash = raw.find(b"-")
    if dash < 0:
        return (_u64(raw), missing_seq)
    return (_u64(raw[:dash]), _u64(raw[dash + 1 :]))


def parse_range_start(raw: bytes) -> StreamID:
    """A range start: `-`, `id`, or `(id` (exclusive: the next ID)."""
    if raw.startswith(b"("):
        if raw in (b"(-", b"(+"):
            raise StreamIDError(INVALID_ID)
        sid = parse(raw[1:], 0, strict=True)
        nxt = incr(sid)
        if nxt is None:
            raise StreamIDError("ERR invalid start ID for the interval")
        return nxt
    return parse(raw, 0)


def parse_range_end(raw: bytes) -> StreamID:
    """A range end: `+`, `id` (missing seq = max), or `(id` (exclusive: the previous ID)."""
    if raw.startswith(b"("):
        if raw in (b"(-", b"(+"):
            raise StreamIDError(INVALID_ID)
        sid = parse(raw[1:], UINT64_MAX, strict=True)
        prev = decr(sid)
        if prev is None:
            raise StreamIDError("ERR invalid end ID for the interval")
        return prev
    return parse(raw, UINT64_MAX)


def incr(sid: StreamID) -> StreamID | None:
    ms, seq = sid
    if seq < UINT64_MAX:
        return (ms, seq + 1)
    if ms < UINT64_MAX:
        return (ms + 1, 0)
    return None


def decr(sid: StreamID) -> StreamID | None:
    ms, seq = sid
    if seq > 0:
        return (ms, seq - 1)
    if ms > 0:
        return (ms - 1, UINT64_MAX)
    return None


class XaddID:
    """The parsed ID argument of XADD: `*`, `ms-*`, or explicit."""

    __slots__ = ("auto_ms", "auto_seq", "ms", "seq")

    def __init__(self, raw: bytes) -> None:
        self.auto_ms = raw == b"*"
        self.auto_seq = False
        self.ms = self.seq = 0
        if self.auto_ms:
            return
        dash = raw.find(b"-")
        if dash < 0:
            self.ms = _u64(raw)
            self.seq = 0
            return  # Redis: `ms` alone means `ms-0`
        self.ms = _u64(raw[:dash])
        tail = raw[dash + 1 :]
        if tail == b"*":
            self.auto_seq = True
        else:
            self.seq = _u64(tail)
        if not self.auto_seq and self.ms == 0 and self.seq == 0:
            raise StreamIDError("ERR The ID specified in XADD must be greater than 0-0")

    def next_id(self, last: StreamID, now_ms: int) -> StreamID:
        """The ID XADD assigns after `last`; raises Redis's error when not greater."""
        too_small = "ERR The ID specified in XADD is equal or smaller than the target stream top item"
        if self.auto_ms:
            if now_ms > last[0]:
                return (now_ms, 0)
            nxt = incr(last)
            if nxt is None:
                raise StreamIDError("ERR The stream has exhausted the last possible ID, unable to add more items")
            return nxt
        if self.auto_seq:
            if self.ms > last[0]:
                return (self.ms, 0)
            if self.ms == last[0]:
                if last[1] == UINT64_MAX:
                    raise StreamIDError(too_small)
                return (self.ms, last[1] + 1)
            raise StreamIDError(too_small)
        sid = (self.ms, self.seq)
        if sid == (0, 0):
            raise StreamIDError("ERR The ID specified in XADD must be greater than 0-0")
        if sid <= last:
            raise StreamIDError(too_small)
        return sid
