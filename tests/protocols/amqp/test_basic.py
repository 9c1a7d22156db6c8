"""Basic, Confirm, Tx and Channel.Flow: publish/consume/get/ack/nack/reject/recover/qos
(AMQP 0-9-1 reference with RabbitMQ's extensions), with pika."""

from __future__ import annotations

import decimal
import time
from typing import Any

import pika
import pika.exceptions
import pytest


def _pump(conns: list[Any], until: Any, timeout: float = 5.0, settle: float = 0.0) -> None:
    """Run pika I/O until `until()` holds (pika's process_data_events returns after the
    first dispatched event, so one call is not enough), then `settle` seconds more."""
    deadline = time.monotonic() + timeout
    while not until() and time.monotonic() < deadline:
        for c in conns:
            c.process_data_events(0.02)
    end = time.monotonic() + settle
    while time.monotonic() < end:
        for c in conns:
            c.process_data_events(0.02)


def _drain(ch: Any, queue: str) -> list[bytes]:
    out = []
    while True:
        m, _, body = ch.basic_get(queue, auto_ack=True)
        if m is None:
            return out
        out.append(body)


def test_publish_consume_ack_in_order(channel: Any) -> None:
    channel.queue_declare("work")
    for i in range(50):
        channel.basic_publish("", "work", b"%d" % i)
    got: list[bytes] = []
    for method, _, body in channel.consume("work", inactivity_timeout=2):
        if method is None:
            break
        got.append(body)
        channel.basic_ack(method.delivery_tag)
        if len(got) == 50:
            break
    channel.cancel()
    assert got == [b"%d" % i for i in range(50)]
    assert channel.queue_declare("work", passive=True).method.message_count == 0


def test_publisher_confirms_ack_every_publish(channel: Any) -> None:
    """RabbitMQ Confirm.Select: every publish is acked once the queue has it."""
    channel.queue_declare("conf", durable=True)
    channel.confirm_delivery()
    for i in range(20):
        channel.basic_publish("", "conf", b"x", pika.BasicProperties(delivery_mode=2))
    assert channel.queue_declare("conf", passive=True).method.message_count == 20


def test_mandatory_unroutable_is_returned_before_the_confirm(channel: Any) -> None:
    """RabbitMQ: basic.return is sent before basic.ack for an unroutable mandatory message."""
    channel.confirm_delivery()
    with pytest.raises(pika.exceptions.UnroutableError) as err:
        channel.basic_publish("amq.direct", "nobody-home", b"lost", mandatory=True)
    (returned,) = err.value.messages
    assert returned.method.reply_code == 312 and returned.method.reply_text == "NO_ROUTE"
    assert returned.body == b"lost"


def test_prefetch_window_is_honoured(connect: Any) -> None:
    """Basic.Qos prefetch_count: no more than N unacked deliveries per consumer."""
    conn = connect()
    ch = conn.channel()
    ch.queue_declare("pf")
    for i in range(20):
        ch.basic_publish("", "pf", b"%d" % i)
    ch.basic_qos(prefetch_count=3)
    seen: list[Any] = []
    ch.basic_consume("pf", lambda c, m, p, b: seen.append(m))
    _pump([conn], lambda: len(seen) >= 3, settle=0.3)
    assert len(seen) == 3
    ch.basic_ack(seen[0].delivery_tag)
    _pump([conn], lambda: len(seen) >= 4, settle=0.3)
    assert len(seen) == 4
    ch.basic_ack(seen[-1].delivery_tag, multiple=True)
    _pump([conn], lambda: len(seen) >= 7, settle=0.3)
    assert len(seen) == 7


def test_global_prefetch_is_shared_by_the_channel(connect: Any) -> None:
    conn = connect()
    ch = conn.channel()
    for q in ("g1", "g2"):
        ch.queue_declare(q)
        for i in range(5):
            ch.basic_publish("", q, b"x")
    ch.basic_qos(prefetch_count=4, global_qos=True)
    seen: list[Any] = []
    ch.basic_consume("g1", lambda c, m, p, b: seen.append(m))
    ch.basic_consume("g2", lambda c, m, p, b: seen.append(m))
    _pump([conn], lambda: len(seen) >= 4, settle=0.3)
    assert len(seen) == 4


