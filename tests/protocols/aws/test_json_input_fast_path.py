"""The compiled JSON input validators give the same answers on their fast paths.

Rules checked (the awsJson protocols, as AWS services answer them): members the model
does not know and members sent as null are ignored; a value of the wrong JSON type is a
`SerializationException` naming the member's path; an integer member accepts a whole
float but not a boolean; a blob member is strict base64 (alphabet and padding) and is
decoded to bytes; a missing required member is `MissingParameter` with its path. Valid
inputs take the in-place path (the decoded dict is returned without copying), the others
the copying path; both must agree.
"""

from __future__ import annotations

import base64

import orjson
import pytest

from mqlite.protocols.aws.wire import AwsError, AwsService, decode_json


@pytest.fixture(scope="module")
def sqs() -> AwsService:
    return AwsService.load("sqs")


@pytest.fixture(scope="module")
def kinesis() -> AwsService:
    return AwsService.load("kinesis")


def _decode(svc: AwsService, op: str, params: dict) -> dict:
    return decode_json(svc, op, orjson.dumps(params))


def test_valid_batch_entries_decode_unchanged(sqs) -> None:
    entries = [{"Id": str(i), "MessageBody": "m"} for i in range(3)]
    got = _decode(sqs, "SendMessageBatch", {"QueueUrl": "u", "Entries": entries})
    assert got == {"QueueUrl": "u", "Entries": entries}


def test_unknown_and_null_members_are_dropped(sqs) -> None:
    got = _decode(sqs, "ReceiveMessage", {"QueueUrl": "u", "Bogus": 1, "WaitTimeSeconds": None,
                                          "MaxNumberOfMessages": 10})
    assert got == {"QueueUrl": "u", "MaxNumberOfMessages": 10}


def test_whole_float_is_an_integer_and_boolean_is_not(sqs) -> None:
    got = _decode(sqs, "ReceiveMessage", {"QueueUrl": "u", "MaxNumberOfMessages": 5.0})
    assert got["MaxNumberOfMessages"] == 5 and type(got["MaxNumberOfMessages"]) is int
    with pytest.raises(AwsError) as info:
        _decode(sqs, "ReceiveMessage", {"QueueUrl": "u", "MaxNumberOfMessages": True})
    assert info.value.code == "SerializationException"
    assert "'MaxNumberOfMessages'" in info.value.message


def test_wrong_type_in_an_entry_names_its_path(sqs) -> None:
    with pytest.raises(AwsError) as info:
        _decode(sqs, "SendMessageBatch", {"QueueUrl": "u", "Entries": [
            {"Id": "a", "MessageBody": "m"}, {"Id": "b", "MessageBody": 7}]})
    assert info.value.code == "SerializationException"
    assert "Entries.2.MessageBody" in info.value.message


def test_missing_required_member_in_an_entry_is_missing_parameter(sqs) -> None:
    with pytest.raises(AwsError) as info:
        _decode(sqs, "SendMessageBatch", {"QueueUrl": "u", "Entries": [{"Id": "a"}]})
    assert info.value.code == "MissingParameter"
    assert "Entries.1.MessageBody" in info.value.message


def test_blob_members_are_strict_base64_decoded_to_bytes(kinesis) -> None:
    data = bytes(range(7))
    got = _decode(kinesis, "PutRecords", {"StreamName": "s", "Records": [
        {"Data": base64.b64encode(data).decode(), "PartitionKey": "k"}]})
    assert got["Records"] == [{"Data": data, "PartitionKey": "k"}]
    for bad in ("YQ", "Y Q==", "YQ==\n", "é"):
        with pytest.raises(AwsError) as info:
            _decode(kinesis, "PutRecords", {"StreamName": "s", "Records": [{"Data": bad, "PartitionKey": "k"}]})
        assert info.value.code == "SerializationException"
        assert "Records.1.Data" in info.value.message
