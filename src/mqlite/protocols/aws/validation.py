"""Which AWS services check their model's input constraints, and the error they answer.

AWS validates a request against the operation's model before the service sees it; the
JSON-native services (Kinesis, Firehose, EventBridge) answer `ValidationException`, the
query services (SNS, STS) `ValidationError` (AWS's common error), both with the text
"1 validation error detected: Value 'x' at 'streamName' failed to satisfy constraint:
..." (`wire.constraints`). The JSON-native services also report a missing required member
that way ("Value null at 'partitionKey' failed to satisfy constraint: Member must not be
null") where SQS, SNS and STS answer `MissingParameter`. An operation that models its
own `ValidationException` (SNS Publish, ...) answers that. SQS checks nothing here:
its model's only constraints are attribute-name enums, which SQS answers with its own
`InvalidAttributeName` in the handlers.
Pure functions; no I/O.
"""

from __future__ import annotations

from typing import Any

from mqlite.protocols.aws.wire import AwsError, AwsService, Protocol
from mqlite.protocols.aws.wire.constraints import (
    camel,
    null_violation,
    validation_message,
    violations,
)

# service name -> whether a missing required member is a validation error too
CHECKED = {"sns": False, "sts": False, "kinesis": True, "firehose": True, "events": True}
# Patterns a local broker does not hold users to: Firehose HTTP endpoints may be plain
# `http://` (a local receiver has no TLS certificate; AWS's model says `https://.*`).
RELAXED: dict[str, frozenset[str]] = {"firehose": frozenset({"HttpEndpointUrl"})}
_NONE: frozenset[str] = frozenset()


def _error(service: AwsService, operation: str, protocol: Protocol, texts: list[str]) -> AwsError:
    op = service.operation(operation, protocol)
    if protocol is Protocol.JSON or any(e.name == "ValidationException" for e in op.error_shapes):
        code = "ValidationException"
    else:
        code = "ValidationError"
    return AwsError(code, validation_message(texts), 400)


def check(service: AwsService, operation: str, protocol: Protocol, params: dict[str, Any]) -> None:
    """Raise AWS's validation error if `params` break the operation's input constraints."""
    if service.name not in CHECKED:
        return
    texts = violations(service.operation(operation, protocol).input_shape, params,
                       RELAXED.get(service.name, _NONE))
    if texts:
        raise _error(service, operation, protocol, texts)


def decode_error(service: AwsService, operation: str, protocol: Protocol, exc: AwsError) -> AwsError:
    """The error to answer for a decoding error `exc` (a missing member becomes a
    validation error on the services that report it so)."""
    param = getattr(exc, "param", None)
    if param is None or not CHECKED.get(service.name) or not service.has_operation(operation):
        return exc
    path = ".".join(f"{p}.member" if p.isdigit() else camel(p) for p in param.split("."))
    return _error(service, operation, protocol, [null_violation(path)])
