"""The delayed-message exchange (`x-delayed-message`), as RabbitMQ's plugin serves it:
routing as its `x-delayed-type`, `x-delay` in ms, the plugin's refusals, and held
messages surviving a restart. Debian's RabbitMQ has no such plugin, so these rules are
the plugin's documentation and source (docs/protocols.md)."""

from __future__ import annotations

import decimal
import time
from typing import Any

import pika
import pika.exceptions
import pytest

DELAYED = {"x-delayed-type": "direct"}


def _wait_get(ch: Any, queue: str, timeout: float = 20.0) -> tuple[Any, Any, bytes]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        method, props, body = ch.basic_get(queue, auto_ack=True)
        if method is not None:
            return method, props, body
        ch.connection.sleep(0.05)
    raise AssertionError(f"nothing arrived in {queue}")


def _setup(ch: Any, kind: str = "direct", durable: bool = False) -> None:
    ch.exchange_declare("later", "x-delayed-message", durable=durable, arguments={"x-delayed-type": kind})
    ch.queue_declare("inbox", durable=durable)
    ch.queue_bind("inbox", "later", "k")


def test_delayed_message_arrives_after_an_undelayed_one_with_negated_x_delay(channel: Any) -> None:
    _setup(channel)
    channel.confirm_delivery()
    channel.basic_publish("later", "k", b"delayed", pika.BasicProperties(headers={"x-delay": 300}), mandatory=True)
    channel.basic_publish("later", "k", b"at once")
    first = _wait_get(channel, "inbox")
    assert first[2] == b"at once" and first[1].headers is None
    second = _wait_get(channel, "inbox")
    assert second[2] == b"delayed"
    assert second[1].headers == {"x-delay": -300}  # so a next delayed exchange does not delay it again
    assert second[0].exchange == "later" and second[0].routing_key == "k"


@pytest.mark.parametrize(("x_delay", "delayed"), [
    ("200", True),  # a string holding an integer is read as one
    (decimal.Decimal("250.7"), True),  # a decimal is truncated (pika cannot send floats)
    (0, False), (-5, False), (True, False), ({"a": 1}, False), (2**33, False),
])
def test_x_delay_values_are_read_as_the_plugin_reads_them(channel: Any, x_delay: Any, delayed: bool) -> None:
    _setup(channel)
    channel.basic_publish("later", "k", b"probe", pika.BasicProperties(headers={"x-delay": x_delay}))
    channel.basic_publish("later", "k", b"marker")
    order = [_wait_get(channel, "inbox")[2], _wait_get(channel, "inbox")[2]]
    assert order == ([b"marker", b"probe"] if delayed else [b"probe", b"marker"])


def test_delayed_exchange_routes_as_its_delayed_type(channel: Any) -> None:
    channel.exchange_declare("later-topic", "x-delayed-message", arguments={"x-delayed-type": "topic"})
    channel.queue_declare("eu")
    channel.queue_bind("eu", "later-topic", "orders.eu.*")
    channel.basic_publish("later-topic", "orders.eu.paid", b"eu", pika.BasicProperties(headers={"x-delay": 50}))
    channel.basic_publish("later-topic", "orders.us.paid", b"us", pika.BasicProperties(headers={"x-delay": 50}))
    assert _wait_get(channel, "eu")[2] == b"eu"


def test_non_integer_string_x_delay_closes_the_connection_with_internal_error(connect: Any) -> None:
    ch = connect().channel()
    _setup(ch)
    with pytest.raises(pika.exceptions.ConnectionClosedByBroker) as err:
        ch.confirm_delivery()
        ch.basic_publish("later", "k", b"x", pika.BasicProperties(headers={"x-delay": "soon"}))
    assert err.value.args == (541, "INTERNAL_ERROR")
    assert connect().channel().exchange_declare("later", passive=True)  # the server goes on


@pytest.mark.parametrize(("args", "code", "text"), [
    ({}, 406, "PRECONDITION_FAILED - Invalid argument, 'x-delayed-type' must be an existing exchange type"),
    ({"x-delayed-type": "x-delayed-message"}, 406,
     "PRECONDITION_FAILED - Invalid argument, 'x-delayed-message' can't be used for 'x-delayed-type'"),
    ({"x-delayed-type": "fast"}, 503, "COMMAND_INVALID - unknown exchange type 'fast'"),
])
def test_bad_delayed_type_is_refused_as_the_plugin_does(connect: Any, args: dict[str, Any], code: int,
                                                        text: str) -> None:
    ch = connect().channel()
    with pytest.raises(pika.exceptions.AMQPError) as err:
        ch.exchange_declare("bad", "x-delayed-message", arguments=args)
    assert err.value.args == (code, text)


def test_unknown_exchange_type_is_command_invalid(connect: Any) -> None:
    """RabbitMQ 3.x/4.x: an unknown exchange type closes the connection with 503."""
    ch = connect().channel()
    with pytest.raises(pika.exceptions.ConnectionClosedByBroker) as err:
        ch.exchange_declare("odd", "x-consistent-hash-ish")
    assert err.value.args == (503, "COMMAND_INVALID - unknown exchange type 'x-consistent-hash-ish'")


def test_held_message_survives_a_restart(mqlite_server: Any) -> None:
    def channel() -> Any:
        return pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", mqlite_server.amqp_port)).channel()

    ch = channel()
    _setup(ch, durable=True)
    ch.confirm_delivery()  # confirmed = held durably
    sent = time.monotonic()
    ch.basic_publish("later", "k", b"after restart", pika.BasicProperties(headers={"x-delay": 4000}, delivery_mode=2))
    ch.connection.close()
    mqlite_server.restart()
    ch = channel()
    if time.monotonic() - sent < 3.5:  # still held: not there yet
        assert ch.basic_get("inbox", auto_ack=True) == (None, None, None)
    method, props, body = _wait_get(ch, "inbox", timeout=30)
    assert body == b"after restart" and props.headers == {"x-delay": -4000}
