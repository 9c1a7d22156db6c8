"""Issue 26, items 2 and 10: memory is bounded per connection, in total, and before login.

Each test drives a real server through raw sockets (the hostile peer: a declared size,
then most of the bytes) next to a real client library (the bystander that must go on
working). The rules checked: Kafka's `socket.request.max.bytes` and, before SASL,
`sasl.server.max.receive.size`; Redis's unauthenticated limits (networking.c: 10
arguments, 16 KiB bulks), `proto-max-bulk-len` and `client-query-buffer-limit`;
RabbitMQ's frame size before Connection.Open and `max_message_size` (a channel error
406); and the server's one read budget, beyond which reads pause.
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Callable
from typing import Any

import pika
import pika.exceptions
import pytest
import redis
from pamqp import commands
from pamqp import frame as pframe

from mqlite.protocols import limits, read_budget
from mqlite.testing import wait_until

MiB = 1024 * 1024


def budget_state(server: Any) -> tuple[int, int, int]:
    def read() -> tuple[int, int, int]:
        b: read_budget.ReadBudget = limits.for_server(server.core, server.settings).budget
        return b.used, b.waiting, b.evictions

    return server.call(read)  # type: ignore[no-any-return]


def send_until_blocked(sock: socket.socket, data: bytes, chunk: int = 256 * 1024) -> int:
    """Send `data` until the peer stops reading (the kernel buffers fill); bytes sent."""
    sock.settimeout(1.0)
    sent = 0
    try:
        while sent < len(data):
            sent += sock.send(data[sent : sent + chunk])
    except (TimeoutError, BlockingIOError, BrokenPipeError, ConnectionResetError):
        pass  # the server stopped reading, or cut the connection off
    return sent


def closed_by_peer(sock: socket.socket, limit: float = 20.0) -> bytes:
    """Read until the server closes; returns what it sent before closing."""
    sock.settimeout(limit)
    got = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return got
            got += chunk
    except ConnectionResetError:
        return got


# -- Kafka ------------------------------------------------------------------------------
def test_kafka_frame_before_sasl_over_sasl_max_receive_size_closes_the_connection(mqlite_server_factory: Any) -> None:
    """Kafka's SaslServerAuthenticator reads at most `sasl.server.max.receive.size`
    (512 KiB) before authentication: a larger size field closes the connection at once."""
    server = mqlite_server_factory(kafka_users=(("alice", "secret"),))
    sock = socket.create_connection(("127.0.0.1", server.kafka_port))
    sock.sendall(struct.pack(">i", 600 * 1024) + b"\x00" * 1024)
    assert closed_by_peer(sock) == b""
    sock.close()


def test_kafka_frame_after_sasl_may_use_socket_request_max_bytes(mqlite_server_factory: Any) -> None:
    """Without SASL the cap is socket.request.max.bytes: a 1 MiB frame is read (and a
    garbage one then closes the connection as an unparsable request), a larger one
    is refused from its size field alone."""
    server = mqlite_server_factory(kafka_max_frame_bytes=2 * MiB)
    sock = socket.create_connection(("127.0.0.1", server.kafka_port))
    sock.sendall(struct.pack(">i", 3 * MiB) + b"\x00" * 16)
    assert closed_by_peer(sock) == b""
    sock.close()


def test_kafka_partial_frames_beyond_the_read_budget_pause_while_clients_go_on(mqlite_server_factory: Any) -> None:
    """Three connections declare 6 MiB frames against an 8 MiB budget and send most of
    them: one is reserved, the others pause (their bytes wait in the kernel), the
    budget is never overdrawn, and a kafka-python client still produces and fetches."""
    from kafka import KafkaConsumer, KafkaProducer

    server = mqlite_server_factory(read_budget_bytes=8 * MiB)
    socks = []
    for _ in range(3):
        sock = socket.create_connection(("127.0.0.1", server.kafka_port))
        send_until_blocked(sock, struct.pack(">i", 6 * MiB) + b"\x00" * (5 * MiB))
        socks.append(sock)
    wait_until(lambda: budget_state(server)[1] >= 1, "a hostile connection paused for the budget")
    used, waiting, _ = budget_state(server)
    assert used <= 8 * MiB
    assert waiting == 2

    producer = KafkaProducer(bootstrap_servers=f"127.0.0.1:{server.kafka_port}")
    producer.send("bystander", b"still served").get(timeout=30)
    producer.close()
    consumer = KafkaConsumer("bystander", bootstrap_servers=f"127.0.0.1:{server.kafka_port}",
                             auto_offset_reset="earliest", consumer_timeout_ms=10_000)
    assert [m.value for m in consumer] == [b"still served"]
    consumer.close()

    socks[0].close()  # the reserved one goes: the next waiter gets its reservation
    wait_until(lambda: budget_state(server)[1] == 1, "a waiter resumed after a release")
    for sock in socks[1:]:
        sock.close()
    wait_until(lambda: budget_state(server)[0] == 0, "every reservation released")


# -- Redis ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("request_bytes", "error"),
    [
        (b"*11\r\n", b"-ERR Protocol error: unauthenticated multibulk length\r\n"),
        (b"*2\r\n$4\r\nAUTH\r\n$20000\r\n", b"-ERR Protocol error: unauthenticated bulk length\r\n"),
    ],
)
def test_redis_unauthenticated_client_is_limited_like_redis(
    mqlite_server_factory: Any, request_bytes: bytes, error: bytes
) -> None:
    """Redis's processMultibulkBuffer: while authRequired(c), more than 10 arguments or a
    bulk over 16 KiB is a protocol error, and the connection closes."""
    server = mqlite_server_factory(redis_password="pw")
    sock = socket.create_connection(("127.0.0.1", server.redis_port))
    sock.sendall(request_bytes)
    assert closed_by_peer(sock) == error
    sock.close()


def test_redis_auth_lifts_the_limits_for_the_next_command_of_the_same_pipeline(mqlite_server_factory: Any) -> None:
    server = mqlite_server_factory(redis_password="pw")
    big = b"x" * 100_000
    sock = socket.create_connection(("127.0.0.1", server.redis_port))
    sock.sendall(b"*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n" + b"*5\r\n$4\r\nXADD\r\n$1\r\ns\r\n$1\r\n*\r\n$1\r\nf\r\n$%d\r\n%s\r\n" % (len(big), big))
    sock.settimeout(10)
    got = b""
    while got.count(b"\r\n") < 3:
        got += sock.recv(65536)
    assert got.startswith(b"+OK\r\n$")
    sock.close()
    client = redis.Redis(port=server.redis_port, password="pw")
    assert client.xrange("s")[0][1] == {b"f": big}
    client.close()


def test_redis_bulk_over_proto_max_bulk_len_is_refused(mqlite_server_factory: Any) -> None:
    server = mqlite_server_factory(redis_proto_max_bulk_len=1 * MiB)
    sock = socket.create_connection(("127.0.0.1", server.redis_port))
    sock.sendall(b"*3\r\n$7\r\nPUBLISH\r\n$1\r\nc\r\n$2000000\r\n")
    assert closed_by_peer(sock) == b"-ERR Protocol error: invalid bulk length\r\n"
    sock.close()


def test_redis_client_over_query_buffer_limit_is_closed_and_others_go_on(mqlite_server_factory: Any) -> None:
    """client-query-buffer-limit: Redis closes the client without a reply."""
    server = mqlite_server_factory(redis_client_query_buffer_limit=1 * MiB)
    sock = socket.create_connection(("127.0.0.1", server.redis_port))
    arg = b"y" * 700_000
    send_until_blocked(sock, b"*4\r\n$7\r\nPUBLISH\r\n$1\r\nc\r\n$700000\r\n" + arg + b"\r\n$700000\r\n" + arg)
    assert closed_by_peer(sock) == b""
    sock.close()
    client = redis.Redis(port=server.redis_port)
    assert client.ping()
    client.close()


def test_redis_partial_bulk_is_held_once_not_twice(mqlite_server_factory: Any) -> None:
    """A partial 64 MiB bulk of which 24 MiB arrived holds about 24 MiB of buffer and
    reserves the declared 64 MiB (hiredis used to keep a second copy of the tail)."""
    server = mqlite_server_factory(read_budget_bytes=512 * MiB)
    sock = socket.create_connection(("127.0.0.1", server.redis_port))
    sock.sendall(b"*3\r\n$7\r\nPUBLISH\r\n$1\r\nc\r\n$%d\r\n" % (64 * MiB) + b"z" * (24 * MiB))

    def parser_state() -> tuple[bool, int]:
        conns = [c for lst in server.server._listeners if lst.name == "redis" for c in lst.registry.connections]
        parser = conns[0].parser
        return parser._hi is None, parser.buffered

    wait_until(lambda: parser_state()[1] >= 24 * MiB, "the bytes reached the parser")
    on_python_path, buffered = parser_state()
    assert on_python_path and buffered <= 24 * MiB + 64
    assert budget_state(server)[0] >= 64 * MiB
    sock.close()


# -- AMQP -------------------------------------------------------------------------------
def amqp_frame(channel: int, method: Any) -> bytes:
    return bytes(pframe.marshal(method, channel))


def amqp_login(server: Any) -> socket.socket:
    """A raw AMQP connection through Connection.Open (frames built with pamqp)."""
    sock = socket.create_connection(("127.0.0.1", server.amqp_port))
    sock.settimeout(10)
    sock.sendall(b"AMQP\x00\x00\x09\x01")
    sock.recv(65536)  # Connection.Start
    sock.sendall(amqp_frame(0, commands.Connection.StartOk(
        client_properties={}, mechanism="PLAIN", response="\x00guest\x00guest", locale="en_US")))
    sock.recv(65536)  # Connection.Tune
    sock.sendall(amqp_frame(0, commands.Connection.TuneOk(channel_max=0, frame_max=131072, heartbeat=0)))
    sock.sendall(amqp_frame(0, commands.Connection.Open(virtual_host="/")))
    got = b""
    while b"\xce" not in got:
        got += sock.recv(65536)
    return sock


def test_amqp_frame_before_connection_open_is_capped_at_frame_min_size(mqlite_server: Any) -> None:
    """RabbitMQ reads frames of at most FRAME_MIN_SIZE (4096) until tuning is done."""
    sock = socket.create_connection(("127.0.0.1", mqlite_server.amqp_port))
    sock.sendall(b"AMQP\x00\x00\x09\x01")
    sock.settimeout(10)
    sock.recv(65536)  # Connection.Start
    sock.sendall(struct.pack(">BHI", 1, 0, 100_000) + b"\x00" * 1000)
    got = closed_by_peer(sock)
    assert b"frame_too_large,100000,4088" in got
    sock.close()


def test_amqp_publish_before_connection_open_is_refused(mqlite_server: Any) -> None:
    sock = socket.create_connection(("127.0.0.1", mqlite_server.amqp_port))
    sock.sendall(b"AMQP\x00\x00\x09\x01")
    sock.settimeout(10)
    sock.recv(65536)
    sock.sendall(amqp_frame(1, commands.Basic.Publish(exchange="", routing_key="q")))
    assert b"COMMAND_INVALID - unexpected method basic.publish before connection.open" in closed_by_peer(sock)
    sock.close()


def test_amqp_message_over_max_message_size_closes_the_channel_not_the_connection(mqlite_server_factory: Any) -> None:
    """RabbitMQ: `PRECONDITION_FAILED - message size N is larger than configured max
    size M`, a channel error (406); the connection and its other channels go on."""
    server = mqlite_server_factory(amqp_max_message_size=1 * MiB)
    conn = pika.BlockingConnection(pika.ConnectionParameters(host="127.0.0.1", port=server.amqp_port))
    ch = conn.channel()
    ch.queue_declare("big")
    ch.basic_publish("", "big", b"a" * (MiB + 1))
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as info:
        ch.queue_declare("big", passive=True)
    assert info.value.reply_code == 406
    assert info.value.reply_text == f"PRECONDITION_FAILED - message size {MiB + 1} is larger than configured max size {MiB}"
    other = conn.channel()
    other.basic_publish("", "big", b"fits")
    assert other.basic_get("big", auto_ack=True)[2] == b"fits"
    conn.close()


def test_amqp_bodies_on_many_channels_cannot_outgrow_the_budget(mqlite_server_factory: Any) -> None:
    """The issue's attack: one connection, many channels, each a partial 8 MiB body.
    Reads pause at the budget; when every holder waits, the largest is cut off, and a
    pika client keeps publishing."""
    server = mqlite_server_factory(read_budget_bytes=16 * MiB)
    sock = amqp_login(server)
    hostile = b""
    for channel in range(1, 9):
        hostile += amqp_frame(channel, commands.Channel.Open())
    for channel in range(1, 9):
        hostile += amqp_frame(channel, commands.Basic.Publish(exchange="", routing_key="q"))
        hostile += struct.pack(">BHI", 2, channel, 14) + struct.pack(">HHQH", 60, 0, 8 * MiB, 0) + b"\xce"
    sock.sendall(hostile)
    chunk = b"\x00" * 131064
    body = b"".join(struct.pack(">BHI", 3, ch, len(chunk)) + chunk + b"\xce" for _ in range(32) for ch in range(1, 9))
    send_until_blocked(sock, body)
    wait_until(lambda: budget_state(server)[2] == 1, "the stalled connection was cut off")
    assert budget_state(server)[0] == 0
    conn = pika.BlockingConnection(pika.ConnectionParameters(host="127.0.0.1", port=server.amqp_port))
    ch = conn.channel()
    ch.queue_declare("q")
    ch.basic_publish("", "q", b"served")
    assert ch.basic_get("q", auto_ack=True)[2] == b"served"
    conn.close()
    sock.close()
