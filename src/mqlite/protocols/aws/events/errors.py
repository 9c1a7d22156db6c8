"""EventBridge error codes: constructors with AWS's wording, and the core-error table.

Every EventBridge handler raises these (`AwsError` with the modeled error shape names of
botocore's `events` model). `map_error(exc)` is the one table from core errors to
EventBridge codes (the front-end's `map_error`). Pure values; no I/O.
"""

from __future__ import annotations

from mqlite.core import errors as core
from mqlite.protocols.aws.wire import AwsError


def not_found(message: str) -> AwsError:
    return AwsError("ResourceNotFoundException", message, 400)


def already_exists(message: str) -> AwsError:
    return AwsError("ResourceAlreadyExistsException", message, 400)


def validation(message: str) -> AwsError:
    return AwsError("ValidationException", message, 400)


def limit_exceeded(message: str) -> AwsError:
    return AwsError("LimitExceededException", message, 400)


def invalid_pattern(message: str) -> AwsError:
    return AwsError("InvalidEventPatternException", message, 400)


def concurrent(message: str) -> AwsError:
    return AwsError("ConcurrentModificationException", message, 400)


def illegal_status(message: str) -> AwsError:
    return AwsError("IllegalStatusException", message, 400)


def rule_not_found(rule: str, bus: str) -> AwsError:
    return not_found(f"Rule {rule} does not exist on EventBus {bus}.")


def bus_not_found(bus: str) -> AwsError:
    return not_found(f"Event bus {bus} does not exist.")


def map_error(exc: BaseException) -> AwsError | None:
    """The EventBridge `AwsError` for a core error, or None when it is not a client's."""
    if isinstance(exc, core.InvalidPattern):
        return invalid_pattern(exc.message)
    if isinstance(exc, core.NotFound):
        return not_found(str(exc))
    if isinstance(exc, (core.InvalidName, core.InvalidValue)):
        return validation(str(exc))
    if isinstance(exc, core.LimitExceeded):
        return limit_exceeded(str(exc))
    if isinstance(exc, core.AlreadyExists):
        return already_exists(str(exc))
    return None
