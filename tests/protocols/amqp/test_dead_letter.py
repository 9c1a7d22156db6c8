"""Queue arguments that move messages: TTL and dead-letter exchanges with RabbitMQ's
x-death header, priorities, max-length overflow modes (RabbitMQ queue argument docs)."""

from __future__ import annotations

import time
from typing import Any

import pika
import pika.exceptions
import pytest


def _wait_get(ch: Any, queue: str, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m, props, body = ch.basic_get(queue, auto_ack=True)
        if m is not None:
            return m, props, body
        time.sleep(0.05)
    raise AssertionError(f"nothing arrived on {queue}")


def _dlx_setup(ch: Any, source: str, **args: Any) -> None:
    ch.exchange_declare("dlx", "direct")
    ch.queue_declare("dead")
    ch.queue_bind("dead", "dlx", "dead-key")
    ch.queue_declare(source, arguments={"x-dead-letter-exchange": "dlx",
                                        "x-dead-letter-routing-key": "dead-key", **args})


def test_rejected_message_is_dead_lettered_with_x_death(channel: Any) -> None:
    """RabbitMQ DLX: reason 'rejected', count, queue, exchange, routing-keys, time."""
    _dlx_setup(channel, "src")
    channel.basic_publish("", "src", b"no thanks", pika.BasicProperties(headers={"keep": "me"}))
    m, _, _ = channel.basic_get("src")
    channel.basic_nack(m.delivery_tag, requeue=False)
    m, props, body = _wait_get(channel, "dead")
    assert body == b"no thanks" and m.exchange == "dlx" and m.routing_key == "dead-key"
    h = props.headers
    assert h["keep"] == "me"
    (death,) = h["x-death"]
    assert death["count"] == 1 and death["reason"] == "rejected" and death["queue"] == "src"
    assert death["exchange"] == "" and death["routing-keys"] == ["src"]
    assert "time" in death
    assert (h["x-first-death-reason"], h["x-first-death-queue"], h["x-first-death-exchange"]) == (
        "rejected", "src", "")


def test_expired_message_is_dead_lettered_with_original_expiration(channel: Any) -> None:
    """Per-message TTL: reason 'expired'; the expiration property moves to original-expiration."""
    _dlx_setup(channel, "ttl-src")
    channel.basic_publish("", "ttl-src", b"old", pika.BasicProperties(expiration="50"))
    time.sleep(0.2)
    assert channel.basic_get("ttl-src")[0] is None  # expired at the head, never delivered
    _m, props, body = _wait_get(channel, "dead")
    assert body == b"old"
    assert props.expiration is None
    (death,) = props.headers["x-death"]
    assert death["reason"] == "expired" and death["original-expiration"] == "50"


def test_queue_ttl_expires_messages(channel: Any) -> None:
    """x-message-ttl: messages older than the TTL are dead-lettered (or dropped)."""
    _dlx_setup(channel, "qttl", **{"x-message-ttl": 50})
    channel.basic_publish("", "qttl", b"stale")
    _m, props, _body = _wait_get(channel, "dead")
    assert props.headers["x-death"][0]["reason"] == "expired"
    assert channel.basic_get("qttl")[0] is None


def test_max_length_drop_head_dead_letters_the_oldest(channel: Any) -> None:
    """x-max-length with the default overflow drop-head: reason 'maxlen'."""
    _dlx_setup(channel, "ml", **{"x-max-length": 2})
    for i in range(3):
        channel.basic_publish("", "ml", b"%d" % i)
    _m, props, body = _wait_get(channel, "dead")
    assert body == b"0" and props.headers["x-death"][0]["reason"] == "maxlen"
    assert [channel.basic_get("ml", auto_ack=True)[2] for _ in range(2)] == [b"1", b"2"]


def test_max_length_reject_publish_nacks_the_publisher(channel: Any) -> None:
    """x-overflow reject-publish: with confirms the publisher gets basic.nack."""
    channel.queue_declare("full", arguments={"x-max-length": 1, "x-overflow": "reject-publish"})
    channel.confirm_delivery()
    channel.basic_publish("", "full", b"fits")
    with pytest.raises(pika.exceptions.NackError):
        channel.basic_publish("", "full", b"refused")
    assert channel.queue_declare("full", passive=True).method.message_count == 1


def test_priorities_deliver_highest_first(channel: Any) -> None:
    """x-max-priority: higher priority messages are delivered first; capped at the max."""
    channel.queue_declare("prio", arguments={"x-max-priority": 5})
    for body, prio in ((b"low", 1), (b"high", 5), (b"mid", 3), (b"over", 9), (b"none", 0)):
        channel.basic_publish("", "prio", body, pika.BasicProperties(priority=prio))
    got = [channel.basic_get("prio", auto_ack=True)[2] for _ in range(5)]
    assert got == [b"high", b"over", b"mid", b"low", b"none"]


def test_dead_letter_to_default_exchange_by_queue_name(channel: Any) -> None:
    """x-dead-letter-exchange '' routes by the dead-letter routing key as a queue name."""
    channel.queue_declare("graveyard")
    channel.queue_declare("to-default", arguments={"x-dead-letter-exchange": "",
                                                   "x-dead-letter-routing-key": "graveyard"})
    channel.basic_publish("", "to-default", b"bye")
    m, _, _ = channel.basic_get("to-default")
    channel.basic_reject(m.delivery_tag, requeue=False)
    _, props, body = _wait_get(channel, "graveyard")
    assert body == b"bye" and props.headers["x-death"][0]["queue"] == "to-default"


def test_repeated_dead_lettering_counts_in_x_death(channel: Any) -> None:
    """A message that dies twice in the same queue for the same reason: count 2."""
    channel.queue_declare("loop", arguments={"x-dead-letter-exchange": "",
                                             "x-dead-letter-routing-key": "loop"})
    channel.basic_publish("", "loop", b"again")
    for _ in range(2):
        m, _, _ = _wait_get_unacked(channel, "loop")
        channel.basic_reject(m.delivery_tag, requeue=False)
    m, props, _ = _wait_get_unacked(channel, "loop")
    (death,) = props.headers["x-death"]
    assert death["count"] == 2


def _wait_get_unacked(ch: Any, queue: str) -> Any:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        m, props, body = ch.basic_get(queue)
        if m is not None:
            return m, props, body
        time.sleep(0.05)
    raise AssertionError("nothing arrived")
