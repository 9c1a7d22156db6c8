"""Kinesis error table: Kinesis's error codes and message wording, in one place.

Constructors for the client-visible errors the handlers raise (`not_found`, `in_use`,
`invalid_argument`, `validation`, `expired_iterator`, `limit_exceeded`) and
`map_core_error`, which translates core errors escaping a handler. Messages follow the
wording Kinesis returns ("Stream foo under account 123456789012 not found.").
Pure data; no I/O.
"""

from __future__ import annotations

from mqlite.core import errors as core
from mqlite.protocols.aws.wire import AwsError
from mqlite.storage.errors import RecordTooLarge


def not_found(message: str) -> AwsError:
    return AwsError("ResourceNotFoundException", message, 400)


def stream_not_found(name: str, account: str) -> AwsError:
    return not_found(f"Stream {name} under account {account} not found.")


def in_use(message: str) -> AwsError:
    return AwsError("ResourceInUseException", message, 400)


def invalid_argument(message: str) -> AwsError:
    return AwsError("InvalidArgumentException", message, 400)


def limit_exceeded(message: str) -> AwsError:
    return AwsError("LimitExceededException", message, 400)


def expired_iterator(message: str) -> AwsError:
    return AwsError("ExpiredIteratorException", message, 400)


def validation(value: object, member: str, constraint: str) -> AwsError:
    """AWS's generic constraint failure ("1 validation error detected: ..."); a value of
    None is left out ("Value at 'records' ...", as Kinesis words a too-long list)."""
    if value is None:
        return AwsError("ValidationException", f"1 validation error detected: Value at '{member}' "
                        f"failed to satisfy constraint: {constraint}", 400)
    shown = repr(value) if not isinstance(value, str) else value
    if len(shown) > 64:
        shown = shown[:64] + "..."
    return AwsError(
        "ValidationException",
        f"1 validation error detected: Value '{shown}' at '{member}' failed to satisfy "
        f"constraint: {constraint}",
        400,
    )


def validation_message(message: str) -> AwsError:
    """A ValidationException with a text of its own (not a constraint failure)."""
    return AwsError("ValidationException", message, 400)


def map_core_error(exc: BaseException, account: str = "000000000000") -> AwsError | None:
    """Kinesis's error for a core error escaping a handler, or None (internal)."""
    if isinstance(exc, core.StreamNotFound):
        return stream_not_found(exc.name, account)
    if isinstance(exc, core.NotFound):
        return not_found(str(exc))
    if isinstance(exc, core.AlreadyExists):
        return in_use(str(exc))
    if isinstance(exc, (core.InvalidName, core.InvalidValue, core.OffsetOutOfRange)):
        return invalid_argument(str(exc))
    if isinstance(exc, RecordTooLarge):
        return invalid_argument(f"Records size exceeds the limit of the stream: {exc}")
    if isinstance(exc, core.LimitExceeded):
        return limit_exceeded(str(exc))
    return None
