"""Restart persistence: streams live in the log, group state in the catalog."""

from __future__ import annotations

from typing import Any

import redis


def test_streams_and_groups_survive_restart(resp_server: Any) -> None:
    """Issue #8: streams are durable in the log; PEL and last-delivered-id survive."""
    r = redis.Redis(port=resp_server.redis_port)
    for i in range(1, 6):
        r.xadd("orders:eu", {"n": str(i)}, id=f"{i}-0")
    r.xadd("plain", {"a": "b"})
    r.xdel("orders:eu", "2-0")
    r.xtrim("orders:eu", minid="1-1", approximate=False)  # drops 1-0
    r.xgroup_create("orders:eu", "g", id="0")
    r.xreadgroup("g", "alice", {"orders:eu": ">"}, count=2)
    r.xack("orders:eu", "g", "3-0")
    r.execute_command("XSETID", "orders:eu", "9-0", "ENTRIESADDED", "9")
    r.close()

    resp_server.restart()

    r = redis.Redis(port=resp_server.redis_port)
    assert [e[0] for e in r.xrange("orders:eu")] == [b"3-0", b"4-0", b"5-0"]
    assert r.xrange("orders:eu", "4", "4")[0][1] == {b"n": b"4"}
    assert sorted(r.keys()) == [b"orders:eu", b"plain"]
    info = r.xinfo_stream("orders:eu")
    assert info["last-generated-id"] == b"9-0" and info["entries-added"] == 9
    assert info["max-deleted-entry-id"] == b"2-0"
    group = r.xinfo_groups("orders:eu")[0]
    assert group["last-delivered-id"] == b"4-0" and group["pending"] == 1
    pending = r.xpending_range("orders:eu", "g", "-", "+", 10)
    assert [(p["message_id"], p["consumer"]) for p in pending] == [(b"4-0", b"alice")]
    assert [e[0] for e in r.xreadgroup("g", "bob", {"orders:eu": ">"})[0][1]] == [b"5-0"]
    with __import__("pytest").raises(redis.ResponseError, match="equal or smaller"):
        r.xadd("orders:eu", {"x": 1}, id="9-0")


def test_deleted_stream_stays_deleted_after_restart(resp_server: Any) -> None:
    r = redis.Redis(port=resp_server.redis_port)
    r.xadd("gone", {"a": 1})
    r.xgroup_create("gone", "g")
    assert r.delete("gone") == 1
    r.close()
    resp_server.restart()
    r = redis.Redis(port=resp_server.redis_port)
    assert r.exists("gone") == 0
    r.xadd("gone", {"a": 2}, id="1-0")
    assert r.xinfo_groups("gone") == []


def test_trimmed_log_space_is_reclaimed_and_counters_survive(resp_server: Any) -> None:
    """MAXLEN trimming cuts the stream's log (Stream.delete_records) in steps; a setid
    snapshot keeps last-generated-id and entries-added across the cut and a restart."""
    r = redis.Redis(port=resp_server.redis_port)
    pipe = r.pipeline(transaction=False)
    for i in range(1, 12_001):
        pipe.xadd("capped", {"i": str(i)}, id=f"{i}-0", maxlen=100, approximate=False)
        if i % 2000 == 0:
            pipe.execute()
    pipe.execute()
    assert r.xlen("capped") == 100

    def earliest() -> int:
        return int(resp_server.core.get_stream("capped").earliest(0))

    resp_server.restart()
    assert resp_server.call(earliest) >= 10_000  # the trimmed prefix is gone from the log
    r = redis.Redis(port=resp_server.redis_port)
    assert r.xlen("capped") == 100
    assert r.xrange("capped", count=1)[0][0] == b"11901-0"
    info = r.xinfo_stream("capped")
    assert info["entries-added"] == 12_000 and info["last-generated-id"] == b"12000-0"


def test_fsync_always_replies_to_xadd_once_durable(mqlite_server_factory: Any) -> None:
    """`--fsync always` is Redis's `appendfsync always`: XADD replies after the durable
    write (pipelined replies still arrive, in order) and the entries survive a restart."""
    srv = mqlite_server_factory(http_port=None, kafka_port=None, amqp_port=None, fsync="always")
    r = redis.Redis(port=srv.redis_port)
    pipe = r.pipeline(transaction=False)
    for i in range(1, 51):
        pipe.xadd("d", {"i": str(i)}, id=f"{i}-0")
    assert pipe.execute()[-1] == b"50-0"
    r.close()
    srv.kill()
    srv.start()
    r = redis.Redis(port=srv.redis_port)
    assert r.xlen("d") == 50
