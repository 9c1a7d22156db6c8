"""RabbitMQ's queue types on Queue.Declare: which properties and `x-*` arguments a quorum
or stream queue takes, and stream retention (`x-max-age`) parsing.

Rules and reply texts are RabbitMQ's (checked against rabbitmq-server 3.10 in the same
run as mqlite; `rabbit_quorum_queue` / `rabbit_stream_queue` capabilities):

- an argument the type does not take: 406 `invalid arg 'x-max-priority' for queue 'q'
  in vhost '/' of queue type rabbit_quorum_queue`;
- exclusive / auto-delete / non-durable: 406 `invalid property 'exclusive-owner' for
  queue 'q' in vhost '/'` (`'auto-delete'`, `'non-durable'`);
- a server-named quorum or stream queue: 406 `Cannot declare a server-named queue for
  type rabbit_quorum_queue`;
- `x-max-age` not `<positive integer><Y|M|D|h|m|s>`: 406 `invalid arg 'x-max-age' for
  queue 'q' in vhost '/': invalid_max_age`;
- `x-dead-letter-strategy` not at-most-once / at-least-once: 406 `... invalid_dlx_strategy`.

Concurrency: pure functions.
"""

from __future__ import annotations

import re
from typing import Any

from mqlite.protocols.amqp.errors import PRECONDITION_FAILED, AmqpError

QUORUM_ARGS = frozenset((
    "x-queue-type", "x-dead-letter-exchange", "x-dead-letter-routing-key", "x-dead-letter-strategy",
    "x-expires", "x-max-length", "x-max-length-bytes", "x-max-in-memory-length", "x-max-in-memory-bytes",
    "x-overflow", "x-single-active-consumer", "x-quorum-initial-group-size", "x-delivery-limit",
    "x-message-ttl", "x-queue-leader-locator",
))
STREAM_ARGS = frozenset((
    "x-queue-type", "x-max-length-bytes", "x-max-age", "x-stream-max-segment-size-bytes",
    "x-queue-leader-locator", "x-initial-cluster-size", "x-stream-filter-size-bytes",
))
_TYPE_MODULE = {"quorum": "rabbit_quorum_queue", "stream": "rabbit_stream_queue"}
_AGE_UNITS_MS = {"Y": 365 * 86_400_000, "M": 30 * 86_400_000, "D": 86_400_000, "h": 3_600_000,
                 "m": 60_000, "s": 1000}
_AGE = re.compile(r"^([0-9]*)(.*)$", re.S)


def queue_type(args: dict[str, Any]) -> str:
    """classic | quorum | stream (validated args)."""
    return str(args.get("x-queue-type") or "classic")


def max_age_ms(value: Any) -> int | None:
    """RabbitMQ's `check_max_age`: "7D" -> ms, or None when it is not a valid age."""
    if isinstance(value, bytes | bytearray):
        value = bytes(value).decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    m = _AGE.match(value)
    if m is None or not m.group(1) or m.group(2) not in _AGE_UNITS_MS:
        return None
    n = int(m.group(1))
    return n * _AGE_UNITS_MS[m.group(2)] if n > 0 else None


def check_declare(kind: str, name: str, vhost: str, generated: bool, durable: bool, exclusive: bool,
                  auto_delete: bool, args: dict[str, Any]) -> None:
    """Raise RabbitMQ's 406 when a quorum or stream queue is declared as they cannot be."""
    if kind == "classic":
        return
    module = _TYPE_MODULE[kind]
    if generated:
        raise AmqpError(PRECONDITION_FAILED,
                        f"PRECONDITION_FAILED - Cannot declare a server-named queue for type {module}")
    allowed = QUORUM_ARGS if kind == "quorum" else STREAM_ARGS
    for key in args:
        if key.startswith("x-") and key not in allowed:
            raise AmqpError(PRECONDITION_FAILED, f"PRECONDITION_FAILED - invalid arg '{key}' for queue "
                            f"'{name}' in vhost '{vhost}' of queue type {module}")
    for prop, bad in (("auto-delete", auto_delete), ("exclusive-owner", exclusive), ("non-durable", not durable)):
        if bad:
            raise AmqpError(PRECONDITION_FAILED,
                            f"PRECONDITION_FAILED - invalid property '{prop}' for queue '{name}' in vhost '{vhost}'")
    if "x-max-age" in args and max_age_ms(args["x-max-age"]) is None:
        raise AmqpError(PRECONDITION_FAILED, f"PRECONDITION_FAILED - invalid arg 'x-max-age' for queue "
                        f"'{name}' in vhost '{vhost}': invalid_max_age")
    strategy = args.get("x-dead-letter-strategy")
    if strategy is not None and strategy not in ("at-most-once", "at-least-once"):
        raise AmqpError(PRECONDITION_FAILED, f"PRECONDITION_FAILED - invalid arg 'x-dead-letter-strategy' "
                        f"for queue '{name}' in vhost '{vhost}': invalid_dlx_strategy")


def delivery_limit(args: dict[str, Any]) -> int | None:
    """A quorum queue's `x-delivery-limit` (RabbitMQ 3.x ignores a non-integer or negative one)."""
    value = args.get("x-delivery-limit")
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def stream_config(args: dict[str, Any]) -> dict[str, Any]:
    """Core `StreamConfig` fields for a stream queue's retention arguments."""
    cfg: dict[str, Any] = {}
    if "x-max-age" in args:
        cfg["retention_ms"] = max_age_ms(args["x-max-age"])
    size = args.get("x-max-length-bytes")
    if isinstance(size, int) and not isinstance(size, bool) and size > 0:
        cfg["retention_bytes"] = size
    seg = args.get("x-stream-max-segment-size-bytes")
    if isinstance(seg, int) and not isinstance(seg, bool) and seg > 0:
        cfg["segment_bytes"] = seg
    return cfg
