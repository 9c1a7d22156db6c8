"""The one server-side codec for the AWS `json` and `query` protocols (no service knowledge).

Public API (what SQS, SNS, Kinesis, Firehose and EventBridge front-ends build on):

- `AwsService.load(name, query_overlay=None)`: botocore's model of a service, in its
  `json` and `query` views, built on first use (routing facts from `ROUTING`);
  `Protocol` (JSON | QUERY); `query_model_dict(name, overlay)`.
- `decode_json(service, operation, body) -> params`, `decode_query(service, pairs) ->
  (operation, params)`, `split_target(x_amz_target)`, `form_pairs(items)`.
- `encode_result(service, protocol, operation, result, request_id) -> WireResponse`,
  `encode_error(service, protocol, AwsError, request_id) -> WireResponse`,
  `WireResponse(status, headers, body)`, `new_request_id()`; `RawResult(body,
  content_type=None)`: a handler's pre-rendered result, sent unchanged.
- `AwsError(code, message, status=None, *, sender=True, query_code=None)` and the
  generic constructors `serialization_error`, `missing_parameter`, `invalid_parameter`.
"""

from __future__ import annotations

from mqlite.protocols.aws.wire.codec import (
    FORM_CONTENT_TYPE,
    JSON_CONTENT_TYPES,
    RawResult,
    WireResponse,
    decode_json,
    decode_query,
    encode_error,
    encode_result,
    form_pairs,
    new_request_id,
    split_target,
)
from mqlite.protocols.aws.wire.errors import (
    AwsError,
    invalid_parameter,
    missing_parameter,
    serialization_error,
    unknown_operation,
)
from mqlite.protocols.aws.wire.model import (
    ROUTING,
    AwsService,
    Protocol,
    load_model_dict,
    query_model_dict,
)

__all__ = [
    "FORM_CONTENT_TYPE",
    "JSON_CONTENT_TYPES",
    "ROUTING",
    "AwsError",
    "AwsService",
    "Protocol",
    "RawResult",
    "WireResponse",
    "decode_json",
    "decode_query",
    "encode_error",
    "encode_result",
    "form_pairs",
    "invalid_parameter",
    "load_model_dict",
    "missing_parameter",
    "new_request_id",
    "query_model_dict",
    "serialization_error",
    "split_target",
    "unknown_operation",
]
