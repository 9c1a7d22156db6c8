"""SNS error codes: constructors for SNS's modeled errors and the core-error table.

Codes are the botocore error shape names (`NotFoundException` -> query code `NotFound`,
404; `InvalidParameterException` -> `InvalidParameter`, 400; `AuthorizationErrorException`
-> `AuthorizationError`, 403 ...); the wire codec renders them. `map_error(exc)` is the
one table from core errors to SNS codes. Messages follow AWS's texts
("Invalid parameter: ...", "Topic does not exist").
"""

from __future__ import annotations

from mqlite.core import errors as core
from mqlite.protocols.aws.wire import AwsError


def invalid_parameter(message: str) -> AwsError:
    """InvalidParameter (400): `message` is AWS's full text ("Invalid parameter: ...")."""
    return AwsError("InvalidParameterException", message)


def invalid_value(message: str) -> AwsError:
    """ParameterValueInvalid (400), e.g. a bad MessageAttribute."""
    return AwsError("InvalidParameterValueException", message)


def not_found(message: str = "Topic does not exist") -> AwsError:
    return AwsError("NotFoundException", message)


def resource_not_found(message: str = "Resource does not exist") -> AwsError:
    return AwsError("ResourceNotFoundException", message)


def authorization_error(message: str) -> AwsError:
    return AwsError("AuthorizationErrorException", message)


def invalid_arn(param: str) -> AwsError:
    return invalid_parameter(f"Invalid parameter: {param}")


_TABLE: tuple[tuple[type[BaseException], str, str], ...] = (
    (core.RouterNotFound, "NotFoundException", "Topic does not exist"),
    (core.InvalidPattern, "InvalidParameterException", ""),
    (core.QueueNotFound, "NotFoundException", "Endpoint does not exist"),
    (core.InvalidName, "InvalidParameterException", ""),
    (core.InvalidValue, "InvalidParameterException", ""),
    (core.LimitExceeded, "InvalidParameterException", ""),
    (core.NotFound, "NotFoundException", ""),
)


def map_error(exc: BaseException) -> AwsError | None:
    """The SNS `AwsError` for a core error, or None (an internal failure)."""
    for cls, code, default in _TABLE:
        if isinstance(exc, cls):
            return AwsError(code, default or str(exc))
    return None
