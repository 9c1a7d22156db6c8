"""A restart in the middle of a cross-protocol hop: what one front-end wrote before
`handle.restart()` is read by another front-end after it (DESIGN.md: everything is a
durable log; RabbitMQ drops transient messages on restart, amqp-mapping.md "Persistence").
"""

from __future__ import annotations

import json
from typing import Any

import pika
from cross_clients import (
    amqp_channel,
    aws,
    kafka_producer,
    kafka_read,
    queue_arn,
    redis_client,
)


def test_kafka_records_survive_restart_and_are_read_by_kinesis_and_redis(mqlite_server: Any) -> None:
    producer = kafka_producer(mqlite_server)
    for i in range(3):
        producer.send("ledger", key=b"acct", value=f"entry-{i}".encode(), partition=0)
    producer.flush()
    producer.close()
    mqlite_server.restart()
    kinesis = aws(mqlite_server, "kinesis")
    it = kinesis.get_shard_iterator(StreamName="ledger", ShardId="shardId-000000000000",
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = kinesis.get_records(ShardIterator=it)["Records"]
    assert [(r["PartitionKey"], r["Data"]) for r in records] == [("acct", f"entry-{i}".encode()) for i in range(3)]
    assert [f[b"value"] for _, f in redis_client(mqlite_server).xrange("ledger")] == [
        f"entry-{i}".encode() for i in range(3)]


def test_redis_entries_and_kinesis_records_survive_restart_for_kafka(mqlite_server: Any) -> None:
    """Entry IDs of XADD entries are stored with them (`redis-id` header), so they are
    the same after a restart; Kinesis records keep key and data."""
    r = redis_client(mqlite_server)
    entry_id = r.xadd("mixed", {"f": "v"})
    kinesis = aws(mqlite_server, "kinesis")
    kinesis.put_record(StreamName="mixed", PartitionKey="pk", Data=b"from-kinesis")
    mqlite_server.restart()
    first, second = kafka_read(mqlite_server, "mixed", 2)
    assert dict(first.headers)["redis-id"] == entry_id
    assert (second.key, second.value) == (b"pk", b"from-kinesis")
    entries = redis_client(mqlite_server).xrange("mixed")
    assert entries[0] == (entry_id, {b"f": b"v"})
    assert entries[1][1] == {b"key": b"pk", b"value": b"from-kinesis"}


def test_persistent_amqp_message_survives_restart_for_sqs_and_transient_one_does_not(mqlite_server: Any) -> None:
    """delivery_mode 2 survives a restart, delivery_mode 1 is dropped as RabbitMQ does
    (amqp-mapping.md "Persistence"); the survivor keeps its headers for SQS."""
    ch = amqp_channel(mqlite_server)
    ch.exchange_declare("audit-x", "fanout", durable=True)
    ch.queue_declare("audit-q", durable=True)
    ch.queue_bind("audit-q", "audit-x")
    ch.confirm_delivery()
    ch.basic_publish("audit-x", "", b"keep", pika.BasicProperties(delivery_mode=2, headers={"who": "ann"}))
    ch.basic_publish("audit-x", "", b"drop", pika.BasicProperties(delivery_mode=1))
    ch.connection.close()
    mqlite_server.restart()
    sqs = aws(mqlite_server, "sqs")
    url = sqs.get_queue_url(QueueName="audit-q")["QueueUrl"]
    out = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=1)
    (msg,) = out["Messages"]
    assert msg["Body"] == "keep"
    assert msg["MessageAttributes"] == {"who": {"DataType": "String", "StringValue": "ann"}}


def test_sqs_in_flight_message_survives_restart_and_reaches_pika_after_its_lease(mqlite_server: Any) -> None:
    """Leases are journaled (architecture.md, Queue): a message SQS received (not deleted)
    before a restart is still there afterwards; with visibility 0 AMQP gets it, redelivered."""
    sqs = aws(mqlite_server, "sqs")
    url = sqs.create_queue(QueueName="handoff")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="task", MessageAttributes={
        "step": {"DataType": "Number", "StringValue": "2"}})
    (msg,) = sqs.receive_message(QueueUrl=url)["Messages"]
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=msg["ReceiptHandle"], VisibilityTimeout=0)
    mqlite_server.restart()
    method, props, body = amqp_channel(mqlite_server).basic_get("handoff", auto_ack=True)
    assert body == b"task" and props.headers == {"step": 2}
    assert method.redelivered is True


def test_sns_subscription_and_eventbridge_rule_survive_restart_and_deliver_to_amqp(mqlite_server: Any) -> None:
    """Topics, subscriptions, buses and rules are catalog entities: after a restart a
    publish still reaches the queue, read over AMQP."""
    sqs = aws(mqlite_server, "sqs")
    sqs.create_queue(QueueName="after-restart")
    sns = aws(mqlite_server, "sns")
    arn = sns.create_topic(Name="t-restart")["TopicArn"]
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn("after-restart"),
                  Attributes={"RawMessageDelivery": "true"})
    events = aws(mqlite_server, "events")
    events.put_rule(Name="r-restart", EventPattern=json.dumps({"source": ["app"]}))
    events.put_targets(Rule="r-restart", Targets=[{"Id": "q", "Arn": queue_arn("after-restart")}])
    mqlite_server.restart()
    aws(mqlite_server, "sns").publish(TopicArn=arn, Message="via-sns")
    aws(mqlite_server, "events").put_events(Entries=[{"Source": "app", "DetailType": "x", "Detail": "{}"}])
    ch = amqp_channel(mqlite_server)
    bodies = []
    for _ in range(2):
        method, _p, body = ch.basic_get("after-restart", auto_ack=True)
        assert method is not None
        bodies.append(body)
    assert bodies[0] == b"via-sns" and json.loads(bodies[1])["source"] == "app"


def test_redis_consumer_group_over_a_kafka_topic_resumes_after_restart(mqlite_server: Any) -> None:
    """Redis consumer groups keep last-delivered-id and the PEL durably (resp/store.py);
    foreign records get the same IDs after a restart (they derive from the log), so a
    pending entry is still pending under its ID and `>` continues with what Kafka
    produced before and after the restart (Redis docs: XREADGROUP, XPENDING)."""
    producer = kafka_producer(mqlite_server)
    for i in range(2):
        producer.send("tasks", key=f"k{i}".encode(), value=f"task-{i}".encode(), partition=0)
    producer.flush()
    producer.close()
    r = redis_client(mqlite_server)
    r.xgroup_create("tasks", "workers", id="0")
    ((_, first),) = r.xreadgroup("workers", "w1", {"tasks": ">"}, count=1)
    (first_id, fields) = first[0]
    assert fields == {b"key": b"k0", b"value": b"task-0"}
    mqlite_server.restart()
    producer = kafka_producer(mqlite_server)
    producer.send("tasks", key=b"k2", value=b"task-2", partition=0)
    producer.flush()
    producer.close()
    r = redis_client(mqlite_server)
    pending = r.xpending_range("tasks", "workers", min="-", max="+", count=10)
    assert [p["message_id"] for p in pending] == [first_id]
    ((_, rest),) = r.xreadgroup("workers", "w1", {"tasks": ">"}, count=10)
    assert [f[b"value"] for _, f in rest] == [b"task-1", b"task-2"]
    assert r.xack("tasks", "workers", first_id) == 1
