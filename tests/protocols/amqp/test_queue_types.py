"""Quorum and stream queues (x-queue-type) with pika, as RabbitMQ serves them.

Rules and reply texts are RabbitMQ's (quorum queues and streams guides; the texts were
checked against rabbitmq-server in the same run as mqlite, see docs/protocols.md)."""

from __future__ import annotations

import datetime
import time
import warnings
from typing import Any

import pika
import pika.exceptions
import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import kafka
    import kafka.structs

QUORUM = {"x-queue-type": "quorum"}
STREAM = {"x-queue-type": "stream"}


def _consume(conn: Any, queue: str, count: int, offset: Any = None, prefetch: int = 10) -> list[tuple[bytes, Any]]:
    """Consume `count` messages from a stream queue with manual acks."""
    ch = conn.channel()
    ch.basic_qos(prefetch_count=prefetch)
    got: list[tuple[bytes, Any]] = []

    def on_message(c: Any, m: Any, p: Any, body: bytes) -> None:
        got.append((body, p.headers.get("x-stream-offset")))
        c.basic_ack(m.delivery_tag)

    ch.basic_consume(queue, on_message, arguments={} if offset is None else {"x-stream-offset": offset})
    deadline = time.monotonic() + 10
    while len(got) < count and time.monotonic() < deadline:
        conn.process_data_events(0.05)
    ch.close()
    return got


# -- quorum queues ------------------------------------------------------------------------
@pytest.mark.parametrize(("kwargs", "args", "text"), [
    ({}, {"x-max-priority": 5},
     "PRECONDITION_FAILED - invalid arg 'x-max-priority' for queue 'qq' in vhost '/' of queue type rabbit_quorum_queue"),
    ({"exclusive": True}, {}, "PRECONDITION_FAILED - invalid property 'exclusive-owner' for queue 'qq' in vhost '/'"),
    ({"auto_delete": True}, {}, "PRECONDITION_FAILED - invalid property 'auto-delete' for queue 'qq' in vhost '/'"),
    ({"durable": False}, {}, "PRECONDITION_FAILED - invalid property 'non-durable' for queue 'qq' in vhost '/'"),
    ({}, {"x-dead-letter-strategy": "sometimes"},
     "PRECONDITION_FAILED - invalid arg 'x-dead-letter-strategy' for queue 'qq' in vhost '/': invalid_dlx_strategy"),
])
def test_quorum_queue_refuses_what_rabbitmq_refuses(channel: Any, kwargs: dict[str, Any], args: dict[str, Any],
                                                    text: str) -> None:
    params = {"durable": True, **kwargs}
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as err:
        channel.queue_declare("qq", arguments={**QUORUM, **args}, **params)
    assert err.value.reply_code == 406 and err.value.reply_text == text


def test_server_named_quorum_queue_is_refused(channel: Any) -> None:
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as err:
        channel.queue_declare("", durable=True, arguments=QUORUM)
    assert err.value.args == (406, "PRECONDITION_FAILED - Cannot declare a server-named queue for type "
                                   "rabbit_quorum_queue")


def test_poison_message_is_dead_lettered_past_the_delivery_limit(channel: Any) -> None:
    """x-delivery-limit 1: delivered twice (x-delivery-count 0, then 1), then the second
    return dead-letters it with reason delivery_limit (RabbitMQ quorum queues guide)."""
    channel.exchange_declare("poison.dlx", "fanout")
    channel.queue_declare("poison.dead")
    channel.queue_bind("poison.dead", "poison.dlx")
    channel.queue_declare("work", durable=True,
                          arguments={**QUORUM, "x-delivery-limit": 1, "x-dead-letter-exchange": "poison.dlx"})
    channel.basic_publish("", "work", b"poison", pika.BasicProperties(headers={"job": 7}))
    counts = []
    for _ in range(2):
        method, props, body = channel.basic_get("work")
        assert body == b"poison"
        counts.append((method.redelivered, props.headers["x-delivery-count"]))
        channel.basic_nack(method.delivery_tag, requeue=True)
    assert counts == [(False, 0), (True, 1)]
    assert channel.basic_get("work") == (None, None, None)
    method, props, body = channel.basic_get("poison.dead", auto_ack=True)
    assert body == b"poison" and props.headers["job"] == 7
    death = props.headers["x-death"][0]
    assert (death["reason"], death["queue"], death["count"]) == ("delivery_limit", "work", 1)
    assert props.headers["x-first-death-reason"] == "delivery_limit"


def test_returns_by_channel_close_count_towards_the_delivery_limit(connect: Any) -> None:
    conn = connect()
    ch = conn.channel()
    ch.queue_declare("dead-end")
    ch.queue_declare("jobs", durable=True,
                     arguments={**QUORUM, "x-delivery-limit": 0, "x-dead-letter-exchange": "",
                                "x-dead-letter-routing-key": "dead-end"})
    ch.basic_publish("", "jobs", b"crashes its consumer")
    other = conn.channel()
    assert other.basic_get("jobs")[2] == b"crashes its consumer"
    other.close()  # the consumer died: returned once, over a limit of 0
    assert ch.basic_get("jobs") == (None, None, None)
    method, props, body = ch.basic_get("dead-end", auto_ack=True)
    assert body == b"crashes its consumer" and props.headers["x-death"][0]["reason"] == "delivery_limit"


