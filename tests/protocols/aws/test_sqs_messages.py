"""SQS messages through real boto3 clients (json and query): send, receive, delete,
visibility, FIFO, dead-letter queues, long polling, size limits.

Rules (SQS API reference / developer guide): boto3 verifies MD5OfMessageBody and
MD5OfMessageAttributes; ReceiveMessage returns requested system attributes (All or by
name) and message attributes (All, names, prefix.*); a message whose visibility expires
is delivered again with ApproximateReceiveCount+1, and the old receipt handle no longer
deletes it; FIFO queues deliver a group in order and drop duplicates within 5 minutes;
after maxReceiveCount receives a message moves to the dead-letter queue; a long poll
returns as soon as a message arrives; messages are limited to 1 MiB and to the queue's
MaximumMessageSize.
"""

from __future__ import annotations

import json
import threading
import time

import pytest
from botocore.exceptions import ClientError


def code(info: pytest.ExceptionInfo[ClientError]) -> str:
    return str(info.value.response["Error"]["Code"])


def test_send_receive_delete_with_attributes_and_md5s(sqs) -> None:
    url = sqs.create_queue(QueueName="msgs")["QueueUrl"]
    attrs = {
        "s": {"DataType": "String", "StringValue": "välue"},
        "n": {"DataType": "Number.int", "StringValue": "42"},
        "b": {"DataType": "Binary", "BinaryValue": b"\x00\xffbin"},
    }
    body = "héllo <xml> & \"quotes\"\r\nline"
    sent = sqs.send_message(
        QueueUrl=url, MessageBody=body, MessageAttributes=attrs,
        MessageSystemAttributes={"AWSTraceHeader": {"DataType": "String", "StringValue": "Root=1-abc"}},
    )
    assert "MD5OfMessageSystemAttributes" in sent
    got = sqs.receive_message(
        QueueUrl=url, MessageAttributeNames=["All"], MessageSystemAttributeNames=["All"]
    )["Messages"]
    assert len(got) == 1
    m = got[0]
    assert m["Body"] == body
    assert m["MessageId"] == sent["MessageId"]
    assert m["MessageAttributes"] == attrs
    assert m["Attributes"]["ApproximateReceiveCount"] == "1"
    assert m["Attributes"]["AWSTraceHeader"] == "Root=1-abc"
    assert {"SenderId", "SentTimestamp", "ApproximateFirstReceiveTimestamp"} <= set(m["Attributes"])
    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    assert "Messages" not in sqs.receive_message(QueueUrl=url)


def test_receive_selects_attributes_by_name_and_prefix(sqs) -> None:
    url = sqs.create_queue(QueueName="sel")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x", MessageAttributes={
        "app.one": {"DataType": "String", "StringValue": "1"},
        "app.two": {"DataType": "String", "StringValue": "2"},
        "other": {"DataType": "String", "StringValue": "3"},
    })
    m = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["app.*"], AttributeNames=["SentTimestamp"])["Messages"][0]
    assert set(m["MessageAttributes"]) == {"app.one", "app.two"}
    assert set(m["Attributes"]) == {"SentTimestamp"}


def test_visibility_expiry_redelivers_and_stale_receipt_does_not_delete(sqs) -> None:
    url = sqs.create_queue(QueueName="vis")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="again")
    first = sqs.receive_message(QueueUrl=url, VisibilityTimeout=30)["Messages"][0]
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"], VisibilityTimeout=0)
    second = sqs.receive_message(QueueUrl=url, AttributeNames=["ApproximateReceiveCount"])["Messages"][0]
    assert second["MessageId"] == first["MessageId"]
    assert second["Attributes"]["ApproximateReceiveCount"] == "2"
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])  # stale: no-op
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=second["ReceiptHandle"], VisibilityTimeout=0)
    third = sqs.receive_message(QueueUrl=url)["Messages"][0]
    assert third["MessageId"] == first["MessageId"]


def test_message_reappears_when_its_visibility_timeout_expires(sqs) -> None:
    """A received, undeleted message is visible again after VisibilityTimeout; a waiting
    long poll gets it as soon as the lease ends."""
    url = sqs.create_queue(QueueName="expiry")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="lease")
    first = sqs.receive_message(QueueUrl=url, VisibilityTimeout=1)["Messages"][0]
    again = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10, AttributeNames=["ApproximateReceiveCount"])["Messages"][0]
    assert again["MessageId"] == first["MessageId"]
    assert again["ReceiptHandle"] != first["ReceiptHandle"]
    assert again["Attributes"]["ApproximateReceiveCount"] == "2"


