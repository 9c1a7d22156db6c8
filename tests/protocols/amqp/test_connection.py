"""Connection class: handshake, authentication, vhosts, heartbeats, errors (AMQP 0-9-1 §4.2, RabbitMQ)."""

from __future__ import annotations

import socket
import struct
import time
from typing import Any

import pika
import pika.exceptions
import pytest
from pamqp import commands
from pamqp import frame as pframe

from mqlite.protocols.amqp.frames import PROTOCOL_HEADER


def _read_frames(sock: socket.socket, until: type, limit: float = 10.0) -> list[Any]:
    """Read frames until one of type `until` arrives (or the peer closes)."""
    sock.settimeout(limit)
    buf = b""
    out: list[Any] = []
    while True:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            return out
        if not chunk:
            return out
        buf += chunk
        while len(buf) >= 8:
            if buf.startswith(b"AMQP"):
                out.append(buf[:8])
                buf = buf[8:]
                continue
            size = struct.unpack(">I", buf[3:7])[0]
            if len(buf) < size + 8:
                break
            _, _, value = pframe.unmarshal(buf[: size + 8])
            buf = buf[size + 8:]
            out.append(value)
            if isinstance(value, until):
                return out


def _handshake(port: int, heartbeat: int = 0, frame_max: int = 131072) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(PROTOCOL_HEADER)
    _read_frames(sock, commands.Connection.Start)
    sock.sendall(pframe.marshal(commands.Connection.StartOk(
        client_properties={"capabilities": {"connection.blocked": True}}, mechanism="PLAIN", response="\0guest\0guest"), 0))
    _read_frames(sock, commands.Connection.Tune)
    sock.sendall(pframe.marshal(commands.Connection.TuneOk(2047, frame_max, heartbeat), 0))
    sock.sendall(pframe.marshal(commands.Connection.Open(virtual_host="/"), 0))
    _read_frames(sock, commands.Connection.OpenOk)
    return sock


def test_server_properties_advertise_mqlite_and_rabbitmq_capabilities(connect: Any) -> None:
    """Connection.Start carries product, version and the capabilities clients check."""
    conn = connect()
    props = conn._impl.server_properties
    assert props["product"] == "mqlite"
    caps = props["capabilities"]
    for cap in ("publisher_confirms", "basic.nack", "consumer_cancel_notify", "exchange_exchange_bindings",
                "connection.blocked", "authentication_failure_close", "per_consumer_qos"):
        assert caps[cap] is True


def test_start_offers_plain_and_amqplain(mqlite_server: Any) -> None:
    sock = socket.create_connection(("127.0.0.1", mqlite_server.amqp_port))
    sock.sendall(PROTOCOL_HEADER)
    frames = _read_frames(sock, commands.Connection.Start)
    start = frames[-1]
    assert start.mechanisms.split() == ["PLAIN", "AMQPLAIN"]
    assert (start.version_major, start.version_minor) == (0, 9)
    sock.close()


def test_wrong_protocol_header_gets_the_supported_header_then_close(mqlite_server: Any) -> None:
    """§4.2.2: the server answers with the header it supports and closes."""
    sock = socket.create_connection(("127.0.0.1", mqlite_server.amqp_port))
    sock.sendall(b"AMQP\x00\x00\x08\x00")
    sock.settimeout(10)
    assert sock.recv(8) == PROTOCOL_HEADER
    assert sock.recv(8) == b""
    sock.close()


def test_bad_password_is_access_refused(connect: Any) -> None:
    """RabbitMQ: authentication failure closes with 403 ACCESS_REFUSED."""
    with pytest.raises(pika.exceptions.ProbableAuthenticationError) as err:
        connect(credentials=pika.PlainCredentials("guest", "wrong"))
    assert "ACCESS_REFUSED" in str(err.value)


def test_unknown_vhost_is_not_allowed(connect: Any) -> None:
    """RabbitMQ: opening a vhost that does not exist closes with 530 NOT_ALLOWED."""
    with pytest.raises(pika.exceptions.ProbableAccessDeniedError) as err:
        connect(virtual_host="nope")
    assert "530" in str(err.value) and "NOT_ALLOWED - vhost nope not found" in str(err.value)


