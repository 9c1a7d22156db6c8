"""STOMP through the broker's one user model, TLS (`--tls auto`) and restarts."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import Any

import pika
import pika.exceptions
import pytest
import stomp
from stomp_scenarios import Collector


def _connect(port: int, login: str, passcode: str, **kw: Any) -> tuple[Any, Collector]:
    conn = stomp.Connection12([("127.0.0.1", port)], vhost="/", **kw)
    seen = Collector()
    conn.set_listener("c", seen)
    return conn, seen


def test_login_and_passcode_are_checked_against_the_configured_users(mqlite_server_factory: Callable[..., Any]) -> None:
    server = mqlite_server_factory(users=("alice:s3cret",))
    conn, seen = _connect(server.stomp_port, "alice", "s3cret")
    conn.connect("alice", "s3cret", wait=True)
    conn.send("/queue/auth-q", "ok", headers={"receipt": "r"})
    seen.receipt("r")
    conn.disconnect()
    bad, bad_seen = _connect(server.stomp_port, "alice", "wrong")
    with pytest.raises(stomp.exception.ConnectFailedException):
        bad.connect("alice", "wrong", wait=True)
    error = bad_seen.next("ERROR")
    assert error.headers["message"] == "Bad CONNECT"
    assert error.body == "Access refused for user 'alice'\n"


def test_acl_refusal_is_rabbitmqs_access_refused(mqlite_server_factory: Callable[..., Any]) -> None:
    server = mqlite_server_factory(users=("bob:pw",), acl=("bob:write+create+read:queue:*", "bob:write:router:amq.default"))
    conn, seen = _connect(server.stomp_port, "bob", "pw")
    conn.connect("bob", "pw", wait=True)
    conn.send("/queue/mine", "fine", headers={"receipt": "r"})
    seen.receipt("r")
    conn.send("/topic/not-mine", "refused")
    error = seen.next("ERROR")
    assert error.headers["message"] == "access_refused"
    assert error.body == "ACCESS_REFUSED - access to exchange 'amq.topic' in vhost '/' refused for user 'bob'"


def test_stomp_over_tls_with_the_servers_ca(mqlite_server_factory: Callable[..., Any]) -> None:
    server = mqlite_server_factory(tls="auto")
    conn, seen = _connect(server.stomp_port, "guest", "guest")
    conn.set_ssl(for_hosts=[("127.0.0.1", server.stomp_port)], ca_certs=str(server.tls_ca_file),
                 ssl_version=ssl.PROTOCOL_TLS_CLIENT)
    conn.connect("guest", "guest", wait=True)
    conn.subscribe("/queue/tls-q", id="s")
    conn.send("/queue/tls-q", "over tls")
    assert seen.next().body == "over tls"
    conn.disconnect()


def test_persistent_messages_and_durable_queues_survive_a_restart(mqlite_server: Any) -> None:
    conn, seen = _connect(mqlite_server.stomp_port, "guest", "guest")
    conn.connect("guest", "guest", wait=True)
    conn.send("/queue/keep", "kept", headers={"persistent": "true", "receipt": "r1"})
    conn.send("/queue/keep", "dropped", headers={"receipt": "r2"})  # transient: gone with the restart
    seen.receipt("r2")
    conn.disconnect()
    mqlite_server.restart()
    conn, seen = _connect(mqlite_server.stomp_port, "guest", "guest")
    conn.connect("guest", "guest", wait=True)
    conn.subscribe("/queue/keep", id="s", ack="client-individual")
    got = seen.next()
    assert (got.body, got.headers["persistent"]) == ("kept", "true")
    conn.ack(got.headers["ack"], receipt="a")
    seen.receipt("a")
    ch = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", mqlite_server.amqp_port)).channel()
    assert ch.queue_declare("keep", passive=True).method.message_count == 0
    ch.connection.close()
    conn.disconnect()


def test_stomp_alone_without_the_amqp_listener(mqlite_server_factory: Callable[..., Any]) -> None:
    server = mqlite_server_factory(amqp_port=None)
    conn, seen = _connect(server.stomp_port, "guest", "guest")
    conn.connect("guest", "guest", wait=True)
    conn.subscribe("/topic/solo.*", id="t")
    conn.send("/topic/solo.x", "alone", headers={"receipt": "r"})
    assert seen.next().body == "alone"
    conn.disconnect()


def test_host_header_selects_the_vhost_shared_with_amqp(mqlite_server_factory: Callable[..., Any]) -> None:
    server = mqlite_server_factory(amqp_vhosts=("dev",))
    conn = stomp.Connection12([("127.0.0.1", server.stomp_port)], vhost="dev")
    seen = Collector()
    conn.set_listener("c", seen)
    conn.connect("guest", "guest", wait=True)
    conn.send("/queue/in-dev", "dev only", headers={"receipt": "r"})
    seen.receipt("r")
    amqp = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", server.amqp_port, virtual_host="dev"))
    _, _, body = amqp.channel().basic_get("in-dev", auto_ack=True)
    assert body == b"dev only"
    root = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", server.amqp_port))
    with pytest.raises(pika.exceptions.ChannelClosedByBroker, match="NOT_FOUND - no queue 'in-dev' in vhost '/'"):
        root.channel().queue_declare("in-dev", passive=True)
    amqp.close()
    root.close()
    conn.disconnect()


def test_a_frame_over_the_maximum_message_size_is_an_error_and_nothing_is_stored(
        mqlite_server_factory: Callable[..., Any]) -> None:
    server = mqlite_server_factory(amqp_max_message_size=1024)
    conn, seen = _connect(server.stomp_port, "guest", "guest")
    conn.connect("guest", "guest", wait=True)
    conn.send("/queue/big", "x" * 2000)
    error = seen.next("ERROR")
    assert (error.headers["message"], error.body) == ("Invalid frame", "body larger than the maximum of 1024 bytes")
    assert seen.next("DISCONNECTED") is None
    ch = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", server.amqp_port)).channel()
    with pytest.raises(pika.exceptions.ChannelClosedByBroker, match="NOT_FOUND"):
        ch.queue_declare("big", passive=True)  # the frame was refused before anything was declared
    ch.connection.close()


def test_subscribing_to_a_stream_queue_is_refused_but_sending_to_it_works(mqlite_server: Any) -> None:
    amqp = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", mqlite_server.amqp_port))
    amqp.channel().queue_declare("strm", durable=True, arguments={"x-queue-type": "stream"})
    conn, seen = _connect(mqlite_server.stomp_port, "guest", "guest")
    conn.connect("guest", "guest", wait=True)
    conn.send("/amq/queue/strm", "into the stream", headers={"receipt": "r"})
    seen.receipt("r")
    conn.subscribe("/amq/queue/strm", id="s", ack="client-individual")
    error = seen.next("ERROR")
    assert (error.headers["message"], error.body) == (
        "not_implemented", "NOT_IMPLEMENTED - consuming stream queue 'strm' in vhost '/' over STOMP is not "
        "supported by mqlite")
    amqp.close()


def test_frames_after_disconnect_are_not_acted_on(mqlite_server: Any) -> None:
    import socket

    sock = socket.create_connection(("127.0.0.1", mqlite_server.stomp_port), timeout=20)
    sock.sendall(b"CONNECT\naccept-version:1.2\nhost:/\n\n\x00"
                 b"SEND\ndestination:/queue/before\nreceipt:s\n\nkept\x00"
                 b"DISCONNECT\nreceipt:d\n\n\x00SEND\ndestination:/queue/after\n\nx\x00")
    data = b""
    while chunk := sock.recv(4096):
        data += chunk
    sock.close()
    assert data.count(b"RECEIPT") == 2 and data.rstrip(b"\n").endswith(b"receipt-id:d\n\n\x00")
    ch = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", mqlite_server.amqp_port)).channel()
    assert ch.queue_declare("before", passive=True).method.message_count == 1
    with pytest.raises(pika.exceptions.ChannelClosedByBroker, match="NOT_FOUND"):
        ch.queue_declare("after", passive=True)
    ch.connection.close()
