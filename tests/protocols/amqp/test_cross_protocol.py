"""An AMQP queue is the same object as an SQS queue (docs/amqp-mapping.md): publish with
pika, receive with boto3 SQS, and the reverse."""

from __future__ import annotations

from typing import Any

import boto3
import pika


def _sqs(server: Any) -> Any:
    return boto3.client("sqs", endpoint_url=server.endpoint_url, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")


def test_amqp_publish_through_exchange_is_received_with_sqs(mqlite_server: Any) -> None:
    ch = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", mqlite_server.amqp_port)).channel()
    ch.exchange_declare("orders", "topic", durable=True)
    ch.queue_declare("order-events", durable=True)
    ch.queue_bind("order-events", "orders", "order.*")
    ch.confirm_delivery()
    ch.basic_publish("orders", "order.created", b'{"id": 1}',
                     pika.BasicProperties(headers={"tenant": "acme", "n": 7, "raw": b"\x01"}, delivery_mode=2))
    sqs = _sqs(mqlite_server)
    url = sqs.get_queue_url(QueueName="order-events")["QueueUrl"]
    out = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"], WaitTimeSeconds=2)
    (msg,) = out["Messages"]
    assert msg["Body"] == '{"id": 1}'
    attrs = msg["MessageAttributes"]
    assert attrs["tenant"] == {"DataType": "String", "StringValue": "acme"}
    assert attrs["n"] == {"DataType": "Number", "StringValue": "7"}
    assert attrs["raw"]["BinaryValue"] == b"\x01"
    sqs.delete_message(QueueUrl=url, ReceiptHandle=msg["ReceiptHandle"])
    assert ch.basic_get("order-events")[0] is None


def test_sqs_send_is_consumed_with_amqp(mqlite_server: Any) -> None:
    sqs = _sqs(mqlite_server)
    url = sqs.create_queue(QueueName="from-sqs")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="hello amqp", MessageAttributes={
        "kind": {"DataType": "String", "StringValue": "greeting"},
        "size": {"DataType": "Number", "StringValue": "3"},
    })
    ch = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", mqlite_server.amqp_port)).channel()
    ch.queue_declare("from-sqs", passive=True)
    method, props, body = ch.basic_get("from-sqs", auto_ack=True)
    assert body == b"hello amqp"
    assert props.headers == {"kind": "greeting", "size": 3}
    assert props.message_id
    assert method.exchange == "" and method.routing_key == ""
