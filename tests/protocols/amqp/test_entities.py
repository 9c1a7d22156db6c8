"""Exchange and Queue classes: declare, bind, unbind, purge, delete, lifecycles and
RabbitMQ's errors (AMQP 0-9-1 reference, RabbitMQ extensions)."""

from __future__ import annotations

import time
from typing import Any

import pika
import pika.exceptions
import pytest


def _closed_with(ch: Any, fn: Any) -> Any:
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as err:
        fn(ch)
    return err.value


def test_declare_is_idempotent_and_passive_finds_it(channel: Any) -> None:
    channel.exchange_declare("logs", "fanout", durable=True)
    channel.exchange_declare("logs", "fanout", durable=True)
    channel.exchange_declare("logs", passive=True)
    ok = channel.queue_declare("jobs", durable=True)
    assert (ok.method.queue, ok.method.message_count, ok.method.consumer_count) == ("jobs", 0, 0)
    assert channel.queue_declare("jobs", passive=True).method.queue == "jobs"


def test_passive_declare_of_missing_queue_is_not_found(connect: Any) -> None:
    """RabbitMQ: 404 NOT_FOUND - no queue 'q' in vhost '/'."""
    err = _closed_with(connect().channel(), lambda ch: ch.queue_declare("missing", passive=True))
    assert (err.reply_code, err.reply_text) == (404, "NOT_FOUND - no queue 'missing' in vhost '/'")
    err = _closed_with(connect().channel(), lambda ch: ch.exchange_declare("nox", passive=True))
    assert (err.reply_code, err.reply_text) == (404, "NOT_FOUND - no exchange 'nox' in vhost '/'")


def test_redeclare_with_different_arguments_is_precondition_failed(connect: Any) -> None:
    """RabbitMQ: 406 inequivalent arg with received/current values."""
    ch = connect().channel()
    ch.queue_declare("ttlq", arguments={"x-message-ttl": 2000})
    err = _closed_with(ch, lambda c: c.queue_declare("ttlq", arguments={"x-message-ttl": 1000}))
    assert err.reply_code == 406
    assert err.reply_text == ("PRECONDITION_FAILED - inequivalent arg 'x-message-ttl' for queue 'ttlq' "
                              "in vhost '/': received '1000' but current is '2000'")
    ch = connect().channel()
    err = _closed_with(ch, lambda c: c.queue_declare("ttlq", durable=True, arguments={"x-message-ttl": 2000}))
    assert err.reply_code == 406 and "inequivalent arg 'durable'" in err.reply_text
    ch = connect().channel()
    ch.exchange_declare("exk", "direct")
    err = _closed_with(ch, lambda c: c.exchange_declare("exk", "topic"))
    assert err.reply_code == 406 and "inequivalent arg 'type' for exchange 'exk'" in err.reply_text


def test_amq_prefix_is_reserved(connect: Any) -> None:
    """RabbitMQ: 403 ACCESS_REFUSED for declaring amq.* names."""
    err = _closed_with(connect().channel(), lambda ch: ch.queue_declare("amq.mine"))
    assert err.reply_code == 403 and "reserved prefix 'amq.*'" in err.reply_text
    err = _closed_with(connect().channel(), lambda ch: ch.exchange_declare("amq.mine", "direct"))
    assert err.reply_code == 403


def test_builtin_exchanges_exist(channel: Any) -> None:
    for name, kind in (("amq.direct", "direct"), ("amq.fanout", "fanout"), ("amq.topic", "topic"),
                       ("amq.headers", "headers"), ("amq.match", "headers")):
        channel.exchange_declare(name, kind, passive=True)


def test_server_named_queue(channel: Any) -> None:
    name = channel.queue_declare("", exclusive=True).method.queue
    assert name.startswith("amq.gen-")


