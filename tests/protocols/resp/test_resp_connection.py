"""Connection handshake and server commands with redis-py and raw sockets."""

from __future__ import annotations

import socket
from typing import Any

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

NO_RETRY = {"retry": Retry(NoBackoff(), 0)}  # redis-py retries auth failures with backoff


def raw(port: int, data: bytes, expect_close: bool = False) -> bytes:
    """Send bytes on a fresh socket; read until the reply stops (or the peer closes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(data)
        if not expect_close:
            s.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk


def test_ping_echo_and_hello_in_both_protocols(r: redis.Redis) -> None:
    """PING/ECHO; HELLO replies the server map (redis-py sends HELLO 3 for protocol=3)."""
    assert r.ping() is True
    assert r.echo(b"x\r\ny") == b"x\r\ny"
    hello = r.execute_command("HELLO")
    hello = {k.decode() if isinstance(k, bytes) else k: v for k, v in (hello.items() if isinstance(hello, dict) else zip(hello[::2], hello[1::2]))}
    assert hello["server"] == b"redis" and hello["proto"] in (2, 3)


def test_client_setname_getname_id_list_info(r: redis.Redis) -> None:
    """CLIENT SETNAME/GETNAME/ID/LIST/INFO as documented."""
    assert r.client_setname("worker-1")
    assert r.client_getname() in (b"worker-1", "worker-1")  # redis-py decodes this one
    cid = r.client_id()
    assert isinstance(cid, int) and cid > 0
    assert any(c["name"] == "worker-1" for c in r.client_list())
    assert r.client_info()["name"] == "worker-1"
    with pytest.raises(redis.ResponseError, match="Client names cannot contain spaces"):
        r.client_setname("a b")


def test_client_kill_by_id_closes_that_client(resp_server: Any) -> None:
    a = redis.Redis(port=resp_server.redis_port)
    b = redis.Redis(port=resp_server.redis_port, single_connection_client=True)
    bid = b.client_id()
    assert a.client_kill_filter(_id=bid) == 1
    with pytest.raises(redis.ConnectionError):
        b.connection.send_command("PING")
        b.connection.read_response()


def test_unknown_command_and_wrong_arity_use_redis_texts(r: redis.Redis) -> None:
    """Redis: `-ERR unknown command 'x', with args beginning with: ...`."""
    with pytest.raises(redis.ResponseError) as info:
        r.execute_command("FOO", "a", "b")
    assert str(info.value) == "unknown command 'FOO', with args beginning with: 'a' 'b' "
    with pytest.raises(redis.ResponseError) as info2:
        r.execute_command("XADD", "s")
    assert str(info2.value) == "wrong number of arguments for 'xadd' command"


def test_select_only_db_zero(r: redis.Redis) -> None:
    assert r.execute_command("SELECT", 0)
    with pytest.raises(redis.ResponseError, match="DB index is out of range"):
        r.execute_command("SELECT", 1)


def test_inline_commands_work_like_telnet(resp_server: Any) -> None:
    """Inline protocol: `PING\\r\\n` and quoted arguments."""
    assert raw(resp_server.redis_port, b"PING\r\nECHO \"hi there\"\r\n") == b"+PONG\r\n$8\r\nhi there\r\n"


def test_protocol_error_replies_then_closes_only_that_connection(resp_server: Any, r2: redis.Redis) -> None:
    """Redis: `-ERR Protocol error: ...` after the commands before it, then close."""
    out = raw(resp_server.redis_port, b"*1\r\n$4\r\nPING\r\n*1\r\n$-3\r\n", expect_close=True)
    assert out == b"+PONG\r\n-ERR Protocol error: invalid bulk length\r\n"
    out = raw(resp_server.redis_port, b"*1\r\n$600000000\r\n", expect_close=True)
    assert out == b"-ERR Protocol error: invalid bulk length\r\n"
    assert r2.ping()


def test_quit_replies_ok_and_closes(resp_server: Any) -> None:
    assert raw(resp_server.redis_port, b"QUIT\r\nPING\r\n", expect_close=True) == b"+OK\r\n"


def test_pipeline_replies_in_order(r: redis.Redis) -> None:
    pipe = r.pipeline(transaction=False)
    for i in range(200):
        pipe.echo(str(i))
    assert pipe.execute() == [str(i).encode() for i in range(200)]


def test_auth_default_user_and_acl_style(mqlite_server_factory: Any) -> None:
    """AUTH password / AUTH default password; NOAUTH before; WRONGPASS on a bad one."""
    srv = mqlite_server_factory(http_port=None, kafka_port=None, amqp_port=None, redis_password="s3cret")
    anon = redis.Redis(port=srv.redis_port, **NO_RETRY)
    with pytest.raises(redis.AuthenticationError):
        anon.ping()
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=srv.redis_port, password="nope", **NO_RETRY).ping()
    assert redis.Redis(port=srv.redis_port, password="s3cret").ping()
    assert redis.Redis(port=srv.redis_port, username="default", password="s3cret", protocol=3).ping()


def test_auth_without_password_configured_is_an_error(resp_server: Any) -> None:
    c = redis.Redis(port=resp_server.redis_port, **NO_RETRY)
    with pytest.raises(redis.RedisError, match="without any password configured"):
        c.execute_command("AUTH", "x")


def test_reset_leaves_pubsub_and_returns_to_resp2(resp_server: Any) -> None:
    c = redis.Redis(port=resp_server.redis_port, single_connection_client=True)
    c.execute_command("HELLO", "3")
    assert c.execute_command("RESET") in (b"RESET", "RESET")
    assert c.client_info()["resp"] == "2"


def test_command_info_count_docs(r: redis.Redis, resp_server: Any) -> None:
    """COMMAND answers for what is implemented."""
    count = r.command_count()
    assert count >= 40
    info = r.execute_command("COMMAND", "INFO", "xadd")
    assert info["xadd"]["arity"] == -5  # redis-py parses COMMAND INFO into a dict
    # redis-py parses every COMMAND reply as COMMAND INFO, so read DOCS raw
    docs = raw(resp_server.redis_port, b"COMMAND DOCS xadd\r\n")
    assert docs.startswith(b"*2\r\n$4\r\nxadd\r\n*10\r\n$7\r\nsummary\r\n")


def test_info_sections_and_config_get(r: redis.Redis) -> None:
    info = r.info()
    assert "redis_version" in info and "connected_clients" in info
    assert "used_memory" in r.info("memory")
    cfg = r.config_get("maxmemory*")
    assert cfg.get("maxmemory") == "0" or cfg.get(b"maxmemory") == b"0"
    assert r.config_set("client-output-buffer-limit", "pubsub 1mb 1mb 60")


def test_keyspace_commands_cover_streams(r: redis.Redis) -> None:
    """TYPE/EXISTS/DEL/KEYS/SCAN/DBSIZE/FLUSHDB over streams (keys may hold ':')."""
    r.xadd("orders:eu", {"a": 1})
    r.xadd("orders:us", {"a": 1})
    r.xadd("other", {"a": 1})
    assert r.type("orders:eu") == b"stream" and r.type("nope") == b"none"
    assert r.exists("orders:eu", "orders:eu", "nope") == 2
    assert sorted(r.keys("orders:*")) == [b"orders:eu", b"orders:us"]
    assert sorted(r.scan_iter(match="orders:*", count=1)) == [b"orders:eu", b"orders:us"]
    assert r.dbsize() == 3
    assert r.delete("orders:us", "nope") == 1
    assert r.dbsize() == 2
    assert r.flushdb()
    assert r.dbsize() == 0 and r.keys() == []
    t = r.time()
    assert t[0] > 1_600_000_000


def test_multi_exec_runs_queued_commands_in_order(r: redis.Redis) -> None:
    """MULTI/EXEC (redis-py's default pipeline): +QUEUED, then an array of replies."""
    pipe = r.pipeline()  # transaction=True
    pipe.xadd("tx", {"a": 1}, id="1-0")
    pipe.xadd("tx", {"a": 2}, id="1-0")  # fails at run time: error inside the array
    pipe.xlen("tx")
    pipe.delete("tx")
    pipe.exists("tx")
    results = pipe.execute(raise_on_error=False)
    assert results[0] == b"1-0" and isinstance(results[1], redis.ResponseError)
    assert results[2:] == [1, 1, 0]


def test_exec_without_multi_and_execabort(resp_server: Any) -> None:
    """EXEC without MULTI is an error; a command that fails to queue aborts EXEC."""
    out = raw(resp_server.redis_port, b"EXEC\r\nMULTI\r\nNOPE\r\nPING\r\nEXEC\r\n")
    assert out == (
        b"-ERR EXEC without MULTI\r\n+OK\r\n"
        b"-ERR unknown command 'NOPE', with args beginning with: \r\n+QUEUED\r\n"
        b"-EXECABORT Transaction discarded because of previous errors.\r\n"
    )


def test_acl_style_users_authenticate_with_username(mqlite_server_factory: Any) -> None:
    """AUTH username password (Redis 6 ACL form) for configured users."""
    srv = mqlite_server_factory(
        http_port=None, kafka_port=None, amqp_port=None, redis_users=(("app", "pw1"),)
    )
    assert redis.Redis(port=srv.redis_port, username="app", password="pw1").ping()
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=srv.redis_port, username="app", password="bad", **NO_RETRY).ping()
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=srv.redis_port, **NO_RETRY).ping()
    c = redis.Redis(port=srv.redis_port, username="app", password="pw1", protocol=3)
    assert c.acl_whoami() == b"app"


def test_watch_aborts_exec_when_the_key_changed(resp_server: Any) -> None:
    """WATCH (optimistic locking): EXEC returns nil if a watched key was modified."""
    a = redis.Redis(port=resp_server.redis_port)
    b = redis.Redis(port=resp_server.redis_port)
    a.xadd("w", {"v": 1})
    with a.pipeline() as pipe:
        pipe.watch("w")
        b.xadd("w", {"v": 2})  # another client changes the key
        pipe.multi()
        pipe.xadd("w", {"v": 3})
        with pytest.raises(redis.WatchError):
            pipe.execute()
    with a.pipeline() as pipe:
        pipe.watch("w")
        pipe.multi()
        pipe.xlen("w")
        assert pipe.execute() == [2]
