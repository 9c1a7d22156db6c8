"""Consumer groups with redis-py: XGROUP, XREADGROUP, XACK, XPENDING, XCLAIM,
XAUTOCLAIM, XINFO GROUPS/CONSUMERS (Redis docs, "Streams" and each command page)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import redis


def entries(reply: Any) -> list[bytes]:
    """IDs of the first stream in an XREAD/XREADGROUP reply (RESP2 list or RESP3 map)."""
    if isinstance(reply, dict):
        return [e[0] for e in next(iter(reply.values()))[0]]
    return [e[0] for e in reply[0][1]]


def fill(r: redis.Redis, n: int = 3, key: str = "s") -> None:
    for i in range(1, n + 1):
        r.xadd(key, {"n": str(i)}, id=f"{i}-0")


def test_xgroup_create_mkstream_busygroup_and_missing_key(r: redis.Redis) -> None:
    """XGROUP CREATE needs the key unless MKSTREAM; a second CREATE is BUSYGROUP."""
    with pytest.raises(redis.ResponseError, match="requires the key to exist"):
        r.xgroup_create("s", "g")
    assert r.xgroup_create("s", "g", id="$", mkstream=True)
    with pytest.raises(redis.ResponseError) as info:
        r.xgroup_create("s", "g")
    assert str(info.value) == "BUSYGROUP Consumer Group name already exists"
    assert r.xinfo_groups("s")[0]["name"] == b"g"


def test_xreadgroup_delivers_new_entries_once_and_tracks_pel(r: redis.Redis) -> None:
    """`>` delivers never-delivered entries and adds them to the PEL; XACK removes."""
    fill(r)
    r.xgroup_create("s", "g", id="0")
    assert entries(r.xreadgroup("g", "alice", {"s": ">"}, count=2)) == [b"1-0", b"2-0"]
    assert entries(r.xreadgroup("g", "bob", {"s": ">"})) == [b"3-0"]
    assert not r.xreadgroup("g", "bob", {"s": ">"})
    summary = r.xpending("s", "g")
    assert summary["pending"] == 3 and summary["min"] == b"1-0" and summary["max"] == b"3-0"
    assert {c["name"]: c["pending"] for c in summary["consumers"]} == {b"alice": 2, b"bob": 1}
    assert r.xack("s", "g", "1-0", "1-0", "9-0") == 1
    assert r.xpending("s", "g")["pending"] == 2
    groups = r.xinfo_groups("s")
    assert groups[0]["last-delivered-id"] == b"3-0" and groups[0]["entries-read"] == 3 and groups[0]["lag"] == 0


def test_xreadgroup_history_rereads_own_pel_and_counts_deliveries(r: redis.Redis) -> None:
    """An explicit ID re-reads the consumer's pending entries (delivery count +1)."""
    fill(r)
    r.xgroup_create("s", "g", id="0")
    r.xreadgroup("g", "alice", {"s": ">"})
    assert entries(r.xreadgroup("g", "alice", {"s": "0"})) == [b"1-0", b"2-0", b"3-0"]
    detail = r.xpending_range("s", "g", "-", "+", 10)
    assert [d["times_delivered"] for d in detail] == [2, 2, 2]
    r.xdel("s", "2-0")
    reply = r.xreadgroup("g", "alice", {"s": "0"})
    raw = next(iter(reply.values()))[0] if isinstance(reply, dict) else reply[0][1]
    assert raw[1][0] == b"2-0" and not raw[1][1]  # a deleted entry reads as [id, nil]


def test_xreadgroup_noack_skips_the_pel(r: redis.Redis) -> None:
    fill(r)
    r.xgroup_create("s", "g", id="0")
    assert entries(r.xreadgroup("g", "c", {"s": ">"}, noack=True)) == [b"1-0", b"2-0", b"3-0"]
    assert r.xpending("s", "g")["pending"] == 0


def test_xreadgroup_missing_group_is_nogroup(r: redis.Redis) -> None:
    r.xadd("s", {"a": 1})
    with pytest.raises(redis.ResponseError) as info:
        r.xreadgroup("nog", "c", {"s": ">"})
    assert str(info.value) == "NOGROUP No such key 's' or consumer group 'nog' in XREADGROUP with GROUP option"
    assert isinstance(info.value, redis.ResponseError)


def test_blocking_xreadgroup_is_woken_by_xadd(resp_server: Any) -> None:
    """XREADGROUP BLOCK waits for new entries; XADD from another client wakes it."""
    reader = redis.Redis(port=resp_server.redis_port)
    writer = redis.Redis(port=resp_server.redis_port)
    writer.xgroup_create("jobs", "workers", id="$", mkstream=True)
    result: list[Any] = []
    t = threading.Thread(target=lambda: result.append(reader.xreadgroup("workers", "w1", {"jobs": ">"}, block=0)))
    t.start()
    while writer.info("clients")["blocked_clients"] < 1:
        pass
    new_id = writer.xadd("jobs", {"task": "x"})
    t.join(10)
    assert result and entries(result[0]) == [new_id]
    assert writer.xpending("jobs", "workers")["pending"] == 1


