"""Kafka wire codec, sans-IO: frames in, `Request` events out; response dicts in, bytes out.

Owns: length-prefixed framing (`FrameReader`, with a frame size cap), request headers
v0/v1/v2 and response headers v0/v1, and body encoders/decoders compiled from Kafka's
JSON schemas (`schema`) per (message, version) into closures on first use.

Wire rules (Kafka protocol guide + schemas): big-endian fixed-width integers;
non-flexible versions use int16-length strings, int32-length bytes and arrays (-1 =
null); flexible versions use unsigned-varint lengths plus one ("compact", 0 = null)
and end every struct with a tagged-field section (uvarint count, then tag, size,
data). Unknown tags are skipped. The request header's ClientId is never compact.
ApiVersions responses always use response header v0.

Decoded messages are plain dicts keyed by the schema's field names; every field of the
struct is present (fields absent from the version carry the schema default), so
handlers never test versions. Encoders take the same dicts; missing keys take defaults.
A `records` field is bytes (decode) and bytes or a list of bytes chunks (encode).

Invariants: no asyncio, no sockets; errors are `KafkaDecodeError` (malformed),
`UnknownApiError` and `UnsupportedVersionError`, all `ProtocolError`s.
Concurrency: compiled closures are pure; the cache is filled idempotently.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mqlite.errors import ProtocolError
from mqlite.protocols.kafka.schema import (
    FieldSpec,
    MessageSpec,
    Versions,
    api_names,
    load,
)

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


class FrameTooLarge(ProtocolError):
    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"frame of {size} bytes over limit {limit}", rule="socket.request.max.bytes")
        self.size = size


# -- primitives ----------------------------------------------------------------------
_S_b = struct.Struct(">b")
_S_h = struct.Struct(">h")
_S_H = struct.Struct(">H")
_S_i = struct.Struct(">i")
_S_I = struct.Struct(">I")
_S_q = struct.Struct(">q")
_S_d = struct.Struct(">d")
_S_hhi = struct.Struct(">hhi")


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


def _fixed(st: struct.Struct) -> tuple[Decoder, Encoder]:
    size, unpack, pack = st.size, st.unpack_from, st.pack

    def dec(buf: bytes, pos: int) -> tuple[Any, int]:
        if pos + size > len(buf):
            raise KafkaDecodeError("truncated")
        return unpack(buf, pos)[0], pos + size

    def enc(value: Any, out: bytearray) -> None:
        out += pack(value)

    return dec, enc


_FIXED = {
    "int8": _fixed(_S_b),
    "int16": _fixed(_S_h),
    "uint16": _fixed(_S_H),
    "int32": _fixed(_S_i),
    "uint32": _fixed(_S_I),
    "int64": _fixed(_S_q),
    "float64": _fixed(_S_d),
}


def _bool() -> tuple[Decoder, Encoder]:
    def dec(buf: bytes, pos: int) -> tuple[Any, int]:
        if pos >= len(buf):
            raise KafkaDecodeError("truncated")
        return buf[pos] != 0, pos + 1

    def enc(value: Any, out: bytearray) -> None:
        out.append(1 if value else 0)

    return dec, enc


def _uuid() -> tuple[Decoder, Encoder]:
    def dec(buf: bytes, pos: int) -> tuple[Any, int]:
        if pos + 16 > len(buf):
            raise KafkaDecodeError("truncated uuid")
        return bytes(buf[pos : pos + 16]), pos + 16

    def enc(value: Any, out: bytearray) -> None:
        out += value if value else bytes(16)

    return dec, enc


def _blob(compact: bool, text: bool, wide: bool) -> tuple[Decoder, Encoder]:
    """string (text) or bytes/records; `wide` = int32 length (bytes) vs int16 (string)."""

    def dec(buf: bytes, pos: int) -> tuple[Any, int]:
        if compact:
            n, pos = read_uvarint(buf, pos)
            n -= 1
        elif wide:
            if pos + 4 > len(buf):
                raise KafkaDecodeError("truncated")
            n = _S_i.unpack_from(buf, pos)[0]
            pos += 4
        else:
            if pos + 2 > len(buf):
                raise KafkaDecodeError("truncated")
            n = _S_h.unpack_from(buf, pos)[0]
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
                    out += _S_i.pack(n)
                out.splice(value)
                return
        else:
            data = value.encode("utf-8") if isinstance(value, str) else value
            n = len(data)
            chunks = (data,)
        if compact:
            write_uvarint(n + 1, out)
        elif wide:
            out += _S_i.pack(n)
        else:
            out += _S_h.pack(n)
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


def _default(f: FieldSpec) -> Any:
    d = f.default
    if f.is_array:
        return None if d == "null" else []
    t = f.type
    if t in _FIXED:
        if d is None or d == "":
            return 0.0 if t == "float64" else 0
        if t == "float64":
            return float(d)
        return int(d, 0)
    if t == "bool":
        return d == "true"
    if t == "string":
        return None if d == "null" else (d or "")
    if t in ("bytes", "records"):
        return None if d == "null" or f.nullable.lo <= f.nullable.hi else b""
    if t == "uuid":
        return bytes(16)
    # struct
    if d == "null":
        return None
    return {sf.name: _default(sf) for sf in f.fields}


# -- compilation -----------------------------------------------------------------------
def _compile_type(f: FieldSpec, version: int, flexible: bool) -> tuple[Decoder, Encoder]:
    element = f.element
    if element in _FIXED:
        pair = _FIXED[element]
    elif element == "bool":
        pair = _bool()
    elif element == "uuid":
        pair = _uuid()
    elif element == "string":
        pair = _blob(flexible, True, False)
    elif element in ("bytes", "records"):
        pair = _blob(flexible, False, True)
    else:
        pair = _compile_struct(f.fields, version, flexible)
        if not f.is_array and f.nullable.lo <= version <= f.nullable.hi:
            pair = _nullable_struct(pair)
    if f.is_array:
        return _array(pair, flexible)
    return pair


def _nullable_struct(pair: tuple[Decoder, Encoder]) -> tuple[Decoder, Encoder]:
    sdec, senc = pair

    def dec(buf: bytes, pos: int) -> tuple[Any, int]:
        if pos >= len(buf):
            raise KafkaDecodeError("truncated")
        if _S_b.unpack_from(buf, pos)[0] < 0:
            return None, pos + 1
        return sdec(buf, pos + 1)

    def enc(value: Any, out: bytearray) -> None:
        if value is None:
            out.append(0xFF)
        else:
            out.append(1)
            senc(value, out)

    return dec, enc


def _array(pair: tuple[Decoder, Encoder], compact: bool) -> tuple[Decoder, Encoder]:
    edec, eenc = pair

    def dec(buf: bytes, pos: int) -> tuple[Any, int]:
        if compact:
            n, pos = read_uvarint(buf, pos)
            n -= 1
        else:
            if pos + 4 > len(buf):
                raise KafkaDecodeError("truncated array")
            n = _S_i.unpack_from(buf, pos)[0]
            pos += 4
        if n < 0:
            return None, pos
        if n > len(buf) - pos:  # each element takes at least one byte
            raise KafkaDecodeError("array length exceeds frame")
        items: list[Any] = []
        append = items.append
        for _ in range(n):
            v, pos = edec(buf, pos)
            append(v)
        return items, pos

    def enc(value: Any, out: bytearray) -> None:
        if value is None:
            if compact:
                out.append(0)
            else:
                out += b"\xff\xff\xff\xff"
            return
        if compact:
            write_uvarint(len(value) + 1, out)
        else:
            out += _S_i.pack(len(value))
        for v in value:
            eenc(v, out)

    return dec, enc


def _compile_struct(fields: tuple[FieldSpec, ...], version: int, flexible: bool) -> tuple[Decoder, Encoder]:
    regular: list[tuple[str, Decoder, Encoder, Any]] = []
    tagged: dict[int, tuple[str, Decoder, Encoder, Any]] = {}
    absent: list[tuple[str, Any]] = []
    for f in fields:
        default = _default(f)
        if version not in f.versions:
            absent.append((f.name, default))
            continue
        fflex = flexible if f.flexible is None else (version in f.flexible)
        dec, enc = _compile_type(f, version, fflex)
        if flexible and version in f.tagged and f.tag is not None:
            tagged[f.tag] = (f.name, dec, enc, default)
            absent.append((f.name, default))
        else:
            nullable = version in f.nullable
            regular.append((f.name, dec, enc, None if nullable else default))
    tag_order = sorted(tagged.items())
    fixed_absent = {name: d for name, d in absent if not isinstance(d, (list, dict))}
    mutable_absent = [(name, d) for name, d in absent if isinstance(d, (list, dict))]
    readers = [(name, fdec) for name, fdec, _e, _d in regular]
    writers = [(name, fenc, fallback) for name, _d, fenc, fallback in regular]

    def struct_dec(buf: bytes, pos: int) -> tuple[Any, int]:
        obj: dict[str, Any] = dict(fixed_absent) if fixed_absent else {}
        for name, default in mutable_absent:
            obj[name] = default.copy()
        for name, fdec in readers:
            obj[name], pos = fdec(buf, pos)
        if flexible:
            if pos < len(buf) and buf[pos] == 0:  # the common case: no tagged fields
                return obj, pos + 1
            count, pos = read_uvarint(buf, pos)
            for _ in range(count):
                tag, pos = read_uvarint(buf, pos)
                size, pos = read_uvarint(buf, pos)
                end = pos + size
                if end > len(buf):
                    raise KafkaDecodeError("truncated tagged field")
                known = tagged.get(tag)
                if known is not None:
                    obj[known[0]], _p = known[1](buf[:end], pos)
                pos = end
        return obj, pos

    def struct_enc(obj: Any, out: bytearray) -> None:
        get = obj.get
        for name, fenc, fallback in writers:
            v = get(name)
            fenc(fallback if v is None else v, out)
        if flexible:
            if not tag_order:
                out.append(0)
                return
            present = []
            for tag, (name, _d, fenc, default) in tag_order:
                v = get(name, default)
                if v != default:
                    present.append((tag, fenc, v))
            write_uvarint(len(present), out)
            for tag, fenc, v in present:
                body = bytearray()
                fenc(v, body)
                write_uvarint(tag, out)
                write_uvarint(len(body), out)
                out += body

    return struct_dec, struct_enc


@dataclass(frozen=True, slots=True)
class CompiledMessage:
    spec: MessageSpec
    version: int
    flexible: bool
    decode: Decoder
    encode: Encoder


_cache: dict[tuple[str, int], CompiledMessage] = {}


def compiled(name: str, version: int) -> CompiledMessage:
    """The compiled codec of message `name` (file stem) at `version`."""
    key = (name, version)
    hit = _cache.get(key)
    if hit is not None:
        return hit
    spec = load(name)
    if version not in spec.valid:
        raise ValueError(f"{name} has no version {version}")
    flexible = version in spec.flexible
    dec, enc = _compile_struct(spec.fields, version, flexible)
    msg = CompiledMessage(spec, version, flexible, dec, enc)
    _cache[key] = msg
    return msg


# -- framing ---------------------------------------------------------------------------
class FrameReader:
    """Splits a byte stream into Kafka frames (int32 size + payload); caps frame size."""

    __slots__ = ("_buf", "max_frame")

    def __init__(self, max_frame: int = 100 * 1024 * 1024) -> None:
        self._buf = bytearray()
        self.max_frame = max_frame

    def feed(self, data: bytes) -> list[bytes]:
        """Append `data`; return every complete frame payload. Raises `FrameTooLarge`.

        Each payload is copied once out of the input (whole frames in `data` are sliced
        from it directly when nothing is buffered)."""
        buf = self._buf
        if buf:
            buf += data
            src: bytes | bytearray = buf
        else:
            src = data
        frames: list[bytes] = []
        pos = 0
        n = len(src)
        view = memoryview(src)
        try:
            while n - pos >= 4:
                size = _S_i.unpack_from(src, pos)[0]
                if size < 0 or size > self.max_frame:
                    raise FrameTooLarge(size, self.max_frame)
                if n - pos - 4 < size:
                    break
                frames.append(bytes(view[pos + 4 : pos + 4 + size]))
                pos += 4 + size
        finally:
            view.release()
        if src is buf:
            if pos:
                del buf[:pos]
        elif pos < n:
            buf += memoryview(data)[pos:]
        return frames

    @property
    def buffered(self) -> int:
        return len(self._buf)


# -- requests and responses -------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Request:
    """One decoded request: the event the codec emits per frame."""

    api_key: int
    api_name: str
    api_version: int
    correlation_id: int
    client_id: str | None
    body: dict[str, Any]
    size: int


def request_header_version(api_key: int, version: int, flexible: bool) -> int:
    if api_key == 7 and version == 0:  # ControlledShutdown v0
        return 0
    return 2 if flexible else 1


def response_header_version(api_key: int, flexible: bool) -> int:
    if api_key == 18:  # ApiVersions: always v0 (see SOURCE.md)
        return 0
    return 1 if flexible else 0


def peek_header(frame: bytes) -> tuple[int, int, int]:
    """(api_key, api_version, correlation_id) of a frame; `KafkaDecodeError` if short."""
    if len(frame) < 8:
        raise KafkaDecodeError("frame shorter than a request header")
    return _S_hhi.unpack_from(frame, 0)  # type: ignore[return-value]


def decode_request(frame: bytes, supported: dict[int, Versions] | None = None) -> Request:
    """Decode one frame. `supported` (api key -> versions) limits what is accepted."""
    api_key, version, correlation_id = peek_header(frame)
    name = api_names().get(api_key)
    if name is None:
        raise UnknownApiError(api_key)
    if supported is not None:
        rng = supported.get(api_key)
        if rng is None:
            raise UnknownApiError(api_key)
        if version not in rng:
            raise UnsupportedVersionError(api_key, version, correlation_id)
    try:
        msg = compiled(name + "Request", version)
    except ValueError:
        raise UnsupportedVersionError(api_key, version, correlation_id) from None
    pos = 8
    client_id: str | None = None
    hv = request_header_version(api_key, version, msg.flexible)
    try:
        if hv >= 1:
            n = _S_h.unpack_from(frame, pos)[0] if pos + 2 <= len(frame) else None
            if n is None:
                raise KafkaDecodeError("truncated client id")
            pos += 2
            if n >= 0:
                if pos + n > len(frame):
                    raise KafkaDecodeError("truncated client id")
                client_id = frame[pos : pos + n].decode("utf-8", "replace")
                pos += n
        if hv >= 2:
            count, pos = read_uvarint(frame, pos)
            for _ in range(count):
                _tag, pos = read_uvarint(frame, pos)
                size, pos = read_uvarint(frame, pos)
                pos += size
        body, pos = msg.decode(frame, pos)
    except struct.error as exc:
        raise KafkaDecodeError(str(exc)) from exc
    return Request(api_key, name, version, correlation_id, client_id, body, len(frame))


def encode_response(api_key: int, version: int, correlation_id: int, body: dict[str, Any]) -> bytes:
    """A whole response frame (size prefix, header, body) for `api_key` at `version`."""
    return b"".join(encode_response_parts(api_key, version, correlation_id, body))


def encode_response_parts(api_key: int, version: int, correlation_id: int, body: dict[str, Any]) -> list[bytes]:
    """The response frame as chunks for `writelines`; big record chunks (stored batches
    from Fetch) are passed through by reference, not copied."""
    name = api_names()[api_key]
    msg = compiled(name + "Response", version)
    out = Output()
    out += _S_i.pack(correlation_id)
    if response_header_version(api_key, msg.flexible) >= 1:
        out.append(0)  # no tagged fields
    msg.encode(body, out)
    if not out._parts:  # small: one buffer, size prefix included
        out[0:0] = _S_i.pack(len(out))
        return [bytes(out)]
    parts = out.parts()
    return [_S_i.pack(out.total), *parts]


def encode_request(
    api_key: int, version: int, correlation_id: int, body: dict[str, Any], client_id: str | None = "mqlite"
) -> bytes:
    """A whole request frame; the client half, for tests and tools."""
    name = api_names()[api_key]
    msg = compiled(name + "Request", version)
    out = bytearray(b"\0\0\0\0")
    out += _S_hhi.pack(api_key, version, correlation_id)
    hv = request_header_version(api_key, version, msg.flexible)
    if hv >= 1:
        if client_id is None:
            out += b"\xff\xff"
        else:
            cid = client_id.encode()
            out += _S_h.pack(len(cid)) + cid
    if hv >= 2:
        out.append(0)
    msg.encode(body, out)
    out[0:4] = _S_i.pack(len(out) - 4)
    return bytes(out)


def decode_response(api_key: int, version: int, frame: bytes) -> tuple[int, dict[str, Any]]:
    """(correlation_id, body) of a response frame without its size prefix; for tests."""
    name = api_names()[api_key]
    msg = compiled(name + "Response", version)
    correlation_id = _S_i.unpack_from(frame, 0)[0]
    pos = 4
    if response_header_version(api_key, msg.flexible) >= 1:
        count, pos = read_uvarint(frame, pos)
        for _ in range(count):
            _t, pos = read_uvarint(frame, pos)
            size, pos = read_uvarint(frame, pos)
            pos += size
    body, _ = msg.decode(frame, pos)
    return correlation_id, body
