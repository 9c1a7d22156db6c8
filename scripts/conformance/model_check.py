"""Judging one answer to a generated request against the operation's botocore model.

`judge(case, op_model, outcome) -> str | None`: None when the answer is one AWS could
give, else why not. An outcome is `Ok(status, parsed)` (botocore parsed the response
with the operation's output shape) or `Err(status, code, message)` (a `ClientError`).
- A valid request (minimal/full) must succeed with a body whose parsed members have the
  output shape's types and required members, or be refused with one of the operation's
  modelled errors or AWS's common errors, at that error's HTTP status, never 5xx.
  A valid request refused with a model-constraint text ("failed to satisfy constraint")
  is a failure: the server's validation disagrees with the model.
- An invalid request (a required member missing, a constraint broken) must be refused
  that way too, and not with a "does not exist" error: validation comes before lookup.
Common errors and their statuses: AWS's "Common Errors" page (e.g.
https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/CommonErrors.html), plus the
JSON protocol's `SerializationException` and `ValidationException` and the query
protocol's `ValidationError` (400).
Pure functions.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

COMMON_ERRORS = {
    "AccessDeniedException": 400, "IncompleteSignature": 400, "InternalFailure": 500,
    "InvalidAction": 400, "InvalidClientTokenId": 403, "InvalidParameterCombination": 400,
    "InvalidParameterValue": 400, "InvalidQueryParameter": 400, "MalformedQueryString": 404,
    "MissingAction": 400, "MissingAuthenticationToken": 403, "MissingParameter": 400,
    "NotAuthorized": 400, "OptInRequired": 403, "RequestExpired": 400, "ServiceUnavailable": 503,
    "ThrottlingException": 400, "ValidationError": 400, "ValidationException": 400,
    "SerializationException": 400,
    "InvalidParameterValueException": 400,  # InvalidParameterValue as JSON's `__type` names it
}
NOT_FOUND = frozenset({"ResourceNotFoundException", "QueueDoesNotExist", "NotFound",
                       "AWS.SimpleQueueService.NonExistentQueue", "NotFoundException"})
_TYPES: dict[str, tuple[type, ...]] = {
    "structure": (dict,), "map": (dict,), "list": (list,), "string": (str,),
    "integer": (int,), "long": (int,), "short": (int,), "byte": (int,), "boolean": (bool,),
    "float": (float, int), "double": (float, int), "blob": (bytes, bytearray),
    "timestamp": (dt.datetime,),
}


@dataclass(frozen=True)
class Ok:
    status: int
    parsed: Any


@dataclass(frozen=True)
class Err:
    status: int
    code: str
    message: str


def output_problems(shape: Any, value: Any, path: str = "", query: bool = False) -> list[str]:
    """Where `value` (botocore's parse) does not have `shape`'s types or required members.
    In `query` XML an empty list or map is no element at all, so botocore leaves a
    required one out: that is not counted missing."""
    if shape is None or value is None:
        return []
    t = shape.type_name
    if shape.serialization.get("eventstream") or getattr(shape, "event_stream_name", None):
        return []
    expected = _TYPES.get(t)
    if expected is not None and (not isinstance(value, expected) or (t != "boolean" and isinstance(value, bool)
                                                                     and expected != (bool,))):
        return [f"{path or shape.name}: {type(value).__name__} is not a {t}"]
    out: list[str] = []
    if t == "structure":
        for req in shape.required_members:
            if req not in value and not (query and shape.members[req].type_name in ("list", "map")):
                out.append(f"{path}.{req}: required member missing" if path else f"{req}: required member missing")
        for key, v in value.items():
            member = shape.members.get(key)
            if member is not None and not member.serialization.get("eventstream"):
                out.extend(output_problems(member, v, f"{path}.{key}" if path else key, query))
    elif t == "list":
        for i, v in enumerate(value):
            out.extend(output_problems(shape.member, v, f"{path}[{i}]", query))
    elif t == "map":
        for k, v in value.items():
            out.extend(output_problems(shape.value, v, f"{path}.{k}", query))
    return out


def allowed_errors(op: Any) -> dict[str, int | None]:
    """Error code -> its modelled HTTP status (None: not modelled) for operation `op`."""
    out: dict[str, int | None] = dict(COMMON_ERRORS)
    for shape in op.error_shapes:
        err = shape.metadata.get("error", {})
        status = err.get("httpStatusCode")
        out[shape.name] = status
        if err.get("code"):
            out[err["code"]] = status
    return out


def judge(valid: bool, op: Any, outcome: Ok | Err, query: bool = False) -> str | None:
    if isinstance(outcome, Ok):
        if not valid:
            return f"accepted (HTTP {outcome.status}); expected a validation error"
        if not 200 <= outcome.status < 300:
            return f"HTTP {outcome.status} for a success"
        body = {k: v for k, v in (outcome.parsed or {}).items() if k != "ResponseMetadata"}
        problems = output_problems(op.output_shape, body, query=query)
        return "; ".join(problems[:3]) if problems else None
    allowed = allowed_errors(op)
    if outcome.code not in allowed:
        return f"error {outcome.code} (HTTP {outcome.status}) is neither modelled nor common: {outcome.message[:120]}"
    status = allowed[outcome.code]
    if status is not None and outcome.status != status:
        return f"error {outcome.code} with HTTP {outcome.status}, modelled {status}"
    if outcome.status >= 500:
        return f"server error {outcome.code} (HTTP {outcome.status}): {outcome.message[:120]}"
    if valid and "failed to satisfy constraint" in outcome.message:  # the model says it is valid
        return f"a valid request refused by model validation: {outcome.message[:160]}"
    if not valid and outcome.code in NOT_FOUND:
        return f"{outcome.code} before validation: {outcome.message[:120]}"
    return None
