"""The AWS wire codec round-trips with botocore's own client-side serializers and parsers.

Rule checked: a request botocore serializes (json and query protocols) decodes to the
same parameters; a response we encode parses in botocore to the same values, including
errors (query codes, `x-amzn-query-error`). No server: this is the codec alone.
"""

from __future__ import annotations

import urllib.parse

import pytest
from botocore import parsers, serialize

from mqlite.protocols.aws.sqs.query_traits import QUERY_OVERLAY
from mqlite.protocols.aws.wire import (
    AwsError,
    AwsService,
    Protocol,
    RawResult,
    decode_json,
    decode_query,
    encode_error,
    encode_result,
    form_pairs,
)


@pytest.fixture(scope="module")
def sqs() -> AwsService:
    return AwsService.load("sqs", QUERY_OVERLAY)


SEND = {
    "QueueUrl": "http://localhost/000000000000/q",
    "MessageBody": "héllo <&> \r\n",
    "DelaySeconds": 3,
    "MessageAttributes": {
        "s": {"DataType": "String", "StringValue": "v"},
        "b": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
    },
}
BATCH = {
    "QueueUrl": "u",
    "Entries": [{"Id": "a", "MessageBody": "x"}, {"Id": "b", "MessageBody": "y", "MessageGroupId": "g"}],
}
RECEIVE = {"QueueUrl": "u", "MessageSystemAttributeNames": ["All"], "AttributeNames": ["SentTimestamp", "SenderId"], "MaxNumberOfMessages": 10}
CREATE = {"QueueName": "q", "Attributes": {"DelaySeconds": "1"}, "tags": {"k": "v"}}


def _request(sqs: AwsService, protocol: Protocol, op: str, params: dict) -> tuple[str, dict]:
    model = sqs.json_model if protocol is Protocol.JSON else sqs.query_model
    ser = serialize.create_serializer(protocol.value)
    req = ser.serialize_to_request(params, model.operation_model(op))
    if protocol is Protocol.JSON:
        target = req["headers"]["X-Amz-Target"]
        return target.rsplit(".", 1)[1], decode_json(sqs, target.rsplit(".", 1)[1], req["body"])
    body = urllib.parse.urlencode(req["body"])
    return decode_query(sqs, form_pairs(urllib.parse.parse_qsl(body, keep_blank_values=True)))


@pytest.mark.parametrize("protocol", [Protocol.JSON, Protocol.QUERY])
@pytest.mark.parametrize(
    ("op", "params"),
    [("SendMessage", SEND), ("SendMessageBatch", BATCH), ("ReceiveMessage", RECEIVE), ("CreateQueue", CREATE)],
)
def test_botocore_request_decodes_to_the_same_parameters(sqs, protocol, op, params) -> None:
    name, decoded = _request(sqs, protocol, op, params)
    assert name == op
    assert decoded == params


def _parse(sqs: AwsService, protocol: Protocol, op: str, resp) -> dict:
    model = sqs.json_model if protocol is Protocol.JSON else sqs.query_model
    parser = parsers.create_parser(protocol.value)
    http = {"status_code": resp.status, "headers": dict(resp.headers), "body": resp.body}
    return parser.parse(http, model.operation_model(op).output_shape)


RECEIVED = {
    "Messages": [
        {
            "MessageId": "m1",
            "ReceiptHandle": "r1",
            "MD5OfBody": "abc",
            "Body": "a <b> & \r c",
            "Attributes": {"SentTimestamp": "1", "SenderId": "x"},
            "MessageAttributes": {"b": {"DataType": "Binary", "BinaryValue": b"\x00"}},
        },
        {"MessageId": "m2", "ReceiptHandle": "r2", "MD5OfBody": "d", "Body": "z"},
    ]
}


@pytest.mark.parametrize("protocol", [Protocol.JSON, Protocol.QUERY])
@pytest.mark.parametrize(
    ("op", "result"),
    [
        ("ReceiveMessage", RECEIVED),
        ("GetQueueAttributes", {"Attributes": {"VisibilityTimeout": "30", "QueueArn": "arn"}}),
        ("ListQueues", {"QueueUrls": ["u1", "u2"], "NextToken": "t"}),
        ("SendMessageBatch", {"Successful": [{"Id": "a", "MessageId": "m", "MD5OfMessageBody": "h"}],
                              "Failed": [{"Id": "b", "SenderFault": True, "Code": "C", "Message": "M"}]}),
        ("ListQueueTags", {"Tags": {"a": "b"}}),
    ],
)
def test_encoded_result_parses_in_botocore_to_the_same_values(sqs, protocol, op, result) -> None:
    parsed = _parse(sqs, protocol, op, encode_result(sqs, protocol, op, result, "rid"))
    parsed.pop("ResponseMetadata", None)
    assert parsed == result


