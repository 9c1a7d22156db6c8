"""The AWS `json` and `query` protocols, server side: requests in, responses out (sans-IO).

Requests:
- `json` (awsJson1_0/1_1): `POST /` with `X-Amz-Target: <targetPrefix>.<Operation>` and
  `Content-Type: application/x-amz-json-1.x`; the body is a JSON object (empty = `{}`).
  `decode_json(service, operation, body)` -> params (validated against the input shape).
- `query`: `Action=<Operation>&Version=...&Param.1.Sub=...`, form-encoded in a POST body
  or in the URL of a GET. `decode_query(service, pairs)` -> (operation, params).
Responses:
- `encode_result(service, protocol, operation, result, request_id)` -> `WireResponse`:
  JSON object, or `<OpResponse xmlns=..><OpResult>..</OpResult><ResponseMetadata>
  <RequestId>..</RequestId></ResponseMetadata></OpResponse>`.
- `encode_error(service, protocol, error, request_id)`: JSON `{"__type", "message"}` (+
  `x-amzn-query-error` on awsQueryCompatible services), or query `<ErrorResponse><Error>
  <Type/><Code/><Message/>[<Detail/>, SQS only]</Error><RequestId/></ErrorResponse>`.
A handler may also return a `RawResult(body, content_type=None)`: a body it rendered
itself (Kinesis GetRecords' JSON), which `encode_result` sends unchanged with the
protocol's content type unless one is given.
Every response carries `x-amzn-RequestId`. No service knowledge lives here: the service's
botocore model (and its query overlay, see `model.py`) decides everything.
Pure functions, no I/O, no asyncio.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

import orjson

from mqlite.protocols.aws.wire.errors import (
    AwsError,
    serialization_error,
    unknown_operation,
)
from mqlite.protocols.aws.wire.model import AwsService, Protocol
from mqlite.protocols.aws.wire.render import to_json_fast, to_xml
from mqlite.protocols.aws.wire.shapes import from_json_fast, from_query, query_tree

JSON_CONTENT_TYPES = ("application/x-amz-json-1.0", "application/x-amz-json-1.1", "application/json")
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


@dataclass(frozen=True, slots=True)
class WireResponse:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


@dataclass(frozen=True, slots=True)
class RawResult:
    """A pre-rendered result body, sent as is (the output shape is not consulted)."""

    body: bytes
    content_type: str | None = None


_ID_BASE = str(uuid.uuid4())[:23]  # random per process; the counter fills the last group
_ID_COUNTER = itertools.count()


def new_request_id() -> str:
    """A UUID-shaped request id, unique within the process (cheap: no urandom per call)."""
    return f"{_ID_BASE}-{next(_ID_COUNTER) & 0xFFFFFFFFFFFF:012x}"


def split_target(target: str) -> tuple[str, str]:
    """`X-Amz-Target` `AmazonSQS.SendMessage` -> (`AmazonSQS`, `SendMessage`)."""
    prefix, _, op = target.rpartition(".")
    return prefix, op


def decode_json(service: AwsService, operation: str, body: bytes) -> dict[str, Any]:
    """The validated input of a `json` protocol call (raises `AwsError`)."""
    if not service.has_operation(operation):
        raise unknown_operation(operation, False)
    op = service.operation(operation, Protocol.JSON)
    if not body.strip():
        data: Any = {}
    else:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise serialization_error("Start of structure or map found where not expected.") from None
    if not isinstance(data, dict):
        raise serialization_error("Request body must be a JSON object.")
    result = from_json_fast(op.input_shape, data)
    return result if result is not None else {}


def decode_query(
    service: AwsService, pairs: Mapping[str, str]
) -> tuple[str, dict[str, Any]]:
    """(operation, validated input) of a `query` protocol call (raises `AwsError`)."""
    action = pairs.get("Action")
    if not action:
        raise AwsError("MissingAction", "Missing required parameter Action", 400)
    if not service.has_operation(action):
        raise unknown_operation(action, True)
    op = service.operation(action, Protocol.QUERY)
    result = from_query(op.input_shape, query_tree({k: v for k, v in pairs.items() if k not in ("Action", "Version")}))
    return action, result if result is not None else {}


_JSON_CTYPES: dict[AwsService, str] = {}  # by identity; a handful of services per process


def _json_ctype(service: AwsService) -> str:
    ctype = _JSON_CTYPES.get(service)
    if ctype is None:
        ctype = _JSON_CTYPES[service] = f"application/x-amz-json-{service.json_version}"
    return ctype


def _json_headers(service: AwsService, request_id: str) -> list[tuple[str, str]]:
    return [("Content-Type", _json_ctype(service)), ("x-amzn-RequestId", request_id)]


def encode_result(
    service: AwsService,
    protocol: Protocol,
    operation: str,
    result: Mapping[str, Any] | RawResult | None,
    request_id: str,
) -> WireResponse:
    """Serialize a handler's result dict per the operation's output shape (a
    `RawResult` is sent unchanged)."""
    if isinstance(result, RawResult):
        if protocol is Protocol.JSON:
            ctype = result.content_type or _json_ctype(service)
        else:
            ctype = result.content_type or "text/xml"
        return WireResponse(200, (("Content-Type", ctype), ("x-amzn-RequestId", request_id)), result.body)
    op = service.operation(operation, protocol)
    result = result or {}
    if protocol is Protocol.JSON:
        body = orjson.dumps(to_json_fast(op.output_shape, result))
        return WireResponse(200, (("Content-Type", _json_ctype(service)), ("x-amzn-RequestId", request_id)), body)
    out_shape = op.output_shape
    inner = to_xml(out_shape, result) if out_shape is not None else ""
    wrapper = (
        out_shape.serialization.get("resultWrapper", f"{operation}Result")
        if out_shape is not None
        else None
    )
    parts = [f'<?xml version="1.0"?><{operation}Response xmlns="{service.xml_namespace}">']
    if wrapper is not None:
        parts.append(f"<{wrapper}>{inner}</{wrapper}>")
    parts.append(
        f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>"
        f"</{operation}Response>"
    )
    headers = (("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id))
    return WireResponse(200, headers, "".join(parts).encode())


# JSON `__type`s of AWS's common (unmodelled) errors where they differ from the query code.
_JSON_TYPES = {"InvalidParameterValue": "InvalidParameterValueException"}
# Query services whose error responses carry an empty `<Detail/>` (SQS's do; SNS's and
# STS's do not).
_EMPTY_DETAIL = frozenset({"sqs"})


def encode_error(
    service: AwsService | None,
    protocol: Protocol,
    error: AwsError,
    request_id: str,
) -> WireResponse:
    """Serialize `error` in the protocol's error shape (see module docstring)."""
    query_code, modeled_status = (
        service.error_facts(error.code) if service is not None else (error.code, None)
    )
    if error.query_code and query_code == error.code:
        query_code = error.query_code
    status = error.status or modeled_status or (400 if error.sender else 500)
    fault = "Sender" if error.sender else "Receiver"
    if protocol is Protocol.JSON:
        prefix = service.endpoint_prefix if service else "aws"
        json_type = _JSON_TYPES.get(error.code, error.code)
        body = orjson.dumps({"__type": f"com.amazonaws.{prefix}#{json_type}", "message": error.message})
        headers = _json_headers(service, request_id) if service else [
            ("Content-Type", "application/x-amz-json-1.0"),
            ("x-amzn-RequestId", request_id),
        ]
        if service is not None and service.query_compatible:
            headers.append(("x-amzn-query-error", f"{query_code};{fault}"))
        return WireResponse(status, tuple(headers), body)
    ns = service.xml_namespace if service else "http://aws.amazon.com/doc/"
    detail = "<Detail/>" if service is None or service.endpoint_prefix in _EMPTY_DETAIL else ""
    body_s = (
        f'<?xml version="1.0"?><ErrorResponse xmlns="{ns}"><Error><Type>{fault}</Type>'
        f"<Code>{escape(query_code)}</Code><Message>{escape(error.message)}</Message>{detail}"
        f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
    )
    headers2 = (("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id))
    return WireResponse(status, headers2, body_s.encode())


def form_pairs(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Flatten parsed form/query items into one dict (last value wins, as AWS does)."""
    return {k: v for k, v in items}