def test_quorum_queue_acks_and_rejects_like_a_classic_queue(channel: Any) -> None:
    channel.queue_declare("orders", durable=True,
                          arguments={**QUORUM, "x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"})
    channel.confirm_delivery()
    channel.basic_publish("", "orders", b"a")
    channel.basic_publish("", "orders", b"b")
    m, _, body = channel.basic_get("orders")
    assert body == b"a"
    channel.basic_ack(m.delivery_tag)
    m, p, body = channel.basic_get("orders")
    assert body == b"b" and p.headers == {"x-delivery-count": 0}
    channel.basic_reject(m.delivery_tag, requeue=False)  # no DLX: dropped
    assert channel.queue_declare("orders", passive=True).method.message_count == 0


# -- stream queues ------------------------------------------------------------------------
def test_stream_queue_is_read_from_first_offset_timestamp_and_interval(connect: Any) -> None:
    conn = connect()
    ch = conn.channel()
    ch.queue_declare("events", durable=True, arguments={**STREAM, "x-max-age": "7D", "x-max-length-bytes": 10**8})
    ch.confirm_delivery()
    for i in range(5):
        ch.basic_publish("", "events", b"e%d" % i)
    everything = [(b"e%d" % i, i) for i in range(5)]
    assert _consume(conn, "events", 5, "first") == everything
    assert _consume(conn, "events", 5, "first") == everything  # non-destructive: again
    assert _consume(conn, "events", 3, 2) == everything[2:]
    assert _consume(conn, "events", 1, "last") == everything[4:]
    past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)
    assert _consume(conn, "events", 5, past) == everything
    assert _consume(conn, "events", 5, "1h") == everything
    assert ch.queue_declare("events", durable=True, arguments={**STREAM, "x-max-age": "7D",
                                                                  "x-max-length-bytes": 10**8}).method.message_count == 5


def test_stream_queue_consumer_from_next_gets_only_new_messages(connect: Any) -> None:
    conn = connect()
    ch = conn.channel()
    ch.queue_declare("ticks", durable=True, arguments=STREAM)
    ch.basic_publish("", "ticks", b"old")
    sub = conn.channel()
    sub.basic_qos(prefetch_count=1)
    got: list[bytes] = []

    def on_message(c: Any, m: Any, p: Any, body: bytes) -> None:
        got.append(body)
        c.basic_ack(m.delivery_tag)

    sub.basic_consume("ticks", on_message)  # no x-stream-offset: next
    conn.process_data_events(0.2)
    for body in (b"new1", b"new2", b"new3"):  # prefetch 1: acks let the next ones through
        ch.basic_publish("", "ticks", body)
    deadline = time.monotonic() + 10
    while len(got) < 3 and time.monotonic() < deadline:
        conn.process_data_events(0.05)
    assert got == [b"new1", b"new2", b"new3"]


def test_stream_queue_messages_are_the_kafka_topic_of_that_name(mqlite_server: Any, connect: Any) -> None:
    """A stream queue is a core stream: a Kafka consumer reads what AMQP published (via an
    exchange too), and an AMQP stream consumer reads what a Kafka producer wrote."""
    conn = connect()
    ch = conn.channel()
    ch.queue_declare("shared", durable=True, arguments=STREAM)
    ch.exchange_declare("fan", "fanout")
    ch.queue_bind("shared", "fan")
    ch.confirm_delivery()
    ch.basic_publish("", "shared", b"direct", pika.BasicProperties(content_type="text/plain"))
    ch.basic_publish("fan", "", b"via exchange")
    producer = kafka.KafkaProducer(bootstrap_servers=f"127.0.0.1:{mqlite_server.kafka_port}")
    producer.send("shared", b"from kafka", key=b"k1", headers=[("origin", b"kafka")]).get(timeout=10)
    producer.close()
    consumer = kafka.KafkaConsumer(bootstrap_servers=f"127.0.0.1:{mqlite_server.kafka_port}",
                                   enable_auto_commit=False, consumer_timeout_ms=10_000)
    tp = kafka.structs.TopicPartition("shared", 0)
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    values = [r.value for _, r in zip(range(3), consumer, strict=False)]
    consumer.close()
    assert values == [b"direct", b"via exchange", b"from kafka"]
    amqp_ch = conn.channel()
    amqp_ch.basic_qos(prefetch_count=5)
    got: list[Any] = []
    amqp_ch.basic_consume("shared", lambda c, m, p, b: got.append((b, p.headers, p.content_type, m.routing_key)),
                          arguments={"x-stream-offset": "first"})
    deadline = time.monotonic() + 10
    while len(got) < 3 and time.monotonic() < deadline:
        conn.process_data_events(0.05)
    assert got[0] == (b"direct", {"x-stream-offset": 0}, "text/plain", "shared")
    assert got[1][0] == b"via exchange"
    assert got[2] == (b"from kafka", {"origin": "kafka", "x-stream-offset": 2}, None, "k1")


