"""Durability across a restart (RabbitMQ): durable exchanges, queues and bindings and
persistent messages survive; transient entities and transient messages do not."""

from __future__ import annotations

from typing import Any

import pika
import pika.exceptions
import pytest


def _channel(server: Any) -> Any:
    return pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", server.amqp_port)).channel()


def test_restart_keeps_durable_entities_and_persistent_messages(mqlite_server: Any) -> None:
    ch = _channel(mqlite_server)
    ch.exchange_declare("dur-ex", "topic", durable=True)
    ch.exchange_declare("tmp-ex", "topic", durable=False)
    ch.queue_declare("dur-q", durable=True, arguments={"x-max-priority": 3})
    ch.queue_declare("tmp-q", durable=False)
    ch.queue_bind("dur-q", "dur-ex", "a.#")
    ch.confirm_delivery()
    ch.basic_publish("dur-ex", "a.b", b"persistent", pika.BasicProperties(delivery_mode=2))
    ch.basic_publish("dur-ex", "a.c", b"transient", pika.BasicProperties(delivery_mode=1))
    ch.basic_publish("", "tmp-q", b"gone", pika.BasicProperties(delivery_mode=2))
    ch.connection.close()

    mqlite_server.restart()

    ch = _channel(mqlite_server)
    ch.exchange_declare("dur-ex", passive=True)
    ch.queue_declare("dur-q", passive=True)
    got = []
    while True:
        m, _, body = ch.basic_get("dur-q", auto_ack=True)
        if m is None:
            break
        got.append(body)
    assert got == [b"persistent"]
    # the binding survived too
    ch.basic_publish("dur-ex", "a.z", b"after", pika.BasicProperties(delivery_mode=2))
    assert ch.basic_get("dur-q", auto_ack=True)[2] == b"after"
    # equivalence is still checked against the restored arguments
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as err:
        ch.queue_declare("dur-q", durable=True)
    assert err.value.reply_code == 406
    for kind, name in (("exchange", "tmp-ex"), ("queue", "tmp-q")):
        probe = _channel(mqlite_server)
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as err:
            if kind == "exchange":
                probe.exchange_declare(name, passive=True)
            else:
                probe.queue_declare(name, passive=True)
        assert err.value.reply_code == 404