def test_nack_requeue_puts_messages_back_in_original_order(channel: Any) -> None:
    """RabbitMQ: requeued messages go back to their original position where possible."""
    channel.queue_declare("rq")
    for i in range(5):
        channel.basic_publish("", "rq", b"%d" % i)
    tags = [channel.basic_get("rq")[0].delivery_tag for _ in range(3)]
    channel.basic_nack(tags[-1], multiple=True, requeue=True)
    ms = [channel.basic_get("rq") for _ in range(5)]
    assert [b for _, _, b in ms] == [b"0", b"1", b"2", b"3", b"4"]
    assert [m.redelivered for m, _, _ in ms] == [True, True, True, False, False]


def test_reject_without_requeue_drops_the_message(channel: Any) -> None:
    channel.queue_declare("rj")
    channel.basic_publish("", "rj", b"bad")
    m, _, _ = channel.basic_get("rj")
    channel.basic_reject(m.delivery_tag, requeue=False)
    assert channel.basic_get("rj")[0] is None


def test_get_empty_and_message_count(channel: Any) -> None:
    channel.queue_declare("g")
    assert channel.basic_get("g") == (None, None, None)
    channel.basic_publish("", "g", b"a")
    channel.basic_publish("", "g", b"b")
    m, _, body = channel.basic_get("g", auto_ack=True)
    assert (body, m.message_count) == (b"a", 1)


def test_unknown_delivery_tag_is_precondition_failed(channel: Any) -> None:
    """RabbitMQ: 406 PRECONDITION_FAILED - unknown delivery tag N."""
    channel.queue_declare("udt")
    channel.basic_ack(99)
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as err:
        channel.queue_declare("udt")
    assert (err.value.reply_code, err.value.reply_text) == (406, "PRECONDITION_FAILED - unknown delivery tag 99")


def test_closing_a_channel_requeues_its_unacked_messages(connect: Any) -> None:
    conn = connect()
    ch = conn.channel()
    ch.queue_declare("cq")
    ch.basic_publish("", "cq", b"keep")
    assert ch.basic_get("cq")[2] == b"keep"
    ch.close()
    m, _, body = conn.channel().basic_get("cq")
    assert body == b"keep" and m.redelivered


def test_recover_redelivers_unacked(channel: Any) -> None:
    channel.queue_declare("rec")
    channel.basic_publish("", "rec", b"r")
    channel.basic_get("rec")
    channel.basic_recover(requeue=True)
    m, _, body = channel.basic_get("rec", auto_ack=True)
    assert body == b"r" and m.redelivered


def test_tx_commit_and_rollback(connect: Any) -> None:
    """Tx class: publishes are applied on commit and discarded on rollback."""
    ch = connect().channel()
    ch.queue_declare("txq")
    ch.tx_select()
    ch.basic_publish("", "txq", b"dropped")
    ch.tx_rollback()
    ch.basic_publish("", "txq", b"kept")
    probe = connect().channel()
    assert probe.queue_declare("txq", passive=True).method.message_count == 0
    ch.tx_commit()
    assert _drain(probe, "txq") == [b"kept"]


def test_consumer_is_cancelled_when_its_queue_is_deleted(connect: Any) -> None:
    """RabbitMQ consumer_cancel_notify: basic.cancel from the server."""
    conn = connect()
    ch = conn.channel()
    ch.queue_declare("doomed")
    cancelled: list[Any] = []
    ch.add_on_cancel_callback(lambda frame: cancelled.append(frame.method.consumer_tag))
    tag = ch.basic_consume("doomed", lambda *a: None)
    connect().channel().queue_delete("doomed")
    _pump([conn], lambda: bool(cancelled))
    assert cancelled == [tag]


def test_exclusive_consumer_refuses_others(connect: Any) -> None:
    ch = connect().channel()
    ch.queue_declare("exq")
    ch.basic_consume("exq", lambda *a: None, exclusive=True)
    other = connect().channel()
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as err:
        other.basic_consume("exq", lambda *a: None)
    assert err.value.reply_code == 403