@pytest.mark.parametrize(("args", "text"), [
    ({"x-max-age": "1X"}, "PRECONDITION_FAILED - invalid arg 'x-max-age' for queue 's' in vhost '/': invalid_max_age"),
    ({"x-max-priority": 5},
     "PRECONDITION_FAILED - invalid arg 'x-max-priority' for queue 's' in vhost '/' of queue type rabbit_stream_queue"),
    ({"x-message-ttl": 5},
     "PRECONDITION_FAILED - invalid arg 'x-message-ttl' for queue 's' in vhost '/' of queue type rabbit_stream_queue"),
])
def test_stream_queue_declare_refusals(channel: Any, args: dict[str, Any], text: str) -> None:
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as err:
        channel.queue_declare("s", durable=True, arguments={**STREAM, **args})
    assert err.value.args == (406, text)


def test_stream_queue_consume_needs_a_prefetch_and_manual_acks(connect: Any) -> None:
    conn = connect()
    ch = conn.channel()
    ch.queue_declare("s", durable=True, arguments=STREAM)
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as err:
        ch.basic_consume("s", lambda *a: None)
    assert err.value.args == (406, "PRECONDITION_FAILED - consumer prefetch count is not set for "
                                   "'queue 's' in vhost '/''")
    ch = conn.channel()
    ch.basic_qos(prefetch_count=1)
    with pytest.raises(pika.exceptions.ConnectionClosedByBroker) as err2:
        ch.basic_consume("s", lambda *a: None, auto_ack=True)
    assert err2.value.args == (540, "NOT_IMPLEMENTED - automatic acknowledgement not supported by stream "
                                    "queues queue 's' in vhost '/'")


@pytest.mark.parametrize("offset", ["bogus", True, {"a": 1}])
def test_invalid_stream_offset_closes_the_connection_with_internal_error(connect: Any, offset: Any) -> None:
    """RabbitMQ crashes the channel on an x-stream-offset it cannot parse: 541."""
    conn = connect()
    ch = conn.channel()
    ch.queue_declare("s", durable=True, arguments=STREAM)
    ch.basic_qos(prefetch_count=1)
    with pytest.raises(pika.exceptions.ConnectionClosedByBroker) as err:
        ch.basic_consume("s", lambda *a: None, arguments={"x-stream-offset": offset})
        conn.process_data_events(1)
    assert err.value.args == (541, "INTERNAL_ERROR")
    assert connect().channel().queue_declare("s", passive=True)  # the server goes on


@pytest.mark.parametrize(("action", "what"), [
    ("get", "basic.get"), ("purge", "queue.purge"), ("nack", "basic.nack and basic.reject"),
])
def test_stream_queue_refuses_get_purge_and_nack(connect: Any, action: str, what: str) -> None:
    conn = connect()
    ch = conn.channel()
    ch.queue_declare("s", durable=True, arguments=STREAM)
    ch.basic_publish("", "s", b"x")
    with pytest.raises(pika.exceptions.ConnectionClosedByBroker) as err:
        if action == "get":
            ch.basic_get("s")
        elif action == "purge":
            ch.queue_purge("s")
        else:
            ch.basic_qos(prefetch_count=1)
            tags: list[int] = []
            ch.basic_consume("s", lambda c, m, p, b: tags.append(m.delivery_tag), arguments={"x-stream-offset": "first"})
            while not tags:
                conn.process_data_events(0.05)
            ch.basic_nack(tags[0], requeue=True)
            conn.process_data_events(1)
    assert err.value.args == (540, f"NOT_IMPLEMENTED - {what} not supported by stream queues queue 's' in vhost '/'")


def test_stream_and_quorum_queues_survive_a_restart(mqlite_server: Any) -> None:
    def connection() -> Any:
        return pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", mqlite_server.amqp_port))

    conn = connection()
    ch = conn.channel()
    ch.queue_declare("log", durable=True, arguments={**STREAM, "x-max-age": "1D"})
    ch.queue_declare("jobs", durable=True, arguments={**QUORUM, "x-delivery-limit": 3})
    ch.confirm_delivery()
    ch.basic_publish("", "log", b"kept", pika.BasicProperties(delivery_mode=2))
    ch.basic_publish("", "jobs", b"job", pika.BasicProperties(delivery_mode=2))
    conn.close()
    mqlite_server.restart()
    conn = connection()
    assert _consume(conn, "log", 1, "first") == [(b"kept", 0)]
    ch = conn.channel()
    method, props, body = ch.basic_get("jobs", auto_ack=True)
    assert body == b"job" and props.headers == {"x-delivery-count": 0}
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as err:  # the type is remembered
        ch.queue_declare("log", durable=True)
    assert err.value.reply_code == 406 and "x-queue-type" in err.value.reply_text
