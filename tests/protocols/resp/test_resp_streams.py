"""Redis streams with redis-py: XADD/XLEN/XRANGE/XREVRANGE/XREAD/XDEL/XTRIM/XSETID."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import redis


def test_xadd_explicit_partial_and_auto_ids(r: redis.Redis) -> None:
    """XADD: `*`, `ms-*`, explicit; IDs must grow; 0-0 is refused."""
    assert r.xadd("s", {"f": "v"}, id="5-1") == b"5-1"
    assert r.xadd("s", {"f": "v"}, id="5-*") == b"5-2"
    assert r.xadd("s", {"f": "v"}, id="6") == b"6-0"
    auto = r.xadd("s", {"f": "v"})
    assert int(auto.split(b"-")[0]) > 6
    with pytest.raises(redis.ResponseError) as info:
        r.xadd("s", {"f": "v"}, id="5-3")
    assert str(info.value) == "The ID specified in XADD is equal or smaller than the target stream top item"
    with pytest.raises(redis.ResponseError, match="must be greater than 0-0"):
        r.xadd("t", {"f": "v"}, id="0-0")
    with pytest.raises(redis.ResponseError, match="Invalid stream ID"):
        r.xadd("t", {"f": "v"}, id="abc")
    assert r.xlen("s") == 4


def test_xadd_nomkstream_and_odd_fields(r: redis.Redis) -> None:
    assert r.xadd("missing", {"a": 1}, nomkstream=True) is None
    assert r.exists("missing") == 0
    with pytest.raises(redis.ResponseError, match="wrong number of arguments for 'xadd'"):
        r.execute_command("XADD", "s", "*", "f")


def test_xadd_maxlen_minid_trimming(r: redis.Redis) -> None:
    """MAXLEN/MINID with `=` and `~`; LIMIT needs `~`."""
    for i in range(1, 11):
        r.xadd("s", {"i": i}, id=f"{i}-0", maxlen=5, approximate=False)
    assert r.xlen("s") == 5
    assert r.xrange("s")[0][0] == b"6-0"
    r.xadd("s", {"i": 11}, id="11-0", minid="9", approximate=False)
    assert [e[0] for e in r.xrange("s")] == [b"9-0", b"10-0", b"11-0"]
    with pytest.raises(redis.ResponseError, match="LIMIT cannot be used without the special ~ option"):
        r.execute_command("XADD", "s", "MAXLEN", "=", "1", "LIMIT", "1", "*", "f", "v")
    # `~` trims whole 100-entry nodes only (Redis's stream-node-max-entries): nothing here
    r.execute_command("XADD", "s", "MAXLEN", "~", "0", "LIMIT", "2", "12-0", "f", "v")
    assert r.xlen("s") == 4
    for i in range(13, 213):
        r.xadd("s", {"i": i}, id=f"{i}-0")
    # MAXLEN ~ 0 leaves no node that could stay, the partial tail node neither (as
    # redis-server 7.0 answers the same sequence)
    assert r.xtrim("s", maxlen=0, approximate=True) == 204
    assert r.xtrim("s", maxlen=0, approximate=False) == 0
    assert r.xlen("s") == 0 and r.exists("s") == 1


def test_xrange_xrevrange_count_and_exclusive(r: redis.Redis) -> None:
    """XRANGE `-`/`+`, COUNT, `(` exclusive bounds (Redis >= 6.2)."""
    for i in range(1, 6):
        r.xadd("s", {"n": str(i)}, id=f"{i}-0")
    assert [e[0] for e in r.xrange("s", "2", "4")] == [b"2-0", b"3-0", b"4-0"]
    assert [e[0] for e in r.xrange("s", "(2-0", "(4-0")] == [b"3-0"]
    assert [e[0] for e in r.xrange("s", count=2)] == [b"1-0", b"2-0"]
    assert [e[0] for e in r.xrevrange("s", count=2)] == [b"5-0", b"4-0"]
    assert r.xrange("s", "1-0", "1-0")[0][1] == {b"n": b"1"}
    assert r.xrange("nope") == []
    with pytest.raises(redis.ResponseError, match="Invalid stream ID"):
        r.xrange("s", "x", "+")


def test_xread_multiple_streams_and_dollar(r: redis.Redis) -> None:
    """XREAD COUNT over several streams; `$` means only new entries; none -> nil."""
    r.xadd("a", {"k": 1}, id="1-0")
    r.xadd("a", {"k": 2}, id="2-0")
    r.xadd("b", {"k": 3}, id="1-0")
    out = r.xread({"a": "0", "b": "0"}, count=1)
    if isinstance(out, dict):  # RESP3 map; redis-py wraps each value in a list
        out = [[k, v[0]] for k, v in out.items()]
    assert [(k, [x[0] for x in v]) for k, v in out] == [
        (b"a", [b"1-0"]),
        (b"b", [b"1-0"]),
    ]
    assert not r.xread({"a": "$"})
    assert not r.xread({"a": "$"}, block=50)


def test_blocking_xread_is_woken_by_xadd_from_another_connection(resp_server: Any) -> None:
    """XREAD BLOCK 0 waits forever until an XADD on the key."""
    reader = redis.Redis(port=resp_server.redis_port)
    writer = redis.Redis(port=resp_server.redis_port)
    writer.xadd("jobs", {"x": 0})
    result: list[Any] = []
    t = threading.Thread(target=lambda: result.append(reader.xread({"jobs": "$"}, block=0)))
    t.start()
    # wait until the reader is blocked (INFO clients blocked_clients), then add
    while writer.info("clients")["blocked_clients"] < 1:
        pass
    new_id = writer.xadd("jobs", {"x": 1})
    t.join(10)
    assert result and result[0][0][1][0][0] == new_id


def test_pipelined_commands_after_a_blocking_xread_reply_in_order(resp_server: Any) -> None:
    """Replies stay in request order even when a command blocks."""
    c = redis.Redis(port=resp_server.redis_port)
    pipe = c.pipeline(transaction=False)
    pipe.xread({"empty": "$"}, block=30)
    pipe.echo("after")
    first, second = pipe.execute()
    assert not first and second == b"after"  # nil XREAD (redis-py shows it as [] or None)


def test_xdel_and_xlen(r: redis.Redis) -> None:
    r.xadd("s", {"a": 1}, id="1-0")
    r.xadd("s", {"a": 2}, id="2-0")
    assert r.xdel("s", "1-0", "9-9") == 1
    assert r.xlen("s") == 1
    info = r.xinfo_stream("s")
    assert info["max-deleted-entry-id"] == b"1-0" and info["entries-added"] == 2


def test_xtrim_minid_and_errors(r: redis.Redis) -> None:
    for i in range(1, 6):
        r.xadd("s", {"a": i}, id=f"{i}-0")
    assert r.xtrim("s", minid="3", approximate=False) == 2
    assert r.xtrim("nope", maxlen=1) == 0
    with pytest.raises(redis.ResponseError, match="MAXLEN argument must be >= 0"):
        r.execute_command("XTRIM", "s", "MAXLEN", "-1")


def test_xsetid_rules(r: redis.Redis) -> None:
    """XSETID: not below the top item; ENTRIESADDED not below the length."""
    r.xadd("s", {"a": 1}, id="5-0")
    assert r.execute_command("XSETID", "s", "10-0", "ENTRIESADDED", "7", "MAXDELETEDID", "3-0")
    info = r.xinfo_stream("s")
    assert info["last-generated-id"] == b"10-0" and info["entries-added"] == 7
    with pytest.raises(redis.ResponseError, match="smaller than the target stream top item"):
        r.execute_command("XSETID", "s", "1-0")
    with pytest.raises(redis.ResponseError, match="no such key"):
        r.execute_command("XSETID", "nope", "1-0")
    with pytest.raises(redis.ResponseError, match="equal or smaller"):
        r.xadd("s", {"a": 1}, id="9-0")


def test_xinfo_stream_full(r: redis.Redis) -> None:
    r.xadd("s", {"a": 1}, id="1-0")
    r.xgroup_create("s", "g", id="0")
    r.xreadgroup("g", "c", {"s": ">"})
    full = r.xinfo_stream("s", full=True)
    assert full["length"] == 1 and len(full["entries"]) == 1
    assert full["groups"][0]["pel-count"] == 1


def test_records_appended_by_another_front_end_read_as_entries(resp_server: Any) -> None:
    """A Redis stream is an mqlite stream: a record produced elsewhere (Kafka, Kinesis)
    reads as an entry `<timestamp>-<n>` with fields `key` and `value`."""
    r = redis.Redis(port=resp_server.redis_port)
    r.xadd("shared", {"from": "redis"}, id="1-0")
    assert r.xlen("shared") == 1

    async def produce() -> None:
        await resp_server.core.get_stream("shared").append(b"payload", key=b"k1", partition=0, timestamp=5000)

    resp_server.call(produce)
    entries = r.xrange("shared")
    assert entries[0] == (b"1-0", {b"from": b"redis"})
    assert entries[1] == (b"5000-0", {b"key": b"k1", b"value": b"payload"})
    r.xgroup_create("shared", "g", id="0")
    got = r.xreadgroup("g", "c", {"shared": ">"})
    rows = next(iter(got.values()))[0] if isinstance(got, dict) else got[0][1]
    assert [e[0] for e in rows] == [b"1-0", b"5000-0"]


def test_large_entries_are_stored_and_survive_restart(resp_server: Any) -> None:
    """Entries over Kafka's 1 MB default fit in streams created through Redis (64 MB)."""
    r = redis.Redis(port=resp_server.redis_port)
    big = b"x" * (3 * 1024 * 1024)
    r.xadd("big", {"blob": big}, id="1-0")
    r.close()
    resp_server.restart()
    r = redis.Redis(port=resp_server.redis_port)
    assert r.xrange("big")[0][1][b"blob"] == big


