"""STOMP and SQS on one queue: a queue's name is the SQS queue's name (vhost `/`), custom
STOMP headers are SQS message attributes and back (docs/cross-protocol.md, "STOMP")."""

from __future__ import annotations

from typing import Any

import boto3
import stomp
from stomp_scenarios import Collector


def test_stomp_send_reaches_sqs_and_sqs_send_reaches_a_stomp_subscriber(mqlite_server: Any) -> None:
    sqs = boto3.client("sqs", endpoint_url=mqlite_server.endpoint_url, region_name="us-east-1",
                       aws_access_key_id="x", aws_secret_access_key="x")
    url = sqs.create_queue(QueueName="shared-orders")["QueueUrl"]
    conn = stomp.Connection12([("127.0.0.1", mqlite_server.stomp_port)], vhost="/")
    seen = Collector()
    conn.set_listener("c", seen)
    conn.connect("guest", "guest", wait=True)
    conn.send("/queue/shared-orders", "from stomp", headers={"region": "eu", "receipt": "r"})
    seen.receipt("r")
    got = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"], WaitTimeSeconds=5)["Messages"][0]
    assert got["Body"] == "from stomp"
    assert got["MessageAttributes"]["region"] == {"StringValue": "eu", "DataType": "String"}
    sqs.delete_message(QueueUrl=url, ReceiptHandle=got["ReceiptHandle"])
    sqs.send_message(QueueUrl=url, MessageBody="from sqs",
                     MessageAttributes={"kind": {"DataType": "String", "StringValue": "refund"},
                                        "n": {"DataType": "Number", "StringValue": "12"}})
    conn.subscribe("/queue/shared-orders", id="s", ack="client-individual")
    msg = seen.next()
    assert (msg.body, msg.headers["kind"], msg.headers["n"]) == ("from sqs", "refund", "12")
    assert msg.headers["destination"] == "/queue/shared-orders"
    conn.ack(msg.headers["ack"], receipt="a")
    seen.receipt("a")
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])[
        "Attributes"]["ApproximateNumberOfMessages"] == "0"
    conn.disconnect()
