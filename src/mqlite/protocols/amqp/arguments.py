"""Queue.Declare / Exchange.Declare arguments: validation, equivalence, core config.

Owns RabbitMQ's rules for the `x-*` queue arguments (types and ranges, which ones are
compared on re-declare) and their translation to the core `QueueConfig` fields:

| AMQP argument | core QueueConfig field |
|---|---|
| x-message-ttl | message_ttl_ms |
| x-max-length / x-max-length-bytes | max_length / max_length_bytes |
| x-overflow (drop-head, reject-publish, reject-publish-dlx) | overflow |
| x-dead-letter-exchange / x-dead-letter-routing-key | dead_letter_exchange (core router name) / dead_letter_routing_key |
| x-max-priority | max_priority |
| x-expires | handled by the AMQP layer (unused = no consumers, no get, no redeclare) |
| x-single-active-consumer, x-queue-mode, x-queue-master-locator | accepted; SAC enforced by the AMQP layer |
| x-queue-type (classic, quorum, stream) | quorum/stream rules in `queue_types.py`; a stream queue is a core stream (`stream_queue.py`) |

Concurrency: pure functions.
"""

from __future__ import annotations

from typing import Any

from mqlite.protocols.amqp.entities import core_name
from mqlite.protocols.amqp.errors import PRECONDITION_FAILED, AmqpError

#: Arguments RabbitMQ compares on re-declare (others are ignored for equivalence).
EQUIVALENCE_ARGS = (
    "x-message-ttl", "x-expires", "x-max-length", "x-max-length-bytes", "x-overflow",
    "x-dead-letter-exchange", "x-dead-letter-routing-key", "x-max-priority", "x-queue-type",
    "x-single-active-consumer", "x-queue-mode",
)

_INT_ARGS = {
    "x-message-ttl": 0,
    "x-expires": 1,
    "x-max-length": 0,
    "x-max-length-bytes": 0,
    "x-max-priority": 0,
}
QUEUE_TYPES = ("classic", "quorum", "stream")
OVERFLOWS = ("drop-head", "reject-publish", "reject-publish-dlx")


def _text(value: Any) -> Any:
    return value.decode("utf-8", "replace") if isinstance(value, bytes | bytearray) else value


def _invalid(arg: str, name: str, vhost: str, reason: str) -> AmqpError:
    return AmqpError(
        PRECONDITION_FAILED,
        f"PRECONDITION_FAILED - invalid arg '{arg}' for queue '{name}' in vhost '{vhost}': {reason}",
    )


def validate_queue_args(args: dict[str, Any], name: str, vhost: str) -> dict[str, Any]:
    """Return normalised args (bytes -> str) or raise RabbitMQ's 406 for a bad value."""
    out: dict[str, Any] = {}
    for key, raw in (args or {}).items():
        value = _text(raw)
        if key in _INT_ARGS:
            if isinstance(value, bool) or not isinstance(value, int):
                raise _invalid(key, name, vhost, f"{{unacceptable_type,{type(value).__name__}}}")
            if value < _INT_ARGS[key]:
                reason = "{value_zero,0}" if value == 0 else f"{{value_negative,{value}}}"
                raise _invalid(key, name, vhost, reason)
            if key == "x-max-priority" and value > 255:
                raise _invalid(key, name, vhost, f"{{value_too_large,{value},255}}")
        elif key == "x-overflow" and value not in OVERFLOWS:
            raise _invalid(key, name, vhost, f"{{unknown_overflow_type,<<\"{value}\">>}}")
        elif key == "x-queue-type" and value not in QUEUE_TYPES:
            raise _invalid(key, name, vhost, f"{{unsupported_queue_type,<<\"{value}\">>}}")
        elif key == "x-single-active-consumer" and not isinstance(value, bool) or key in ("x-dead-letter-exchange", "x-dead-letter-routing-key") and not isinstance(value, str):
            raise _invalid(key, name, vhost, f"{{unacceptable_type,{type(value).__name__}}}")
        out[key] = value
    if "x-dead-letter-routing-key" in out and "x-dead-letter-exchange" not in out:
        raise AmqpError(
            PRECONDITION_FAILED,
            f"PRECONDITION_FAILED - invalid arg 'x-dead-letter-routing-key' for queue '{name}' in vhost "
            f"'{vhost}': {{routing_key_but_no_dlx_defined,<<\"{out['x-dead-letter-routing-key']}\">>}}",
        )
    return out


def queue_config_attributes(args: dict[str, Any], vhost: str) -> dict[str, Any]:
    """Core `QueueConfig` keyword attributes for validated AMQP args."""
    attrs: dict[str, Any] = {
        "retention": 0,  # AMQP has no retention: keep messages until consumed or expired
        "max_message_bytes": 128 * 1024 * 1024,
    }
    if "x-message-ttl" in args:
        attrs["message_ttl_ms"] = args["x-message-ttl"]  # any size (Celery: up to 2^27 s)
    if "x-max-length" in args:
        attrs["max_length"] = args["x-max-length"]
    if "x-max-length-bytes" in args:
        attrs["max_length_bytes"] = args["x-max-length-bytes"]
    if "x-overflow" in args:
        attrs["overflow"] = args["x-overflow"]
    if "x-max-priority" in args:
        attrs["max_priority"] = args["x-max-priority"]
    if "x-dead-letter-exchange" in args:
        attrs["dead_letter_exchange"] = core_name(vhost, args["x-dead-letter-exchange"])
    if "x-dead-letter-routing-key" in args:
        attrs["dead_letter_routing_key"] = args["x-dead-letter-routing-key"]
    return attrs


def first_inequivalent(received: dict[str, Any], current: dict[str, Any]) -> tuple[str, Any, Any] | None:
    """The first compared argument whose values differ, as (arg, received, current)."""
    for key in EQUIVALENCE_ARGS:
        a, b = received.get(key), current.get(key)
        if key == "x-queue-type":
            a, b = a or "classic", b or "classic"
        if a != b or type(a) is not type(b) and not (isinstance(a, int) and isinstance(b, int)):
            return key, a, b
    return None