def test_invalid_receipt_handle_and_message_not_inflight(sqs) -> None:
    url = sqs.create_queue(QueueName="rh")["QueueUrl"]
    with pytest.raises(ClientError) as info:
        sqs.delete_message(QueueUrl=url, ReceiptHandle="garbage")
    assert code(info) == "ReceiptHandleIsInvalid"
    sqs.send_message(QueueUrl=url, MessageBody="x")
    m = sqs.receive_message(QueueUrl=url)["Messages"][0]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    with pytest.raises(ClientError) as info:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=5)
    assert code(info) == "AWS.SimpleQueueService.MessageNotInflight"


def test_fifo_orders_within_group_and_deduplicates(sqs) -> None:
    url = sqs.create_queue(QueueName="f.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    seqs = []
    for i in range(5):
        r = sqs.send_message(QueueUrl=url, MessageBody=f"m{i}", MessageGroupId="g", MessageDeduplicationId=f"d{i}")
        seqs.append(int(r["SequenceNumber"]))
    dup = sqs.send_message(QueueUrl=url, MessageBody="m0", MessageGroupId="g", MessageDeduplicationId="d0")
    assert seqs == sorted(seqs)
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    assert [m["Body"] for m in got] == [f"m{i}" for i in range(5)]
    assert got[0]["MessageId"] == dup["MessageId"]
    assert got[0]["Attributes"]["MessageGroupId"] == "g"
    assert got[0]["Attributes"]["MessageDeduplicationId"] == "d0"
    with pytest.raises(ClientError) as info:
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageDeduplicationId="z")
    assert code(info) == "MissingParameter"
    with pytest.raises(ClientError) as info:
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g")
    assert code(info) == "InvalidParameterValue"


def test_fifo_content_based_deduplication(sqs) -> None:
    url = sqs.create_queue(QueueName="cb.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
    a = sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g")
    b = sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g")
    assert a["MessageId"] == b["MessageId"]
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert len(got) == 1


def test_dead_letter_after_max_receive_count_and_move_back(sqs) -> None:
    dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    src = sqs.create_queue(QueueName="work", Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"}),
    })["QueueUrl"]
    sqs.send_message(QueueUrl=src, MessageBody="poison")
    for _ in range(2):
        m = sqs.receive_message(QueueUrl=src)["Messages"][0]
        sqs.change_message_visibility(QueueUrl=src, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
    assert "Messages" not in sqs.receive_message(QueueUrl=src)
    dead = sqs.receive_message(QueueUrl=dlq, VisibilityTimeout=0)["Messages"]
    assert [m["Body"] for m in dead] == ["poison"]
    handle = sqs.start_message_move_task(SourceArn=dlq_arn)["TaskHandle"]
    assert handle
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        tasks = sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=10)["Results"]
        if tasks[0]["Status"] != "RUNNING":
            break
        time.sleep(0.05)
    assert tasks[0]["Status"] == "COMPLETED"
    back = sqs.receive_message(QueueUrl=src, WaitTimeSeconds=2)["Messages"]
    assert [m["Body"] for m in back] == ["poison"]


def test_move_task_needs_a_dead_letter_queue(sqs) -> None:
    url = sqs.create_queue(QueueName="plain")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    with pytest.raises(ClientError) as info:
        sqs.start_message_move_task(SourceArn=arn)
    assert code(info) == "InvalidParameterValue"
    with pytest.raises(ClientError):
        sqs.cancel_message_move_task(TaskHandle="nope")


def test_long_poll_returns_when_a_message_arrives(sqs, client_factory, protocol) -> None:
    url = sqs.create_queue(QueueName="lp")["QueueUrl"]
    sender = client_factory(protocol)

    def send_later() -> None:
        time.sleep(0.3)
        sender.send_message(QueueUrl=url, MessageBody="wake")

    t = threading.Thread(target=send_later)
    t.start()
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20)
    t.join()
    assert [m["Body"] for m in got["Messages"]] == ["wake"]


def test_message_size_limits(sqs) -> None:
    url = sqs.create_queue(QueueName="big")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="a" * (1024 * 1024))
    assert len(sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"]) == 1024 * 1024
    with pytest.raises(ClientError) as info:
        sqs.send_message(QueueUrl=url, MessageBody="a" * (1024 * 1024 + 1))
    assert code(info) == "InvalidParameterValue"
    small = sqs.create_queue(QueueName="small", Attributes={"MaximumMessageSize": "1024"})["QueueUrl"]
    sqs.send_message(QueueUrl=small, MessageBody="a" * 1024)
    with pytest.raises(ClientError):
        sqs.send_message(QueueUrl=small, MessageBody="a" * 1025)


def test_send_rejects_bad_parameters(sqs) -> None:
    url = sqs.create_queue(QueueName="bad")["QueueUrl"]
    cases = [
        ({"MessageBody": "\x01"}, "InvalidMessageContents"),
        ({"MessageBody": "x", "DelaySeconds": 901}, "InvalidParameterValue"),
        ({"MessageBody": "x", "MessageAttributes": {"AWS.x": {"DataType": "String", "StringValue": "v"}}}, "InvalidParameterValue"),
        ({"MessageBody": "x", "MessageAttributes": {"n": {"DataType": "Number", "StringValue": "abc"}}}, "InvalidParameterValue"),
    ]
    for params, expected in cases:
        with pytest.raises(ClientError) as info:
            sqs.send_message(QueueUrl=url, **params)
        assert code(info) == expected, params
    with pytest.raises(ClientError) as info:
        sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=11)
    assert code(info) == "InvalidParameterValue"
    assert "Messages" not in sqs.receive_message(QueueUrl=url)


