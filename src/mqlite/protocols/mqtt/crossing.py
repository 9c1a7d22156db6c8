"""An MQTT message <-> the core Envelope/Message, so AMQP, SQS and MQTT read each other's.

Storage form of an MQTT publish (docs/cross-protocol.md, "MQTT"):
- `routing_key`: the topic as an amq.topic key (`topics.to_routing_key`);
- `meta["mqtt.p"]`: the 5.0 property block as published (without Topic Alias), so an
  MQTT subscriber gets user properties in order, duplicates included, and correlation
  data byte for byte; `meta["mqtt.q"]` the publish QoS, `meta["mqtt.r"]` the retain flag;
- `meta["amqp.p"]`: AMQP basic properties made from it (what RabbitMQ's MQTT plugin
  sets): user properties -> `headers` (string values; a repeated name keeps its last
  value), Content Type -> `content_type`, Response Topic -> `reply_to` (as a routing
  key), Correlation Data -> `correlation_id` (when UTF-8 of at most 255 bytes),
  Message Expiry -> `expiration` (ms), QoS > 0 -> `delivery_mode` 2; `meta["amqp.x"]`
  is `amq.topic`;
- `attributes`: the user properties as String attributes (SQS MessageAttributes);
- `ttl_ms`: Message Expiry; `persistent`: QoS > 0 (QoS 0 is transient, as in RabbitMQ).

A message from elsewhere (AMQP, SQS) is delivered with properties made the other way:
AMQP headers (or SQS attributes) -> user properties as text, `content_type`,
`reply_to`, `correlation_id`, and the remaining expiry. Pure functions.
"""

from __future__ import annotations

from typing import Any

from mqlite.core.message import Attribute, Envelope, Message
from mqlite.protocols.amqp.properties import (
    META_EXCHANGE,
    META_PROPS,
    Properties,
    decode_properties,
    encode_properties,
)
from mqlite.protocols.mqtt import codec as C
from mqlite.protocols.mqtt.topics import from_routing_key, to_routing_key

META_MQTT_PROPS = "mqtt.p"
META_QOS = "mqtt.q"
META_RETAIN = "mqtt.r"
META_CLIENT = "mqtt.c"  # the publishing client's id (no-local)
_EXCHANGE = b"amq.topic"
_PLAIN_PROPS = (encode_properties(Properties(delivery_mode=1)), encode_properties(Properties(delivery_mode=2)))
_QOS = (b"\x00", b"\x01", b"\x02")


def envelope_for(topic: str, payload: bytes, qos: int, retain: bool, props: C.Props, now_ms: int,
                 client_id: str = "") -> Envelope:
    """The envelope of one PUBLISH (or will), routed through amq.topic."""
    stored = {k: v for k, v in props.items() if k != C.TOPIC_ALIAS} if props else props
    if not stored:  # the common case: no properties (every 3.1.1 publish)
        meta = {META_PROPS: _PLAIN_PROPS[qos > 0], META_EXCHANGE: _EXCHANGE, META_QOS: _QOS[qos]}
        if retain:
            meta[META_RETAIN] = b"1"
        if client_id:
            meta[META_CLIENT] = client_id.encode()
        return Envelope(body=payload, meta=meta, routing_key=to_routing_key(topic), persistent=qos > 0,
                        timestamp_ms=now_ms)
    user = stored.get(C.USER_PROPERTY) or []
    headers: dict[str, Any] = {name: value for name, value in user}
    expiry = stored.get(C.MESSAGE_EXPIRY)
    amqp = Properties(
        headers=headers or None,
        content_type=stored.get(C.CONTENT_TYPE),
        reply_to=to_routing_key(stored[C.RESPONSE_TOPIC]) if C.RESPONSE_TOPIC in stored else None,
        correlation_id=_text_or_none(stored.get(C.CORRELATION_DATA)),
        expiration=str(expiry * 1000) if expiry is not None else None,
        delivery_mode=2 if qos else 1,
    )
    meta = {META_PROPS: encode_properties(amqp), META_EXCHANGE: _EXCHANGE, META_QOS: _QOS[qos]}
    if stored:
        meta[META_MQTT_PROPS] = C.encode_props(stored)
    if retain:
        meta[META_RETAIN] = b"1"
    if client_id:
        meta[META_CLIENT] = client_id.encode()
    return Envelope(
        body=payload,
        attributes={name: Attribute("String", value) for name, value in headers.items()},
        meta=meta,
        routing_key=to_routing_key(topic),
        ttl_ms=expiry * 1000 if expiry is not None else None,
        persistent=qos > 0,
        timestamp_ms=now_ms,
    )


def _text_or_none(data: bytes | None) -> str | None:
    if data is None or len(data) > 255:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def publish_facts(msg: Message, now_ms: int) -> tuple[str, int, bool, C.Props]:
    """(topic, published QoS, published retain flag, properties) of a queued message.
    Message Expiry is the time left (MQTT 5.0 3.3.2.3.3); an expired message has None
    properties' expiry of 0 and should be dropped by the caller (`expired`)."""
    meta = msg.meta
    topic = from_routing_key(msg.routing_key)
    raw_qos = meta.get(META_QOS)
    qos = raw_qos[0] if raw_qos else 2  # from another protocol: the subscription decides
    retain = META_RETAIN in meta
    raw = meta.get(META_MQTT_PROPS)
    if raw is not None:
        props = C.decode_props(bytes(raw))
    elif raw_qos is not None:  # from MQTT without properties
        props = {}
    elif META_PROPS in meta:
        props = _from_amqp(decode_properties(bytes(meta[META_PROPS])))
    else:
        props = {}
        user = [(k, str(a.value if not isinstance(a.value, bytes) else a.value.hex())) for k, a in msg.attributes.items()]
        if user:
            props[C.USER_PROPERTY] = user
    expiry = props.get(C.MESSAGE_EXPIRY)
    if expiry is not None:
        elapsed = max(0, now_ms - msg.sent_timestamp) // 1000
        props[C.MESSAGE_EXPIRY] = max(1, expiry - elapsed)  # 0 would be gone
    return topic, qos, retain, props


def _from_amqp(p: Any) -> C.Props:
    props: C.Props = {}
    if p.content_type:
        props[C.CONTENT_TYPE] = p.content_type
    if p.reply_to:
        props[C.RESPONSE_TOPIC] = from_routing_key(p.reply_to)
    if p.correlation_id:
        props[C.CORRELATION_DATA] = p.correlation_id.encode()
    if p.expiration:
        try:
            props[C.MESSAGE_EXPIRY] = max(1, int(p.expiration) // 1000)
        except ValueError:
            pass
    if p.headers:
        props[C.USER_PROPERTY] = [(str(k), _header_text(v)) for k, v in p.headers.items()]
    return props


def _header_text(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
