"""MQTT 3.1.1 and 5.0 control packets: bytes in, packets out; packets in, bytes out (sans-IO).

Owns the wire format of OASIS MQTT 3.1.1 (protocol level 4) and 5.0 (level 5) as a
server sees it: `Parser.feed(data) -> list[packet]` decodes the client-to-server
packets (CONNECT, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBSCRIBE, UNSUBSCRIBE,
PINGREQ, DISCONNECT, AUTH) and the `encode_*` functions build server-to-client ones.
The protocol level is learnt from CONNECT (`Parser.version`), after which 5.0's
properties and reason codes are read and written.

A violation raises `MqttError(reason, text)` carrying 5.0's reason code (0x81 Malformed
Packet, 0x82 Protocol Error, 0x95 Packet Too Large...); the connection answers it as
the specification says (DISCONNECT or CONNACK in 5.0, a close in 3.1.1). The read
buffer is capped by the maximum packet size: a declared remaining length over it fails
as soon as the fixed header is read, before the body arrives.

Properties are `dict[int, value]` (`Props`); the two that may repeat, user property
(0x26, a list of (name, value)) and subscription identifier (0x0B, a list of ints),
are lists. No asyncio here.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

from mqlite.protocols.mqtt.numbers import *  # noqa: F403  (re-exported: callers read codec.NAME)

_BYTE, _U16, _U32, _VARINT, _UTF8, _BIN, _PAIR = range(7)
PROPERTY_TYPES: dict[int, int] = {
    PAYLOAD_FORMAT: _BYTE, MESSAGE_EXPIRY: _U32, CONTENT_TYPE: _UTF8, RESPONSE_TOPIC: _UTF8,
    CORRELATION_DATA: _BIN, SUBSCRIPTION_ID: _VARINT, SESSION_EXPIRY: _U32, ASSIGNED_CLIENT_ID: _UTF8,
    SERVER_KEEP_ALIVE: _U16, AUTH_METHOD: _UTF8, AUTH_DATA: _BIN, REQUEST_PROBLEM_INFO: _BYTE,
    WILL_DELAY: _U32, REQUEST_RESPONSE_INFO: _BYTE, RESPONSE_INFO: _UTF8, SERVER_REFERENCE: _UTF8,
    REASON_STRING: _UTF8, RECEIVE_MAXIMUM: _U16, TOPIC_ALIAS_MAXIMUM: _U16, TOPIC_ALIAS: _U16,
    MAXIMUM_QOS: _BYTE, RETAIN_AVAILABLE: _BYTE, USER_PROPERTY: _PAIR, MAXIMUM_PACKET_SIZE: _U32,
    WILDCARD_SUB_AVAILABLE: _BYTE, SUB_ID_AVAILABLE: _BYTE, SHARED_SUB_AVAILABLE: _BYTE,
}
_REPEATABLE = frozenset({USER_PROPERTY, SUBSCRIPTION_ID})
# which properties each packet may carry (a property elsewhere is a Protocol Error)
_PUBLISH_PROPS = frozenset({PAYLOAD_FORMAT, MESSAGE_EXPIRY, CONTENT_TYPE, RESPONSE_TOPIC, CORRELATION_DATA,
                            TOPIC_ALIAS, USER_PROPERTY})
_WILL_PROPS = frozenset({PAYLOAD_FORMAT, MESSAGE_EXPIRY, CONTENT_TYPE, RESPONSE_TOPIC, CORRELATION_DATA,
                         WILL_DELAY, USER_PROPERTY})
_CONNECT_PROPS = frozenset({SESSION_EXPIRY, AUTH_METHOD, AUTH_DATA, REQUEST_PROBLEM_INFO, REQUEST_RESPONSE_INFO,
                            RECEIVE_MAXIMUM, TOPIC_ALIAS_MAXIMUM, USER_PROPERTY, MAXIMUM_PACKET_SIZE})
_ACK_PROPS = frozenset({REASON_STRING, USER_PROPERTY})
_SUBSCRIBE_PROPS = frozenset({SUBSCRIPTION_ID, USER_PROPERTY})
_DISCONNECT_PROPS = frozenset({SESSION_EXPIRY, REASON_STRING, USER_PROPERTY, SERVER_REFERENCE})
_AUTH_PROPS = frozenset({AUTH_METHOD, AUTH_DATA, REASON_STRING, USER_PROPERTY})

Props = dict[int, Any]
_U16S = struct.Struct(">H")
_U32S = struct.Struct(">I")
MAX_PACKET = 268_435_455  # the largest remaining length a 4-byte varint holds


class MqttError(Exception):
    """A protocol violation: `reason` is the 5.0 reason code, `text` the reason string."""

    def __init__(self, reason: int, text: str) -> None:
        super().__init__(text)
        self.reason = reason
        self.text = text


def malformed(text: str) -> MqttError:
    return MqttError(MALFORMED_PACKET, text)


# -- packets (client to server) ---------------------------------------------------------
@dataclass(slots=True)
class Will:
    topic: str
    payload: bytes
    qos: int
    retain: bool
    props: Props = field(default_factory=dict)


@dataclass(slots=True)
class Connect:
    version: int  # 3 (3.1), 4 (3.1.1) or 5
    client_id: str
    clean: bool  # Clean Session (3.1.1) / Clean Start (5.0)
    keep_alive: int
    username: str | None
    password: bytes | None
    will: Will | None
    props: Props = field(default_factory=dict)


@dataclass(slots=True)
class Publish:
    topic: str
    payload: bytes
    qos: int
    retain: bool
    dup: bool
    packet_id: int | None
    props: Props = field(default_factory=dict)
    raw_props: bytes = b""  # the property block as received (without its length)


@dataclass(slots=True)
class Ack:
    """PUBACK, PUBREC, PUBREL or PUBCOMP."""

    kind: int
    packet_id: int
    reason: int = SUCCESS
    props: Props = field(default_factory=dict)


@dataclass(slots=True)
class Subscription:
    filter: str
    qos: int
    no_local: bool = False
    retain_as_published: bool = False
    retain_handling: int = 0


@dataclass(slots=True)
class Subscribe:
    packet_id: int
    subscriptions: list[Subscription]
    props: Props = field(default_factory=dict)


@dataclass(slots=True)
class Unsubscribe:
    packet_id: int
    filters: list[str]
    props: Props = field(default_factory=dict)


@dataclass(slots=True)
class PingReq:
    pass


@dataclass(slots=True)
class Disconnect:
    reason: int = SUCCESS
    props: Props = field(default_factory=dict)


@dataclass(slots=True)
class Auth:
    reason: int = SUCCESS
    props: Props = field(default_factory=dict)


# -- primitive readers ----------------------------------------------------------------------
class Reader:
    __slots__ = ("buf", "end", "pos")

    def __init__(self, buf: bytes, pos: int, end: int) -> None:
        self.buf, self.pos, self.end = buf, pos, end

    def left(self) -> int:
        return self.end - self.pos

    def byte(self) -> int:
        if self.pos >= self.end:
            raise malformed("packet too short")
        b = self.buf[self.pos]
        self.pos += 1
        return b

    def u16(self) -> int:
        if self.pos + 2 > self.end:
            raise malformed("packet too short")
        v = _U16S.unpack_from(self.buf, self.pos)[0]
        self.pos += 2
        return int(v)

    def u32(self) -> int:
        if self.pos + 4 > self.end:
            raise malformed("packet too short")
        v = _U32S.unpack_from(self.buf, self.pos)[0]
        self.pos += 4
        return int(v)

    def varint(self) -> int:
        value, shift = 0, 0
        for _ in range(4):
            b = self.byte()
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                return value
            shift += 7
        raise malformed("variable byte integer longer than 4 bytes")

    def binary(self) -> bytes:
        n = self.u16()
        if self.pos + n > self.end:
            raise malformed("string or binary data longer than the packet")
        v = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n
        return v

    def utf8(self) -> str:
        return check_utf8(self.binary())

    def rest(self) -> bytes:
        v = bytes(self.buf[self.pos:self.end])
        self.pos = self.end
        return v


def check_utf8(raw: bytes) -> str:
    """A UTF-8 Encoded String (1.5.4): well-formed, no U+0000, no surrogates."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise malformed("string is not valid UTF-8") from None
    if "\x00" in text:
        raise malformed("string contains U+0000")
    return text


