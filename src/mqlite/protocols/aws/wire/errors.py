"""AWS wire errors: one exception type that every AWS front-end raises for a client's mistake.

`AwsError(code, message, status=None, sender=True)` names the error by its *modeled*
code (the error shape's name in the botocore model, e.g. `QueueDoesNotExist`) or by a
generic AWS code (`InvalidParameterValue`, `MissingParameter`, `SerializationException`).
The codec turns it into the protocol's error shape: for `query`, the error shape's
`error.code` trait (the historical query code, e.g. `AWS.SimpleQueueService.
NonExistentQueue`) and its `httpStatusCode`; for `json`, `__type` plus, on services
marked `awsQueryCompatible`, the `x-amzn-query-error: <query code>;Sender|Receiver` header.
Pure data: no I/O, safe to raise from any layer above the codec.
"""

from __future__ import annotations

from mqlite.errors import ProtocolError


class AwsError(ProtocolError):
    """A client-visible AWS error: `code`, `message`, HTTP `status`, fault side."""

    def __init__(
        self,
        code: str,
        message: str = "",
        status: int | None = None,
        *,
        sender: bool = True,
        query_code: str | None = None,
    ) -> None:
        super().__init__(message, rule=code)
        self.code = code
        self.status = status
        self.sender = sender
        self.query_code = query_code
        self.param: str | None = None

    def __repr__(self) -> str:
        return f"AwsError({self.code!r}, {self.message!r}, {self.status!r})"


# Generic, protocol-level errors (the codec raises these; any service may too).
def serialization_error(message: str) -> AwsError:
    return AwsError("SerializationException", message, 400, query_code="MalformedQueryString")


def missing_parameter(name: str) -> AwsError:
    err = AwsError("MissingParameter", f"The request must contain the parameter {name}.", 400)
    err.param = name  # the member's path, for front-ends that word it their own way
    return err


def invalid_parameter(message: str) -> AwsError:
    return AwsError("InvalidParameterValue", message, 400)


def unknown_operation(name: str, protocol_is_query: bool) -> AwsError:
    if protocol_is_query:
        return AwsError("InvalidAction", f"The action {name} is not valid for this endpoint.", 400)
    return AwsError("UnknownOperationException", f"Unknown operation {name}", 400)
