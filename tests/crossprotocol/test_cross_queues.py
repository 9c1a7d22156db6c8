"""Queues across protocols: an AMQP queue and an SQS queue are one core `Queue`
(docs/amqp-mapping.md "AMQP -> SQS" / "SQS -> AMQP"; docs/cross-protocol.md "Queues").
"""

from __future__ import annotations

import datetime
import decimal
import json
from typing import Any

import pika
import pika.exceptions
import pytest
from cross_clients import amqp_channel, aws, queue_arn

ALL = ["All"]


def _url(server: Any, name: str) -> str:
    return str(aws(server, "sqs").get_queue_url(QueueName=name)["QueueUrl"])


def test_amqp_publish_to_exchange_is_received_by_sqs_with_headers_as_message_attributes(mqlite_server: Any) -> None:
    """amqp-mapping.md "AMQP -> SQS": body -> Body; each `headers` entry -> one
    MessageAttribute typed by its AMQP type; other basic properties are not attributes."""
    ch = amqp_channel(mqlite_server)
    ch.exchange_declare("billing", "direct", durable=True)
    ch.queue_declare("invoices", durable=True)
    ch.queue_bind("invoices", "billing", "invoice.new")
    ch.confirm_delivery()
    ts = datetime.datetime(2026, 1, 2, 3, 4, 5)
    props = pika.BasicProperties(
        content_type="application/json", correlation_id="corr-1", reply_to="answers",
        message_id="m-1", app_id="billing-svc", type="invoice", delivery_mode=2, priority=3,
        headers={"s": "text", "i": 42, "d": decimal.Decimal("2.50"), "b": True,
                 "raw": b"\x00\xff", "when": ts, "nested": {"a": 1}, "list": [1, "x"]},
    )
    ch.basic_publish("billing", "invoice.new", b'{"amount": 10}', props, mandatory=True)

    sqs = aws(mqlite_server, "sqs")
    out = sqs.receive_message(QueueUrl=_url(mqlite_server, "invoices"), AttributeNames=ALL,
                              MessageAttributeNames=ALL, WaitTimeSeconds=2)
    (msg,) = out["Messages"]
    assert msg["Body"] == '{"amount": 10}'
    attrs = msg["MessageAttributes"]
    assert attrs["s"] == {"DataType": "String", "StringValue": "text"}
    assert attrs["i"] == {"DataType": "Number", "StringValue": "42"}
    assert attrs["d"] == {"DataType": "Number", "StringValue": "2.5"}  # pika sends 2.50 normalized
    assert attrs["b"] == {"DataType": "String.amqp.bool", "StringValue": "true"}
    assert attrs["raw"] == {"DataType": "Binary", "BinaryValue": b"\x00\xff"}
    assert attrs["when"]["DataType"] == "String.amqp.timestamp"
    assert attrs["when"]["StringValue"].startswith("2026-01-02T03:04:05")
    assert attrs["nested"]["DataType"] == "String.amqp.dict"
    assert attrs["list"]["DataType"] == "String.amqp.list"
    # basic properties are not SQS attributes (content type, correlation id, ...)
    assert set(attrs) == {"s", "i", "d", "b", "raw", "when", "nested", "list"}
    system = msg["Attributes"]
    assert system["ApproximateReceiveCount"] == "1"
    assert int(system["SentTimestamp"]) > 0
    assert "MessageGroupId" not in system
    assert msg["MessageId"] and msg["MD5OfMessageAttributes"]


def test_amqp_properties_survive_an_sqs_visibility_timeout_back_to_amqp(mqlite_server: Any) -> None:
    """The AMQP property block is stored byte for byte (amqp-mapping.md "Messages"): a
    message seen by SQS and released (visibility 0) reaches pika with every property."""
    ch = amqp_channel(mqlite_server)
    ch.queue_declare("roundtrip", durable=True)
    ch.confirm_delivery()
    props = pika.BasicProperties(content_type="text/plain", correlation_id="c-9", reply_to="r",
                                 message_id="mid", headers={"x": 1}, delivery_mode=2)
    ch.basic_publish("", "roundtrip", b"body", props)
    sqs = aws(mqlite_server, "sqs")
    url = _url(mqlite_server, "roundtrip")
    (msg,) = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=2)["Messages"]
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=msg["ReceiptHandle"], VisibilityTimeout=0)
    method, got, body = ch.basic_get("roundtrip", auto_ack=True)
    assert body == b"body"
    assert (got.content_type, got.correlation_id, got.reply_to, got.message_id, got.headers, got.delivery_mode) == (
        "text/plain", "c-9", "r", "mid", {"x": 1}, 2)
    assert method.redelivered is True  # SQS's receive counted (receive_count > 1)
    assert method.routing_key == "roundtrip"


