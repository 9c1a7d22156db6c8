"""The one table from core errors to AWS error codes, for the AWS front-ends.

`map_core_error(exc)` returns the `AwsError` a core error means on the SQS API (the
error shape names of botocore's SQS model; the wire codec adds the historical query codes
and statuses from the service's query overlay). Services with other codes for the same
core error (SNS `NotFound`, Kinesis `ResourceNotFoundException`) add their own column
here when they land. Order matters: subclasses before their bases.
"""

from __future__ import annotations

from mqlite.core import errors as core
from mqlite.protocols.aws.wire import AwsError

_SQS_TABLE: tuple[tuple[type[BaseException], str, int, str], ...] = (
    (core.QueueNotFound, "QueueDoesNotExist", 400, "The specified queue does not exist."),
    (core.QueueExists, "QueueNameExists", 400, "A queue already exists with the same name and a different value for an attribute."),
    (core.InvalidReceipt, "ReceiptHandleIsInvalid", 404, "The input receipt handle is invalid."),
    (core.MessageNotInflight, "MessageNotInflight", 400, "Message is not in flight."),
    (core.PurgeInProgress, "PurgeQueueInProgress", 403, ""),
    (core.QueueFull, "OverLimit", 403, ""),
    (core.InvalidName, "InvalidParameterValue", 400, ""),
    (core.InvalidValue, "InvalidParameterValue", 400, ""),
    (core.LimitExceeded, "InvalidParameterValue", 400, ""),
    (core.NotFound, "ResourceNotFoundException", 404, ""),
    (core.AlreadyExists, "InvalidParameterValue", 400, ""),
)


def map_core_error(exc: BaseException) -> AwsError | None:
    """The SQS `AwsError` for a core error, or None when it is not a client's mistake."""
    for cls, code, status, default in _SQS_TABLE:
        if isinstance(exc, cls):
            message = default or str(exc)
            return AwsError(code, message, status)
    return None