def test_heartbeat_timeout_closes_a_dead_peer(mqlite_server: Any) -> None:
    """RabbitMQ: a peer silent for two heartbeat intervals is disconnected."""
    sock = _handshake(mqlite_server.amqp_port, heartbeat=1)
    sock.settimeout(15)
    received = b""
    while True:  # the server heartbeats us, then gives up on us and closes
        chunk = sock.recv(4096)
        if not chunk:
            break
        received += chunk
    assert b"\x08\x00\x00\x00\x00\x00\x00\xce" in received
    sock.close()


def test_server_heartbeats_keep_a_quiet_pika_connection_open(connect: Any) -> None:
    """Heartbeats flow both ways: an idle client with heartbeat=1 stays connected."""
    conn = connect(heartbeat=1)
    conn.sleep(3.0)
    assert conn.is_open
    ch = conn.channel()
    ch.queue_declare("hb-alive")


def test_frame_over_frame_max_closes_the_connection_with_frame_error(mqlite_server: Any) -> None:
    """§4.2.3: a frame larger than frame_max is a connection error (501 FRAME_ERROR)."""
    sock = _handshake(mqlite_server.amqp_port, frame_max=4096)
    sock.sendall(pframe.marshal(commands.Channel.Open(), 1))
    _read_frames(sock, commands.Channel.OpenOk)
    sock.sendall(struct.pack(">BHI", 3, 1, 8000) + b"x" * 8000 + b"\xce")
    frames = _read_frames(sock, commands.Connection.Close)
    assert isinstance(frames[-1], commands.Connection.Close)
    assert frames[-1].reply_code == 501
    sock.close()


def test_method_on_unopened_channel_is_channel_error(mqlite_server: Any) -> None:
    """RabbitMQ: a method on a channel that is not open: 504 CHANNEL_ERROR (connection)."""
    sock = _handshake(mqlite_server.amqp_port)
    sock.sendall(pframe.marshal(commands.Queue.Declare(queue="q"), 7))
    frames = _read_frames(sock, commands.Connection.Close)
    assert frames[-1].reply_code == 504
    sock.close()


def test_content_header_without_publish_closes_with_unexpected_frame(mqlite_server: Any) -> None:
    from pamqp.header import ContentHeader

    sock = _handshake(mqlite_server.amqp_port)
    sock.sendall(pframe.marshal(commands.Channel.Open(), 1))
    _read_frames(sock, commands.Channel.OpenOk)
    sock.sendall(pframe.marshal(ContentHeader(0, 3, commands.Basic.Properties()), 1))
    frames = _read_frames(sock, commands.Connection.Close)
    assert frames[-1].reply_code == 505
    sock.close()


def test_garbage_bytes_close_the_connection_and_others_are_served(mqlite_server: Any, connect: Any) -> None:
    """A broken peer costs its own connection only."""
    sock = _handshake(mqlite_server.amqp_port)
    sock.sendall(b"\xff" * 100)
    _read_frames(sock, commands.Connection.Close)
    sock.close()
    ch = connect().channel()
    assert ch.queue_declare("still-serving").method.queue == "still-serving"


def test_connection_close_is_answered_with_close_ok(connect: Any) -> None:
    conn = connect()
    conn.close()
    assert conn.is_closed


def test_amqplain_login_works_through_kombu(mqlite_server: Any) -> None:
    """py-amqp (kombu's transport) logs in with AMQPLAIN by default."""
    import kombu

    with kombu.Connection(f"amqp://guest:guest@127.0.0.1:{mqlite_server.amqp_port}//",
                          login_method="AMQPLAIN") as conn:
        conn.connect()
        assert conn.connected
        assert conn.connection.server_properties["product"] == "mqlite"