def read_props(r: Reader, allowed: frozenset[int]) -> tuple[Props, bytes]:
    """A property block: (properties, the raw bytes after the length)."""
    n = r.varint()
    if n > r.left():
        raise malformed("property length longer than the packet")
    start = r.pos
    end = start + n
    props: Props = {}
    sub = Reader(r.buf, start, end)
    while sub.pos < end:
        pid = sub.varint()
        kind = PROPERTY_TYPES.get(pid)
        if kind is None:
            raise malformed(f"unknown property identifier 0x{pid:02X}")
        if pid not in allowed:
            raise MqttError(PROTOCOL_ERROR, f"property 0x{pid:02X} is not allowed in this packet")
        if kind == _BYTE:
            value: Any = sub.byte()
        elif kind == _U16:
            value = sub.u16()
        elif kind == _U32:
            value = sub.u32()
        elif kind == _VARINT:
            value = sub.varint()
        elif kind == _UTF8:
            value = sub.utf8()
        elif kind == _BIN:
            value = sub.binary()
        else:
            value = (sub.utf8(), sub.utf8())
        if pid in _REPEATABLE:
            props.setdefault(pid, []).append(value)
        elif pid in props:
            raise MqttError(PROTOCOL_ERROR, f"property 0x{pid:02X} included more than once")
        else:
            props[pid] = value
    r.pos = end
    return props, bytes(r.buf[start:end])


