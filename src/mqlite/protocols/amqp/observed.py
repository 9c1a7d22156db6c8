"""What the request hook (`protocols.observe`) is told about an AMQP method: its name
as RabbitMQ spells it (`basic.publish`, `queue.declare`) and the queue or exchange it
names."""

from __future__ import annotations

from typing import Any

from mqlite.protocols.amqp.frames import MethodEvent, Publish

_ACTIONS: dict[type, str] = {}


def action_of(ev: Any) -> str | None:
    """`basic.publish`, `queue.declare`...; None for heartbeats and protocol headers."""
    t = type(ev)
    if t is Publish:
        return "basic.publish"
    if t is not MethodEvent:
        return None
    mt = type(ev.method)
    name = _ACTIONS.get(mt)
    if name is None:
        name = _ACTIONS[mt] = str(getattr(mt, "name", mt.__name__)).lower()
    return name


def entity_of(ev: Any) -> str | None:
    """The queue, else the exchange, an event names (computed only to log a line)."""
    if type(ev) is Publish:
        return ev.exchange or ev.routing_key
    method = getattr(ev, "method", None)
    for attr in ("queue", "exchange", "destination"):
        value = getattr(method, attr, None)
        if isinstance(value, str) and value:
            return value
    return None
