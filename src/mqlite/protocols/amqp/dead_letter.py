"""Dead-lettering with RabbitMQ's `x-death` and `x-first-death-*` / `x-last-death-*` headers.

Owns: rewriting an AMQP message's properties when it is dead-lettered (RabbitMQ
"Dead Letter Exchanges" guide): `x-death` is an array of tables, most recent first,
one per (queue, reason) with `count`, `reason` (`rejected` | `expired` | `maxlen` |
`delivery_limit`), `queue`, `time`, `exchange`, `routing-keys` and, when the message
had a per-message TTL, `original-expiration` (the `expiration` property is removed so
the message does not expire again). A repeat of the same (queue, reason) increments
its `count` and moves it to the front. `x-first-death-{reason,queue,exchange}` are set
once; `x-last-death-*` every time.

Core queues do the dead-lettering (expired, maxlen, and `Queue.reject` for
Basic.Reject/Nack with requeue=false) and mark the envelope with `dlx.*` meta; every
AMQP binding carries the `amqp.dead_letter` router transform, which turns those facts
into the headers above as the message passes through the dead-letter exchange.
Concurrency: pure functions (called on the server's event loop).
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from mqlite.core.api import Binding
from mqlite.core.message import Envelope
from mqlite.protocols.amqp.properties import (
    META_EXCHANGE,
    META_PROPS,
    Properties,
    decode_properties,
    encode_properties,
    header_attributes,
)

log = logging.getLogger("mqlite.amqp")


def dead_letter_meta(
    meta: Mapping[str, bytes], reason: str, queue: str, routing_key: str, now_ms: int,
    dlx: str | None = None,
) -> tuple[dict[str, bytes], dict[str, Any]]:
    """New meta (with rewritten properties) and the new headers for a dead-lettered message."""
    raw = meta.get(META_PROPS)
    props = decode_properties(bytes(raw)) if raw else Properties()
    exchange = (meta.get(META_EXCHANGE) or b"").decode()
    headers: dict[str, Any] = dict(props.headers or {})
    keys: list[Any] = [routing_key]
    for extra in ("CC",):
        value = headers.get(extra)
        if isinstance(value, list):
            keys.extend(value)
    deaths = [d for d in (headers.get("x-death") or []) if isinstance(d, dict)]
    when = datetime.datetime.fromtimestamp(now_ms // 1000, tz=datetime.UTC)
    entry: dict[str, Any] | None = None
    for d in deaths:
        if _s(d.get("queue")) == queue and _s(d.get("reason")) == reason:
            entry = d
            break
    if entry is not None:
        deaths.remove(entry)
        entry = dict(entry)
        entry["count"] = int(entry.get("count", 1)) + 1
        entry["time"] = when
    else:
        entry = {"count": 1, "reason": reason, "queue": queue, "time": when,
                 "exchange": exchange, "routing-keys": keys}
        if props.expiration is not None:
            entry["original-expiration"] = props.expiration
    deaths.insert(0, entry)
    headers["x-death"] = deaths
    headers.setdefault("x-first-death-reason", reason)
    headers.setdefault("x-first-death-queue", queue)
    headers.setdefault("x-first-death-exchange", exchange)
    headers["x-last-death-reason"] = reason
    headers["x-last-death-queue"] = queue
    headers["x-last-death-exchange"] = exchange
    props.headers = headers
    props.expiration = None
    out = dict(meta)
    out[META_PROPS] = encode_properties(props)
    if dlx is not None:
        out[META_EXCHANGE] = dlx.encode()
    return out, headers


def _s(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes | bytearray) else value


TRANSFORM = "amqp.dead_letter"
_DLX_KEYS = ("dlx.reason", "dlx.queue", "dlx.time_ms", "dlx.routing_key", "dlx.expiration_ms")


def amqp_name(core_name: str) -> str:
    """The AMQP name of a core entity name (strips a non-default vhost prefix)."""
    return core_name.split("|", 1)[1] if "|" in core_name else core_name


def dead_letter_transform(env: Envelope, binding: Binding) -> Envelope:
    """Router transform on every AMQP binding: fold core's `dlx.*` meta (set when a queue
    dead-letters: expired, maxlen, rejected) into RabbitMQ's x-death headers."""
    meta = env.meta
    reason = meta.get("dlx.reason")
    if reason is None:
        return env
    clean = {k: v for k, v in meta.items() if k not in _DLX_KEYS}
    queue = amqp_name(bytes(meta.get("dlx.queue", b"")).decode())
    rk = bytes(meta.get("dlx.routing_key", b"")).decode()
    try:
        now_ms = int(meta.get("dlx.time_ms", b"0"))
    except ValueError:
        now_ms = 0
    new_meta, headers = dead_letter_meta(clean, bytes(reason).decode(), queue, rk, now_ms,
                                         amqp_name(binding.router))
    return replace(env, meta=new_meta, attributes=header_attributes(headers))