def test_properties_round_trip_exactly(channel: Any) -> None:
    """Every basic property and header field type comes back as published."""
    headers = {"s": "text", "i": 42, "big": 2**40, "neg": -700, "b": True,
               "d": decimal.Decimal("1.25"), "t": {"n": [1, "x"]}, "a": [1, 2], "v": None,
               "bytes": b"\x00\x01"}
    props = pika.BasicProperties(
        content_type="text/plain", content_encoding="utf-8", headers=headers, delivery_mode=2, priority=3,
        correlation_id="c1", reply_to="r1", expiration="600000", message_id="m1",
        timestamp=1700000000, type="kind", user_id="guest", app_id="app",
    )
    channel.queue_declare("props")
    channel.basic_publish("", "props", b"p", props)
    _, got, body = channel.basic_get("props", auto_ack=True)
    assert body == b"p"
    for field in ("content_type", "content_encoding", "delivery_mode", "priority", "correlation_id",
                  "reply_to", "expiration", "message_id", "timestamp", "type", "user_id", "app_id"):
        assert getattr(got, field) == getattr(props, field), field
    assert got.headers == headers


def test_large_message_is_split_and_reassembled(channel: Any) -> None:
    body = bytes(range(256)) * 4000  # ~1 MB, many frames
    channel.queue_declare("big")
    channel.basic_publish("", "big", body)
    assert channel.basic_get("big", auto_ack=True)[2] == body


def test_direct_reply_to_rpc(connect: Any) -> None:
    """RabbitMQ direct reply-to: amq.rabbitmq.reply-to pseudo-queue."""
    client_conn = connect()
    client = client_conn.channel()
    replies: list[bytes] = []
    client.basic_consume("amq.rabbitmq.reply-to", lambda c, m, p, b: replies.append(b), auto_ack=True)
    server = connect().channel()
    server.queue_declare("rpc")
    client.basic_publish("", "rpc", b"ping", pika.BasicProperties(reply_to="amq.rabbitmq.reply-to"))
    m = None
    deadline = time.monotonic() + 5
    while m is None and time.monotonic() < deadline:
        m, props, _body = server.basic_get("rpc", auto_ack=True)
    assert props.reply_to.startswith("amq.rabbitmq.reply-to.")
    server.basic_publish("", props.reply_to, b"pong")
    _pump([client_conn], lambda: bool(replies))
    assert replies == [b"pong"]


def test_channel_flow_is_acknowledged(channel: Any) -> None:
    """Channel.Flow active=false is answered with Flow-Ok(false)."""
    answers: list[bool] = []
    channel._impl.flow(False, answers.append)
    _pump([channel.connection], lambda: bool(answers))
    assert answers == [False] and channel.is_open


def test_select_connection_publish_and_consume(mqlite_server: Any) -> None:
    """pika's asynchronous SelectConnection works end to end."""
    params = pika.ConnectionParameters("127.0.0.1", mqlite_server.amqp_port)
    got: list[bytes] = []

    def on_open(conn: Any) -> None:
        conn.channel(on_open_callback=on_channel)

    def on_channel(ch: Any) -> None:
        def on_declared(_: Any) -> None:
            ch.basic_consume("sel", on_message)
            ch.basic_publish("", "sel", b"async")

        def on_message(c: Any, m: Any, p: Any, body: bytes) -> None:
            got.append(body)
            c.basic_ack(m.delivery_tag)
            c.connection.close()

        ch.queue_declare("sel", callback=on_declared)

    conn = pika.SelectConnection(params, on_open_callback=on_open,
                                 on_close_callback=lambda c, r: c.ioloop.stop())
    conn.ioloop.call_later(10, conn.ioloop.stop)
    conn.ioloop.start()
    assert got == [b"async"]


