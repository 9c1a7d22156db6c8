"""Zig-zag varints (Kafka's `varint`/`varlong`, protobuf encoding) for the v2 codec.

Owns the fast paths of the record codec: a precomputed table of the encodings of
0..TABLE_SIZE-1 (so most lengths, offset deltas and timestamp deltas are one list
lookup), a decoder with a one-byte fast path, and the two 256-entry decode tables the
record decoder inlines (`Z1` one-byte values, `H` first-byte value bits). Values are zig-zag mapped
(`(n << 1) ^ (n >> 63)`) then written 7 bits at a time, least significant group first,
high bit set on every byte but the last. Pure functions and immutable tables; thread-safe.
"""

from __future__ import annotations

__all__ = [
    "MINUS_ONE",
    "TABLE",
    "TABLE_SIZE",
    "Z1",
    "H",
    "decode_varint",
    "encode_varint",
    "varint_size",
]

TABLE_SIZE = 1 << 15


def _slow_encode(n: int) -> bytes:
    z = (n << 1) ^ (n >> 63)
    out = bytearray()
    while z > 0x7F:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


def _build_table() -> list[bytes]:
    one = [bytes((2 * n,)) for n in range(64)]
    two = [bytes(((2 * n & 0x7F) | 0x80, (2 * n) >> 7)) for n in range(64, 8192)]
    three = [
        bytes((((2 * n) & 0x7F) | 0x80, (((2 * n) >> 7) & 0x7F) | 0x80, (2 * n) >> 14))
        for n in range(8192, TABLE_SIZE)
    ]
    return one + two + three


#: TABLE[n] is the zig-zag varint encoding of n, for 0 <= n < TABLE_SIZE.
TABLE: list[bytes] = _build_table()
MINUS_ONE = b"\x01"

#: Z1[b]: value of the one-byte varint b (b < 0x80, may be negative); None for b >= 0x80.
Z1: tuple[int | None, ...] = (
    tuple((b >> 1) ^ -(b & 1) for b in range(128)) + (None,) * 128
)
#: H[b]: for a first byte b >= 0x80 of a varint of a non-negative value, its 6 value
#: bits ((b >> 1) - 64); None otherwise (continuation clear, or a negative value).
H: tuple[int | None, ...] = (None,) * 128 + tuple(
    None if b & 1 else (b >> 1) - 64 for b in range(128, 256)
)


def encode_varint(n: int) -> bytes:
    """Zig-zag varint encoding of a signed 64-bit integer."""
    if 0 <= n < TABLE_SIZE:
        return TABLE[n]
    return _slow_encode(n)


def varint_size(n: int) -> int:
    """Number of bytes `encode_varint(n)` takes."""
    z = (n << 1) ^ (n >> 63)
    size = 1
    while z > 0x7F:
        z >>= 7
        size += 1
    return size


def decode_varint(buf: bytes, pos: int) -> tuple[int, int]:
    """Decode one zig-zag varint at `pos`; returns (value, next position).

    Raises IndexError on a truncated varint and ValueError on one over 10 bytes.
    """
    b = buf[pos]
    if b < 0x80:
        return (b >> 1) ^ -(b & 1), pos + 1
    result = b & 0x7F
    shift = 7
    pos += 1
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return (result >> 1) ^ -(result & 1), pos
        shift += 7
        if shift > 63:
            raise ValueError("varint longer than 10 bytes")
