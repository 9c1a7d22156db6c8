"""Pub/Sub with redis-py: channels, patterns, shard channels, PUBSUB, slow subscribers."""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest
import redis


def next_message(ps: Any, timeout: float = 5.0) -> Any:
    """Wait for the next non-None pub/sub message (polls the client, not a timed assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = ps.get_message(timeout=0.5)
        if msg is not None:
            return msg
    raise AssertionError("no message arrived")


def test_subscribe_publish_receives_message_and_receiver_count(r: redis.Redis) -> None:
    """PUBLISH returns the number of receivers; SUBSCRIBE confirms with the count."""
    ps = r.pubsub()
    ps.subscribe("news", "sport")
    assert next_message(ps)["type"] == "subscribe"
    second = next_message(ps)
    assert second["channel"] == b"sport" and second["data"] == 2
    assert r.publish("news", "hello") == 1
    msg = next_message(ps)
    assert (msg["type"], msg["channel"], msg["data"]) == ("message", b"news", b"hello")
    assert r.publish("nobody", "x") == 0
    ps.unsubscribe("news")
    assert next_message(ps)["type"] == "unsubscribe"
    ps.close()


def test_pattern_subscription_gets_pmessage_and_counts_once_per_pattern(r: redis.Redis) -> None:
    """PSUBSCRIBE globs; a client with two matching patterns receives the message twice."""
    ps = r.pubsub()
    ps.psubscribe("news.*", "n[aeiou]ws.*t")
    next_message(ps)
    next_message(ps)
    assert r.publish("news.art", "m") == 2
    got = {next_message(ps)["pattern"], next_message(ps)["pattern"]}
    assert got == {b"news.*", b"n[aeiou]ws.*t"}
    assert r.pubsub_numpat() == 2
    ps.close()


def test_pubsub_introspection(r: redis.Redis) -> None:
    """PUBSUB CHANNELS/NUMSUB/NUMPAT/SHARDCHANNELS/SHARDNUMSUB."""
    ps = r.pubsub()
    ps.subscribe("a1", "a2", "b1")
    for _ in range(3):
        next_message(ps)
    assert sorted(r.pubsub_channels("a*")) == [b"a1", b"a2"]
    assert dict(r.pubsub_numsub("a1", "zz")) == {b"a1": 1, b"zz": 0}
    assert r.pubsub_numpat() == 0
    ps.ssubscribe("shard1")
    next_message(ps)
    assert r.pubsub_shardchannels() == [b"shard1"]
    assert dict(r.pubsub_shardnumsub("shard1")) == {b"shard1": 1}
    assert r.spublish("shard1", "x") == 1
    msg = next_message(ps)
    assert msg["type"] == "smessage" and msg["data"] == b"x"
    ps.close()


def test_resp2_subscribed_client_may_only_run_pubsub_commands(resp_server: Any) -> None:
    """RESP2: only (P|S)(UN)SUBSCRIBE, PING, QUIT, RESET in the subscribed state."""
    with socket.create_connection(("127.0.0.1", resp_server.redis_port), timeout=5) as s:
        s.sendall(b"SUBSCRIBE c\r\nXLEN x\r\nPING\r\n")
        expected = (
            b"*3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n"
            b"-ERR Can't execute 'xlen': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET "
            b"are allowed in this context\r\n"
            b"*2\r\n$4\r\npong\r\n$0\r\n\r\n"
        )
        data = b""
        while len(data) < len(expected):
            data += s.recv(4096)
    assert data == expected


def test_unsubscribe_all_with_no_subscription_replies_nil_channel(resp_server: Any) -> None:
    with socket.create_connection(("127.0.0.1", resp_server.redis_port), timeout=5) as s:
        s.sendall(b"UNSUBSCRIBE\r\n")
        assert s.recv(4096) == b"*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n"


def test_resp3_subscriber_gets_push_and_can_run_other_commands(resp_server: Any) -> None:
    """RESP3: messages are push frames, and regular commands still work."""
    with socket.create_connection(("127.0.0.1", resp_server.redis_port), timeout=5) as s:
        s.sendall(b"HELLO 3\r\n")
        s.recv(4096)
        s.sendall(b"SUBSCRIBE c\r\n")
        assert s.recv(4096) == b">3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n"
        s.sendall(b"PUBLISH c hi\r\n")
        data = b""
        expected = b">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$2\r\nhi\r\n:1\r\n"
        while len(data) < len(expected):
            data += s.recv(4096)
        assert data == expected


def test_slow_subscriber_is_cut_off_while_others_keep_receiving(mqlite_server_factory: Any) -> None:
    """client-output-buffer-limit pubsub: a subscriber that does not read is disconnected;
    the publisher is never slowed and the reading subscriber gets every message."""
    srv = mqlite_server_factory(
        http_port=None, kafka_port=None, amqp_port=None, redis_pubsub_buffer_bytes=256 * 1024
    )
    port = srv.redis_port
    slow = socket.create_connection(("127.0.0.1", port))
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.sendall(b"SUBSCRIBE feed\r\n")
    slow.recv(100)
    fast = redis.Redis(port=port)
    ps = fast.pubsub()
    ps.subscribe("feed")
    next_message(ps)
    pub = redis.Redis(port=port)
    payload = b"x" * 8192
    total = 2500  # 20 MB: more than the kernel socket buffers plus the 256 KB limit
    received = 0
    receivers = []
    for i in range(total):
        receivers.append(pub.publish("feed", payload))
        while True:
            msg = ps.get_message(timeout=0.0)
            if msg is None:
                break
            received += 1
    while received < total:
        next_message(ps)
        received += 1
    assert receivers[0] == 2 and receivers[-1] == 1  # the slow one was dropped
    assert dict(pub.pubsub_numsub("feed")) == {b"feed": 1}
    slow.settimeout(5)
    with pytest.raises((ConnectionResetError, OSError)):
        while slow.recv(1 << 20):
            pass
        raise ConnectionResetError("closed")
    ps.close()
    slow.close()


def test_config_set_client_output_buffer_limit_applies_to_pubsub(resp_server: Any) -> None:
    """CONFIG SET client-output-buffer-limit "pubsub <hard> <soft> <secs>" takes effect."""
    port = resp_server.redis_port
    admin = redis.Redis(port=port)
    assert admin.config_set("client-output-buffer-limit", "pubsub 256kb 0 0")
    assert "pubsub 256kb 0 0" in admin.config_get("client-output-buffer-limit")["client-output-buffer-limit"]
    slow = socket.create_connection(("127.0.0.1", port))
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.sendall(b"SUBSCRIBE feed\r\n")
    slow.recv(100)
    payload = b"x" * 8192
    counts = [admin.publish("feed", payload) for _ in range(2500)]
    assert counts[0] == 1 and counts[-1] == 0
    with pytest.raises(redis.ResponseError, match="Invalid argument"):
        admin.config_set("client-output-buffer-limit", "pubsub 1mb")
    slow.close()


def _cmd(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def test_publish_in_one_pipelined_read_follows_auth_multi_and_subscribed_state(mqlite_server_factory: Any) -> None:
    """Redis's `processCommand` checks every PUBLISH of a pipeline against the state the
    commands before it left: NOAUTH before AUTH, QUEUED inside MULTI, and in RESP2 the
    subscribed-context error after SUBSCRIBE (until RESET)."""
    srv = mqlite_server_factory(http_port=None, kafka_port=None, amqp_port=None, redis_password="pw")
    pub = _cmd(b"PUBLISH", b"c", b"m")
    data = (
        pub + _cmd(b"AUTH", b"pw") + pub + _cmd(b"MULTI") + _cmd(b"publish", b"c", b"m") + _cmd(b"EXEC")
        + _cmd(b"SUBSCRIBE", b"c") + pub + _cmd(b"RESET") + _cmd(b"AUTH", b"pw") + pub
    )
    with socket.create_connection(("127.0.0.1", srv.redis_port), timeout=5) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    assert out == (
        b"-NOAUTH Authentication required.\r\n+OK\r\n:0\r\n+OK\r\n+QUEUED\r\n*1\r\n:0\r\n"
        b"*3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n"
        b"-ERR Can't execute 'publish': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / "
        b"QUIT / RESET are allowed in this context\r\n"
        b"+RESET\r\n+OK\r\n:0\r\n"
    )
