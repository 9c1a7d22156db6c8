"""AMQP 0-9-1 frame codec (sans-IO): bytes in, events out; events/values in, bytes out.

Owns: protocol header negotiation, frame parsing with `frame_max` and frame-end
validation, and per-channel content assembly (Basic.Publish -> content header -> body
frames). Encoding splits bodies to `frame_max`. Method (de)serialisation is pamqp's,
kept to the API shared by pamqp 3.3 and 4.x (`pamqp.frame`, `pamqp.commands`,
`pamqp.header`); the two hot methods (Basic.Publish in, Basic.Deliver out) are coded
by hand with `struct` because they are the per-message cost.

Invariants:
- `FrameReader.feed` either returns complete events or raises `FrameError`; after a
  `FrameError` the reader is dead (the connection must close with `reply_code`).
- A publish is emitted only once its whole body has arrived: nothing is half-published.
- The input buffer never holds more than one frame beyond `frame_max` + header.
- Until `opened` (Connection.Open accepted) frames are capped at `FRAME_MIN_SIZE` and a
  publish is refused, so a client that has not logged in holds at most one 4 KiB frame.
- A content header declaring a body over `max_message_size` (RabbitMQ 4.x's
  `max_message_size`, 16 MiB) yields `ChannelFault` (406 PRECONDITION_FAILED, a channel
  error as in RabbitMQ) and the channel's remaining content frames are skipped: the body
  is never buffered. `declared` is what the partial frame and the half-assembled bodies
  are declared to need (the read budget reserves it).

Concurrency: none; plain objects, no asyncio.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from pamqp import commands
from pamqp import frame as pframe
from pamqp.exceptions import PAMQPException

from mqlite.errors import ProtocolError

FRAME_METHOD = 1
FRAME_HEADER = 2
FRAME_BODY = 3
FRAME_HEARTBEAT = 8
FRAME_END = 0xCE
FRAME_MIN_SIZE = 4096

PROTOCOL_HEADER = b"AMQP\x00\x00\x09\x01"
HEARTBEAT_FRAME = b"\x08\x00\x00\x00\x00\x00\x00\xce"

_HDR = struct.Struct(">BHI")
_IDX = struct.Struct(">I")
_CONTENT_HDR = struct.Struct(">HHQ")
_PUBLISH_INDEX = 0x003C0028
_ACK_INDEX = 0x003C0050
_DELIVER_PREFIX = struct.pack(">HH", 60, 60)
_GETOK_PREFIX = struct.pack(">HH", 60, 71)
_RETURN_PREFIX = struct.pack(">HH", 60, 50)
_QB = struct.Struct(">QB")
_Q = struct.Struct(">Q")

_BasicAck = commands.Basic.Ack

# Max accumulated body, as RabbitMQ 4.x's default max_message_size (16 MiB; it was
# 128 MiB up to 3.13: rabbitmq-server#11455).
MAX_MESSAGE_SIZE = 16 * 1024 * 1024


class FrameError(ProtocolError):
    """A framing violation: the connection closes with `reply_code` and this text."""

    def __init__(self, reply_code: int, text: str, class_id: int = 0, method_id: int = 0) -> None:
        super().__init__(text, rule=f"amqp-{reply_code}")
        self.reply_code = reply_code
        self.text = text
        self.class_id = class_id
        self.method_id = method_id


class BadProtocolHeader(ProtocolError):
    """The peer did not open with `AMQP 0 0 9 1`: answer with ours, then close."""


# -- events ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ProtocolHeaderEvent:
    """The client's protocol header was accepted."""


@dataclass(frozen=True, slots=True)
class MethodEvent:
    channel: int
    method: object  # a pamqp.base.Frame (commands.X.Y)


@dataclass(frozen=True, slots=True)
class Publish:
    """A Basic.Publish with its header and whole body (hand-decoded hot path)."""

    channel: int
    exchange: str
    routing_key: str
    mandatory: bool
    immediate: bool
    raw_properties: bytes  # property flags + property list, exactly as sent
    body: bytes


@dataclass(frozen=True, slots=True)
class ChannelFault:
    """A channel-level refusal found while framing (the channel closes, not the connection)."""

    channel: int
    reply_code: int
    text: str
    class_id: int = 60
    method_id: int = 40


@dataclass(frozen=True, slots=True)
class HeartbeatEvent:
    channel: int


class _Assembly:
    __slots__ = ("exchange", "got", "immediate", "mandatory", "parts", "props", "routing_key", "size")

    def __init__(self, exchange: str, routing_key: str, mandatory: bool, immediate: bool) -> None:
        self.exchange = exchange
        self.routing_key = routing_key
        self.mandatory = mandatory
        self.immediate = immediate
        self.size = -1
        self.props = b""
        self.parts: list[bytes] = []
        self.got = 0


