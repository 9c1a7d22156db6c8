"""Retained messages: the last retained PUBLISH per topic, durable in the catalog.

Owns the retained set of one server (`Retained`): `set(topic, payload, qos, props)`
(an empty payload deletes, MQTT 5.0 3.3.1.3), `matching(filter)` for a new
subscription, with each message's expiry (5.0 Message Expiry) honoured: an expired
one is dropped when it is next looked at. Stored in catalog kv `mqtt/retained`, key =
topic, value {"p": base64 payload, "q": qos, "x": hex property block, "t": set ms};
loaded at start, so retained messages survive a restart.
Concurrency: the server's event loop only.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mqlite.protocols.mqtt import codec as C
from mqlite.protocols.mqtt.topics import matches

if TYPE_CHECKING:
    from mqlite.core.api import Catalog

NS_RETAINED = "mqtt/retained"


@dataclass(slots=True)
class RetainedMessage:
    topic: str
    payload: bytes
    qos: int
    props: C.Props
    set_ms: int

    def expired(self, now_ms: int) -> bool:
        expiry = self.props.get(C.MESSAGE_EXPIRY)
        return expiry is not None and now_ms - self.set_ms >= expiry * 1000

    def props_now(self, now_ms: int) -> C.Props:
        """The properties to send it with: Message Expiry is the time left."""
        props = dict(self.props)
        if C.MESSAGE_EXPIRY in props:
            props[C.MESSAGE_EXPIRY] = max(0, props[C.MESSAGE_EXPIRY] - (now_ms - self.set_ms) // 1000)
        return props


class Retained:
    """See module docstring."""

    def __init__(self, catalog: Catalog | None) -> None:
        self.catalog = catalog
        self.messages: dict[str, RetainedMessage] = {}
        if catalog is not None:
            for topic, row in catalog.kv_items(NS_RETAINED):
                props = C.decode_props(bytes.fromhex(row.get("x", "")))
                self.messages[topic] = RetainedMessage(topic, base64.b64decode(row["p"]), row["q"], props, row["t"])

    def set(self, topic: str, payload: bytes, qos: int, props: C.Props, now_ms: int) -> None:
        props = {k: v for k, v in props.items() if k != C.TOPIC_ALIAS}
        if not payload:
            if self.messages.pop(topic, None) is not None and self.catalog is not None:
                self.catalog.kv_delete(NS_RETAINED, topic)
            return
        self.messages[topic] = RetainedMessage(topic, payload, qos, props, now_ms)
        if self.catalog is not None:
            self.catalog.kv_put(NS_RETAINED, topic, {
                "p": base64.b64encode(payload).decode(), "q": qos, "x": C.encode_props(props).hex(), "t": now_ms})

    def matching(self, flt: str, now_ms: int) -> list[RetainedMessage]:
        out = []
        for topic, msg in list(self.messages.items()):
            if msg.expired(now_ms):
                self.set(topic, b"", 0, {}, now_ms)
            elif matches(flt, topic):
                out.append(msg)
        return out