def test_sqs_send_with_message_attributes_is_read_by_pika_basic_get(mqlite_server: Any) -> None:
    """amqp-mapping.md "SQS -> AMQP": String -> long string, Number -> int / decimal when
    it fits (else its text), Binary -> byte array; message_id = MessageId; timestamp =
    SentTimestamp; exchange "" and empty routing key."""
    sqs = aws(mqlite_server, "sqs")
    url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    sent = sqs.send_message(QueueUrl=url, MessageBody="resize image", MessageAttributes={
        "kind": {"DataType": "String", "StringValue": "thumb"},
        "width": {"DataType": "Number", "StringValue": "640"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x01\x02"},
        "custom": {"DataType": "String.mime", "StringValue": "image/png"},
    })
    ch = amqp_channel(mqlite_server)
    method, props, body = ch.basic_get("jobs", auto_ack=True)
    assert body == b"resize image"
    assert props.headers["kind"] == "thumb"
    assert props.headers["width"] == 640
    assert props.headers["blob"] == b"\x01\x02"
    assert props.headers["custom"] == "image/png"
    assert props.message_id == sent["MessageId"]
    sent_at = props.timestamp  # SQS SentTimestamp, in seconds (AMQP timestamps are)
    assert sent_at and sent_at > 1_700_000_000
    assert (method.exchange, method.routing_key, method.redelivered) == ("", "", False)
    assert props.content_type is None and props.correlation_id is None


def test_sqs_fractional_number_attribute_reaches_pika_with_its_value(mqlite_server: Any) -> None:
    """SQS Number attributes are decimals of up to 38 digits (SQS message-attribute docs);
    an AMQP consumer must see 1.5, not 1 (today: 'f' float, which pika reads via int())."""
    sqs = aws(mqlite_server, "sqs")
    url = sqs.create_queue(QueueName="ratios")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x", MessageAttributes={
        "ratio": {"DataType": "Number", "StringValue": "1.5"}})
    _m, props, _b = amqp_channel(mqlite_server).basic_get("ratios", auto_ack=True)
    assert props.headers["ratio"] in (decimal.Decimal("1.5"), "1.5")


def test_sqs_number_attribute_beyond_int64_does_not_close_the_amqp_connection(mqlite_server: Any) -> None:
    """A valid SQS Number (38 digits of precision, SQS docs) must not break AMQP delivery:
    today basic.get of it kills the connection and the message is redelivered to the next
    reader, which dies the same way (a poison message for every AMQP consumer)."""
    sqs = aws(mqlite_server, "sqs")
    url = sqs.create_queue(QueueName="bignums")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x", MessageAttributes={
        "id": {"DataType": "Number", "StringValue": "123456789012345678901234567890"},
        "huge": {"DataType": "Number", "StringValue": "1e100"}})
    _m, props, body = amqp_channel(mqlite_server).basic_get("bignums", auto_ack=True)
    assert body == b"x"
    assert str(props.headers["id"]) == "123456789012345678901234567890"


def test_sqs_fifo_queue_is_consumed_in_group_order_over_amqp(mqlite_server: Any) -> None:
    """A FIFO queue keeps per-group order (SQS FIFO docs) whichever front-end reads it."""
    sqs = aws(mqlite_server, "sqs")
    url = sqs.create_queue(QueueName="steps.fifo", Attributes={"FifoQueue": "true",
                                                                "ContentBasedDeduplication": "true"})["QueueUrl"]
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"step-{i}", MessageGroupId="g1")
    ch = amqp_channel(mqlite_server)
    bodies = []
    for _ in range(3):
        method, _props, body = ch.basic_get("steps.fifo")
        bodies.append(body)
        ch.basic_ack(method.delivery_tag)
    assert bodies == [b"step-0", b"step-1", b"step-2"]