def test_delay_seconds_hides_message(sqs) -> None:
    url = sqs.create_queue(QueueName="delayed")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=1)
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)
    assert [m["Body"] for m in got["Messages"]] == ["later"]


def test_cancel_running_move_task(sqs) -> None:
    """CancelMessageMoveTask stops a RUNNING task and reports the messages moved."""
    dlq = sqs.create_queue(QueueName="dlq2")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    src = sqs.create_queue(QueueName="src2", Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})})["QueueUrl"]
    for k in range(2):
        sqs.send_message_batch(QueueUrl=dlq, Entries=[{"Id": str(i), "MessageBody": f"{k}-{i}"} for i in range(10)])
    handle = sqs.start_message_move_task(SourceArn=dlq_arn, MaxNumberOfMessagesPerSecond=1)["TaskHandle"]
    moved = sqs.cancel_message_move_task(TaskHandle=handle)["ApproximateNumberOfMessagesMoved"]
    assert 0 <= moved < 20
    task = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"][0]
    assert task["Status"] == "CANCELLED"
    assert "TaskHandle" not in task
    left = int(sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"])
    assert left + moved == 20
    back = int(sqs.get_queue_attributes(QueueUrl=src, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"])
    assert back == moved


def test_long_poll_of_a_departed_client_gives_its_message_back(sqs_json, aws_server) -> None:
    """A message must not hide for a visibility timeout behind a client that hung up."""
    import socket

    url = sqs_json.create_queue(QueueName="gone")["QueueUrl"]
    body = json.dumps({"QueueUrl": url, "WaitTimeSeconds": 10}).encode()
    sock = socket.create_connection(("127.0.0.1", aws_server.http_port))
    sock.sendall(
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.0\r\n"
        b"X-Amz-Target: AmazonSQS.ReceiveMessage\r\nContent-Length: " + str(len(body)).encode()
        + b"\r\n\r\n" + body
    )
    time.sleep(0.3)  # the poll is parked
    sock.close()
    time.sleep(0.2)
    sqs_json.send_message(QueueUrl=url, MessageBody="for the living")
    got = sqs_json.receive_message(QueueUrl=url, WaitTimeSeconds=5)
    assert [m["Body"] for m in got["Messages"]] == ["for the living"]


def test_fifo_receive_request_attempt_id_retry_returns_the_same_messages(sqs) -> None:
    """ReceiveRequestAttemptId: a retried FIFO receive gets the same batch back."""
    url = sqs.create_queue(QueueName="retry.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"r{i}", MessageGroupId="g")
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, ReceiveRequestAttemptId="att-1")["Messages"]
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, ReceiveRequestAttemptId="att-1")["Messages"]
    assert [m["MessageId"] for m in again] == [m["MessageId"] for m in first]
    assert [m["ReceiptHandle"] for m in again] == [m["ReceiptHandle"] for m in first]


def test_unknown_system_attribute_name_is_refused(sqs) -> None:
    url = sqs.create_queue(QueueName="sysattr")["QueueUrl"]
    with pytest.raises(ClientError) as info:
        sqs.receive_message(QueueUrl=url, AttributeNames=["Bogus"])
    assert code(info) == "InvalidAttributeName"


def test_per_message_group_throughput_needs_message_group_dedup_scope(sqs) -> None:
    with pytest.raises(ClientError) as info:
        sqs.create_queue(QueueName="ht.fifo", Attributes={"FifoQueue": "true", "FifoThroughputLimit": "perMessageGroupId"})
    assert code(info) == "InvalidAttributeValue"
    url = sqs.create_queue(QueueName="ht.fifo", Attributes={
        "FifoQueue": "true", "FifoThroughputLimit": "perMessageGroupId", "DeduplicationScope": "messageGroup"})["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["FifoThroughputLimit"] == "perMessageGroupId"
    assert attrs["DeduplicationScope"] == "messageGroup"