def decode_props(raw: bytes) -> Props:
    """A stored property block (without its length) back into properties."""
    return read_props(Reader(varint(len(raw)) + raw, 0, len(raw) + len(varint(len(raw)))), frozenset(PROPERTY_TYPES))[0]


def fixed_header(buf: bytes | bytearray, pos: int = 0) -> tuple[int, int] | None:
    """(offset of the variable header, remaining length) of the packet at `pos`, or None
    while the remaining length is incomplete (MQTT 2.1.4)."""
    length, shift, i, n = 0, 0, pos + 1, len(buf)
    while i < n:
        b = buf[i]
        i += 1
        length |= (b & 0x7F) << shift
        if not b & 0x80:
            return i, length
        shift += 7
        if shift > 21:
            raise malformed("remaining length longer than 4 bytes")
    return None


# -- parser ------------------------------------------------------------------------------
class Parser:
    """Incremental decoder of client packets (see module docstring)."""

    def __init__(self, max_packet: int = MAX_PACKET) -> None:
        self.buf = bytearray()
        self.version = 4  # until CONNECT says otherwise
        self.max_packet = max_packet
        self.pending = 0  # the declared size of the packet being received (read budget)

    def feed(self, data: bytes) -> list[Any]:
        self.buf += data
        out: list[Any] = []
        buf = self.buf
        pos = 0
        n = len(buf)
        while n - pos >= 2:
            head = fixed_header(buf, pos)
            if head is None:
                break  # the remaining length is incomplete
            i, length = head
            total = i - pos + length
            if total > self.max_packet:
                raise MqttError(PACKET_TOO_LARGE, f"packet of {total} bytes exceeds the maximum packet size {self.max_packet}")
            if n - pos < total:
                self.pending = total
                break
            out.append(self._decode(buf[pos] >> 4, buf[pos] & 0x0F, bytes(buf[i:i + length])))
            pos += total
        if pos:
            del buf[:pos]
            if not buf:
                self.pending = 0
        return out

    def _decode(self, kind: int, flags: int, body: bytes) -> Any:
        r = Reader(body, 0, len(body))
        v5 = self.version == 5
        if kind == PUBLISH:
            return self._publish(r, flags, v5)
        if kind in (PUBREL, SUBSCRIBE, UNSUBSCRIBE):
            if flags != 0b0010:
                raise malformed("reserved flags of the fixed header are wrong")
        elif flags:
            raise malformed("reserved flags of the fixed header are wrong")
        if kind == CONNECT:
            return self._connect(r)
        if kind in (PUBACK, PUBREC, PUBREL, PUBCOMP):
            pid = r.u16()
            reason, props = SUCCESS, {}
            if v5 and r.left():
                reason = r.byte()
                if r.left():
                    props = read_props(r, _ACK_PROPS)[0]
            self._end(r)
            return Ack(kind, pid, reason, props)
        if kind == SUBSCRIBE:
            pid = r.u16()
            props = read_props(r, _SUBSCRIBE_PROPS)[0] if v5 else {}
            subs = []
            while r.left():
                topic = r.utf8()
                opts = r.byte()
                if (opts & 0xC0) if v5 else (opts & 0xFC):
                    raise malformed("reserved bits of the subscription options are set")
                qos = opts & 0x03
                handling = (opts >> 4) & 0x03
                if qos == 3 or handling == 3:
                    raise malformed("QoS or Retain Handling 3 in subscription options")
                subs.append(Subscription(topic, qos, bool(opts & 0x04) and v5, bool(opts & 0x08) and v5,
                                         handling if v5 else 0))
            if not subs:
                raise MqttError(PROTOCOL_ERROR, "SUBSCRIBE with no topic filter")
            if pid == 0:
                raise malformed("packet identifier 0")
            return Subscribe(pid, subs, props)
        if kind == UNSUBSCRIBE:
            pid = r.u16()
            props = read_props(r, _ACK_PROPS)[0] if v5 else {}
            filters = []
            while r.left():
                filters.append(r.utf8())
            if not filters:
                raise MqttError(PROTOCOL_ERROR, "UNSUBSCRIBE with no topic filter")
            if pid == 0:
                raise malformed("packet identifier 0")
            return Unsubscribe(pid, filters, props)
        if kind == PINGREQ:
            self._end(r)
            return PingReq()
        if kind == DISCONNECT:
            reason, props = SUCCESS, {}
            if v5 and r.left():
                reason = r.byte()
                if r.left():
                    props = read_props(r, _DISCONNECT_PROPS)[0]
            self._end(r)
            return Disconnect(reason, props)
        if kind == AUTH and v5:
            reason, props = SUCCESS, {}
            if r.left():
                reason = r.byte()
                if r.left():
                    props = read_props(r, _AUTH_PROPS)[0]
            return Auth(reason, props)
        raise MqttError(PROTOCOL_ERROR if kind else MALFORMED_PACKET, f"packet type {kind} is not sent by a client")

    @staticmethod
    def _end(r: Reader) -> None:
        if r.left():
            raise malformed("packet longer than its contents")

    def _publish(self, r: Reader, flags: int, v5: bool) -> Publish:
        qos = (flags >> 1) & 0x03
        if qos == 3:
            raise malformed("PUBLISH with QoS 3")
        dup = bool(flags & 0x08)
        if dup and qos == 0:
            raise malformed("PUBLISH with DUP set at QoS 0")
        topic = r.utf8()
        pid = None
        if qos:
            pid = r.u16()
            if pid == 0:
                raise malformed("packet identifier 0")
        props, raw = read_props(r, _PUBLISH_PROPS) if v5 else ({}, b"")
        return Publish(topic, r.rest(), qos, bool(flags & 0x01), dup, pid, props, raw)

    def _connect(self, r: Reader) -> Connect:
        name = r.binary()
        level = r.byte()
        if name not in (b"MQTT", b"MQIsdp"):
            raise MqttError(UNSUPPORTED_PROTOCOL_VERSION, f"protocol name {name!r} is not MQTT")
        if level not in (3, 4, 5) or (name == b"MQIsdp") != (level == 3):
            raise MqttError(UNSUPPORTED_PROTOCOL_VERSION, f"protocol level {level} is not supported")
        self.version = level
        v5 = level == 5
        flags = r.byte()
        if flags & 0x01:
            raise malformed("reserved flag of CONNECT is set")
        keep_alive = r.u16()
        props = read_props(r, _CONNECT_PROPS)[0] if v5 else {}
        client_id = r.utf8()
        will = None
        will_qos = (flags >> 3) & 0x03
        if flags & 0x04:
            if will_qos == 3:
                raise malformed("will QoS 3")
            will_props = read_props(r, _WILL_PROPS)[0] if v5 else {}
            will_topic = r.utf8()
            will = Will(will_topic, r.binary(), will_qos, bool(flags & 0x20), will_props)
        elif will_qos or flags & 0x20:
            raise malformed("will QoS or will retain set without a will")
        username = r.utf8() if flags & 0x80 else None
        if flags & 0x40 and username is None and not v5:
            raise malformed("password without user name")
        password = r.binary() if flags & 0x40 else None
        self._end(r)
        return Connect(level, client_id, bool(flags & 0x02), keep_alive, username, password, will, props)


