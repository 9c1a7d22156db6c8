"""AMQP basic properties <-> the core `Envelope`/`Message` (attributes and meta).

Owns the storage form of an AMQP message in core, documented in docs/amqp-mapping.md:

- `meta["amqp.p"]`: the content header's property flags + property list, byte for byte
  as the publisher sent them (so every field-table type round-trips exactly, including
  the integer widths and long-string/byte-array distinctions pamqp would re-choose).
- `meta["amqp.x"]`: the exchange the message was published to (Basic.Deliver's field).
- `Envelope.routing_key`: the routing key; `priority` from `priority`; `ttl_ms` from
  `expiration`.
- `Envelope.group_id` / `dedup_id`: the `x-message-group-id` /
  `x-message-deduplication-id` headers (str, UTF-8 bytes or int), so an AMQP publisher
  can feed a FIFO queue (without a group id a FIFO queue refuses the message: Basic.Nack).
- `attributes`: the other `headers` entries, for non-AMQP readers (SQS): str ->
  String, int/float/Decimal -> Number, bytes -> Binary, anything else (bool, tables,
  arrays, timestamps, void) -> `String.amqp.<type>` holding its text form.

A message that did not come from AMQP (no `amqp.p`) is delivered with properties built
from its attributes: String -> long string, Number -> int (within int64), else AMQP
decimal (scale <= 255, unscaled value within int32), else the number's text, Binary ->
byte array, any value pamqp cannot encode -> its text; plus
`message_id` (the core id) and `timestamp` (sent time).

Concurrency: pure functions.
"""

from __future__ import annotations

import datetime
import decimal
import struct
from collections.abc import Mapping
from typing import Any

from pamqp import commands
from pamqp import encode as pamqp_encode

from mqlite.core.message import Attribute, Envelope, Message

META_PROPS = "amqp.p"
META_EXCHANGE = "amqp.x"
#: Headers an AMQP publisher sets to feed a FIFO queue (docs/amqp-mapping.md "FIFO queues").
HEADER_GROUP_ID = "x-message-group-id"
HEADER_DEDUP_ID = "x-message-deduplication-id"

_H = struct.Struct(">H")
_FLAG_HEADERS = 0x2000
_FLAG_DELIVERY_MODE = 0x1000
_FLAG_PRIORITY = 0x0800
_FLAG_EXPIRATION = 0x0100
_FLAG_REPLY_TO = 0x0200
_SLOW_FLAGS = _FLAG_HEADERS | _FLAG_EXPIRATION | _FLAG_REPLY_TO | 1  # need pamqp's decoder

Properties = commands.Basic.Properties


def decode_properties(raw: bytes) -> Any:
    """Decode a raw property block into a pamqp `Basic.Properties`."""
    props = Properties()
    flags = 0
    offset = 0
    index = 0
    while True:
        if len(raw) < offset + 2:
            raise ValueError("content header flags are truncated")
        part = _H.unpack_from(raw, offset)[0]
        offset += 2
        flags |= part << (index * 16)
        if not part & 1:
            break
        index += 1
    props.unmarshal(flags, raw[offset:])
    return props


def encode_properties(props: Any) -> bytes:
    """Encode a pamqp `Basic.Properties` into a raw property block."""
    return bytes(props.marshal())


class PublishFacts:
    """The few property facts routing and queues need, decoded once per publish."""

    __slots__ = ("delivery_mode", "headers", "priority", "props", "ttl_ms")

    def __init__(self, raw: bytes) -> None:
        flags = _H.unpack_from(raw, 0)[0] if len(raw) >= 2 else 0
        self.props: Any = None
        self.delivery_mode = 0
        self.priority: int | None = None
        self.ttl_ms: int | None = None
        self.headers: dict[str, Any] | None = None
        if not flags & _SLOW_FLAGS:
            self._fast(raw, flags)
            return
        props = self.props = decode_properties(raw)
        self.delivery_mode = props.delivery_mode or 0
        self.priority = props.priority
        self.headers = props.headers
        if props.expiration is not None:
            self.ttl_ms = parse_expiration(props.expiration)

    def _fast(self, raw: bytes, flags: int) -> None:
        """No headers, expiration, reply-to or second flag word: read the two octets
        we need by walking the property list (content-type, -encoding first)."""
        pos = 2
        try:
            if flags & 0x8000:
                pos += 1 + raw[pos]
            if flags & 0x4000:
                pos += 1 + raw[pos]
            if flags & _FLAG_DELIVERY_MODE:
                self.delivery_mode = raw[pos]
                pos += 1
            if flags & _FLAG_PRIORITY:
                self.priority = raw[pos]
        except IndexError:
            raise ValueError("content header properties are truncated") from None


def parse_expiration(text: str) -> int:
    """RabbitMQ: expiration is a string of a non-negative integer of milliseconds."""
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise ValueError(f"invalid expiration value '{text}'") from None
    if value < 0:
        raise ValueError(f"invalid expiration value '{text}'")
    return value


