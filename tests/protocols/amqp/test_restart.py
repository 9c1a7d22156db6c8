"""Durability across a restart (RabbitMQ): durable exchanges, queues and bindings and
persistent messages survive; transient entities and transient messages do not."""

from __future__ import annotations

import json
import sqlite3
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


def _stored_amqp_bindings(server: Any) -> list[tuple[str, str]]:
    """The catalog's `amqp/bindings` rows (server stopped): older releases' second copy."""
    db = sqlite3.connect(server.settings.data_dir / "catalog.sqlite3")
    try:
        return db.execute("SELECT key, value FROM kv WHERE namespace = 'amqp/bindings'").fetchall()
    finally:
        db.close()


def _routes(ch: Any, exchange: str, key: str, queue: str, headers: dict[str, Any] | None = None) -> bool:
    ch.basic_publish(exchange, key, b"probe", pika.BasicProperties(headers=headers))
    m, _, _ = ch.basic_get(queue, auto_ack=True)
    return m is not None


def test_bindings_are_stored_once_and_rebuilt_from_core_after_a_restart(mqlite_server: Any) -> None:
    """A binding lives once, as a binding of the exchange's core router: after a restart
    AMQP's view is rebuilt from it, so Queue.Unbind and Exchange.Unbind still find it."""
    ch = _channel(mqlite_server)
    ch.exchange_declare("src-t", "topic", durable=True)
    ch.exchange_declare("src-h", "headers", durable=True)
    ch.exchange_declare("mid", "fanout", durable=True)
    ch.queue_declare("q-bound", durable=True)
    ch.queue_bind("q-bound", "src-t", "k.#")
    ch.queue_bind("q-bound", "src-h", "", arguments={"x-match": "all", "kind": "a"})
    ch.exchange_bind("mid", "src-t", "m.*")
    ch.queue_bind("q-bound", "mid", "")
    ch.connection.close()
    mqlite_server.stop()
    assert _stored_amqp_bindings(mqlite_server) == []
    mqlite_server.start()

    ch = _channel(mqlite_server)
    assert _routes(ch, "src-t", "k.1", "q-bound")
    assert _routes(ch, "src-h", "", "q-bound", {"kind": "a"})
    assert _routes(ch, "src-t", "m.1", "q-bound")  # through the exchange-to-exchange binding
    ch.queue_unbind("q-bound", "src-t", "k.#")
    ch.queue_unbind("q-bound", "src-h", "", arguments={"x-match": "all", "kind": "a"})
    ch.exchange_unbind("mid", "src-t", "m.*")
    assert not _routes(ch, "src-t", "k.1", "q-bound")
    assert not _routes(ch, "src-h", "", "q-bound", {"kind": "a"})
    assert not _routes(ch, "src-t", "m.1", "q-bound")


def test_an_old_data_dir_with_bindings_stored_twice_is_migrated(mqlite_server: Any) -> None:
    """Older releases also kept each durable binding in catalog kv `amqp/bindings`; at
    start those rows are applied (a no-op where core has the binding, a restore where it
    has not) and deleted, and unbinding then removes the binding for good."""
    ch = _channel(mqlite_server)
    ch.exchange_declare("old-ex", "direct", durable=True)
    ch.queue_declare("old-q", durable=True)
    ch.queue_bind("old-q", "old-ex", "in-core")
    ch.connection.close()
    mqlite_server.stop()
    db = sqlite3.connect(mqlite_server.settings.data_dir / "catalog.sqlite3")
    for key in ("in-core", "kv-only"):  # the rows an older release wrote, as it wrote them
        row = {"source": "old-ex", "destination": "old-q", "dest_kind": "queue", "routing_key": key,
               "arguments": {}}
        db.execute("INSERT INTO kv(namespace, key, value) VALUES ('amqp/bindings', ?, ?)",
                   (f"/\x1f('old-ex', 'queue', 'old-q', {key!r}, '[]')", json.dumps(row)))
    db.commit()
    db.close()
    mqlite_server.start()

    ch = _channel(mqlite_server)
    assert _routes(ch, "old-ex", "in-core", "old-q")
    assert _routes(ch, "old-ex", "kv-only", "old-q")
    ch.queue_unbind("old-q", "old-ex", "in-core")
    ch.connection.close()
    mqlite_server.restart()
    ch = _channel(mqlite_server)
    assert not _routes(ch, "old-ex", "in-core", "old-q")
    assert _routes(ch, "old-ex", "kv-only", "old-q")
    ch.connection.close()
    mqlite_server.stop()
    assert _stored_amqp_bindings(mqlite_server) == []
    mqlite_server.start()