# -- encoders ------------------------------------------------------------------------------
def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _str(s: str | bytes) -> bytes:
    raw = s.encode() if isinstance(s, str) else s
    return _U16S.pack(len(raw)) + raw


def encode_props(props: Props) -> bytes:
    """A property block without its length."""
    out = bytearray()
    for pid, value in props.items():
        kind = PROPERTY_TYPES[pid]
        for v in (value if pid in _REPEATABLE else (value,)):
            out += varint(pid)
            if kind == _BYTE:
                out.append(v)
            elif kind == _U16:
                out += _U16S.pack(v)
            elif kind == _U32:
                out += _U32S.pack(v)
            elif kind == _VARINT:
                out += varint(v)
            elif kind == _PAIR:
                out += _str(v[0]) + _str(v[1])
            else:
                out += _str(v)
    return bytes(out)


def _packet(first: int, body: bytes) -> bytes:
    return bytes((first,)) + varint(len(body)) + body


def _with_props(raw: bytes) -> bytes:
    return varint(len(raw)) + raw


def encode_connack(version: int, session_present: bool, reason: int, props: Props | None = None) -> bytes:
    """CONNACK; `reason` is 5.0's code or 3.1.1's return code, as fits `version`."""
    body = bytes((1 if session_present else 0, reason))
    if version == 5:
        body += _with_props(encode_props(props or {}))
    return _packet(CONNACK << 4, body)


