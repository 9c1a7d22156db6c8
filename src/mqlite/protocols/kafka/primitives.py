"""Kafka wire primitives, sans-IO: integers, varints, strings, bytes, and the output buffer.

Owns the encoders/decoders of the protocol's primitive types (Kafka protocol guide,
"Protocol Primitive Types"): big-endian fixed-width integers; non-flexible versions use
int16-length strings and int32-length bytes (-1 = null); flexible versions use
unsigned-varint lengths plus one ("compact", 0 = null). A decoder is
`(buf, pos) -> (value, pos)`, an encoder `(value, out) -> None`. `Output` lets big
chunks (stored record batches) be spliced in by reference.
Pure functions and closures; no I/O, no asyncio; thread-safe.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from mqlite.errors import ProtocolError

Decoder = Callable[[bytes, int], tuple[Any, int]]
Encoder = Callable[[Any, bytearray], None]


class KafkaDecodeError(ProtocolError):
    """A request that cannot be parsed (truncated or garbled)."""


class UnknownApiError(ProtocolError):
    def __init__(self, api_key: int) -> None:
        super().__init__(f"unknown api key {api_key}", rule="kafka-api-key")
        self.api_key = api_key


class UnsupportedVersionError(ProtocolError):
    def __init__(self, api_key: int, version: int, correlation_id: int) -> None:
        super().__init__(f"unsupported version {version} of api {api_key}", rule="kafka-api-version")
        self.api_key = api_key
        self.version = version
        self.correlation_id = correlation_id


# -- primitives ----------------------------------------------------------------------
S_INT8 = struct.Struct(">b")
S_INT16 = struct.Struct(">h")
_S_H = struct.Struct(">H")
S_INT32 = struct.Struct(">i")
_S_I = struct.Struct(">I")
_S_q = struct.Struct(">q")
_S_d = struct.Struct(">d")
S_HEADER = struct.Struct(">hhi")


def read_uvarint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise KafkaDecodeError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise KafkaDecodeError("varint too long")


def write_uvarint(value: int, out: bytearray) -> None:
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def fixed_type(st: struct.Struct) -> tuple[Decoder, Encoder]:
    size, unpack, pack = st.size, st.unpack_from, st.pack

    def dec(buf: bytes, pos: int) -> tuple[Any, int]:
        if pos + size > len(buf):
            raise KafkaDecodeError("truncated")
        return unpack(buf, pos)[0], pos + size

    def enc(value: Any, out: bytearray) -> None:
        out += pack(value)

    return dec, enc


FIXED_TYPES = {
    "int8": fixed_type(S_INT8),
    "int16": fixed_type(S_INT16),
    "uint16": fixed_type(_S_H),
    "int32": fixed_type(S_INT32),
    "uint32": fixed_type(_S_I),
    "int64": fixed_type(_S_q),
    "float64": fixed_type(_S_d),
}


def bool_type() -> tuple[Decoder, Encoder]:
    def dec(buf: bytes, pos: int) -> tuple[Any, int]:
        if pos >= len(buf):
            raise KafkaDecodeError("truncated")
        return buf[pos] != 0, pos + 1

    def enc(value: Any, out: bytearray) -> None:
        out.append(1 if value else 0)

    return dec, enc


def uuid_type() -> tuple[Decoder, Encoder]:
    def dec(buf: bytes, pos: int) -> tuple[Any, int]:
        if pos + 16 > len(buf):
            raise KafkaDecodeError("truncated uuid")
        return bytes(buf[pos : pos + 16]), pos + 16

    def enc(value: Any, out: bytearray) -> None:
        out += value if value else bytes(16)

    return dec, enc


def blob_type(compact: bool, text: bool, wide: bool) -> tuple[Decoder, Encoder]:
    """string (text) or bytes/records; `wide` = int32 length (bytes) vs int16 (string)."""

    def dec(buf: bytes, pos: int) -> tuple[Any, int]:
        if compact:
            n, pos = read_uvarint(buf, pos)
            n -= 1
        elif wide:
            if pos + 4 > len(buf):
                raise KafkaDecodeError("truncated")
            n = S_INT32.unpack_from(buf, pos)[0]
            pos += 4
        else:
            if pos + 2 > len(buf):
                raise KafkaDecodeError("truncated")
            n = S_INT16.unpack_from(buf, pos)[0]
            pos += 2
        if n < 0:
            return None, pos
        end = pos + n
        if end > len(buf):
            raise KafkaDecodeError("truncated string/bytes")
        raw = bytes(buf[pos:end])
        if text:
            try:
                return raw.decode("utf-8"), end
            except UnicodeDecodeError as exc:
                raise KafkaDecodeError("invalid utf-8 string") from exc
        return raw, end

    def enc(value: Any, out: bytearray) -> None:
        if value is None:
            if compact:
                out.append(0)
            elif wide:
                out += b"\xff\xff\xff\xff"
            else:
                out += b"\xff\xff"
            return
        if isinstance(value, (list, tuple)):  # records as chunks
            n = sum(len(c) for c in value)
            chunks = value
            if n >= _SPLICE_MIN and isinstance(out, Output):
                if compact:
                    write_uvarint(n + 1, out)
                else:
                    out += S_INT32.pack(n)
                out.splice(value)
                return
        else:
            data = value.encode("utf-8") if isinstance(value, str) else value
            n = len(data)
            chunks = (data,)
        if compact:
            write_uvarint(n + 1, out)
        elif wide:
            out += S_INT32.pack(n)
        else:
            out += S_INT16.pack(n)
        for c in chunks:
            out += c

    return dec, enc


_SPLICE_MIN = 64 * 1024


class Output(bytearray):
    """An encoder's output buffer that can take big chunks (stored record batches) by
    reference: `parts()` gives the whole encoding as a list for `writelines`, without
    copying those chunks into the buffer."""

    def __init__(self, initial: bytes = b"") -> None:
        super().__init__(initial)
        self._parts: list[bytes] = []
        self._size = 0

    def splice(self, chunks: list[bytes] | tuple[bytes, ...]) -> None:
        self._parts.append(bytes(self))
        self._size += len(self)
        self.clear()
        for c in chunks:
            self._parts.append(c)
            self._size += len(c)

    @property
    def total(self) -> int:
        return self._size + len(self)

    def parts(self) -> list[bytes]:
        return [*self._parts, bytes(self)] if self._parts else [bytes(self)]


