"""Uniform runs: the record decoder's fast path for batches of one record layout.

Owns `decode_uniform` (used by recorddecode.py only). When the records of a batch share
one layout (same key and value lengths, no headers, one-byte timestamp deltas, offset
delta == index), records `lo..hi` whose offset-delta varint has the same size (1 byte
below 64, 2 below 8192, 3 below 2^20) sit at a fixed stride. Every framing byte of such
a run is checked with one extended slice (`seg[j::stride]`, C speed), the offset deltas
against precomputed columns, the timestamp deltas with `bytes.isascii`, and keys/values
are cut at computed positions. Invariant: a run is only decoded here if every byte that
is not key, value, timestamp delta or offset delta equals the first record's, and its
offset deltas are its indexes in minimal encoding; anything else is left to the generic
loop, so the result equals the generic decoder's. Pure functions; the offset-delta
column cache grows by replacing one tuple reference (thread-safe under the GIL).
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import repeat

from mqlite.storage.batchheader import ATTR_TIMESTAMP_TYPE, BatchHeader, Record
from mqlite.storage.errors import InvalidBatch
from mqlite.storage.varint import TABLE, Z1, decode_varint

__all__ = ["decode_uniform"]

_CLASS_BOUNDS = ((0, 64), (64, 8192), (8192, 1 << 20))
_EMPTY: tuple[tuple[str, bytes | None], ...] = ()


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
        length, pos = decode_varint(body, pos)
    else:
        pos += 1
    if length < 6:
        return None
    end = pos + length
    if length >= len(TABLE) or body[start:pos] != TABLE[length]:
        return None  # over 32 KiB, or a non-minimal length varint
    tsd_at = pos + 1 - start
    if body[pos + 1] >= 0x80:
        return None
    pos += 2
    od_at = pos - start
    enc = TABLE[od_expected] if od_expected < len(TABLE) else _encode_plain(od_expected)
    if not body.startswith(enc, pos):
        return None
    pos += len(enc)
    kl, p = decode_varint(body, pos)
    if (
        kl < -1
        or kl >= len(TABLE)
        or body[pos:p] != (TABLE[kl] if kl >= 0 else b"\x01")
    ):
        return None
    key_at = p - start
    pos = p + max(kl, 0)
    vl, p = decode_varint(body, pos)
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
    body: bytes, pos: int, lo: int, hi: int, layout: tuple[int, ...], a: int, b: int
) -> tuple[bytes | None, list[bytes] | None, list[bytes] | None] | None:
    """Check records lo..hi-1 at `pos` all have `layout`; return columns of a..b-1.

    Returns (timestamp-delta bytes or None when all equal to record lo's, keys,
    values) of records a..b-1 (lo <= a <= b <= hi), None meaning "all null"; returns
    None if any framing byte of lo..hi-1 differs.
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
        tsd = tcol[a - lo : b - lo]
    first_at, end_at = (a - lo) * size, (b - lo) * size
    keys: list[bytes] | None = None
    if kl >= 0:
        keys = [seg[s : s + kl] for s in range(first_at + key_at, end_at, size)]
    values: list[bytes] | None = None
    if vl >= 0:
        values = [seg[s : s + vl] for s in range(first_at + value_at, end_at, size)]
    return tsd, keys, values


def decode_uniform(
    h: BatchHeader, body: bytes, out: list[Record], skip: int, stop: int
) -> tuple[int, int]:
    """Decode records skip..stop-1 found in leading uniform runs into `out`.

    Returns (byte position, record index) reached: runs are checked whole (one offset
    delta size class at a time) and stop at the first class that is not one uniform
    run, or once `stop` is reached; the caller decodes the rest from there.
    """
    n = h.record_count
    base_off = h.base_offset
    base_ts = h.base_timestamp
    log_append = h.attributes & ATTR_TIMESTAMP_TYPE
    mk = tuple.__new__
    cls = Record
    pos = 0
    for lo, hi in _CLASS_BOUNDS:
        if lo >= stop:
            return pos, lo
        hi = min(hi, n)
        try:
            layout = _run_layout(body, pos, lo)
        except (IndexError, ValueError, InvalidBatch):
            return pos, lo
        if layout is None:
            return pos, lo
        a, b = min(max(skip, lo), hi), min(stop, hi)
        cols = _uniform_run(body, pos, lo, hi, layout, a, b)
        if cols is None:
            return pos, lo
        tsd, keys, values = cols
        m = b - a
        if m > 0:
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
                        range(base_off + a, base_off + b),
                        ts_it,
                        repeat(None, m) if keys is None else keys,
                        repeat(None, m) if values is None else values,
                        repeat(_EMPTY, m),
                    ),
                )
            )
        pos += (hi - lo) * layout[0]
        if hi >= n:
            return pos, hi
    return pos, _CLASS_BOUNDS[-1][1]  # more than 2^20 records: the rest is generic