def _shortstr(data: bytes, pos: int) -> tuple[str, int]:
    n = data[pos]
    end = pos + 1 + n
    if end > len(data):
        raise ValueError("short string overruns frame")
    return data[pos + 1 : end].decode("utf-8"), end


def decode_publish(payload: bytes) -> tuple[str, str, bool, bool]:
    """Basic.Publish arguments after the method index: (exchange, rk, mandatory, immediate)."""
    exchange, pos = _shortstr(payload, 6)
    routing_key, pos = _shortstr(payload, pos)
    bits = payload[pos]
    return exchange, routing_key, bool(bits & 1), bool(bits & 2)


class FrameReader:
    """Incremental parser for one connection; see module docstring for invariants."""

    def __init__(self, frame_max: int = 131072, max_message_size: int = MAX_MESSAGE_SIZE, *, opened: bool = True) -> None:
        self.frame_max = frame_max
        self.max_message_size = max_message_size
        #: False until Connection.Open is accepted: no publish, frames capped at FRAME_MIN_SIZE
        self.opened = opened
        self.header_done = False
        self._buf = bytearray()
        self._assembling: dict[int, _Assembly] = {}
        #: channels being closed by the server: their content frames are skipped (the
        #: peer may still be sending a publish it began before it saw Channel.Close)
        self.ignored: set[int] = set()

    def feed(self, data: bytes) -> list[object]:
        """Consume bytes; return the complete events in order. Raises FrameError."""
        if self._buf:
            self._buf += data
            buf = bytes(self._buf)
            self._buf = bytearray()
        else:
            buf = bytes(data)
        events: list[object] = []
        pos = 0
        n = len(buf)
        if not self.header_done:
            if n < 8:
                if not PROTOCOL_HEADER.startswith(buf):
                    raise BadProtocolHeader("bad protocol header")
                self._buf += buf
                return events
            if buf[:8] != PROTOCOL_HEADER:
                raise BadProtocolHeader("bad protocol header")
            self.header_done = True
            events.append(ProtocolHeaderEvent())
            pos = 8
        frame_max = self.frame_max if self.opened else min(self.frame_max or FRAME_MIN_SIZE, FRAME_MIN_SIZE)
        append = events.append
        assembling = self._assembling
        unpack = _HDR.unpack_from
        try:
            while n - pos >= 7:
                ftype, channel, size = unpack(buf, pos)
                if frame_max and size + 8 > frame_max:
                    raise FrameError(
                        501,
                        f"FRAME_ERROR - type {ftype}, all octets = <<>>: "
                        f"{{frame_too_large,{size},{frame_max - 8}}}",
                    )
                end = pos + 7 + size
                if n <= end:
                    break
                if buf[end] != FRAME_END:
                    raise FrameError(
                        501, f"FRAME_ERROR - type {ftype}, first 16 octets = <<>>: {{invalid_frame_end_marker,{buf[end]}}}"
                    )
                if ftype == FRAME_BODY:  # inline: the most frequent frame
                    asm = assembling.get(channel)
                    if asm is None and channel in self.ignored:
                        pos = end + 1
                        continue
                    if asm is None or asm.size < 0:
                        raise FrameError(505, "UNEXPECTED_FRAME - expected method frame, got non method frame instead")
                    asm.parts.append(buf[pos + 7 : end])
                    asm.got += size
                    pos = end + 1
                    if asm.got >= asm.size:
                        if asm.got > asm.size:
                            raise FrameError(501, f"FRAME_ERROR - body overflows declared size {asm.size}")
                        append(self._complete(channel, asm))
                    continue
                payload = buf[pos + 7 : end]
                pos = end + 1
                ev = self._frame(ftype, channel, payload)
                if ev is not None:
                    append(ev)
        finally:
            if pos < n:
                self._buf += buf[pos:]
        return events

    # -- one frame ---------------------------------------------------------------------
    def _frame(self, ftype: int, channel: int, payload: bytes) -> object | None:
        if ftype == FRAME_METHOD:
            if channel in self._assembling:
                raise FrameError(505, "UNEXPECTED_FRAME - expected content header for class 60, got non content header frame instead")
            if len(payload) < 4:
                raise FrameError(501, "FRAME_ERROR - method frame too short")
            index = _IDX.unpack_from(payload)[0]
            if index == _PUBLISH_INDEX:
                if not self.opened:
                    raise FrameError(503, "COMMAND_INVALID - unexpected method basic.publish before connection.open", 60, 40)
                try:
                    ex, rk, mand, imm = decode_publish(payload)
                except (IndexError, ValueError, UnicodeDecodeError) as exc:
                    raise FrameError(502, f"SYNTAX_ERROR - cannot decode basic.publish: {exc}", 60, 40) from None
                self._assembling[channel] = _Assembly(ex, rk, mand, imm)
                return None
            if index == _ACK_INDEX and len(payload) == 13:  # hot: consumer acks
                tag, bits = _QB.unpack_from(payload, 4)
                return MethodEvent(channel, _BasicAck(tag, bool(bits & 1)))
            method_cls = commands.INDEX_MAPPING.get(index)
            if method_cls is None:
                raise FrameError(540, f"NOT_IMPLEMENTED - unknown method {index >> 16}/{index & 0xFFFF}")
            method = method_cls()
            try:
                method.unmarshal(payload[4:])
            except (struct.error, ValueError, IndexError, UnicodeDecodeError, PAMQPException) as exc:
                raise FrameError(
                    502, f"SYNTAX_ERROR - cannot decode {getattr(method_cls, 'name', index)}: {exc}", index >> 16, index & 0xFFFF
                ) from None
            return MethodEvent(channel, method)
        if ftype == FRAME_HEADER:
            asm = self._assembling.get(channel)
            if asm is None and channel in self.ignored:
                return None
            if asm is None or asm.size >= 0:
                raise FrameError(505, "UNEXPECTED_FRAME - expected method frame, got non method frame instead")
            if len(payload) < 14:
                raise FrameError(501, "FRAME_ERROR - content header too short")
            class_id, _weight, size = _CONTENT_HDR.unpack_from(payload)
            if class_id != 60:
                raise FrameError(505, f"UNEXPECTED_FRAME - expected content header for class 60, got class {class_id}")
            if size > self.max_message_size:
                self.discard_channel(channel, ignore=True)  # its body frames are skipped, never buffered
                return ChannelFault(
                    channel, 406,
                    f"PRECONDITION_FAILED - message size {size} is larger than configured max size {self.max_message_size}",
                )
            asm.size = size
            asm.props = payload[12:]
            if size == 0:
                return self._complete(channel, asm)
            return None
        if ftype == FRAME_BODY:
            asm = self._assembling.get(channel)
            if asm is None or asm.size < 0:
                raise FrameError(505, "UNEXPECTED_FRAME - expected method frame, got non method frame instead")
            asm.parts.append(payload)
            asm.got += len(payload)
            if asm.got >= asm.size:
                if asm.got > asm.size:
                    raise FrameError(501, f"FRAME_ERROR - body overflows declared size {asm.size}")
                return self._complete(channel, asm)
            return None
        if ftype == FRAME_HEARTBEAT:
            if channel != 0:
                raise FrameError(501, "FRAME_ERROR - heartbeat on non-zero channel")
            return HeartbeatEvent(channel)
        raise FrameError(501, f"FRAME_ERROR - unknown frame type {ftype}")

    def _complete(self, channel: int, asm: _Assembly) -> Publish:
        del self._assembling[channel]
        parts = asm.parts
        body = parts[0] if len(parts) == 1 else b"".join(parts)
        return Publish(channel, asm.exchange, asm.routing_key, asm.mandatory, asm.immediate, asm.props, body)

    @property
    def declared(self) -> int:
        """Bytes the partial frame and the half-assembled bodies are declared to need."""
        buf = self._buf
        frame = len(buf)
        if self.header_done and frame >= 7:
            frame = max(frame, 8 + _HDR.unpack_from(buf, 0)[2])
        return frame + sum(max(asm.size, asm.got) for asm in self._assembling.values())

    def discard_channel(self, channel: int, *, ignore: bool = False) -> None:
        """Forget a half-assembled publish on a closed channel; with `ignore`, skip its
        content frames until `resume_channel` (the server closed it: Channel.Close sent)."""
        self._assembling.pop(channel, None)
        if ignore:
            self.ignored.add(channel)

    def resume_channel(self, channel: int) -> None:
        self.ignored.discard(channel)