def test_json_error_of_query_compatible_service_carries_the_query_code(sqs) -> None:
    """SQS json errors: __type is the shape name, x-amzn-query-error the legacy code."""
    resp = encode_error(sqs, Protocol.JSON, AwsError("QueueDoesNotExist", "gone"), "rid")
    parsed = _parse(sqs, Protocol.JSON, "GetQueueUrl", resp)
    assert resp.status == 400
    assert parsed["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert parsed["Error"]["QueryErrorCode"] == "QueueDoesNotExist"
    assert parsed["Error"]["Message"] == "gone"


def test_query_error_uses_modeled_code_and_status(sqs) -> None:
    resp = encode_error(sqs, Protocol.QUERY, AwsError("PurgeQueueInProgress", "wait"), "rid")
    parsed = _parse(sqs, Protocol.QUERY, "PurgeQueue", resp)
    assert resp.status == 403
    assert parsed["Error"]["Code"] == "AWS.SimpleQueueService.PurgeQueueInProgress"
    assert parsed["ResponseMetadata"]["RequestId"] == "rid"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", "SerializationException"),
        (b"[]", "SerializationException"),
        (b'{"QueueUrl": 5, "MessageBody": "x"}', "SerializationException"),
        (b'{"QueueUrl": "u"}', "MissingParameter"),
        (b'{"QueueUrl": "u", "MessageBody": "x", "DelaySeconds": "3"}', "SerializationException"),
    ],
)
def test_bad_json_input_raises_the_aws_error(sqs, body, code) -> None:
    with pytest.raises(AwsError) as info:
        decode_json(sqs, "SendMessage", body)
    assert info.value.code == code


def test_unknown_query_action_is_invalid_action(sqs) -> None:
    with pytest.raises(AwsError) as info:
        decode_query(sqs, {"Action": "Nope"})
    assert info.value.code == "InvalidAction"


def test_query_wrong_integer_is_invalid_parameter_value(sqs) -> None:
    with pytest.raises(AwsError) as info:
        decode_query(sqs, {"Action": "SendMessage", "QueueUrl": "u", "MessageBody": "x", "DelaySeconds": "x"})
    assert info.value.code == "InvalidParameterValue"


@pytest.mark.parametrize(
    ("name", "protocol", "op", "params"),
    [
        ("kinesis", Protocol.JSON, "PutRecords", {
            "StreamName": "s",
            "Records": [{"Data": b"\x00\x01binary", "PartitionKey": "k"}],
        }),
        ("sns", Protocol.QUERY, "Publish", {
            "TopicArn": "arn:aws:sns:us-east-1:000000000000:t",
            "Message": "m",
            "MessageAttributes": {"a": {"DataType": "String", "StringValue": "v"}},
        }),
        ("events", Protocol.JSON, "PutEvents", {
            "Entries": [{"Source": "s", "DetailType": "d", "Detail": "{}"}],
        }),
    ],
)
def test_codec_is_general_across_services(name, protocol, op, params) -> None:
    """No service knowledge in the wire layer: other models round-trip the same way."""
    svc = AwsService.load(name)
    model = svc.json_model if protocol is Protocol.JSON else svc.query_model
    req = serialize.create_serializer(protocol.value).serialize_to_request(params, model.operation_model(op))
    if protocol is Protocol.JSON:
        decoded = decode_json(svc, req["headers"]["X-Amz-Target"].rsplit(".", 1)[1], req["body"])
    else:
        body = urllib.parse.urlencode(req["body"])
        _, decoded = decode_query(svc, form_pairs(urllib.parse.parse_qsl(body, keep_blank_values=True)))
    assert decoded == params


def test_sns_query_result_and_modeled_error_code() -> None:
    sns = AwsService.load("sns")
    resp = encode_result(sns, Protocol.QUERY, "CreateTopic", {"TopicArn": "arn:t"}, "rid")
    parser = parsers.create_parser("query")
    out = parser.parse({"status_code": 200, "headers": dict(resp.headers), "body": resp.body},
                       sns.query_model.operation_model("CreateTopic").output_shape)
    assert out["TopicArn"] == "arn:t"
    err = encode_error(sns, Protocol.QUERY, AwsError("NotFoundException", "no topic"), "rid")
    parsed = parser.parse({"status_code": err.status, "headers": dict(err.headers), "body": err.body}, None)
    assert parsed["Error"]["Code"] == "NotFound"
    assert err.status == 404


def test_raw_result_is_sent_unchanged_and_parses_in_botocore() -> None:
    """A handler's pre-rendered `RawResult` skips the output shape: the bytes go out as
    they are, with the protocol's content type (Kinesis GetRecords relies on this)."""
    kinesis = AwsService.load("kinesis")
    body = b'{"Records":[],"MillisBehindLatest":0,"NextShardIterator":"it"}'
    wire = encode_result(kinesis, Protocol.JSON, "GetRecords", RawResult(body), "rid")
    assert wire.body == body and wire.status == 200
    assert dict(wire.headers)["Content-Type"] == "application/x-amz-json-1.1"
    parsed = parsers.create_parser("json").parse(
        {"status_code": 200, "headers": dict(wire.headers), "body": wire.body},
        kinesis.json_model.operation_model("GetRecords").output_shape)
    assert parsed["NextShardIterator"] == "it" and parsed["Records"] == []
    custom = encode_result(kinesis, Protocol.JSON, "GetRecords", RawResult(b"x", "text/plain"), "rid")
    assert dict(custom.headers)["Content-Type"] == "text/plain"
