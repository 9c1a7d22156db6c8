"""Decoding the record section of a RecordBatch v2 (the layout is in recordbatch.py).

Owns `decode_records` (bytes -> `Record`s). Two paths, one result:

- uniform runs: producers mostly write batches whose records share one layout (same
  key and value lengths, no headers, one-byte timestamp deltas, dense offset deltas).
  Records `lo..hi` whose offset-delta varint has the same size then sit at a fixed
  stride, so every framing byte is checked for the whole run with one extended slice
  (`seg[j::stride]`, C speed) and keys/values are cut at computed positions. Any
  mismatch (a byte of framing differs, a non-minimal varint, a gap in offset deltas)
  makes the run fall back to the generic loop, so the output never depends on which
  path ran.
- generic loop: one pass over the body; one- to three-byte varints (every length,
  offset delta and timestamp delta below 2^20) are decoded inline from two 256-entry
  tables, longer ones by `_varint`. Records are built with `tuple.__new__`.

Invariant: for any bytes, both paths return exactly what a straightforward varint
decoder would, or raise `InvalidBatch`. Pure functions over immutable module tables
(the offset-delta columns grow by replacing a tuple reference); thread-safe.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import repeat

from mqlite.storage.batchheader import ATTR_TIMESTAMP_TYPE, BatchHeader, Record
from mqlite.storage.errors import InvalidBatch
from mqlite.storage.varint import TABLE

__all__ = ["decode_records"]

#: Z1[b]: value of the one-byte varint b (b < 0x80, may be negative); None for b >= 0x80.
Z1: tuple[int | None, ...] = (
    tuple((b >> 1) ^ -(b & 1) for b in range(128)) + (None,) * 128
)
#: H[b]: for a first byte b >= 0x80 of a varint of a non-negative value, its 6 value
#: bits ((b >> 1) - 64); None otherwise (continuation clear, or a negative value).
H: tuple[int | None, ...] = (None,) * 128 + tuple(
    None if b & 1 else (b >> 1) - 64 for b in range(128, 256)
)

#: uniform runs are tried for batches of at least this many records
UNIFORM_MIN = 8
_CLASS_BOUNDS = ((0, 64), (64, 8192), (8192, 1 << 20))
_EMPTY: tuple[tuple[str, bytes | None], ...] = ()


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
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


# ------------------------------------------------------------------ offset-delta columns

_od_cols: tuple[int, tuple[bytes, ...]] = (0, ())


def _od_columns(hi: int) -> tuple[bytes, ...]:
    """Byte j (j < 3) of the minimal varint of every i < hi, one bytes per j (cached).

    `cols[j][i]` is that byte, or 0xFF where TABLE[i] is shorter than j + 1 bytes.
    """
    global _od_cols
    have, cols = _od_cols
    if hi <= have:
        return cols
    n = 1 << max(hi - 1, 255).bit_length()
    rows = [TABLE[i] for i in range(min(n, len(TABLE)))]
    rows += [_encode_plain(i) for i in range(len(rows), n)]
    cols = tuple(bytes(r[j] if len(r) > j else 0xFF for r in rows) for j in range(3))
    _od_cols = (n, cols)
    return cols


def _encode_plain(n: int) -> bytes:
    z = n << 1
    out = bytearray()
    while z > 0x7F:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


# ------------------------------------------------------------------ uniform runs


def _run_layout(body: bytes, pos: int, od_expected: int) -> tuple[int, ...] | None:
    """Layout of the record at `pos` if it can start a uniform run, else None.

    Returns (size, tsd_at, od_at, od_size, key_at, key_len, value_at, value_len) with
    positions relative to the record start; key_len -1 means a null key (same for
    values). Needs: one-byte timestamp delta, minimal varints, offset delta ==
    `od_expected`, no headers.
    """
    start = pos
    b = body[pos]
    length = Z1[b]
    if length is None:
        length, pos = _varint(body, pos)
    else:
        pos += 1
    if length < 6:
        return None
    end = pos + length
    if body[start:pos] != TABLE[length] if length < len(TABLE) else True:
        return None
    tsd_at = pos + 1 - start
    if body[pos + 1] >= 0x80:
        return None
    pos += 2
    od_at = pos - start
    enc = TABLE[od_expected] if od_expected < len(TABLE) else _encode_plain(od_expected)
    if not body.startswith(enc, pos):
        return None
    pos += len(enc)
    kl, p = _varint(body, pos)
    if (
        kl < -1
        or kl >= len(TABLE)
        or body[pos:p] != (TABLE[kl] if kl >= 0 else b"\x01")
    ):
        return None
    key_at = p - start
    pos = p + max(kl, 0)
    vl, p = _varint(body, pos)
    if (
        vl < -1
        or vl >= len(TABLE)
        or body[pos:p] != (TABLE[vl] if vl >= 0 else b"\x01")
    ):
        return None
    value_at = p - start
    pos = p + max(vl, 0)
    if pos + 1 != end or body[pos] != 0:
        return None
    return (end - start, tsd_at, od_at, len(enc), key_at, kl, value_at, vl)


def _uniform_run(
    body: bytes, pos: int, lo: int, hi: int, layout: tuple[int, ...]
) -> tuple[bytes | None, list[bytes] | None, list[bytes] | None] | None:
    """Check records lo..hi-1 at `pos` all have `layout`; return their columns.

    Returns (timestamp-delta bytes or None when all equal to record lo's, keys,
    values) with None meaning "all null"; None if any framing byte differs.
    """
    size, tsd_at, od_at, od_size, key_at, kl, value_at, vl = layout
    m = hi - lo
    seg = body[pos : pos + m * size]
    if len(seg) != m * size:
        return None
    first = seg[:size]
    key_end = key_at + max(kl, 0)
    value_end = value_at + max(vl, 0)
    framing = (
        *range(tsd_at),  # length varint, attributes
        *range(od_at + od_size, key_at),  # key length varint
        *range(key_end, value_at),  # value length varint
        *range(value_end, size),  # header count
    )
    for j in framing:
        if seg[j::size] != first[j : j + 1] * m:
            return None
    cols = _od_columns(hi)
    for j in range(od_size):
        if seg[od_at + j :: size] != cols[j][lo:hi]:
            return None
    tcol = seg[tsd_at::size]
    if not tcol.isascii():
        return None
    tsd: bytes | None = None
    if tcol.count(tcol[0]) != m:
        tsd = tcol
    keys: list[bytes] | None = None
    if kl >= 0:
        keys = [seg[s : s + kl] for s in range(key_at, m * size, size)]
    values: list[bytes] | None = None
    if vl >= 0:
        values = [seg[s : s + vl] for s in range(value_at, m * size, size)]
    return tsd, keys, values


def _decode_uniform(h: BatchHeader, body: bytes, out: list[Record]) -> int:
    """Decode leading uniform runs of `body` into `out`; returns the byte position reached.

    Stops at the first class range that is not one uniform run; the caller decodes the
    rest (records `len(out)`.. from the returned position) with the generic loop.
    """
    n = h.record_count
    base_off = h.base_offset
    base_ts = h.base_timestamp
    log_append = h.attributes & ATTR_TIMESTAMP_TYPE
    mk = tuple.__new__
    cls = Record
    pos = 0
    for lo, hi in _CLASS_BOUNDS:
        if lo >= n:
            break
        hi = min(hi, n)
        try:
            layout = _run_layout(body, pos, lo)
        except (IndexError, InvalidBatch):
            return pos
        if layout is None:
            return pos
        cols = _uniform_run(body, pos, lo, hi, layout)
        if cols is None:
            return pos
        tsd, keys, values = cols
        m = hi - lo
        if log_append:
            ts_it: Iterator[int] = repeat(h.max_timestamp, m)
        elif tsd is None:
            ts_it = repeat(base_ts + Z1[body[pos + layout[1]]], m)  # type: ignore[operator]
        else:
            table = [base_ts + z for z in Z1[:128]]  # type: ignore[operator]
            ts_it = map(table.__getitem__, tsd)
        out.extend(
            map(
                mk,
                repeat(cls, m),
                zip(
                    range(base_off + lo, base_off + hi),
                    ts_it,
                    repeat(None, m) if keys is None else keys,
                    repeat(None, m) if values is None else values,
                    repeat(_EMPTY, m),
                ),
            )
        )
        pos += m * layout[0]
    return pos


# ------------------------------------------------------------------ generic loop


def _decode_generic(
    h: BatchHeader, body: bytes, pos: int, first: int, out: list[Record]
) -> None:
    """Decode records `first`.. of the batch starting at byte `pos` into `out`."""
    append = out.append
    base_off = h.base_offset
    base_ts = h.base_timestamp
    log_append = h.attributes & ATTR_TIMESTAMP_TYPE
    max_ts = h.max_timestamp
    slow = _varint
    z1 = Z1
    hh = H
    mk = tuple.__new__
    cls = Record
    empty = _EMPTY
    for _ in range(first, h.record_count):
        # record length (1-3 bytes inline)
        b = body[pos]
        length = z1[b]
        if length is None:
            length = hh[b]
            c = body[pos + 1]
            if length is not None and c < 0x80:
                length += c * 64
                pos += 2
            else:
                length, pos = slow(body, pos)
        else:
            pos += 1
        # No bounds check here: a length that does not match the fields fails the
        # `pos != end` check below, and fields running past the body raise IndexError.
        end = pos + length
        # attributes (skipped), timestamp delta
        b = body[pos + 1]
        tsd = z1[b]
        if tsd is None:
            tsd = hh[b]
            c = body[pos + 2]
            if tsd is not None and c < 0x80:
                tsd += c * 64
                pos += 3
            else:
                tsd, pos = slow(body, pos + 1)
        else:
            pos += 2
        # offset delta
        b = body[pos]
        od = z1[b]
        if od is None:
            od = hh[b]
            c = body[pos + 1]
            if od is not None and c < 0x80:
                od += c * 64
                pos += 2
            elif od is not None and body[pos + 2] < 0x80:
                od += (c - 0x80) * 64 + body[pos + 2] * 8192
                pos += 3
            else:
                od, pos = slow(body, pos)
        else:
            pos += 1
        # key
        b = body[pos]
        if b == 1:
            key: bytes | None = None
            pos += 1
        else:
            kl = z1[b]
            if kl is None:
                kl, pos = slow(body, pos)
            else:
                pos += 1
            if kl < 0:
                raise InvalidBatch(f"negative key length {kl}")
            key = body[pos : pos + kl]
            pos += kl
        # value
        b = body[pos]
        if b == 1:
            value: bytes | None = None
            pos += 1
        else:
            vl = z1[b]
            if vl is None:
                vl = hh[b]
                c = body[pos + 1]
                if vl is not None and c < 0x80:
                    vl += c * 64
                    pos += 2
                elif vl is not None and body[pos + 2] < 0x80:
                    vl += (c - 0x80) * 64 + body[pos + 2] * 8192
                    pos += 3
                else:
                    vl, pos = slow(body, pos)
            else:
                pos += 1
            if vl < 0:
                raise InvalidBatch(f"negative value length {vl}")
            value = body[pos : pos + vl]
            pos += vl
        # headers
        if body[pos] == 0:
            headers = empty
            pos += 1
        else:
            headers, pos = _headers(body, pos)
        if pos != end:
            raise InvalidBatch(
                f"record at offset delta {od} declares {length} bytes"
                f" but holds {pos - end + length}"
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


def _headers(body: bytes, pos: int) -> tuple[tuple[tuple[str, bytes | None], ...], int]:
    hc, pos = _varint(body, pos)
    if hc < 0:
        raise InvalidBatch(f"negative header count {hc}")
    hl: list[tuple[str, bytes | None]] = []
    for _h in range(hc):
        hkl, pos = _varint(body, pos)
        if hkl < 0:
            raise InvalidBatch(f"negative header key length {hkl}")
        hk = body[pos : pos + hkl].decode()
        pos += hkl
        hvl, pos = _varint(body, pos)
        if hvl >= 0:
            hl.append((hk, body[pos : pos + hvl]))
            pos += hvl
        elif hvl == -1:
            hl.append((hk, None))
        else:
            raise InvalidBatch(f"negative header value length {hvl}")
    if pos > len(body):  # the last slice ran past the body: no IndexError caught it
        raise InvalidBatch("record headers run past the batch")
    return tuple(hl), pos


# ------------------------------------------------------------------ public


def decode_records(h: BatchHeader, body: bytes) -> list[Record]:
    """Decode the (uncompressed) record section of a batch whose header is `h`."""
    out: list[Record] = []
    pos = 0
    if h.record_count >= UNIFORM_MIN:
        pos = _decode_uniform(h, body, out)
    try:
        if len(out) < h.record_count:
            _decode_generic(h, body, pos, len(out), out)
    except IndexError:
        raise InvalidBatch("record section truncated") from None
    except UnicodeDecodeError:
        raise InvalidBatch("record header key is not UTF-8") from None
    return out
