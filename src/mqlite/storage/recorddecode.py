"""Decoding the record section of a RecordBatch v2 (the layout is in recordbatch.py).

Owns `decode_records` (bytes -> `Record`s, optionally only an offset range). Two paths,
one result:

- uniform runs: when the records of a batch share one layout (same key and value
  lengths, no headers, one-byte timestamp deltas, offset delta == index: fixed-size
  payloads, benchmarks, many producers), records `lo..hi` whose offset-delta varint has
  the same size (1 byte below 64, 2 below 8192, 3 below 2^20) sit at a fixed stride.
  Every framing byte of the run is then checked with one extended slice
  (`seg[j::stride]`, C speed), the offset deltas against precomputed columns, and
  keys/values are cut at computed positions. Any mismatch (a framing byte differs, a
  non-minimal varint, a gap in offset deltas) hands the rest of the batch to the
  generic loop, so the output never depends on which path ran.
- generic loop: one pass; the common varint sizes are decoded inline from two 256-entry
  tuples (record length 1-2 bytes, timestamp delta 1-2, offset delta 1-3, key length 1,
  value length 1-3, header fields 1), anything else by `_varint`. Records are built
  with `tuple.__new__`.

Ranged decoding (`first_offset`, `max_records`, used by `Log.read_records`): in a
dense batch the records before `first_offset` are stepped over by their length varints
(or, in a uniform run, by arithmetic) and records after the limit are not read; the
decoded offsets are checked against the index assumption, and a batch with gaps or
reordered offset deltas is decoded whole and filtered instead.

Cost floor: building the `Record`s and their key/value `bytes` (allocation plus the
cyclic GC's young-generation passes) is ~0.3-0.5 us per record on CPython 3.11, paid by
both paths. Invariant: for any bytes, the result equals a straightforward varint
decoder's, or `InvalidBatch` is raised. Pure functions over immutable module tables
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


def _decode_uniform(
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
        except (IndexError, InvalidBatch):
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


# ------------------------------------------------------------------ generic loop


def _skip_records(body: bytes, pos: int, count: int) -> int:
    """Byte position after `count` records from `pos`, reading only their lengths."""
    z1 = Z1
    for _ in range(count):
        length = z1[body[pos]]
        if length is None:
            length, pos = _varint(body, pos)
        else:
            pos += 1
        if length < 6:
            raise InvalidBatch(f"record length {length} is below the minimum")
        pos += length
    if pos > len(body):
        raise InvalidBatch("record section truncated")
    return pos


def _decode_generic(
    h: BatchHeader,
    body: bytes,
    pos: int,
    first: int,
    out: list[Record],
    skip: int = 0,
    stop: int | None = None,
) -> None:
    """Decode records max(first, skip)..stop-1, the record `first` starting at byte
    `pos`, into `out` (records before `skip` are stepped over by length only)."""
    if first < skip:
        pos = _skip_records(body, pos, skip - first)
        first = skip
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
    for _ in range(first, h.record_count if stop is None else stop):
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
    """The header array at `pos` (count, then key/value pairs); one-byte varints inline."""
    z1 = Z1
    slow = _varint
    n = z1[body[pos]]
    if n is None:
        hc, pos = slow(body, pos)
    else:
        hc = n
        pos += 1
    if hc < 0:
        raise InvalidBatch(f"negative header count {hc}")
    hl: list[tuple[str, bytes | None]] = []
    append = hl.append
    for _h in range(hc):
        n = z1[body[pos]]
        if n is None:
            n, pos = slow(body, pos)
        else:
            pos += 1
        if n < 0:
            raise InvalidBatch(f"negative header key length {n}")
        hk = body[pos : pos + n].decode()
        pos += n
        n = z1[body[pos]]
        if n is None:
            n, pos = slow(body, pos)
        else:
            pos += 1
        if n >= 0:
            append((hk, body[pos : pos + n]))
            pos += n
        elif n == -1:
            append((hk, None))
        else:
            raise InvalidBatch(f"negative header value length {n}")
    if pos > len(body):  # the last slice ran past the body: no IndexError caught it
        raise InvalidBatch("record headers run past the batch")
    return tuple(hl), pos


# ------------------------------------------------------------------ public


def decode_records(
    h: BatchHeader,
    body: bytes,
    first_offset: int | None = None,
    max_records: int | None = None,
) -> list[Record]:
    """Decode the (uncompressed) record section of a batch whose header is `h`.

    With `first_offset` / `max_records`: only the records with offset >= first_offset,
    at most max_records of them (what `Log.read_records` needs from each batch). In a
    dense batch (offset delta == index, as every producer writes) the records before
    are stepped over by their lengths and those after are not read at all.
    """
    n = h.record_count
    skip, stop = 0, n
    if first_offset is not None or max_records is not None:
        if h.last_offset_delta + 1 != n:  # offset deltas with gaps: decode, filter
            return _filtered(h, body, first_offset, max_records)
        if first_offset is not None:
            skip = min(max(first_offset - h.base_offset, 0), n)
        if max_records is not None:
            stop = min(n, skip + max(max_records, 0))
    out: list[Record] = []
    pos = index = 0
    if n >= UNIFORM_MIN:
        pos, index = _decode_uniform(h, body, out, skip, stop)
    try:
        if index < stop:
            mark = len(out)
            _decode_generic(h, body, pos, index, out, skip, stop)
            if (skip, stop) != (0, n):
                # Stepping over records assumed offset delta == index: check it held.
                start = h.base_offset + max(index, skip)
                if [r[0] for r in out[mark:]] != list(
                    range(start, start + len(out) - mark)
                ):
                    return _filtered(h, body, first_offset, max_records)
    except IndexError:
        raise InvalidBatch("record section truncated") from None
    except UnicodeDecodeError:
        raise InvalidBatch("record header key is not UTF-8") from None
    return out


def _filtered(
    h: BatchHeader, body: bytes, first_offset: int | None, max_records: int | None
) -> list[Record]:
    found = decode_records(h, body)
    if first_offset is not None:
        found = [r for r in found if r[0] >= first_offset]
    return found if max_records is None else found[: max(max_records, 0)]