def test_exclusive_queue_is_locked_to_its_connection_and_dies_with_it(connect: Any) -> None:
    """RabbitMQ: 405 RESOURCE_LOCKED from another connection; deleted on close."""
    owner = connect()
    owner.channel().queue_declare("excl", exclusive=True)
    other = connect().channel()
    err = _closed_with(other, lambda ch: ch.queue_declare("excl", passive=True))
    assert err.reply_code == 405 and "RESOURCE_LOCKED" in err.reply_text
    owner.close()
    err = _closed_with(connect().channel(), lambda ch: ch.queue_declare("excl", passive=True))
    assert err.reply_code == 404


def test_auto_delete_queue_goes_when_its_last_consumer_cancels(connect: Any) -> None:
    ch = connect().channel()
    ch.queue_declare("ad", auto_delete=True)
    tag = ch.basic_consume("ad", lambda *a: None)
    ch.basic_cancel(tag)
    err = _closed_with(connect().channel(), lambda c: c.queue_declare("ad", passive=True))
    assert err.reply_code == 404


def test_x_expires_deletes_an_unused_queue(connect: Any) -> None:
    """RabbitMQ x-expires: a queue unused for the period is deleted."""
    ch = connect().channel()
    ch.queue_declare("exp", arguments={"x-expires": 100})
    deadline = time.monotonic() + 10
    gone = False
    while not gone and time.monotonic() < deadline:
        time.sleep(0.1)
        probe = connect().channel()
        try:
            probe.queue_declare("exp", passive=True)
        except pika.exceptions.ChannelClosedByBroker as exc:
            gone = exc.reply_code == 404
    assert gone


def test_bindings_route_by_exchange_type(channel: Any) -> None:
    ch = channel
    for name, kind in (("d", "direct"), ("f", "fanout"), ("t", "topic"), ("h", "headers")):
        ch.exchange_declare(name, kind)
        ch.queue_declare(f"q-{name}")
    ch.queue_bind("q-d", "d", "key")
    ch.queue_bind("q-f", "f")
    ch.queue_bind("q-t", "t", "a.*.c")
    ch.queue_bind("q-h", "h", arguments={"x-match": "all", "k": "v"})
    ch.basic_publish("d", "key", b"1")
    ch.basic_publish("d", "other", b"no")
    ch.basic_publish("f", "any", b"2")
    ch.basic_publish("t", "a.b.c", b"3")
    ch.basic_publish("t", "a.b.d", b"no")
    ch.basic_publish("h", "", b"4", pika.BasicProperties(headers={"k": "v"}))
    ch.basic_publish("h", "", b"no", pika.BasicProperties(headers={"k": "w"}))
    bodies = {}
    for q in ("q-d", "q-f", "q-t", "q-h"):
        got = []
        while True:
            m, _, body = ch.basic_get(q, auto_ack=True)
            if m is None:
                break
            got.append(body)
        bodies[q] = got
    assert bodies == {"q-d": [b"1"], "q-f": [b"2"], "q-t": [b"3"], "q-h": [b"4"]}


def test_unbind_stops_routing(channel: Any) -> None:
    channel.exchange_declare("ub", "direct")
    channel.queue_declare("ubq")
    channel.queue_bind("ubq", "ub", "k")
    channel.queue_unbind("ubq", "ub", "k")
    channel.basic_publish("ub", "k", b"x")
    assert channel.basic_get("ubq")[0] is None


def test_exchange_to_exchange_binding(channel: Any) -> None:
    """RabbitMQ extension: exchange.bind routes from source into destination exchange."""
    channel.exchange_declare("src", "topic")
    channel.exchange_declare("dst", "fanout")
    channel.queue_declare("e2e")
    channel.queue_bind("e2e", "dst")
    channel.exchange_bind("dst", "src", "x.#")
    channel.basic_publish("src", "x.y", b"through")
    channel.basic_publish("src", "z", b"no")
    assert channel.basic_get("e2e", auto_ack=True)[2] == b"through"
    assert channel.basic_get("e2e")[0] is None
    channel.exchange_unbind("dst", "src", "x.#")
    channel.basic_publish("src", "x.y", b"after")
    assert channel.basic_get("e2e")[0] is None