def header_attributes(headers: Mapping[str, Any] | None) -> dict[str, Attribute]:
    """The headers table as SQS-shaped attributes (see module docstring)."""
    if not headers:
        return {}
    out: dict[str, Attribute] = {}
    for key, value in headers.items():
        if isinstance(value, bool):
            out[key] = Attribute("String.amqp.bool", "true" if value else "false")
        elif isinstance(value, str):
            out[key] = Attribute("String", value)
        elif isinstance(value, int | float | decimal.Decimal):
            out[key] = Attribute("Number", str(value))
        elif isinstance(value, bytes | bytearray):
            out[key] = Attribute("Binary", bytes(value))
        elif isinstance(value, datetime.datetime):
            out[key] = Attribute("String.amqp.timestamp", value.isoformat())
        elif value is None:
            out[key] = Attribute("String.amqp.void", "")
        else:
            out[key] = Attribute(f"String.amqp.{type(value).__name__}", str(value))
    return out


def _header_text(value: Any) -> str | None:
    """A group/deduplication id header as text: str, UTF-8 bytes or an integer."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def envelope_for(
    exchange: str, routing_key: str, raw: bytes, body: bytes, facts: PublishFacts
) -> Envelope:
    """The core Envelope for one Basic.Publish.

    The headers `x-message-group-id` / `x-message-deduplication-id` become the
    envelope's FIFO `group_id` / `dedup_id` (AMQP has no such properties); they are
    not user attributes (SQS shows them as MessageGroupId / MessageDeduplicationId),
    but stay in the property block, so an AMQP consumer sees the headers as sent.
    """
    meta = {META_PROPS: raw, META_EXCHANGE: exchange.encode()}
    headers = facts.headers
    group_id = dedup_id = None
    if headers and (HEADER_GROUP_ID in headers or HEADER_DEDUP_ID in headers):
        group_id = _header_text(headers.get(HEADER_GROUP_ID))
        dedup_id = _header_text(headers.get(HEADER_DEDUP_ID))
        headers = {k: v for k, v in headers.items() if k not in (HEADER_GROUP_ID, HEADER_DEDUP_ID)}
    return Envelope(
        body=body,
        attributes=header_attributes(headers),
        meta=meta,
        group_id=group_id,
        dedup_id=dedup_id,
        routing_key=routing_key,
        priority=facts.priority,
        ttl_ms=facts.ttl_ms,
        persistent=facts.delivery_mode == 2,  # transient ones go in a restart (core drops them)
    )


_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1
_INT32_MIN = -(1 << 31)
_INT32_MAX = (1 << 31) - 1


def number_value(text: str) -> int | decimal.Decimal | str:
    """An SQS Number (up to 38 digits, any exponent) as the closest exact AMQP value.

    An integral value within int64 is an int (pamqp picks the narrowest integer type,
    at most long long `l`); otherwise a `decimal.Decimal` when it fits AMQP's decimal
    (`D`: scale 0-255, unscaled value fits int32); otherwise the decimal text as a long
    string. Never a float: pamqp sends floats as 32-bit `f`, which is lossy and which
    pika reads through `int()`.
    """
    try:
        number = decimal.Decimal(text)
    except (decimal.InvalidOperation, TypeError, ValueError):
        return text
    if not number.is_finite():
        return text
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)
    if number == number.to_integral_value():
        whole = int(number)
        if _INT64_MIN <= whole <= _INT64_MAX:
            return whole
    if exponent <= 0 and -exponent <= 255:
        unscaled = int(number.scaleb(-exponent))
        if _INT32_MIN <= unscaled <= _INT32_MAX:
            return number
    return text.strip()


def _attribute_value(attr: Attribute) -> Any:
    kind = attr.data_type.split(".", 1)[0]
    if kind == "Binary":
        return bytearray(attr.value if isinstance(attr.value, bytes | bytearray) else str(attr.value).encode())
    value = attr.value.decode("utf-8", "replace") if isinstance(attr.value, bytes) else str(attr.value)
    if kind == "Number":
        return number_value(value)
    return value


def _encodable(value: Any) -> Any:
    """`value` if pamqp can encode it in a field table, else its text (never raises)."""
    try:
        pamqp_encode.encode_table_value(value)
    except Exception:  # noqa: BLE001 - any failure means "send the text form instead"
        return str(value)
    return value


def raw_properties_for(message: Message) -> bytes:
    """The property block to deliver `message` with (exact when it came from AMQP).

    Never raises for a message that did not come from AMQP: every header value is
    checked against pamqp's encoder and falls back to its text form, so no attribute
    can make a delivery fail (a failure would close the connection and release the
    message to the next consumer, which would fail the same way).
    """
    raw = message.meta.get(META_PROPS)
    if raw is not None:
        return bytes(raw)
    headers = {k: _encodable(_attribute_value(a)) for k, a in message.attributes.items()} or None
    timestamp = (
        datetime.datetime.fromtimestamp(message.sent_timestamp / 1000, tz=datetime.UTC)
        if message.sent_timestamp
        else None
    )
    priority = message.priority if message.priority and 0 <= message.priority <= 255 else None
    props = Properties(headers=headers, message_id=message.id or None, timestamp=timestamp, priority=priority)
    try:
        return encode_properties(props)
    except Exception:  # noqa: BLE001 - last resort: deliver without headers rather than fail
        return encode_properties(Properties(message_id=message.id or None, timestamp=timestamp, priority=priority))


def with_header(raw: bytes, name: str, value: Any) -> bytes:
    """A property block with one more header (quorum queues' `x-delivery-count`)."""
    props = decode_properties(raw)
    props.headers = {**(props.headers or {}), name: value}
    return encode_properties(props)


def exchange_of(message: Message) -> str:
    raw = message.meta.get(META_EXCHANGE)
    return raw.decode() if raw is not None else ""
