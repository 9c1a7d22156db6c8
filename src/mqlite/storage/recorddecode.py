"""Decoding the record section of a RecordBatch v2 (the layout is in recordbatch.py).

Owns `decode_records` (bytes -> `Record`s, optionally only an offset range). Two paths,
one result:

- uniform runs (uniformruns.py): batches whose records share one layout (fixed-size
  keys and values, no headers) are checked and cut column by column at C speed; any
  mismatch hands the rest of the batch to the generic loop, so the output never
  depends on which path ran.
- generic loop: one pass; the common varint sizes are decoded inline from two 256-entry
  tuples (record length 1-2 bytes, timestamp delta 1-2, offset delta 1-3, key length 1,
  value length 1-3, header fields 1), anything else by `_varint`. Records are built
  with `tuple.__new__`.

Ranged decoding (`first_offset`, `max_records`, used by `Log.read_records`): in a
dense batch the records before `first_offset` are stepped over by their length and
offset-delta varints (or, in a uniform run, by arithmetic) and records after the limit
are not read. Every offset delta met must equal its index, else (gaps, reordering) the
batch is decoded whole and filtered. Records stepped over or past the limit are not
otherwise validated: a malformed record there does not fail the read (the batch CRC
still guards stored bytes).

Cost floor: building the `Record`s and their key/value `bytes` (allocation plus the
cyclic GC's young-generation passes) is ~0.3-0.5 us per record on CPython 3.11, paid by
both paths. Invariant: for any bytes, the result equals a straightforward varint
decoder's, or `InvalidBatch` is raised. Pure functions over immutable module tables
(the offset-delta columns grow by replacing a tuple reference); thread-safe.
"""

from __future__ import annotations

from mqlite.storage.batchheader import ATTR_TIMESTAMP_TYPE, BatchHeader, Record
from mqlite.storage.errors import InvalidBatch
from mqlite.storage.uniformruns import decode_uniform
from mqlite.storage.varint import Z1, H

__all__ = ["decode_records"]

#: uniform runs are tried for batches of at least this many records
UNIFORM_MIN = 8
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


# ------------------------------------------------------------------ generic loop


def _skip_records(body: bytes, pos: int, first: int, count: int) -> int | None:
    """Byte position after records first..first+count-1 starting at `pos`, reading only
    their lengths and offset deltas; None if an offset delta is not its index."""
    z1 = Z1
    slow = _varint
    for i in range(first, first + count):
        length = z1[body[pos]]
        if length is None:
            length, p = slow(body, pos)
        else:
            p = pos + 1
        if length < 6:
            raise InvalidBatch(f"record length {length} is below the minimum")
        pos = p + length
        if body[p + 1] < 0x80:  # skips attributes and a one-byte timestamp delta
            p += 2
        else:
            _, p = slow(body, p + 1)
        od = z1[body[p]]
        if od is None:
            od, _ = slow(body, p)
        if od != i:
            return None
    if pos > len(body):
        raise InvalidBatch("record section truncated")
    return pos


def _decode_generic(
    h: BatchHeader,
    body: bytes,
    pos: int,
    first: int,
    out: list[Record],
    stop: int | None = None,
) -> int:
    """Decode records first..stop-1 (the first one starting at byte `pos`) into `out`;
    returns the byte position after the last one."""
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
    return pos


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
    *,
    exact: bool = False,
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
        pos, index = decode_uniform(h, body, out, skip, stop)
    try:
        if index < stop:
            if index < skip:
                after = _skip_records(body, pos, index, skip - index)
                if after is None:  # an offset delta is not its index
                    return _filtered(h, body, first_offset, max_records)
                pos, index = after, skip
            mark = len(out)
            pos = _decode_generic(h, body, pos, index, out, stop)
            if first_offset is not None or max_records is not None:
                # The range was chosen assuming offset delta == index: check it held.
                start = h.base_offset + index
                if [r[0] for r in out[mark:]] != list(
                    range(start, start + len(out) - mark)
                ):
                    return _filtered(h, body, first_offset, max_records)
    except IndexError:
        raise InvalidBatch("record section truncated") from None
    except UnicodeDecodeError:
        raise InvalidBatch("record header key is not UTF-8") from None
    if exact and pos != len(body):
        raise InvalidBatch("Incorrect declared batch size, records still remaining in file")
    return out


def _filtered(
    h: BatchHeader, body: bytes, first_offset: int | None, max_records: int | None
) -> list[Record]:
    found = decode_records(h, body)
    if first_offset is not None:
        found = [r for r in found if r[0] >= first_offset]
    return found if max_records is None else found[: max(max_records, 0)]
