"""Routers across protocols: SNS topics, EventBridge buses and AMQP exchanges are core
`Router`s whose bindings deliver into queues and streams that other front-ends read
(docs/cross-protocol.md "Routers"; architecture.md, Router).
"""

from __future__ import annotations

import json
from typing import Any

from cross_clients import (
    ACCOUNT,
    amqp_channel,
    aws,
    kafka_producer,
    kafka_read,
    queue_arn,
    redis_client,
)


def _subscribe_queue(server: Any, topic: str, queue: str, raw: bool) -> str:
    sns = aws(server, "sns")
    sqs = aws(server, "sqs")
    sqs.create_queue(QueueName=queue)
    arn = sns.create_topic(Name=topic)["TopicArn"]
    attrs = {"RawMessageDelivery": "true"} if raw else {}
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn(queue), Attributes=attrs)
    return str(arn)


def test_sns_publish_to_sqs_subscription_is_consumed_over_amqp_as_the_notification_envelope(mqlite_server: Any) -> None:
    """SNS -> SQS delivers the JSON notification (Type, MessageId, TopicArn, Subject,
    Message, Timestamp, SignatureVersion, Signature, ..., MessageAttributes inside the JSON:
    SNS docs "Amazon SNS message and JSON formats"); an AMQP basic.get of the same queue
    gets that JSON as the body and no headers (the queue message has no attributes)."""
    arn = _subscribe_queue(mqlite_server, "alerts", "alert-inbox", raw=False)
    mid = aws(mqlite_server, "sns").publish(TopicArn=arn, Message="disk full", Subject="ops", MessageAttributes={
        "severity": {"DataType": "String", "StringValue": "high"}})["MessageId"]
    ch = amqp_channel(mqlite_server)
    method, props, body = ch.basic_get("alert-inbox", auto_ack=True)
    note = json.loads(body)
    assert note["Type"] == "Notification"
    assert (note["MessageId"], note["TopicArn"], note["Message"], note["Subject"]) == (mid, arn, "disk full", "ops")
    assert note["MessageAttributes"] == {"severity": {"Type": "String", "Value": "high"}}
    assert {"Timestamp", "SignatureVersion", "Signature", "SigningCertURL", "UnsubscribeURL"} <= set(note)
    assert not props.headers
    assert (method.exchange, method.routing_key) == ("", "")