def test_blocking_xread_is_woken_by_another_front_ends_append(resp_server: Any) -> None:
    """XREAD BLOCK on a stream wakes when a record arrives through core (e.g. Kafka)."""
    reader = redis.Redis(port=resp_server.redis_port)
    admin = redis.Redis(port=resp_server.redis_port)
    admin.xadd("mixed", {"a": "1"}, id="1-0")
    result: list[Any] = []
    t = threading.Thread(target=lambda: result.append(reader.xread({"mixed": "$"}, block=0)))
    t.start()
    while admin.info("clients")["blocked_clients"] < 1:
        pass

    async def produce() -> None:
        await resp_server.core.get_stream("mixed").append(b"v", partition=0, timestamp=9000)

    resp_server.call(produce)
    t.join(10)
    assert result and result[0][0][1][0] == (b"9000-0", {b"value": b"v"})


def test_other_type_commands_on_a_stream_key_are_wrongtype(r: redis.Redis) -> None:
    """Redis: `-WRONGTYPE` for an operation against a key of another type; missing keys
    read as missing (GET nil, LLEN 0)."""
    r.xadd("s", {"a": 1})
    with pytest.raises(redis.ResponseError) as info:
        r.get("s")
    assert str(info.value) == "WRONGTYPE Operation against a key holding the wrong kind of value"
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        r.lpush("s", "x")
    assert r.get("missing") is None and r.llen("missing") == 0
    with pytest.raises(redis.ResponseError, match="only streams"):
        r.set("missing", "v")
