"""SQS behaviours as AWS answers them, found by moto's own test suite (issue 19), through
real boto3 clients over both wire protocols (json and query).

Each test names the rule: attribute names trimmed at CreateQueue; AWS's texts for
message attribute names and types, receipt handles (single and batch) and
EmptyBatchRequest; per-message delay bounds (a batch entry fails alone); FIFO entries
without a group or deduplication id fail the whole batch; AddPermission, TagQueue and
UntagQueue validation, policies with scalar single members; `prefix.*` attribute
wildcards; an older receipt of an in-flight message changes its visibility; a
dead-lettered message tells its source queue and counts receives across queues; JSON
errors carry AWS's JSON type next to the query code.
"""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

import pytest
from botocore.exceptions import ClientError


def error(info: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    err = info.value.response["Error"]
    return str(err["Code"]), str(err["Message"])


def test_attribute_names_are_trimmed_at_create_queue(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="trim", Attributes={"VisibilityTimeout ": "7", " DelaySeconds": "1"})["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (attrs["VisibilityTimeout"], attrs["DelaySeconds"]) == ("7", "1")


def test_message_attribute_name_and_type_texts(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="texts")["QueueUrl"]
    cases = [
        ({"öther": {"DataType": "String", "StringValue": "v"}},
         "The message attribute name 'öther' is invalid. Attribute name can contain A-Z, a-z, "
         "0-9, underscore (_), hyphen (-), and period (.) characters."),
        ({"ts": {"DataType": "Timestamp", "StringValue": "1"}},
         "The message attribute 'ts' has an invalid message attribute type, the set of "
         "supported type prefixes is Binary, Number, and String."),
    ]
    for attributes, text in cases:
        with pytest.raises(ClientError) as info:
            sqs.send_message(QueueUrl=url, MessageBody="x", MessageAttributes=attributes)
        assert error(info) == ("InvalidParameterValue", text)
    assert "Messages" not in sqs.receive_message(QueueUrl=url)


def test_receipt_handle_texts_single_and_batch(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="handles")["QueueUrl"]
    for call in (lambda: sqs.delete_message(QueueUrl=url, ReceiptHandle="not-existing"),
                 lambda: sqs.change_message_visibility(QueueUrl=url, ReceiptHandle="unknown", VisibilityTimeout=5)):
        with pytest.raises(ClientError) as info:
            call()
        assert error(info) == ("ReceiptHandleIsInvalid", "The input receipt handle is invalid.")
    out = sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": "a", "ReceiptHandle": "fake-1"}])
    assert out["Failed"] == [{"Id": "a", "SenderFault": True, "Code": "ReceiptHandleIsInvalid",
                              "Message": 'The input receipt handle "fake-1" is not a valid receipt handle.'}]
    out = sqs.change_message_visibility_batch(QueueUrl=url, Entries=[{"Id": "b", "ReceiptHandle": "fake-2", "VisibilityTimeout": 1}])
    assert out["Failed"][0]["Message"] == 'The input receipt handle "fake-2" is not a valid receipt handle.'


@pytest.mark.parametrize("kind", ["SendMessage", "DeleteMessage", "ChangeMessageVisibility"])
def test_empty_batch_names_its_entry_type(sqs: Any, kind: str) -> None:
    url = sqs.create_queue(QueueName="empty")["QueueUrl"]
    call = {"SendMessage": sqs.send_message_batch, "DeleteMessage": sqs.delete_message_batch,
            "ChangeMessageVisibility": sqs.change_message_visibility_batch}[kind]
    with pytest.raises(ClientError) as info:
        call(QueueUrl=url, Entries=[])
    assert error(info)[1] == f"There should be at least one {kind}BatchRequestEntry in the request."
    assert error(info)[0] in ("EmptyBatchRequest", "AWS.SimpleQueueService.EmptyBatchRequest")


def test_delay_bounds_fail_one_batch_entry_only(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="delays")["QueueUrl"]
    out = sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": "ok", "MessageBody": "a"}, {"Id": "late", "MessageBody": "b", "DelaySeconds": 1800}])
    assert [e["Id"] for e in out["Successful"]] == ["ok"]
    assert out["Failed"] == [{"Id": "late", "SenderFault": True, "Code": "InvalidParameterValue",
                              "Message": "Value 1800 for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900."}]
    with pytest.raises(ClientError) as info:
        sqs.send_message(QueueUrl=url, MessageBody="c", DelaySeconds=901)
    assert error(info)[0] == "InvalidParameterValue"
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]] == ["a"]


def test_fifo_batch_without_group_or_dedup_id_fails_the_request(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="b.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    with pytest.raises(ClientError) as info:
        sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": "1", "MessageBody": "a", "MessageGroupId": "g", "MessageDeduplicationId": "d"},
            {"Id": "2", "MessageBody": "b", "MessageGroupId": "g"}])
    assert error(info) == ("InvalidParameterValue", "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly")
    with pytest.raises(ClientError) as info:
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "1", "MessageBody": "a", "MessageDeduplicationId": "d"}])
    assert error(info) == ("MissingParameter", "The request must contain the parameter MessageGroupId.")
    assert "Messages" not in sqs.receive_message(QueueUrl=url)  # nothing stored


