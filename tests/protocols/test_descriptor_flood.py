"""Issue 26, item 3: a descriptor flood on one protocol never stops the others.

Before: with 1,024 descriptors, 1,100 idle Kafka connections made every listener
refuse work, without a log line. The rules checked: the soft limit is raised to the
hard one at start (logged); a listener keeps a share of descriptors the others cannot
take, and refusals are logged once; per-address caps; connections that never log in
are closed after `unauthenticated_timeout`.
"""

from __future__ import annotations

import socket
import time
import urllib.request
from typing import Any

import pika
import redis

from mqlite.testing import spawn_server, wait_until


def closed_by_server(sock: socket.socket, limit: float = 20.0) -> bool:
    sock.settimeout(limit)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def test_soft_descriptor_limit_is_raised_to_the_hard_limit(tmp_path: Any) -> None:
    server = spawn_server(None, rlimit_nofile=(256, 1024))
    try:
        assert "file descriptors: soft limit raised from 256 to 1024" in server.log_text()
        with open(f"/proc/{server.process.pid}/limits") as f:
            line = next(line for line in f if line.startswith("Max open files"))
        assert line.split()[3:5] == ["1024", "1024"]
    finally:
        server.stop()


def test_kafka_connection_flood_leaves_every_other_protocol_serving() -> None:
    server = spawn_server(None, rlimit_nofile=(256, 256))
    flood: list[socket.socket] = []
    try:
        for _ in range(300):  # more than the process may hold
            try:
                flood.append(socket.create_connection(("127.0.0.1", server.ports["kafka"]), timeout=5))
            except OSError:
                break
        wait_until(lambda: "kafka: refusing connections" in server.log_text(), "the refusal was logged")
        assert server.log_text().count("kafka: refusing connections") == 1  # once, not per connection

        url = f"http://127.0.0.1:{server.ports['http']}/_mqlite/health"
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200
        client = redis.Redis(port=server.ports["redis"], socket_timeout=10)
        assert client.ping()
        client.close()
        conn = pika.BlockingConnection(pika.ConnectionParameters(host="127.0.0.1", port=server.ports["amqp"]))
        ch = conn.channel()
        ch.queue_declare("during-flood")
        ch.basic_publish("", "during-flood", b"served")
        assert ch.basic_get("during-flood", auto_ack=True)[2] == b"served"
        conn.close()
    finally:
        for sock in flood:
            sock.close()
        server.stop()


def test_connections_per_address_are_capped(mqlite_server_factory: Any) -> None:
    server = mqlite_server_factory(max_connections_per_address=5)
    kept = [socket.create_connection(("127.0.0.1", server.redis_port)) for _ in range(5)]
    for sock in kept:
        sock.sendall(b"PING\r\n")
        sock.settimeout(10)
        assert sock.recv(100) == b"+PONG\r\n"
    extra = socket.create_connection(("127.0.0.1", server.redis_port))
    assert closed_by_server(extra)
    kept.pop().close()
    wait_until(lambda: redis.Redis(port=server.redis_port, socket_timeout=5).ping(), "a slot was freed")
    for sock in kept + [extra]:
        sock.close()


def test_connection_that_never_logs_in_is_closed(mqlite_server_factory: Any) -> None:
    server = mqlite_server_factory(redis_password="pw", unauthenticated_timeout=1)
    idle = socket.create_connection(("127.0.0.1", server.redis_port))
    client = redis.Redis(port=server.redis_port, password="pw", socket_timeout=10)
    assert client.ping()
    assert closed_by_server(idle)
    time.sleep(1.5)  # past the timeout: the logged-in client is still served
    assert client.ping()
    client.close()
    idle.close()


def test_amqp_handshake_that_never_finishes_is_closed(mqlite_server_factory: Any) -> None:
    server = mqlite_server_factory(unauthenticated_timeout=1)
    sock = socket.create_connection(("127.0.0.1", server.amqp_port))
    sock.sendall(b"AMQP\x00\x00\x09\x01")
    sock.settimeout(10)
    assert sock.recv(65536)  # Connection.Start, then nothing from us
    assert closed_by_server(sock)
    sock.close()