# -- encoding -------------------------------------------------------------------------
def encode_method(channel: int, method: object) -> bytes:
    """One method frame (pamqp marshals the arguments)."""
    return pframe.marshal(method, channel)  # type: ignore[arg-type]


def _frame(ftype: int, channel: int, payload: bytes) -> bytes:
    return _HDR.pack(ftype, channel, len(payload)) + payload + b"\xce"


def _shortstr_bytes(value: str) -> bytes:
    raw = value.encode("utf-8")
    return bytes((len(raw),)) + raw


def content_frames(
    out: list[bytes], channel: int, method_payload: bytes, raw_properties: bytes, body: bytes, frame_max: int
) -> None:
    """Append method + content header + body frames (bodies split to `frame_max`)."""
    out.append(_HDR.pack(FRAME_METHOD, channel, len(method_payload)) + method_payload + b"\xce")
    header = b"\x00\x3c\x00\x00" + _Q.pack(len(body)) + raw_properties
    out.append(_HDR.pack(FRAME_HEADER, channel, len(header)) + header + b"\xce")
    if not body:
        return
    chunk = frame_max - 8 if frame_max else len(body)
    if len(body) <= chunk:
        out.append(_HDR.pack(FRAME_BODY, channel, len(body)) + body + b"\xce")
        return
    view = memoryview(body)
    for start in range(0, len(body), chunk):
        part = view[start : start + chunk]
        out.append(_HDR.pack(FRAME_BODY, channel, len(part)) + bytes(part) + b"\xce")


