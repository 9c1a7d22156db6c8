"""Kafka wire codec, sans-IO: frames in, `Request` events out; response dicts in, bytes out.

Owns: request headers v0/v1/v2 and response headers v0/v1, and body encoders/decoders
compiled from Kafka's JSON schemas (`schema`) per (message, version) into closures on
first use, built from the `primitives`; frames come from `framing.FrameReader`.

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
from dataclasses import dataclass
from typing import Any

from mqlite.protocols.kafka.framing import FrameReader, FrameTooLarge
from mqlite.protocols.kafka.primitives import (
    FIXED_TYPES,
    S_HEADER,
    S_INT8,
    S_INT16,
    S_INT32,
    Decoder,
    Encoder,
    KafkaDecodeError,
    Output,
    UnknownApiError,
    UnsupportedVersionError,
    blob_type,
    bool_type,
    read_uvarint,
    uuid_type,
    write_uvarint,
)
from mqlite.protocols.kafka.schema import (
    FieldSpec,
    MessageSpec,
    Versions,
    api_names,
    load,
)

__all__ = [
    "CompiledMessage",
    "FrameReader",
    "FrameTooLarge",
    "KafkaDecodeError",
    "Output",
    "Request",
    "UnknownApiError",
    "UnsupportedVersionError",
    "compiled",
    "decode_request",
    "decode_response",
    "encode_request",
    "encode_response",
    "encode_response_parts",
    "read_uvarint",
    "write_uvarint",
]


def _default(f: FieldSpec) -> Any:
    d = f.default
    if f.is_array:
        return None if d == "null" else []
    t = f.type
    if t in FIXED_TYPES:
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
    if element in FIXED_TYPES:
        pair = FIXED_TYPES[element]
    elif element == "bool":
        pair = bool_type()
    elif element == "uuid":
        pair = uuid_type()
    elif element == "string":
        pair = blob_type(flexible, True, False)
    elif element in ("bytes", "records"):
        pair = blob_type(flexible, False, True)
    else:
        pair = _compile_struct(f.fields, version, flexible)
        if not f.is_array and f.nullable.lo <= version <= f.nullable.hi:
            pair = _nullable_struct(pair)
    if f.is_array:
        pair = _array(pair, flexible)
    if (f.is_array or element in ("string", "bytes", "records")) and version not in f.nullable:
        pair = _not_null(pair, f.name)
    return pair


def _not_null(pair: tuple[Decoder, Encoder], name: str) -> tuple[Decoder, Encoder]:
    """Kafka's generated readers refuse null for a field that is not nullable at the
    version ("non-nullable field X was serialized as null"): the request is invalid."""
    inner, enc = pair

    def dec(buf: bytes, pos: int) -> tuple[Any, int]:
        value, pos = inner(buf, pos)
        if value is None:
            raise KafkaDecodeError(f"non-nullable field {name} was serialized as null")
        return value, pos

    return dec, enc


def _nullable_struct(pair: tuple[Decoder, Encoder]) -> tuple[Decoder, Encoder]:
    sdec, senc = pair

    def dec(buf: bytes, pos: int) -> tuple[Any, int]:
        if pos >= len(buf):
            raise KafkaDecodeError("truncated")
        if S_INT8.unpack_from(buf, pos)[0] < 0:
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
            n = S_INT32.unpack_from(buf, pos)[0]
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
            out += S_INT32.pack(len(value))
        for v in value:
            eenc(v, out)

    return dec, enc


_FORMAT = {"int8": "b", "int16": "h", "uint16": "H", "int32": "i", "uint32": "I", "int64": "q",
           "float64": "d", "bool": "?", "uuid": "16s"}


def _compile_struct(fields: tuple[FieldSpec, ...], version: int, flexible: bool) -> tuple[Decoder, Encoder]:
    """Generate (with `exec`) one decoder and one encoder function for a struct at a
    version: runs of fixed-width fields become one `struct.unpack_from`/`pack` call,
    other fields call their compiled decoder/encoder; tagged fields go through
    helpers (rare). Semantics as described in the module docstring."""
    regular: list[tuple[str, str | None, Decoder, Encoder, Any]] = []
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
            fmt = None if f.is_array else _FORMAT.get(f.type)
            regular.append((f.name, fmt, dec, enc, None if nullable else default))
    tag_order = sorted(tagged.items())

    def read_tags(buf: bytes, pos: int, obj: dict[str, Any]) -> int:
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
        return pos

    def write_tags(obj: dict[str, Any], out: bytearray) -> None:
        get = obj.get
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

    ns: dict[str, Any] = {
        "KafkaDecodeError": KafkaDecodeError, "read_tags": read_tags, "write_tags": write_tags,
        "FIXED_ABSENT": {n: d for n, d in absent if not isinstance(d, (list, dict))},
    }
    dec_lines = ["def struct_dec(buf, pos):"]
    dec_lines.append("    obj = dict(FIXED_ABSENT)" if ns["FIXED_ABSENT"] else "    obj = {}")
    enc_lines = ["def struct_enc(obj, out):", "    get = obj.get"]
    for i, (name, d) in enumerate(n_d for n_d in absent if isinstance(n_d[1], (list, dict))):
        ns[f"MUT{i}"] = d
        dec_lines.append(f"    obj[{name!r}] = MUT{i}.copy()")
    k = 0
    while k < len(regular):
        name, fmt, fdec, fenc, fallback = regular[k]
        if fmt is None:
            ns[f"D{k}"], ns[f"E{k}"], ns[f"F{k}"] = fdec, fenc, fallback
            dec_lines.append(f"    obj[{name!r}], pos = D{k}(buf, pos)")
            enc_lines.append(f"    v = get({name!r})")
            enc_lines.append(f"    E{k}(F{k} if v is None else v, out)")
            k += 1
            continue
        run = []
        while k < len(regular) and regular[k][1] is not None:
            run.append((k, regular[k]))
            k += 1
        st = struct.Struct(">" + "".join(r[1] for _, r in run))  # type: ignore[misc]
        ns[f"S{run[0][0]}"] = st
        targets = ", ".join(f"obj[{r[0]!r}]" for _, r in run)
        dec_lines.append(f"    if pos + {st.size} > len(buf):")
        dec_lines.append("        raise KafkaDecodeError('truncated')")
        dec_lines.append(f"    {targets}, = S{run[0][0]}.unpack_from(buf, pos)")
        dec_lines.append(f"    pos += {st.size}")
        args = []
        for idx, r in run:
            ns[f"F{idx}"] = r[4]
            enc_lines.append(f"    v{idx} = get({r[0]!r})")
            args.append(f"F{idx} if v{idx} is None else v{idx}")
        enc_lines.append(f"    out += S{run[0][0]}.pack({', '.join(args)})")
    if flexible:
        dec_lines += ["    if pos < len(buf) and buf[pos] == 0:", "        return obj, pos + 1",
                      "    return obj, read_tags(buf, pos, obj)"]
        enc_lines.append("    write_tags(obj, out)" if tag_order else "    out.append(0)")
    else:
        dec_lines.append("    return obj, pos")
    if len(enc_lines) == 2:
        enc_lines.append("    pass")
    exec("\n".join(dec_lines) + "\n\n" + "\n".join(enc_lines), ns)  # noqa: S102 - generated from the schemas
    return ns["struct_dec"], ns["struct_enc"]


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
    if api_key == 18:  # ApiVersions: always v0 (see schemas/README.md)
        return 0
    return 1 if flexible else 0


def peek_header(frame: bytes) -> tuple[int, int, int]:
    """(api_key, api_version, correlation_id) of a frame; `KafkaDecodeError` if short."""
    if len(frame) < 8:
        raise KafkaDecodeError("frame shorter than a request header")
    api_key, version, correlation_id = S_HEADER.unpack_from(frame, 0)
    return api_key, version, correlation_id


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
            n = S_INT16.unpack_from(frame, pos)[0] if pos + 2 <= len(frame) else None
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
    out += S_INT32.pack(correlation_id)
    if response_header_version(api_key, msg.flexible) >= 1:
        out.append(0)  # no tagged fields
    msg.encode(body, out)
    if not out._parts:  # small: one buffer, size prefix included
        out[0:0] = S_INT32.pack(len(out))
        return [bytes(out)]
    parts = out.parts()
    return [S_INT32.pack(out.total), *parts]


def encode_request(
    api_key: int, version: int, correlation_id: int, body: dict[str, Any], client_id: str | None = "mqlite"
) -> bytes:
    """A whole request frame; the client half, for tests and tools."""
    name = api_names()[api_key]
    msg = compiled(name + "Request", version)
    out = bytearray(b"\0\0\0\0")
    out += S_HEADER.pack(api_key, version, correlation_id)
    hv = request_header_version(api_key, version, msg.flexible)
    if hv >= 1:
        if client_id is None:
            out += b"\xff\xff"
        else:
            cid = client_id.encode()
            out += S_INT16.pack(len(cid)) + cid
    if hv >= 2:
        out.append(0)
    msg.encode(body, out)
    out[0:4] = S_INT32.pack(len(out) - 4)
    return bytes(out)


def decode_response(api_key: int, version: int, frame: bytes) -> tuple[int, dict[str, Any]]:
    """(correlation_id, body) of a response frame without its size prefix; for tests."""
    name = api_names()[api_key]
    msg = compiled(name + "Response", version)
    correlation_id = S_INT32.unpack_from(frame, 0)[0]
    pos = 4
    if response_header_version(api_key, msg.flexible) >= 1:
        count, pos = read_uvarint(frame, pos)
        for _ in range(count):
            _t, pos = read_uvarint(frame, pos)
            size, pos = read_uvarint(frame, pos)
            pos += size
    body, _ = msg.decode(frame, pos)
    return correlation_id, body