def test_unacked_consumer_does_not_receive_past_its_window(connect: Any) -> None:
    """A consumer that never acks holds at most prefetch messages (memory stays bounded)."""
    conn = connect()
    ch = conn.channel()
    ch.queue_declare("hog")
    for i in range(300):
        ch.basic_publish("", "hog", b"x" * 100)
    ch.basic_qos(prefetch_count=10)
    seen: list[Any] = []
    ch.basic_consume("hog", lambda c, m, p, b: seen.append(m))
    _pump([conn], lambda: len(seen) >= 10, settle=0.3)
    assert len(seen) == 10
    counts = connect().channel().queue_declare("hog", passive=True).method
    assert counts.message_count == 290


def test_single_active_consumer_gets_everything_until_it_cancels(connect: Any) -> None:
    """RabbitMQ x-single-active-consumer: one consumer at a time; the next takes over."""
    conn = connect()
    ch = conn.channel()
    conn2 = connect()
    ch2 = conn2.channel()
    ch.queue_declare("sac", arguments={"x-single-active-consumer": True})
    first: list[bytes] = []
    second: list[bytes] = []
    tag1 = ch.basic_consume("sac", lambda c, m, p, b: (first.append(b), c.basic_ack(m.delivery_tag)))
    ch2.basic_consume("sac", lambda c, m, p, b: (second.append(b), c.basic_ack(m.delivery_tag)))
    for i in range(6):
        ch.basic_publish("", "sac", b"%d" % i)
    _pump([conn, conn2], lambda: len(first) == 6, settle=0.3)
    assert (len(first), second) == (6, [])
    ch.basic_cancel(tag1)
    ch.basic_publish("", "sac", b"next")
    _pump([conn, conn2], lambda: bool(second))
    assert second == [b"next"]


def test_consumer_priority_serves_the_highest_consumer_with_credit(connect: Any) -> None:
    """RabbitMQ x-priority: lower-priority consumers get messages only while every
    higher-priority consumer is blocked (prefetch full)."""
    a, b = connect(), connect()
    cha, chb = a.channel(), b.channel()
    cha.queue_declare("cprio")
    cha.basic_qos(prefetch_count=2)
    chb.basic_qos(prefetch_count=2)
    high: list[Any] = []
    low: list[Any] = []
    cha.basic_consume("cprio", lambda c, m, p, body: low.append(m), arguments={"x-priority": 1})
    chb.basic_consume("cprio", lambda c, m, p, body: high.append(m), arguments={"x-priority": 10})
    for i in range(3):
        cha.basic_publish("", "cprio", b"%d" % i)
    _pump([a, b], lambda: len(high) + len(low) == 3, settle=0.3)
    assert (len(high), len(low)) == (2, 1)


def test_work_queue_shares_messages_between_consumers(connect: Any) -> None:
    """Competing consumers with prefetch 1 share one queue; each message goes to one."""
    a, b = connect(), connect()
    cha, chb = a.channel(), b.channel()
    cha.queue_declare("tasks")
    got_a: list[bytes] = []
    got_b: list[bytes] = []
    for ch, got in ((cha, got_a), (chb, got_b)):
        ch.basic_qos(prefetch_count=1)
        ch.basic_consume("tasks", lambda c, m, p, body, got=got: (got.append(body), c.basic_ack(m.delivery_tag)))
    for i in range(20):
        cha.basic_publish("", "tasks", b"%d" % i)
    _pump([a, b], lambda: len(got_a) + len(got_b) >= 20, timeout=10)
    assert sorted(got_a + got_b, key=int) == [b"%d" % i for i in range(20)]
    assert got_a and got_b


def test_no_ack_consumer_gets_everything_and_nothing_stays_unacked(connect: Any) -> None:
    """Basic.Consume no-ack: messages count as acknowledged once sent."""
    conn = connect()
    ch = conn.channel()
    ch.queue_declare("noack")
    for i in range(50):
        ch.basic_publish("", "noack", b"%d" % i)
    got: list[bytes] = []
    ch.basic_consume("noack", lambda c, m, p, body: got.append(body), auto_ack=True)
    _pump([conn], lambda: len(got) >= 50)
    assert got == [b"%d" % i for i in range(50)]
    conn.close()
    probe = connect().channel()
    assert probe.queue_declare("noack", passive=True).method.message_count == 0
