"""Seeded mutation fuzzing of the AMQP front-end: recorded pika sessions replayed with
one frame mutated; every case gets a channel or connection error, never an unhandled
exception (issue 26, item 9)."""

from __future__ import annotations

from typing import Any

import pika
import pytest
from fuzz_harness import Mutator, Recorder, join_amqp, run_cases, split_amqp, unhandled


@pytest.fixture
def amqp_corpus(mqlite_server: Any) -> list[tuple[bytes, list[bytes]]]:
    rec = Recorder(mqlite_server.amqp_port)
    conn = pika.BlockingConnection(pika.ConnectionParameters(host="127.0.0.1", port=rec.port, heartbeat=0))
    ch = conn.channel()
    ch.exchange_declare("fx", "topic", durable=True)
    ch.exchange_declare("fh", "headers")
    ch.queue_declare("fq", durable=True, arguments={"x-max-length": 100, "x-message-ttl": 60000,
                                                    "x-dead-letter-exchange": "fx"})
    ch.queue_bind("fq", "fx", "a.*")
    ch.queue_bind("fq", "fh", arguments={"x-match": "any", "k": "v"})
    ch.basic_qos(prefetch_count=5)
    ch.confirm_delivery()
    props = pika.BasicProperties(content_type="text/plain", headers={"k": "v", "n": 1}, delivery_mode=2,
                                 priority=1, correlation_id="c", reply_to="r", expiration="60000", message_id="m")
    for rk in ("a.b", "a.c"):
        ch.basic_publish("fx", rk, b"body-" + rk.encode(), props)
    ch.basic_publish("fh", "", b"h", pika.BasicProperties(headers={"k": "v"}))
    method, _p, _b = ch.basic_get("fq")
    ch.basic_nack(method.delivery_tag, requeue=True)
    for method, _p, _b in ch.consume("fq", inactivity_timeout=0.5):
        if method is None:
            break
        ch.basic_ack(method.delivery_tag)
    ch.cancel()
    tx = conn.channel()
    tx.tx_select()
    tx.basic_publish("", "fq", b"tx")
    tx.tx_commit()
    ch.queue_unbind("fq", "fx", "a.*")
    ch.queue_purge("fq")
    conn.close()
    rec.close()
    return [split_amqp(bytes(s)) for s in rec.streams if s]


def test_mutated_amqp_frames_get_amqp_errors_not_exceptions(
    mqlite_server: Any, amqp_corpus: list[tuple[bytes, list[bytes]]], caplog: pytest.LogCaptureFixture
) -> None:
    head, frames = amqp_corpus[0]
    assert len(frames) > 20

    def case(m: Mutator, n: int) -> bytes:
        i = m.rng.randrange(3, len(frames))  # past StartOk/TuneOk/Open, mostly
        mutated = list(frames[: i + 1])
        mutated[i] = m.bytes_(frames[i], keep=3 if n % 3 else 0)
        return join_amqp(head, mutated)

    caplog.clear()
    run_cases(case, mqlite_server.amqp_port, lambda sent, got: None)
    bad = unhandled(caplog)
    assert not bad, "unhandled:\n" + "\n".join(bad)


def test_binding_argument_that_is_not_utf8_is_answered(mqlite_server: Any, caplog: pytest.LogCaptureFixture) -> None:
    """Found by the fuzzer (issue 26): a long-string binding argument holding bytes that
    are not UTF-8 dropped the connection with a traceback."""
    conn = pika.BlockingConnection(pika.ConnectionParameters(host="127.0.0.1", port=mqlite_server.amqp_port))
    ch = conn.channel()
    ch.exchange_declare("hx", "headers")
    ch.queue_declare("hq")
    ch.queue_bind("hq", "hx", arguments={"x-match": "all", "k": b"\xff\xfe"})
    ch.basic_publish("hx", "", b"m", pika.BasicProperties(headers={"k": b"\xff\xfe"}))
    assert ch.basic_get("hq", auto_ack=True)[2] == b"m"
    conn.close()
    assert unhandled(caplog) == []