def encode_publish(version: int, topic: str | bytes, payload: bytes, qos: int, retain: bool, dup: bool,
                   packet_id: int | None, raw_props: bytes = b"") -> bytes:
    """PUBLISH; `raw_props` is an encoded property block (without length), 5.0 only."""
    head = _str(topic)
    if qos:
        head += _U16S.pack(packet_id or 0)
    if version == 5:
        head += _with_props(raw_props)
    first = (PUBLISH << 4) | (qos << 1) | (0x08 if dup else 0) | (0x01 if retain else 0)
    return bytes((first,)) + varint(len(head) + len(payload)) + head + payload


def encode_ack(version: int, kind: int, packet_id: int, reason: int = SUCCESS, props: Props | None = None) -> bytes:
    """PUBACK, PUBREC, PUBREL or PUBCOMP (the short form when 5.0's reason is Success)."""
    first = (kind << 4) | (0b0010 if kind == PUBREL else 0)
    body = _U16S.pack(packet_id)
    if version == 5 and (reason or props):
        body += bytes((reason,))
        if props:
            body += _with_props(encode_props(props))
    return _packet(first, body)


def encode_suback(version: int, packet_id: int, codes: list[int], props: Props | None = None) -> bytes:
    body = _U16S.pack(packet_id)
    if version == 5:
        body += _with_props(encode_props(props or {}))
    return _packet(SUBACK << 4, body + bytes(codes))


def encode_unsuback(version: int, packet_id: int, codes: list[int], props: Props | None = None) -> bytes:
    body = _U16S.pack(packet_id)
    if version == 5:
        body += _with_props(encode_props(props or {})) + bytes(codes)
    return _packet(UNSUBACK << 4, body)


PINGRESP_BYTES = bytes((PINGRESP << 4, 0))


def encode_disconnect(reason: int, props: Props | None = None) -> bytes:
    """A server DISCONNECT (5.0 only)."""
    return _packet(DISCONNECT << 4, bytes((reason,)) + _with_props(encode_props(props or {})))
