"""AMQP reply codes and the one table from core errors to RabbitMQ's replies.

Owns: `AmqpError` (a soft/channel or hard/connection error carrying reply code, text
and the failing method's class/method ids), the reply-code constants, the builders
for RabbitMQ's exact wordings (`not_found_queue`, `inequivalent_arg`, ...), and
`from_core(exc, ...)`, the single mapping of `mqlite.core.errors` classes to replies.

Invariant: every text starts with the reply name as RabbitMQ prints it
(`NOT_FOUND - no queue 'q' in vhost '/'`). Channel errors close the channel;
connection errors close the connection. Concurrency: pure values and functions.
"""

from __future__ import annotations

from mqlite.core import errors as core_errors
from mqlite.errors import MqliteError, ProtocolError

REPLY_SUCCESS = 200
CONTENT_TOO_LARGE = 311
NO_ROUTE = 312
NO_CONSUMERS = 313
CONNECTION_FORCED = 320
INVALID_PATH = 402
ACCESS_REFUSED = 403
NOT_FOUND = 404
RESOURCE_LOCKED = 405
PRECONDITION_FAILED = 406
FRAME_ERROR = 501
SYNTAX_ERROR = 502
COMMAND_INVALID = 503
CHANNEL_ERROR = 504
UNEXPECTED_FRAME = 505
RESOURCE_ERROR = 506
NOT_ALLOWED = 530
NOT_IMPLEMENTED = 540
INTERNAL_ERROR = 541

#: Codes that are connection ("hard") errors in 0-9-1.
HARD_ERRORS = frozenset(
    {CONNECTION_FORCED, INVALID_PATH, FRAME_ERROR, SYNTAX_ERROR, COMMAND_INVALID, CHANNEL_ERROR,
     UNEXPECTED_FRAME, RESOURCE_ERROR, NOT_ALLOWED, NOT_IMPLEMENTED, INTERNAL_ERROR}
)


class AmqpError(ProtocolError):
    """An error reply: channel-level unless `hard` (then the connection closes)."""

    def __init__(self, code: int, text: str, class_id: int = 0, method_id: int = 0, *, hard: bool | None = None) -> None:
        super().__init__(text, rule=f"amqp-{code}")
        self.code = code
        # a shortstr: at most 255 bytes of valid UTF-8, whatever a client's bytes were
        raw = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace").encode()[:255]
        self.text = raw.decode("utf-8", "ignore")
        self.class_id = class_id
        self.method_id = method_id
        self.hard = code in HARD_ERRORS if hard is None else hard


def _vh(vhost: str) -> str:
    return f"in vhost '{vhost}'"


def not_found_queue(name: str, vhost: str) -> AmqpError:
    return AmqpError(NOT_FOUND, f"NOT_FOUND - no queue '{name}' {_vh(vhost)}")


def not_found_exchange(name: str, vhost: str) -> AmqpError:
    return AmqpError(NOT_FOUND, f"NOT_FOUND - no exchange '{name}' {_vh(vhost)}")


def access_refused_name(kind: str, name: str, vhost: str) -> AmqpError:
    return AmqpError(
        ACCESS_REFUSED,
        f"ACCESS_REFUSED - {kind} name '{name}' contains reserved prefix 'amq.*'",
    )


def resource_locked(name: str, vhost: str) -> AmqpError:
    return AmqpError(
        RESOURCE_LOCKED,
        f"RESOURCE_LOCKED - cannot obtain exclusive access to locked queue '{name}' {_vh(vhost)}. "
        "It could be originally declared on another connection or the exclusive property "
        "value does not match that of the original declaration.",
    )


def fmt_value(value: object) -> str:
    """A field value as RabbitMQ prints it in inequivalence errors."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def inequivalent_arg(arg: str, kind: str, name: str, vhost: str, received: object, current: object) -> AmqpError:
    return AmqpError(
        PRECONDITION_FAILED,
        f"PRECONDITION_FAILED - inequivalent arg '{arg}' for {kind} '{name}' {_vh(vhost)}: "
        f"received {_quote(received)} but current is {_quote(current)}",
    )


def _quote(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "'true'" if value else "'false'"
    if isinstance(value, str | bytes):
        return f"'{fmt_value(value)}'"
    return f"'{value}'"


def unknown_delivery_tag(tag: int) -> AmqpError:
    return AmqpError(PRECONDITION_FAILED, f"PRECONDITION_FAILED - unknown delivery tag {tag}")


def from_core(exc: MqliteError, *, kind: str = "queue", name: str = "", vhost: str = "/") -> AmqpError:
    """The one table: a core error -> the reply RabbitMQ gives for the same situation."""
    if isinstance(exc, AmqpError):
        return exc
    if isinstance(exc, core_errors.QueueNotFound):
        return not_found_queue(name or exc.name, vhost)
    if isinstance(exc, core_errors.RouterNotFound):
        return not_found_exchange(name or exc.name, vhost)
    if isinstance(exc, core_errors.NotFound):
        return AmqpError(NOT_FOUND, f"NOT_FOUND - no {exc.kind} '{name or exc.name}' {_vh(vhost)}")
    if isinstance(exc, core_errors.AlreadyExists):
        return AmqpError(PRECONDITION_FAILED, f"PRECONDITION_FAILED - {exc.message}")
    if isinstance(exc, core_errors.InvalidName | core_errors.InvalidValue | core_errors.InvalidPattern):
        return AmqpError(PRECONDITION_FAILED, f"PRECONDITION_FAILED - {exc.message}")
    if isinstance(exc, core_errors.InvalidReceipt | core_errors.MessageNotInflight):
        return AmqpError(PRECONDITION_FAILED, f"PRECONDITION_FAILED - {exc.message}")
    if isinstance(exc, core_errors.LimitExceeded):
        return AmqpError(PRECONDITION_FAILED, f"PRECONDITION_FAILED - {exc.message}")
    if isinstance(exc, core_errors.QueueFull):
        return AmqpError(PRECONDITION_FAILED, f"PRECONDITION_FAILED - {exc.message}")
    return AmqpError(INTERNAL_ERROR, f"INTERNAL_ERROR - {exc.message}")