class DeliverEncoder:
    """Basic.Deliver + content frames for one consumer, with its constant parts cached
    (the per-message cost of the consume path)."""

    __slots__ = ("_ctag", "_hdr", "_keys", "channel", "frame_max")

    def __init__(self, channel: int, consumer_tag: str, frame_max: int) -> None:
        self.channel = channel
        self.frame_max = frame_max
        self._ctag = _DELIVER_PREFIX + _shortstr_bytes(consumer_tag)
        self._keys: dict[tuple[bytes | None, str], bytes] = {}
        self._hdr = _HDR.pack

    def add(self, out: list[bytes], delivery_tag: int, redelivered: bool, exchange: bytes | None,
            routing_key: str, raw_properties: bytes, body: bytes) -> None:
        """Append the frames of one delivery to `out` (`exchange` as stored: utf-8 or None)."""
        key = (exchange, routing_key)
        tail = self._keys.get(key)
        if tail is None:
            ex = exchange or b""
            rk = routing_key.encode("utf-8")
            tail = bytes((len(ex),)) + ex + bytes((len(rk),)) + rk
            if len(self._keys) < 1024:
                self._keys[key] = tail
        pack = self._hdr
        ch = self.channel
        method = self._ctag + _QB.pack(delivery_tag, 1 if redelivered else 0) + tail
        n = len(body)
        header = b"\x00\x3c\x00\x00" + _Q.pack(n) + raw_properties
        if n and (not self.frame_max or n <= self.frame_max - 8):
            out += (pack(FRAME_METHOD, ch, len(method)), method, b"\xce",
                    pack(FRAME_HEADER, ch, len(header)), header, b"\xce",
                    pack(FRAME_BODY, ch, n), body, b"\xce")
            return
        out += (pack(FRAME_METHOD, ch, len(method)), method, b"\xce",
                pack(FRAME_HEADER, ch, len(header)), header, b"\xce")
        if n:
            chunk = self.frame_max - 8
            view = memoryview(body)
            for start in range(0, n, chunk):
                part = bytes(view[start:start + chunk])
                out += (pack(FRAME_BODY, ch, len(part)), part, b"\xce")


def deliver_payload(consumer_tag: str, delivery_tag: int, redelivered: bool, exchange: str, routing_key: str) -> bytes:
    """Basic.Deliver method payload (index included)."""
    return (
        _DELIVER_PREFIX
        + _shortstr_bytes(consumer_tag)
        + _QB.pack(delivery_tag, 1 if redelivered else 0)
        + _shortstr_bytes(exchange)
        + _shortstr_bytes(routing_key)
    )


def get_ok_payload(delivery_tag: int, redelivered: bool, exchange: str, routing_key: str, message_count: int) -> bytes:
    """Basic.GetOk method payload (index included)."""
    return (
        _GETOK_PREFIX
        + _QB.pack(delivery_tag, 1 if redelivered else 0)
        + _shortstr_bytes(exchange)
        + _shortstr_bytes(routing_key)
        + struct.pack(">I", message_count)
    )


def return_payload(reply_code: int, reply_text: str, exchange: str, routing_key: str) -> bytes:
    """Basic.Return method payload (index included)."""
    return (
        _RETURN_PREFIX
        + struct.pack(">H", reply_code)
        + _shortstr_bytes(reply_text)
        + _shortstr_bytes(exchange)
        + _shortstr_bytes(routing_key)
    )


def basic_ack_frame(channel: int, delivery_tag: int, multiple: bool) -> bytes:
    """Basic.Ack (publisher confirm) as one frame."""
    return _frame(FRAME_METHOD, channel, b"\x00\x3c\x00\x50" + _QB.pack(delivery_tag, 1 if multiple else 0))


def basic_nack_frame(channel: int, delivery_tag: int, multiple: bool) -> bytes:
    """Basic.Nack (publisher confirm failure) as one frame."""
    return _frame(FRAME_METHOD, channel, b"\x00\x3c\x00\x78" + _QB.pack(delivery_tag, 1 if multiple else 0))
