"""STOMP headers <-> AMQP 0-9-1 basic properties, as RabbitMQ's STOMP plugin maps them.

SEND -> properties (`rabbit_stomp_util:message_properties`): `content-type`,
`content-encoding`, `persistent:true` (delivery mode 2), `priority`, `correlation-id`,
`reply-to`, `expiration`, `amqp-message-id` (the AMQP `message_id`), `timestamp`,
`type`, `user-id`, `app-id`; every other header except `destination`, `message-id`,
`ack`, `subscription` and `redelivered` goes into the `headers` table as a long string
(RabbitMQ 3.10 keeps `content-length`, `receipt` and `transaction` there too).
Properties -> MESSAGE headers: the same names back, `persistent:true` for mode 2, and
each `headers` entry that is a string or an integer (other field types are dropped, as
RabbitMQ does). Messages stored by other protocols reach STOMP through the AMQP
front-end's property block (`amqp.properties.raw_properties_for`).
Both directions are cached by their input (`publish_properties` by the SEND's headers,
`delivery_headers` by the stored property block): a stream of messages with the same
headers, the usual case, encodes and decodes them once (bounded caches, cleared when
full).
Concurrency: pure functions and process-wide caches (dict operations only).
"""

from __future__ import annotations

import datetime
from typing import Any

from pamqp import commands

from mqlite.protocols.amqp.properties import (
    PublishFacts,
    decode_properties,
    encode_properties,
)
from mqlite.protocols.stomp.destinations import reply_to_header

CACHE_ENTRIES = 1024
_SEND_CACHE: dict[tuple[tuple[str, str], ...], tuple[bytes, PublishFacts]] = {}
_DELIVERY_CACHE: dict[bytes, list[tuple[str, str]]] = {}


def publish_properties(headers: dict[str, str]) -> tuple[bytes, PublishFacts]:
    """The AMQP property block (and its routing facts) for a SEND's headers."""
    key = tuple(headers.items())
    hit = _SEND_CACHE.get(key)
    if hit is None:
        raw = encode_properties(properties_for(headers))
        hit = (raw, PublishFacts(raw))
        if len(_SEND_CACHE) >= CACHE_ENTRIES:
            _SEND_CACHE.clear()
        _SEND_CACHE[key] = hit
    return hit


def delivery_headers(raw: bytes) -> list[tuple[str, str]]:
    """MESSAGE headers for a stored property block (an undecodable one gives none)."""
    hit = _DELIVERY_CACHE.get(raw)
    if hit is None:
        try:
            hit = message_headers(decode_properties(raw))
        except Exception:  # noqa: BLE001 - a block no decoder reads: deliver without properties
            hit = []
        if len(_DELIVERY_CACHE) >= CACHE_ENTRIES:
            _DELIVERY_CACHE.clear()
        _DELIVERY_CACHE[bytes(raw)] = hit
    return hit

_TEXT_PROPS = {
    "content-type": "content_type", "content-encoding": "content_encoding", "correlation-id": "correlation_id",
    "reply-to": "reply_to", "expiration": "expiration", "amqp-message-id": "message_id", "type": "message_type",
    "user-id": "user_id", "app-id": "app_id",
}
_INT_PROPS = {"priority": "priority", "timestamp": "timestamp"}
#: headers that are the frame's own, never copied into the AMQP headers table
FRAME_HEADERS = frozenset({"destination", "message-id", "ack", "subscription", "redelivered", "persistent",
                           *_TEXT_PROPS, *_INT_PROPS})


def _int(value: str) -> int | None:
    try:
        return int(value.strip())
    except ValueError:
        return None


def properties_for(headers: dict[str, str]) -> Any:
    """A pamqp `Basic.Properties` for a SEND frame's headers."""
    props = commands.Basic.Properties()
    for header, attr in _TEXT_PROPS.items():
        value = headers.get(header)
        if value is not None:
            setattr(props, attr, value)
    priority = _int(headers.get("priority", "x"))
    if priority is not None and 0 <= priority <= 255:
        props.priority = priority
    stamp = _int(headers.get("timestamp", "x"))
    if stamp is not None and stamp >= 0:
        props.timestamp = datetime.datetime.fromtimestamp(stamp, tz=datetime.UTC)
    if headers.get("persistent", "").lower() == "true":
        props.delivery_mode = 2
    table: dict[str, Any] = {k: v for k, v in headers.items() if k not in FRAME_HEADERS}
    if table:
        props.headers = table
    return props


def message_headers(props: Any) -> list[tuple[str, str]]:
    """MESSAGE headers for a delivery's decoded properties (after the frame's own)."""
    out: list[tuple[str, str]] = []
    table = props.headers or {}
    for key, value in table.items():
        if isinstance(value, bytes | bytearray):
            value = bytes(value).decode("utf-8", "replace")
        if key == "content-length":
            continue  # the MESSAGE frame's own
        if isinstance(value, str):
            out.append((str(key), value))
        elif isinstance(value, int) and not isinstance(value, bool):
            out.append((str(key), str(value)))
    for header, attr in _TEXT_PROPS.items():
        value = getattr(props, attr, None)
        if value is not None:
            out.append((header, reply_to_header(value) if header == "reply-to" else str(value)))
    if props.priority is not None:
        out.append(("priority", str(props.priority)))
    if props.timestamp is not None:
        stamp = props.timestamp
        out.append(("timestamp", str(int(stamp.timestamp()) if hasattr(stamp, "timestamp") else stamp)))
    if props.delivery_mode == 2:
        out.append(("persistent", "true"))
    return out