def test_amqp_ack_deletes_for_sqs_and_sqs_delete_removes_for_amqp(mqlite_server: Any) -> None:
    """One lease model (architecture.md, Queue): what one protocol acknowledged the other
    never sees; a lease held by SQS hides the message from basic.get."""
    sqs = aws(mqlite_server, "sqs")
    url = sqs.create_queue(QueueName="shared")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="a")
    sqs.send_message(QueueUrl=url, MessageBody="b")
    ch = amqp_channel(mqlite_server)
    method, _p, body = ch.basic_get("shared")
    assert body == b"a"
    (leased,) = sqs.receive_message(QueueUrl=url, VisibilityTimeout=30)["Messages"]
    assert leased["Body"] == "b"
    assert ch.basic_get("shared")[0] is None  # a leased by AMQP, b by SQS
    ch.basic_ack(method.delivery_tag)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=leased["ReceiptHandle"])
    assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=ALL)["Attributes"]
    assert counts["ApproximateNumberOfMessages"] == "0"
    assert counts["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_amqp_push_consumer_receives_an_sqs_send_made_after_it_subscribed(mqlite_server: Any) -> None:
    """basic.consume is a push subscription (AMQP 0-9-1 reference): a message another
    front-end sends later is delivered to the waiting consumer."""
    sqs = aws(mqlite_server, "sqs")
    url = sqs.create_queue(QueueName="pushed")["QueueUrl"]
    ch = amqp_channel(mqlite_server)
    got: list[bytes] = []

    def on_message(channel: Any, method: Any, _props: Any, body: bytes) -> None:
        got.append(body)
        channel.basic_ack(method.delivery_tag)
        channel.stop_consuming()

    ch.basic_consume("pushed", on_message)
    ch.connection.process_data_events(time_limit=0.1)  # consume-ok before the send
    sqs.send_message(QueueUrl=url, MessageBody="late")
    ch.connection.call_later(15, ch.stop_consuming)
    ch.start_consuming()
    assert got == [b"late"]


def test_sqs_long_poll_returns_a_message_published_over_amqp_meanwhile(mqlite_server: Any) -> None:
    """ReceiveMessage with WaitTimeSeconds returns as soon as a message arrives (SQS long
    polling docs), whichever front-end sent it."""
    import threading

    sqs = aws(mqlite_server, "sqs")
    url = sqs.create_queue(QueueName="polled")["QueueUrl"]
    out: list[Any] = []
    poller = threading.Thread(target=lambda: out.append(
        sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20)))
    poller.start()
    ch = amqp_channel(mqlite_server)
    ch.confirm_delivery()
    ch.basic_publish("", "polled", b"hello poller")
    poller.join(timeout=25)
    bodies = [m["Body"] for m in out[0].get("Messages", [])] if out else []
    if not bodies:  # the publish may have landed before the poll started: then it is waiting
        bodies = [m["Body"] for m in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])]
    assert bodies == ["hello poller"]


def test_amqp_publish_into_an_sqs_fifo_queue_is_nacked_for_lack_of_a_group_id(mqlite_server: Any) -> None:
    """A FIFO queue needs a MessageGroupId (SQS FIFO docs); AMQP has no such property, so
    the publish is refused and a confirming publisher gets Basic.Nack (RabbitMQ's answer
    when a queue refuses a message), on a channel that stays open, unless the publisher
    sets the `x-message-group-id` header (docs/amqp-mapping.md "FIFO queues")."""
    sqs = aws(mqlite_server, "sqs")
    url = sqs.create_queue(QueueName="orders.fifo", Attributes={"FifoQueue": "true",
                                                                 "ContentBasedDeduplication": "true"})["QueueUrl"]
    ch = amqp_channel(mqlite_server)
    ch.confirm_delivery()
    with pytest.raises(pika.exceptions.NackError):
        ch.basic_publish("", "orders.fifo", b"no group")
    assert ch.is_open
    assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []



def test_amqp_publish_with_group_and_dedup_headers_feeds_an_sqs_fifo_queue(mqlite_server: Any) -> None:
    """docs/amqp-mapping.md "FIFO queues": `x-message-group-id` and
    `x-message-deduplication-id` are the SQS MessageGroupId / MessageDeduplicationId, so
    the FIFO rules hold (SQS FIFO docs): per-group order, a repeated deduplication id
    within 5 minutes is accepted but not delivered again; the headers are not user
    attributes."""
    sqs = aws(mqlite_server, "sqs")
    url = sqs.create_queue(QueueName="payments.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    ch = amqp_channel(mqlite_server)
    ch.confirm_delivery()
    for body, dedup in ((b"open", "d-1"), (b"pay", "d-2"), (b"pay again", "d-2"), (b"close", "d-3")):
        props = pika.BasicProperties(delivery_mode=2, headers={
            "x-message-group-id": "acct-7", "x-message-deduplication-id": dedup, "kind": "step"})
        ch.basic_publish("", "payments.fifo", body, props)  # confirmed: no NackError
    got = []
    while True:
        out = sqs.receive_message(QueueUrl=url, AttributeNames=ALL, MessageAttributeNames=ALL,
                                  MaxNumberOfMessages=10)
        if not out.get("Messages"):
            break
        for msg in out["Messages"]:
            got.append((msg["Body"], msg["Attributes"]["MessageGroupId"],
                        msg["Attributes"]["MessageDeduplicationId"], set(msg["MessageAttributes"])))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=msg["ReceiptHandle"])
    assert got == [("open", "acct-7", "d-1", {"kind"}), ("pay", "acct-7", "d-2", {"kind"}),
                   ("close", "acct-7", "d-3", {"kind"})]