def test_alternate_exchange_takes_unroutable_messages(channel: Any) -> None:
    channel.exchange_declare("ae", "fanout")
    channel.queue_declare("aeq")
    channel.queue_bind("aeq", "ae")
    channel.exchange_declare("main", "direct", arguments={"alternate-exchange": "ae"})
    channel.basic_publish("main", "nobody", b"alt")
    assert channel.basic_get("aeq", auto_ack=True)[2] == b"alt"


def test_internal_exchange_refuses_publishes(connect: Any) -> None:
    ch = connect().channel()
    ch.exchange_declare("inner", "fanout", internal=True)
    ch.basic_publish("inner", "", b"x")
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as err:
        ch.queue_declare("after")
    assert err.value.reply_code == 403


def test_publish_to_missing_exchange_closes_the_channel_with_not_found(connect: Any) -> None:
    conn = connect()
    ch = conn.channel()
    ch.basic_publish("ghost", "k", b"x")
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as err:
        ch.queue_declare("q")
    assert (err.value.reply_code, err.value.reply_text) == (404, "NOT_FOUND - no exchange 'ghost' in vhost '/'")
    assert conn.channel().queue_declare("served").method.queue == "served"


def test_purge_and_delete_if_empty_if_unused(connect: Any) -> None:
    ch = connect().channel()
    ch.queue_declare("pq")
    for i in range(3):
        ch.basic_publish("", "pq", b"%d" % i)
    err = _closed_with(ch, lambda c: c.queue_delete("pq", if_empty=True))
    assert err.reply_code == 406
    ch = connect().channel()
    assert ch.queue_purge("pq").method.message_count == 3
    ch.basic_consume("pq", lambda *a: None)
    other = connect().channel()
    err = _closed_with(other, lambda c: c.queue_delete("pq", if_unused=True))
    assert err.reply_code == 406
    assert connect().channel().queue_delete("pq").method.message_count == 0


def test_exchange_delete_if_unused(connect: Any) -> None:
    ch = connect().channel()
    ch.exchange_declare("xu", "direct")
    ch.queue_declare("xuq")
    ch.queue_bind("xuq", "xu", "k")
    err = _closed_with(ch, lambda c: c.exchange_delete("xu", if_unused=True))
    assert err.reply_code == 406
    ch = connect().channel()
    ch.exchange_delete("xu")
    err = _closed_with(ch, lambda c: c.exchange_declare("xu", passive=True))
    assert err.reply_code == 404


def test_queue_types_and_arguments_are_accepted(channel: Any) -> None:
    channel.queue_declare("qq", durable=True, arguments={"x-queue-type": "quorum"})
    channel.queue_declare("sq", durable=True, arguments={"x-queue-type": "stream"})
    channel.queue_declare("sac", arguments={"x-single-active-consumer": True, "x-max-priority": 5,
                                            "x-max-length": 10, "x-overflow": "reject-publish"})


def test_invalid_argument_value_is_precondition_failed(connect: Any) -> None:
    err = _closed_with(connect().channel(), lambda c: c.queue_declare("neg", arguments={"x-message-ttl": -1}))
    assert err.reply_code == 406 and "invalid arg 'x-message-ttl'" in err.reply_text


def test_auto_delete_exchange_goes_with_its_last_binding(connect: Any) -> None:
    """RabbitMQ: an auto-delete exchange is deleted when its last binding is removed."""
    ch = connect().channel()
    ch.exchange_declare("adx", "fanout", auto_delete=True)
    ch.queue_declare("adxq")
    ch.queue_bind("adxq", "adx")
    ch.exchange_declare("adx", passive=True)
    ch.queue_unbind("adxq", "adx")
    err = _closed_with(ch, lambda c: c.exchange_declare("adx", passive=True))
    assert err.reply_code == 404
