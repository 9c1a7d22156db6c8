"""Firehose error table: Firehose's error codes and message wording, in one place.

Constructors for the client-visible errors and `map_core_error` for core errors that
escape a handler. Pure data; no I/O.
"""

from __future__ import annotations

from mqlite.core import errors as core
from mqlite.protocols.aws.wire import AwsError


def not_found(name: str, account: str) -> AwsError:
    return AwsError("ResourceNotFoundException",
                    f"Firehose {name} under account {account} not found.", 400)


def in_use(message: str) -> AwsError:
    return AwsError("ResourceInUseException", message, 400)


def invalid_argument(message: str) -> AwsError:
    return AwsError("InvalidArgumentException", message, 400)


def limit_exceeded(message: str) -> AwsError:
    return AwsError("LimitExceededException", message, 400)


def concurrent_modification(message: str) -> AwsError:
    return AwsError("ConcurrentModificationException", message, 400)


def validation(value: object, member: str, constraint: str) -> AwsError:
    shown = value if isinstance(value, str) else repr(value)
    if len(shown) > 64:
        shown = shown[:64] + "..."
    return AwsError("ValidationException",
                    f"1 validation error detected: Value '{shown}' at '{member}' failed to "
                    f"satisfy constraint: {constraint}", 400)


def map_core_error(exc: BaseException) -> AwsError | None:
    if isinstance(exc, core.NotFound):
        return AwsError("ResourceNotFoundException", str(exc), 400)
    if isinstance(exc, core.AlreadyExists):
        return in_use(str(exc))
    if isinstance(exc, (core.InvalidName, core.InvalidValue, core.LimitExceeded)):
        return invalid_argument(str(exc))
    return None