def test_xpending_extended_with_idle_and_consumer_filter(r: redis.Redis) -> None:
    fill(r)
    r.xgroup_create("s", "g", id="0")
    r.xreadgroup("g", "alice", {"s": ">"}, count=1)
    r.xreadgroup("g", "bob", {"s": ">"})
    assert [d["message_id"] for d in r.xpending_range("s", "g", "-", "+", 10, consumername="bob")] == [b"2-0", b"3-0"]
    assert r.xpending_range("s", "g", "-", "+", 10, idle=10_000_000) == []
    assert [d["message_id"] for d in r.xpending_range("s", "g", "(1-0", "+", 1)] == [b"2-0"]
    with pytest.raises(redis.ResponseError, match="NOGROUP|No such key"):
        r.xpending("s", "nope")


def test_xclaim_moves_entries_with_options(r: redis.Redis) -> None:
    """XCLAIM: min-idle-time, IDLE/TIME, RETRYCOUNT, FORCE, JUSTID, LASTID."""
    fill(r)
    r.xgroup_create("s", "g", id="0")
    r.xreadgroup("g", "alice", {"s": ">"}, count=2)
    claimed = r.xclaim("s", "g", "bob", 0, ["1-0"])
    assert [e[0] for e in claimed] == [b"1-0"]
    assert r.xclaim("s", "g", "bob", 10_000_000, ["2-0"]) == []  # not idle long enough
    assert r.xclaim("s", "g", "carol", 0, ["2-0"], justid=True, retrycount=7, idle=5000) == [b"2-0"]
    d = {x["message_id"]: x for x in r.xpending_range("s", "g", "-", "+", 10)}
    assert d[b"1-0"]["consumer"] == b"bob" and d[b"1-0"]["times_delivered"] == 2
    assert d[b"2-0"]["consumer"] == b"carol" and d[b"2-0"]["times_delivered"] == 7
    assert d[b"2-0"]["time_since_delivered"] >= 5000
    assert r.xclaim("s", "g", "dave", 0, ["3-0"]) == []  # never delivered
    assert [e[0] for e in r.xclaim("s", "g", "dave", 0, ["3-0"], force=True)] == [b"3-0"]
    r.execute_command("XCLAIM", "s", "g", "dave", "0", "3-0", "LASTID", "3-0")
    r.xdel("s", "1-0")
    assert r.xclaim("s", "g", "eve", 0, ["1-0"]) == []  # deleted entries leave the PEL
    assert r.xpending("s", "g")["pending"] == 2


def test_xautoclaim_scans_and_reports_deleted(r: redis.Redis) -> None:
    """XAUTOCLAIM returns [next-cursor, claimed, deleted-ids]."""
    fill(r, 5)
    r.xgroup_create("s", "g", id="0")
    r.xreadgroup("g", "alice", {"s": ">"})
    r.xdel("s", "2-0")
    cursor, claimed, deleted = r.xautoclaim("s", "g", "bob", 0, "0-0", count=2)
    # a deleted entry uses up COUNT too (as redis-server 7 does)
    assert [e[0] for e in claimed] == [b"1-0"] and deleted == [b"2-0"] and cursor == b"3-0"
    assert r.xautoclaim("s", "g", "bob", 0, cursor, justid=True) == [b"3-0", b"4-0", b"5-0"]  # ids only


def test_xinfo_consumers_and_group_management(r: redis.Redis) -> None:
    """XGROUP CREATECONSUMER/DELCONSUMER/SETID/DESTROY; XINFO CONSUMERS."""
    fill(r)
    r.xgroup_create("s", "g", id="0")
    assert r.xgroup_createconsumer("s", "g", "idle-one") == 1
    assert r.xgroup_createconsumer("s", "g", "idle-one") == 0
    r.xreadgroup("g", "alice", {"s": ">"}, count=2)
    cons = {c["name"]: c for c in r.xinfo_consumers("s", "g")}
    assert cons[b"alice"]["pending"] == 2 and cons[b"idle-one"]["pending"] == 0
    assert r.xgroup_delconsumer("s", "g", "alice") == 2
    assert r.xpending("s", "g")["pending"] == 0
    assert r.xgroup_setid("s", "g", "0", entries_read=0)
    assert entries(r.xreadgroup("g", "c", {"s": ">"})) == [b"1-0", b"2-0", b"3-0"]
    with pytest.raises(redis.ResponseError, match="No such consumer group 'x' for key name 's'"):
        r.xinfo_consumers("s", "x")
    assert r.xgroup_destroy("s", "g") == 1
    assert r.xgroup_destroy("s", "g") == 0
    with pytest.raises(redis.ResponseError, match="unknown subcommand 'FOO'. Try XGROUP HELP."):
        r.execute_command("XGROUP", "FOO")


def test_xgroup_create_entriesread_sets_lag(r: redis.Redis) -> None:
    """ENTRIESREAD (Redis 7): the group's lag is entries-added minus entries-read."""
    fill(r, 4)
    r.execute_command("XGROUP", "CREATE", "s", "g", "2-0", "ENTRIESREAD", "2")
    g = r.xinfo_groups("s")[0]
    assert g["entries-read"] == 2 and g["lag"] == 2
