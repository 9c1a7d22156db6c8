"""The AWS CBOR protocol (`application/x-amz-cbor-1.1`), server side: Kinesis as the AWS
SDK for Java and the Kinesis Client Library speak it by default (sans-IO).

The request is the `json` protocol's, with the body in CBOR (RFC 8949) instead of JSON:
`POST /`, `X-Amz-Target: Kinesis_20131202.<Operation>`, the same member names. Only the
encodings of two types differ, as the AWS SDK for Java writes and reads them
(`AwsCborProtocolFactory`: payload timestamps `UNIX_TIMESTAMP_MILLIS`):
- blobs are CBOR byte strings (not base64 text);
- timestamps are tag 1 ("epoch-based date/time") holding epoch **milliseconds** as an
  integer (not RFC 8949's seconds).
Responses and errors are CBOR maps with the same shapes (`{"__type", "message"}` for
errors) and `Content-Type: application/x-amz-cbor-1.1`.

`decode_cbor(service, operation, body) -> params` turns the CBOR into the `json`
protocol's decoded values and validates them with the same shape checks as JSON input
(`shapes.from_json_fast`), so a handler cannot tell the two apart. `encode_cbor_result`
and `encode_cbor_error` render per the output shape. cbor2 does the byte-level work;
its fast (C) decoder reads tag 1 as seconds, so a body holding a tag 1 is decoded with
cbor2's Python decoder with tag 1 kept as milliseconds.
Pure functions, no I/O.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import cbor2
from cbor2._decoder import CBORDecoder as _PyDecoder
from cbor2._decoder import semantic_decoders as _SEMANTIC

from mqlite.protocols.aws.wire.codec import RawResult, WireResponse
from mqlite.protocols.aws.wire.errors import AwsError, serialization_error, unknown_operation
from mqlite.protocols.aws.wire.model import AwsService, Protocol
from mqlite.protocols.aws.wire.shapes import from_json_fast

if TYPE_CHECKING:
    from botocore.model import Shape

CBOR_CONTENT_TYPE = "application/x-amz-cbor-1.1"
CBOR_CONTENT_PREFIX = "application/x-amz-cbor-"
# The services whose AWS SDK for Java client speaks CBOR (`AwsCborProtocolFactory`).
CBOR_SERVICES = frozenset({"kinesis"})
_TAG_EPOCH = 0xC1  # the initial byte of tag 1


class _EpochMillis(float):
    """A tag 1 value as the SDK sent it (epoch milliseconds)."""


class _Decoder(_PyDecoder):
    """cbor2's Python decoder with tag 1 left as milliseconds (see module docstring).

    cbor2 5.6.5 dispatches major types through its module table; this subclass routes
    major type 6 (tags) to its own `decode_semantic` (cbor2 is pinned for this)."""

    def _decode(self, immutable: bool = False, unshared: bool = False) -> Any:
        if immutable or unshared:
            return super()._decode(immutable, unshared) if not self._next_is_tag() else self._tagged()
        if self._next_is_tag():
            return self._tagged()
        return super()._decode()

    def _next_is_tag(self) -> bool:
        fp = self._fp
        pos = fp.tell()
        head = fp.read(1)
        fp.seek(pos)
        return bool(head) and head[0] >> 5 == 6

    def _tagged(self) -> Any:
        subtype = self.read(1)[0] & 31
        tagnum = self._decode_length(subtype)
        if tagnum == 1:
            value = self._decode()
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise serialization_error("Timestamp must be an epoch number.")
            return _EpochMillis(value)
        decoder = _SEMANTIC.get(tagnum)
        if decoder is not None:
            return decoder(self)
        return cbor2.CBORTag(tagnum, self._decode(unshared=True))


def _loads(body: bytes) -> Any:
    if bytes([_TAG_EPOCH]) not in body:
        return cbor2.loads(body)
    from io import BytesIO

    return _Decoder(BytesIO(body)).decode()


def _to_json_values(shape: Shape | None, value: Any) -> Any:
    """CBOR-decoded values -> what the JSON decoder would have produced (blobs as base64
    text, timestamps as epoch seconds), so the one shape validator checks both."""
    if shape is None or value is None:
        return value
    t = shape.type_name
    if t == "structure" and isinstance(value, dict):
        members = shape.members
        return {k: _to_json_values(members.get(k), v) for k, v in value.items()}
    if t == "list" and isinstance(value, list):
        return [_to_json_values(shape.member, v) for v in value]
    if t == "map" and isinstance(value, dict):
        return {k: _to_json_values(shape.value, v) for k, v in value.items()}
    if t == "blob":
        if not isinstance(value, (bytes, bytearray)):
            raise serialization_error(f"Value of {shape.name} must be a CBOR byte string.")
        return base64.b64encode(value).decode("ascii")
    if t == "timestamp":
        if isinstance(value, _EpochMillis):
            return float(value) / 1000
        if isinstance(value, dt.datetime):
            return value.timestamp()
    return value


def decode_cbor(service: AwsService, operation: str, body: bytes) -> dict[str, Any]:
    """The validated input of a CBOR call (raises `AwsError`)."""
    if not service.has_operation(operation):
        raise unknown_operation(operation, False)
    op = service.operation(operation, Protocol.JSON)
    if not body:
        data: Any = {}
    else:
        try:
            data = _loads(body)
        except AwsError:
            raise
        except Exception:
            raise serialization_error("The request body is not valid CBOR.") from None
    if not isinstance(data, dict):
        raise serialization_error("Start of structure or map found where not expected.")
    result = from_json_fast(op.input_shape, _to_json_values(op.input_shape, data))
    return result if result is not None else {}


def _millis(value: Any) -> cbor2.CBORTag:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        value = value.timestamp()
    return cbor2.CBORTag(1, round(float(value) * 1000))


def to_cbor(shape: Shape | None, value: Any) -> Any:
    """A handler result as the CBOR values AWS sends (blobs bytes, timestamps tag 1 ms)."""
    if shape is None or value is None:
        return {} if shape is None else None
    t = shape.type_name
    if t == "structure":
        members = shape.members
        return {k: to_cbor(members[k], v) for k, v in value.items() if v is not None and k in members}
    if t == "list":
        return [to_cbor(shape.member, v) for v in value]
    if t == "map":
        return {k: to_cbor(shape.value, v) for k, v in value.items()}
    if t == "blob":
        return value.encode() if isinstance(value, str) else bytes(value)
    if t == "timestamp":
        return _millis(value)
    return value


def dumps(value: Any) -> bytes:
    """CBOR bytes of values already in CBOR form (`to_cbor`)."""
    return cbor2.dumps(value)


def _headers(request_id: str) -> tuple[tuple[str, str], ...]:
    return (("Content-Type", CBOR_CONTENT_TYPE), ("x-amzn-RequestId", request_id))


def encode_cbor_result(service: AwsService, operation: str,
                       result: Mapping[str, Any] | RawResult | None, request_id: str) -> WireResponse:
    """A handler's result in CBOR (a `RawResult` is sent unchanged)."""
    if isinstance(result, RawResult):
        ctype = result.content_type or CBOR_CONTENT_TYPE
        return WireResponse(200, (("Content-Type", ctype), ("x-amzn-RequestId", request_id)), result.body)
    op = service.operation(operation, Protocol.JSON)
    body = cbor2.dumps(to_cbor(op.output_shape, result or {}))
    return WireResponse(200, _headers(request_id), body)


def encode_cbor_error(service: AwsService | None, error: AwsError, request_id: str) -> WireResponse:
    """`{"__type": code, "message": text}` in CBOR, with the code also in
    `x-amzn-ErrorType` (which the AWS SDK for Java reads first)."""
    _, modeled_status = service.error_facts(error.code) if service is not None else (error.code, None)
    status = error.status or modeled_status or (400 if error.sender else 500)
    body = cbor2.dumps({"__type": error.code, "message": error.message})
    headers = (*_headers(request_id), ("x-amzn-ErrorType", error.code))
    return WireResponse(status, headers, body)
