"""The model-constraint checker (`wire/constraints.py`) on botocore's real shapes: paths,
texts, Java regex classes, collections, and the cost-free path for unconstrained shapes."""

from __future__ import annotations

from mqlite.protocols.aws.wire import AwsService, Protocol
from mqlite.protocols.aws.wire.constraints import (
    camel,
    java_pattern,
    null_violation,
    validation_message,
    violations,
)


def _input(service: str, operation: str):  # type: ignore[no-untyped-def]
    return AwsService.load(service).operation(operation, Protocol.JSON).input_shape


def test_list_items_and_nested_members_are_named_as_aws_does() -> None:
    shape = _input("kinesis", "PutRecords")
    records = [{"Data": b"x", "PartitionKey": "k"}, {"Data": b"x", "PartitionKey": ""}]
    assert violations(shape, {"Records": records, "StreamName": "s"}) == [(
        "Value '' at 'records.2.member.partitionKey' failed to satisfy constraint:"
        " Member must have length greater than or equal to 1")]
    assert violations(shape, {"Records": [], "StreamName": "s"}) == [
        "Value '[]' at 'records' failed to satisfy constraint: Member must have length greater than or equal to 1"]


def test_every_broken_rule_is_listed_and_joined() -> None:
    texts = violations(_input("kinesis", "ListShards"), {"StreamName": "bad name!" * 20, "MaxResults": 0})
    assert len(texts) == 3  # length and pattern of the name, the range of MaxResults
    assert validation_message(texts).startswith("3 validation errors detected: Value 'bad name!")
    assert "; Value '0' at 'maxResults'" in validation_message(texts)
    assert validation_message([null_violation("partitionKey")]) == (
        "1 validation error detected: Value null at 'partitionKey' failed to satisfy constraint:"
        " Member must not be null")


def test_enums_and_blobs_render_like_java() -> None:
    shape = _input("kinesis", "StartStreamEncryption")
    assert violations(shape, {"StreamName": "s", "EncryptionType": "ROT13", "KeyId": "k"}) == [(
        "Value 'ROT13' at 'encryptionType' failed to satisfy constraint: Member must satisfy enum"
        " value set: [NONE, KMS]")]
    big = b"x" * (10 * 1024 * 1024 + 1)
    texts = violations(_input("kinesis", "PutRecord"), {"StreamName": "s", "Data": big, "PartitionKey": "k"})
    assert texts == [(f"Value 'java.nio.HeapByteBuffer[pos=0 lim={len(big)} cap={len(big)}]' at 'data'"
                      " failed to satisfy constraint: Member must have length less than or equal to 10485760")]


def test_java_unicode_classes_are_translated() -> None:
    tag_key = java_pattern(r"^(?!aws:)[\p{L}\p{Z}\p{N}_.:\/=+\-@%]*$")
    assert tag_key is not None
    assert tag_key.fullmatch("Équipe 1:prod") and not tag_key.fullmatch("aws:reserved")
    assert not tag_key.fullmatch("semi;colon")
    assert java_pattern("[unclosed") is None  # a pattern Python cannot compile is not checked


def test_map_values_unconstrained_shapes_and_relaxed_patterns() -> None:
    tags = _input("kinesis", "AddTagsToStream")
    assert violations(tags, {"StreamName": "s", "Tags": {"k": "v" * 257}}) == [(
        f"Value '{'v' * 257}' at 'tags' failed to satisfy constraint: Member must have length less than"
        " or equal to 256")]
    sqs_send = AwsService.load("sqs").operation("SendMessage", Protocol.JSON).input_shape
    assert violations(sqs_send, {"QueueUrl": "u", "MessageBody": ""}) == []
    url = {"HttpEndpointDestinationConfiguration": {"EndpointConfiguration": {"Url": "http://127.0.0.1/x"}}}
    create = _input("firehose", "CreateDeliveryStream")
    assert any("https://.*" in t for t in violations(create, {"DeliveryStreamName": "d", **url}))
    relaxed = AwsService.load("firehose").operation("CreateDeliveryStream", Protocol.JSON).input_shape
    assert not any("https://.*" in t for t in violations(relaxed, {"DeliveryStreamName": "d", **url},
                                                         frozenset({"HttpEndpointUrl"})))
    assert camel("StreamARN") == "streamARN"
