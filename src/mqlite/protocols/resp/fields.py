"""The stored form of a Redis stream entry's field/value pairs (sans-IO, no state).

An XADD record's value is `( u32be len | bytes )*` (field, value, field, value...) and
its first header is `redis-id` = `<ms>-<seq>`; a record written by another front-end
(Kafka, Kinesis) reads as the fields `key` (if any) and `value`.
"""

from __future__ import annotations

import struct
from typing import Any

Fields = list[bytes]  # flat [field, value, field, value, ...]
_U32 = struct.Struct(">I")
ID_HEADER = "redis-id"  # header of an entry record written by XADD


def encode_fields(fields: Fields) -> bytes:
    """Field/value pairs as stored (the record value): `( u32be len | bytes )*`."""
    pack = _U32.pack
    if len(fields) == 2:  # the usual `XADD key * field value`
        f, v = fields
        return pack(len(f)) + f + pack(len(v)) + v
    return b"".join([pack(len(f)) + f for f in fields])


def decode_fields(value: bytes) -> Fields:
    out: Fields = []
    pos, n = 0, len(value)
    unpack = _U32.unpack_from
    while pos + 4 <= n:
        (ln,) = unpack(value, pos)
        pos += 4
        out.append(value[pos : pos + ln])
        pos += ln
    return out


def record_fields(rec: Any) -> Fields:
    """The fields of an entry record: ours (`redis-id`) or another front-end's
    (`key` if any, then `value`)."""
    h = rec.headers
    if h and h[0][0] == ID_HEADER:
        return decode_fields(bytes(rec.value or b""))
    out: Fields = []
    if rec.key is not None:
        out += [b"key", bytes(rec.key)]
    out += [b"value", bytes(rec.value or b"")]
    return out


__all__ = ["ID_HEADER", "Fields", "decode_fields", "encode_fields", "record_fields"]