def test_add_permission_validation_and_scalar_policy_members(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="perm")["QueueUrl"]
    sqs.add_permission(QueueUrl=url, Label="one", AWSAccountIds=["111111111111"], Actions=["*"])
    sqs.add_permission(QueueUrl=url, Label="two", AWSAccountIds=["111111111111", "222222222222"],
                       Actions=["SendMessage", "ReceiveMessage"])
    policy = json.loads(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"])
    one, two = policy["Statement"]
    assert (one["Principal"], one["Action"]) == ({"AWS": "arn:aws:iam::111111111111:root"}, "SQS:*")
    assert two["Action"] == ["SQS:SendMessage", "SQS:ReceiveMessage"]
    assert len(two["Principal"]["AWS"]) == 2
    cases = [
        (dict(Label="one", AWSAccountIds=["1"], Actions=["SendMessage"]), "InvalidParameterValue",
         "Value one for parameter Label is invalid. Reason: Already exists."),
        (dict(Label="x", AWSAccountIds=["1"], Actions=["RemovePermission"]), "InvalidParameterValue",
         "Value SQS:RemovePermission for parameter ActionName is invalid. Reason: Only the queue owner is allowed to invoke this action."),
        (dict(Label="x", AWSAccountIds=["1"], Actions=["SendMessage"] * 8), "OverLimit",
         "8 Actions were found, maximum allowed is 7."),
    ]
    for kwargs, code, message in cases:
        with pytest.raises(ClientError) as info:
            sqs.add_permission(QueueUrl=url, **kwargs)
        assert error(info) == (code, message)
    assert len(json.loads(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"])["Statement"]) == 2


def test_tag_and_untag_validation(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="tags", tags={"k": "v"})["QueueUrl"]
    with pytest.raises(ClientError) as info:
        sqs.tag_queue(QueueUrl=url, Tags={f"k{i}": "v" for i in range(51)})
    assert error(info) == ("InvalidParameterValue", "Too many tags added for queue tags.")
    with pytest.raises(ClientError) as info:
        sqs.untag_queue(QueueUrl=url, TagKeys=[])
    assert error(info) == ("InvalidParameterValue", "Tag keys must be between 1 and 128 characters in length.")
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"k": "v"}


def test_prefix_wildcard_selects_message_attributes(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="wild")["QueueUrl"]
    s = {"DataType": "String", "StringValue": "v"}
    sqs.send_message(QueueUrl=url, MessageBody="x", MessageAttributes={"Custom1": s, "Custom.two": s, "Other": s})
    msg = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["Custom.*"])["Messages"][0]
    assert sorted(msg["MessageAttributes"]) == ["Custom.two", "Custom1"]


def test_an_older_receipt_of_an_in_flight_message_changes_its_visibility(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="old", Attributes={"VisibilityTimeout": "1"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="m")
    first = sqs.receive_message(QueueUrl=url)["Messages"][0]
    second = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)["Messages"][0]  # after the 1 s expiry
    assert second["ReceiptHandle"] != first["ReceiptHandle"]
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"], VisibilityTimeout=100)
    time.sleep(1.5)
    assert "Messages" not in sqs.receive_message(QueueUrl=url)  # still hidden: the change applied
    out = sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
        {"Id": "a", "ReceiptHandle": first["ReceiptHandle"], "VisibilityTimeout": 0}])
    assert [e["Id"] for e in out["Successful"]] == ["a"]
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)["Messages"][0]["Body"] == "m"


def test_dead_lettered_message_names_its_source_and_counts_receives_across_queues(sqs: Any) -> None:
    dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    src = sqs.create_queue(QueueName="src", Attributes={"VisibilityTimeout": "0", "RedrivePolicy": json.dumps(
        {"deadLetterTargetArn": "arn:aws:sqs:us-east-1:000000000000:dlq", "maxReceiveCount": 2})})["QueueUrl"]
    sqs.send_message(QueueUrl=src, MessageBody="poison")
    assert len(sqs.receive_message(QueueUrl=src)["Messages"]) == 1
    assert len(sqs.receive_message(QueueUrl=src)["Messages"]) == 1
    assert "Messages" not in sqs.receive_message(QueueUrl=src)  # the third receive moves it
    moved = sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=5, MessageSystemAttributeNames=["All"])["Messages"][0]
    assert moved["Attributes"]["DeadLetterQueueSourceArn"] == "arn:aws:sqs:us-east-1:000000000000:src"
    assert moved["Attributes"]["ApproximateReceiveCount"] == "3"


def test_json_errors_carry_the_json_type_and_the_query_code(sqs_json: Any, aws_server: Any) -> None:
    url = sqs_json.create_queue(QueueName="types")["QueueUrl"]
    body = json.dumps({"QueueUrl": url, "MessageBody": "x",
                       "MessageAttributes": {"bad name": {"DataType": "String", "StringValue": "v"}}}).encode()
    req = urllib.request.Request(aws_server.endpoint_url + "/", data=body, headers={
        "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS.SendMessage"})
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(req)
    assert info.value.code == 400
    assert info.value.headers["x-amzn-query-error"] == "InvalidParameterValue;Sender"
    assert json.loads(info.value.read())["__type"] == "com.amazonaws.sqs#InvalidParameterValueException"
