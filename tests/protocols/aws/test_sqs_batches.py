"""SQS batch actions through real boto3 clients (json and query).

Rules (SQS API reference): a batch holds 1-10 entries (EmptyBatchRequest,
TooManyEntriesInBatchRequest), entry Ids are distinct (BatchEntryIdsNotDistinct) and
1-80 of [A-Za-z0-9_-] (InvalidBatchEntryId), a SendMessageBatch is at most 1 MiB in
total (BatchRequestTooLong); otherwise each entry succeeds or fails on its own.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError


def code(info: pytest.ExceptionInfo[ClientError]) -> str:
    return str(info.value.response["Error"]["Code"])


def test_send_receive_delete_batches(sqs) -> None:
    url = sqs.create_queue(QueueName="batch")["QueueUrl"]
    entries = [{"Id": f"e{i}", "MessageBody": f"body{i}",
                "MessageAttributes": {"i": {"DataType": "Number", "StringValue": str(i)}}} for i in range(10)]
    sent = sqs.send_message_batch(QueueUrl=url, Entries=entries)
    assert sorted(s["Id"] for s in sent["Successful"]) == sorted(e["Id"] for e in entries)
    assert not sent.get("Failed")
    got = []
    while len(got) < 10:
        got += sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])["Messages"]
    assert sorted(m["Body"] for m in got) == sorted(e["MessageBody"] for e in entries)
    vis = sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
        {"Id": "ok", "ReceiptHandle": got[0]["ReceiptHandle"], "VisibilityTimeout": 60},
        {"Id": "bad", "ReceiptHandle": "garbage", "VisibilityTimeout": 60},
    ])
    assert [s["Id"] for s in vis["Successful"]] == ["ok"]
    assert vis["Failed"][0]["Id"] == "bad" and vis["Failed"][0]["Code"] == "ReceiptHandleIsInvalid"
    deleted = sqs.delete_message_batch(QueueUrl=url, Entries=[
        {"Id": f"d{i}", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)
    ])
    assert len(deleted["Successful"]) == 10
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages",
                                                                    "ApproximateNumberOfMessagesNotVisible"])
    assert attrs["Attributes"] == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}


def test_per_entry_failures_do_not_fail_the_batch(sqs) -> None:
    url = sqs.create_queue(QueueName="partial")["QueueUrl"]
    res = sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": "good", "MessageBody": "x"},
        {"Id": "bad", "MessageBody": "x", "DelaySeconds": 1000},
    ])
    assert [s["Id"] for s in res["Successful"]] == ["good"]
    assert res["Failed"][0]["Id"] == "bad"
    assert res["Failed"][0]["Code"] == "InvalidParameterValue"
    assert res["Failed"][0]["SenderFault"] is True


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        ([], "AWS.SimpleQueueService.EmptyBatchRequest"),
        ([{"Id": f"e{i}", "MessageBody": "x"} for i in range(11)], "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"),
        ([{"Id": "a", "MessageBody": "x"}, {"Id": "a", "MessageBody": "y"}], "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"),
        ([{"Id": "bad id!", "MessageBody": "x"}], "AWS.SimpleQueueService.InvalidBatchEntryId"),
        ([{"Id": f"e{i}", "MessageBody": "x" * 300_000} for i in range(4)], "AWS.SimpleQueueService.BatchRequestTooLong"),
    ],
)
def test_whole_batch_errors(sqs, entries, expected) -> None:
    url = sqs.create_queue(QueueName="limits")["QueueUrl"]
    with pytest.raises(ClientError) as info:
        sqs.send_message_batch(QueueUrl=url, Entries=entries)
    assert code(info) == expected
    assert "Messages" not in sqs.receive_message(QueueUrl=url)


def test_json_batch_error_raises_modeled_exception(sqs_json) -> None:
    url = sqs_json.create_queue(QueueName="modeled")["QueueUrl"]
    with pytest.raises(sqs_json.exceptions.BatchEntryIdsNotDistinct):
        sqs_json.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": "a", "ReceiptHandle": "r"}, {"Id": "a", "ReceiptHandle": "r"}])
