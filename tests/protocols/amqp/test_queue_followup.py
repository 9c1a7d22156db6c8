"""Queue rules the core follow-up changed, checked through pika against a real server:
queue.purge leaves unacked messages alone, x-message-ttl beyond 2^32-1 ms is kept as
declared, transient messages do not survive a restart (and are not counted), per-message
TTLs expire on idle queues, and queue names may contain '/'."""

from __future__ import annotations

import time
from typing import Any

import pika


def test_purge_leaves_unacked_messages_and_returns_how_many_it_dropped(channel: Any) -> None:
    """RabbitMQ: "purge removes all messages that are not awaiting acknowledgment"."""
    ch = channel
    ch.queue_declare("purge-unacked")
    for i in range(5):
        ch.basic_publish("", "purge-unacked", b"%d" % i)
    m0, _, b0 = ch.basic_get("purge-unacked")
    m1, _, b1 = ch.basic_get("purge-unacked")
    assert (b0, b1) == (b"0", b"1")
    assert ch.queue_purge("purge-unacked").method.message_count == 3
    ch.basic_nack(m1.delivery_tag, requeue=True)
    m, _, body = ch.basic_get("purge-unacked")
    assert body == b"1" and m.redelivered
    ch.basic_ack(m.delivery_tag)
    ch.basic_ack(m0.delivery_tag)
    assert ch.basic_get("purge-unacked")[0] is None


def test_message_ttl_above_32_bits_is_accepted_unclamped(channel: Any, mqlite_server: Any) -> None:
    """Celery's native delayed delivery declares x-message-ttl up to 2^27 s in ms;
    RabbitMQ accepts it, and re-declaring with the same value is equivalent."""
    ttl = 2**27 * 1000
    channel.queue_declare("celery_delay_27", durable=True, arguments={"x-message-ttl": ttl})
    channel.queue_declare("celery_delay_27", durable=True, arguments={"x-message-ttl": ttl})

    core = mqlite_server.core
    assert mqlite_server.call(lambda: core.get_queue("celery_delay_27").config.message_ttl_ms) == ttl
    channel.basic_publish("", "celery_delay_27", b"later",
                          pika.BasicProperties(expiration=str(2**33)))
    assert channel.basic_get("celery_delay_27", auto_ack=True)[2] == b"later"


def test_per_message_ttl_expires_on_an_idle_queue_without_any_get(channel: Any) -> None:
    """RabbitMQ expires a message whose per-message TTL passed once it is at the head,
    with no consumer and no basic.get: core's maintenance tick dead-letters it."""
    ch = channel
    ch.exchange_declare("idle-dlx", "fanout")
    ch.queue_declare("idle-dead")
    ch.queue_bind("idle-dead", "idle-dlx")
    ch.queue_declare("idle-src", arguments={"x-dead-letter-exchange": "idle-dlx"})
    ch.basic_publish("", "idle-src", b"short-lived", pika.BasicProperties(expiration="10"))
    deadline = time.monotonic() + 10
    while ch.queue_declare("idle-dead", passive=True).method.message_count == 0:
        assert time.monotonic() < deadline, "the expired message was never dead-lettered"
        time.sleep(0.05)
    assert ch.queue_declare("idle-src", passive=True).method.message_count == 0
    _m, props, body = ch.basic_get("idle-dead", auto_ack=True)
    assert body == b"short-lived" and props.headers["x-death"][0]["reason"] == "expired"


def test_transient_messages_are_gone_and_not_counted_after_restart(mqlite_server: Any) -> None:
    """RabbitMQ classic queues lose transient (delivery_mode 1 or unset) messages in a
    restart; the queue's message_count right after the restart counts only the rest."""
    conn = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", mqlite_server.amqp_port))
    ch = conn.channel()
    ch.queue_declare("mixed", durable=True)
    ch.confirm_delivery()
    ch.basic_publish("", "mixed", b"t-unset")
    ch.basic_publish("", "mixed", b"p", pika.BasicProperties(delivery_mode=2))
    ch.basic_publish("", "mixed", b"t-1", pika.BasicProperties(delivery_mode=1))
    assert ch.queue_declare("mixed", passive=True).method.message_count == 3
    conn.close()

    mqlite_server.restart()

    conn = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", mqlite_server.amqp_port))
    ch = conn.channel()
    assert ch.queue_declare("mixed", passive=True).method.message_count == 1
    _m, props, body = ch.basic_get("mixed", auto_ack=True)
    assert body == b"p" and props.delivery_mode == 2
    assert ch.basic_get("mixed")[0] is None
    conn.close()


def test_queue_names_may_contain_slashes(channel: Any) -> None:
    """RabbitMQ queue names: up to 255 bytes of UTF-8, '/' included."""
    ch = channel
    for name in ("orders/eu", "orders%2Feu", "../up", "café/ü"):
        assert ch.queue_declare(name, durable=True).method.queue == name
        ch.basic_publish("", name, name.encode())
    for name in ("orders/eu", "orders%2Feu", "../up", "café/ü"):
        assert ch.basic_get(name, auto_ack=True)[2] == name.encode()