def test_amqp_publish_with_only_a_group_header_uses_content_based_deduplication(mqlite_server: Any) -> None:
    """Without a deduplication id a FIFO queue needs ContentBasedDeduplication (SQS FIFO
    docs): with it the publish is accepted, without it the publisher gets Basic.Nack."""
    sqs = aws(mqlite_server, "sqs")
    cbd = sqs.create_queue(QueueName="cbd.fifo", Attributes={"FifoQueue": "true",
                                                             "ContentBasedDeduplication": "true"})["QueueUrl"]
    sqs.create_queue(QueueName="strict.fifo", Attributes={"FifoQueue": "true"})
    ch = amqp_channel(mqlite_server)
    ch.confirm_delivery()
    props = pika.BasicProperties(headers={"x-message-group-id": "g"})
    ch.basic_publish("", "cbd.fifo", b"same", props)
    ch.basic_publish("", "cbd.fifo", b"same", props)  # a duplicate by content: accepted, dropped
    with pytest.raises(pika.exceptions.NackError):
        ch.basic_publish("", "strict.fifo", b"no dedup id", props)
    assert ch.is_open
    (msg,) = sqs.receive_message(QueueUrl=cbd, AttributeNames=ALL, MaxNumberOfMessages=10)["Messages"]
    assert (msg["Body"], msg["Attributes"]["MessageGroupId"]) == ("same", "g")


def _redrive_pair(server: Any, max_receives: int) -> tuple[str, str]:
    sqs = aws(server, "sqs")
    dlq = sqs.create_queue(QueueName="dead")["QueueUrl"]
    policy = json.dumps({"deadLetterTargetArn": queue_arn("dead"), "maxReceiveCount": str(max_receives)})
    src = sqs.create_queue(QueueName="work", Attributes={"RedrivePolicy": policy})["QueueUrl"]
    return src, dlq


def test_amqp_requeues_count_towards_the_sqs_redrive_limit(mqlite_server: Any) -> None:
    """SQS RedrivePolicy: a message received more than maxReceiveCount times moves to the
    dead-letter queue (SQS DLQ docs). AMQP deliveries are receives of the same queue, so
    an AMQP consumer that keeps requeueing (basic.nack requeue=true) sends it there too."""
    src, dlq = _redrive_pair(mqlite_server, 2)
    sqs = aws(mqlite_server, "sqs")
    sqs.send_message(QueueUrl=src, MessageBody="flaky")
    ch = amqp_channel(mqlite_server)
    for expected_redelivered in (False, True):
        method, _p, body = ch.basic_get("work")
        assert (body, method.redelivered) == (b"flaky", expected_redelivered)
        ch.basic_nack(method.delivery_tag, requeue=True)
    assert ch.basic_get("work")[0] is None
    (moved,) = sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=1)["Messages"]
    assert moved["Body"] == "flaky"


def test_amqp_reject_on_a_queue_with_an_sqs_redrive_policy_keeps_the_message_in_the_dlq(mqlite_server: Any) -> None:
    """A queue whose owner configured a dead-letter queue (SQS RedrivePolicy) must not
    lose a message an AMQP consumer rejects (basic.reject requeue=false): RabbitMQ
    dead-letters rejected messages to the queue's dead-letter target when it has one."""
    src, dlq = _redrive_pair(mqlite_server, 5)
    sqs = aws(mqlite_server, "sqs")
    sqs.send_message(QueueUrl=src, MessageBody="poison")
    ch = amqp_channel(mqlite_server)
    method, _p, _b = ch.basic_get("work")
    ch.basic_reject(method.delivery_tag, requeue=False)
    moved = sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=1).get("Messages", [])
    assert [m["Body"] for m in moved] == ["poison"]