def test_sns_raw_delivery_reaches_amqp_with_message_attributes_as_headers(mqlite_server: Any) -> None:
    """RawMessageDelivery: the body is the message and SNS MessageAttributes become SQS
    message attributes (SNS docs "raw message delivery"), which AMQP reads as headers
    (amqp-mapping.md "SQS -> AMQP")."""
    arn = _subscribe_queue(mqlite_server, "raw-events", "raw-inbox", raw=True)
    aws(mqlite_server, "sns").publish(TopicArn=arn, Message="plain body", MessageAttributes={
        "tenant": {"DataType": "String", "StringValue": "acme"},
        "count": {"DataType": "Number", "StringValue": "3"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x07"}})
    _method, props, body = amqp_channel(mqlite_server).basic_get("raw-inbox", auto_ack=True)
    assert body == b"plain body"
    assert props.headers == {"tenant": "acme", "count": 3, "blob": b"\x07"}


def test_sns_filter_policy_decides_which_amqp_reader_gets_the_message(mqlite_server: Any) -> None:
    """An SNS filter policy on message attributes (SNS docs "subscription filter policies")
    routes before the queue; the AMQP reader of the other queue sees nothing."""
    sns = aws(mqlite_server, "sns")
    sqs = aws(mqlite_server, "sqs")
    arn = sns.create_topic(Name="orders-topic")["TopicArn"]
    for q, region in (("eu-orders", "eu"), ("us-orders", "us")):
        sqs.create_queue(QueueName=q)
        sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn(q),
                      Attributes={"FilterPolicy": json.dumps({"region": [region]}), "RawMessageDelivery": "true"})
    sns.publish(TopicArn=arn, Message="o-1", MessageAttributes={"region": {"DataType": "String", "StringValue": "eu"}})
    ch = amqp_channel(mqlite_server)
    assert ch.basic_get("eu-orders", auto_ack=True)[2] == b"o-1"
    assert ch.basic_get("us-orders", auto_ack=True)[0] is None


def _put_rule(server: Any, name: str, target_arn: str) -> Any:
    events = aws(server, "events")
    events.put_rule(Name=name, EventPattern=json.dumps({"source": ["shop"], "detail-type": ["OrderPlaced"]}))
    events.put_targets(Rule=name, Targets=[{"Id": "t1", "Arn": target_arn}])
    return events


def _put_order(events: Any, order: int) -> str:
    out = events.put_events(Entries=[{"Source": "shop", "DetailType": "OrderPlaced",
                                      "Detail": json.dumps({"order": order})}])
    assert out["FailedEntryCount"] == 0
    return str(out["Entries"][0]["EventId"])


def test_eventbridge_rule_with_kafka_topic_target_delivers_the_event_json_to_a_kafka_consumer(mqlite_server: Any) -> None:
    """A `kafka` target ARN's last segment names the mqlite stream (events/delivery.py);
    the record is the EventBridge event JSON (EventBridge docs "event structure"), no key."""
    producer = kafka_producer(mqlite_server)
    producer.send("shop-events", value=b"seed", partition=0)  # the topic must exist (auto-create)
    producer.flush()
    producer.close()
    events = _put_rule(mqlite_server, "orders-to-kafka",
                       f"arn:aws:kafka:us-east-1:{ACCOUNT}:topic/local/cluster-id/shop-events")
    event_id = _put_order(events, 7)
    seed, record = kafka_read(mqlite_server, "shop-events", 2)
    assert seed.value == b"seed"
    event = json.loads(record.value)
    assert (event["id"], event["source"], event["detail-type"], event["detail"]) == (
        event_id, "shop", "OrderPlaced", {"order": 7})
    assert {"version", "account", "time", "region", "resources"} <= set(event)
    assert record.key is None and list(record.headers) == []


def test_eventbridge_rule_with_kinesis_target_is_read_by_redis_and_kafka(mqlite_server: Any) -> None:
    """A `kinesis` target appends with the event id as partition key (EventBridge docs:
    "if you don't specify PartitionKeyPath, the event ID is used"): Kafka sees that key,
    Redis the fields key/value."""
    kinesis = aws(mqlite_server, "kinesis")
    kinesis.create_stream(StreamName="audit-trail", ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName="audit-trail", WaiterConfig={"Delay": 0.2})
    events = _put_rule(mqlite_server, "orders-to-kinesis", f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/audit-trail")
    event_id = _put_order(events, 8)
    (record,) = kafka_read(mqlite_server, "audit-trail", 1)
    assert record.key == event_id.encode()
    assert json.loads(record.value)["detail"] == {"order": 8}
    ((_, fields),) = redis_client(mqlite_server).xrange("audit-trail")
    assert fields[b"key"] == event_id.encode() and json.loads(fields[b"value"])["id"] == event_id


def test_eventbridge_rule_with_sqs_target_is_consumed_with_pika(mqlite_server: Any) -> None:
    """An `sqs` target sends the event JSON as the message body with no attributes
    (events/delivery.py _to_queue); pika reads it from the same queue."""
    aws(mqlite_server, "sqs").create_queue(QueueName="order-work")
    events = _put_rule(mqlite_server, "orders-to-sqs", queue_arn("order-work"))
    event_id = _put_order(events, 9)
    _put_order_other = events.put_events(Entries=[{"Source": "crm", "DetailType": "OrderPlaced", "Detail": "{}"}])
    assert _put_order_other["FailedEntryCount"] == 0
    ch = amqp_channel(mqlite_server)
    _method, props, body = ch.basic_get("order-work", auto_ack=True)
    event = json.loads(body)
    assert (event["id"], event["detail"]) == (event_id, {"order": 9})
    assert not props.headers and props.message_id
    assert ch.basic_get("order-work")[0] is None  # the crm event did not match the pattern


def test_eventbridge_rule_with_sns_target_fans_out_to_an_amqp_reader(mqlite_server: Any) -> None:
    """EventBridge -> SNS topic (published through SNS: envelopes) -> SQS queue -> pika:
    three routers' worth of hops, one message."""
    arn = _subscribe_queue(mqlite_server, "order-fanout", "fanout-inbox", raw=True)
    events = _put_rule(mqlite_server, "orders-to-sns", arn)
    event_id = _put_order(events, 10)
    _m, _p, body = amqp_channel(mqlite_server).basic_get("fanout-inbox", auto_ack=True)
    assert json.loads(body)["id"] == event_id


def test_amqp_exchange_bound_to_a_redis_channel_in_core_reaches_a_redis_subscriber(mqlite_server: Any) -> None:
    """Routers can target live channels (architecture.md: Destination kind `channel`) and
    Redis Pub/Sub subscribers are `core.channels` subscribers (resp/pubsub_hub.py), so an
    AMQP publish can reach SUBSCRIBE. No front-end API creates such a binding (AMQP binds
    queues and exchanges, SNS subscribes queues/endpoints, EventBridge has no channel
    target), so the binding is made on the core here; docs/cross-protocol.md says so."""
    from mqlite.core.router import Destination, MatcherKind

    ch = amqp_channel(mqlite_server)
    ch.exchange_declare("ticker", "fanout")
    mqlite_server.call(lambda: mqlite_server.core.get_router("ticker").bind(
        Destination.channel("prices"), MatcherKind.FANOUT))
    sub = redis_client(mqlite_server).pubsub()
    sub.subscribe("prices")
    assert sub.get_message(timeout=5)["type"] == "subscribe"
    ch.basic_publish("ticker", "", b"ACME 12.5")
    msg = sub.get_message(timeout=5)
    assert msg is not None and (msg["channel"], msg["data"]) == (b"prices", b"ACME 12.5")
    sub.close()


def test_redis_publish_reaches_only_redis_subscribers(mqlite_server: Any) -> None:
    """Redis PUBLISH goes to `core.channels` only: channels have no storage and no router
    in front (DESIGN.md "Channels"), so no queue or stream of another protocol sees it.
    PUBLISH's reply counts receivers (Redis docs)."""
    r = redis_client(mqlite_server)
    sub = r.pubsub()
    sub.psubscribe("news.*")
    assert sub.get_message(timeout=5)["type"] == "psubscribe"
    assert r.publish("news.eu", "hello") == 1
    msg = sub.get_message(timeout=5)
    assert (msg["type"], msg["channel"], msg["data"]) == ("pmessage", b"news.eu", b"hello")
    assert r.exists("news.eu") == 0  # not a stream key: nothing was stored
    sub.close()


def test_sns_fifo_topic_to_sqs_fifo_queue_keeps_group_order_for_an_amqp_reader(mqlite_server: Any) -> None:
    """SNS FIFO topics deliver to SQS FIFO queues in MessageGroupId order (SNS FIFO docs);
    the AMQP reader of that queue gets the group's messages in publish order."""
    sns = aws(mqlite_server, "sns")
    sqs = aws(mqlite_server, "sqs")
    sqs.create_queue(QueueName="ledger.fifo", Attributes={"FifoQueue": "true"})
    arn = sns.create_topic(Name="ledger.fifo", Attributes={"FifoTopic": "true",
                                                           "ContentBasedDeduplication": "true"})["TopicArn"]
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn("ledger.fifo"),
                  Attributes={"RawMessageDelivery": "true"})
    for i in range(3):
        sns.publish(TopicArn=arn, Message=f"tx-{i}", MessageGroupId="acct-1")
    ch = amqp_channel(mqlite_server)
    bodies = []
    for _ in range(3):
        method, _props, body = ch.basic_get("ledger.fifo")
        bodies.append(body)
        ch.basic_ack(method.delivery_tag)
    assert bodies == [b"tx-0", b"tx-1", b"tx-2"]