def test_publisher_is_told_connection_blocked_under_disk_alarm(mqlite_server_factory: Any) -> None:
    """RabbitMQ: under a disk alarm a publishing connection gets Connection.Blocked and
    is no longer read (publishers are blocked, not dropped)."""
    from pamqp.header import ContentHeader

    server = mqlite_server_factory(amqp_disk_free_limit=10**18)
    time.sleep(0.1)
    sock = _handshake(server.amqp_port)
    sock.sendall(pframe.marshal(commands.Channel.Open(), 1))
    _read_frames(sock, commands.Channel.OpenOk)
    sock.sendall(pframe.marshal(commands.Basic.Publish(exchange="", routing_key="x"), 1)
                 + pframe.marshal(ContentHeader(0, 0, commands.Basic.Properties()), 1))
    frames = _read_frames(sock, commands.Connection.Blocked)
    assert isinstance(frames[-1], commands.Connection.Blocked)
    assert frames[-1].reason == "low on disk"
    sock.close()


def test_publisher_is_told_connection_blocked_under_memory_alarm(mqlite_server_factory: Any) -> None:
    """RabbitMQ vm_memory_high_watermark: the memory alarm blocks publishers too."""
    from pamqp.header import ContentHeader

    server = mqlite_server_factory(amqp_memory_limit=1)
    time.sleep(0.1)
    sock = _handshake(server.amqp_port)
    sock.sendall(pframe.marshal(commands.Channel.Open(), 1))
    _read_frames(sock, commands.Channel.OpenOk)
    sock.sendall(pframe.marshal(commands.Basic.Publish(exchange="", routing_key="x"), 1)
                 + pframe.marshal(ContentHeader(0, 0, commands.Basic.Properties()), 1))
    frames = _read_frames(sock, commands.Connection.Blocked)
    assert frames[-1].reason == "low on memory"
    sock.close()


def test_server_shutdown_closes_clients_with_connection_forced(mqlite_server: Any) -> None:
    """RabbitMQ: 320 CONNECTION_FORCED when the broker shuts down."""
    conn = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", mqlite_server.amqp_port))
    mqlite_server.stop()
    with pytest.raises(pika.exceptions.ConnectionClosedByBroker) as err:
        conn.process_data_events(2.0)
        conn.channel()
    assert err.value.reply_code == 320


def test_virtual_hosts_are_separate_namespaces(mqlite_server_factory: Any) -> None:
    """Entities of one vhost are invisible from another (vhost '/' is the default)."""
    server = mqlite_server_factory(amqp_vhosts=("tenant-a",))
    a = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", server.amqp_port,
                                                          virtual_host="tenant-a")).channel()
    root = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", server.amqp_port)).channel()
    a.queue_declare("shared-name")
    a.basic_publish("", "shared-name", b"in-a")
    root.queue_declare("shared-name")
    assert root.basic_get("shared-name")[0] is None
    assert a.basic_get("shared-name", auto_ack=True)[2] == b"in-a"
    a.exchange_declare("amq.topic", "topic", passive=True)


def _non_loopback_address() -> str | None:
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # no packet is sent; picks the outgoing interface
            addr = s.getsockname()[0]
    except OSError:
        return None
    return None if addr.startswith("127.") else addr


def test_guest_may_log_in_from_loopback_only(mqlite_server_factory: Any) -> None:
    """RabbitMQ loopback_users: guest is refused from a non-loopback address; other
    users are not."""
    addr = _non_loopback_address()
    if addr is None:
        pytest.skip("no non-loopback address on this machine")
    server = mqlite_server_factory(host="0.0.0.0", amqp_users=(("guest", "guest"), ("app", "secret")))
    with pytest.raises(pika.exceptions.ProbableAuthenticationError) as err:
        pika.BlockingConnection(pika.ConnectionParameters(addr, server.amqp_port))
    assert "ACCESS_REFUSED" in str(err.value)
    conn = pika.BlockingConnection(pika.ConnectionParameters(
        addr, server.amqp_port, credentials=pika.PlainCredentials("app", "secret")))
    assert conn.is_open
    conn.close()


def test_update_secret_is_answered_and_the_connection_stays_usable(connect: Any) -> None:
    """Connection.UpdateSecret (RabbitMQ 3.8+): the server answers UpdateSecretOk, as
    RabbitMQ's internal backend does, and the channel keeps working."""
    conn = connect()
    ch = conn.channel()
    conn.update_secret("new-secret", "token refreshed")
    q = ch.queue_declare("", exclusive=True).method.queue
    ch.basic_publish("", q, b"after the secret update")
    assert ch.basic_get(q, auto_ack=True)[2] == b"after the secret update"
    assert conn.is_open
