"""The compact stream index: entries stay in the log, RAM holds ~24 bytes per entry.

DESIGN.md: "a log larger than RAM works" — a Redis stream keeps only its ID index
(`model.RedisStream`) in memory and reads field/values from the log.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import redis

from mqlite.protocols.resp.model import (
    COMPACT_MIN,
    ID_HEADER,
    RedisStream,
    encode_fields,
)
from mqlite.storage.recordbatch import Record


def test_memory_usage_stays_far_below_the_entries_size(mqlite_server_factory: Callable[..., Any]) -> None:
    """MEMORY USAGE (Redis: a key's bytes in RAM) of a stream of N 16 KiB entries is
    bounded by the index (well under 100 bytes per entry), before and after restart."""
    server = mqlite_server_factory(http_port=None, kafka_port=None, amqp_port=None, fsync="always")
    r = redis.Redis(port=server.redis_port)
    n, blob = 600, b"x" * 16384
    pipe = r.pipeline(transaction=False)
    for i in range(n):
        pipe.xadd("big", {"i": str(i), "blob": blob})
    pipe.execute()  # under --fsync always each XADD replied once its record was durable
    assert r.xlen("big") == n
    assert r.memory_usage("big") < n * 100  # the values (n * 16 KiB) are not resident
    r.close()
    server.restart()
    r = redis.Redis(port=server.redis_port)
    assert r.memory_usage("big") < n * 100
    got = r.xrange("big", count=3)
    assert [e[1][b"i"] for e in got] == [b"0", b"1", b"2"] and got[0][1][b"blob"] == blob
    assert r.xrevrange("big", count=1)[0][1][b"i"] == str(n - 1).encode()
    assert r.memory_usage("nosuchkey") is None
    r.close()


def test_long_stream_with_deletes_trims_and_log_cut_reads_back_after_restart(resp_server: Any) -> None:
    """XDEL/XTRIM over a stream longer than the index's compaction step, and a trim
    far enough to cut the log, read the same before and after a restart."""
    r = redis.Redis(port=resp_server.redis_port)
    pipe = r.pipeline(transaction=False)
    for i in range(1, 14001):
        pipe.xadd("long", {"n": str(i)}, id=f"{i}-1")
    pipe.execute()
    gone = set(range(13001, 13100, 3))
    r.xdel("long", *[f"{i}-1" for i in sorted(gone)])
    kept = [i for i in range(1, 14001) if i not in gone][-1500:]
    r.xtrim("long", maxlen=1500, approximate=False)
    r.xadd("long", {"n": "tail"}, id="20000-0")

    def snapshot() -> tuple[Any, ...]:
        return (
            r.xlen("long"),
            r.xrange("long", "13000", "13010"),
            r.xrevrange("long", count=5),
            r.xrange("long", count=2),
            r.xread({"long": "13999-1"}),
            r.xinfo_stream("long")["first-entry"],
        )

    before = snapshot()
    assert before[0] == 1501
    assert [e[0] for e in before[1]] == [f"{i}-1".encode() for i in kept if 13000 <= i <= 13010]
    assert before[1] and before[1][0][1] == {b"n": str(before[1][0][0].split(b"-")[0], "ascii").encode()}
    assert before[3][0][0] == f"{kept[0]}-1".encode()
    r.close()
    resp_server.restart()
    r = redis.Redis(port=resp_server.redis_port)
    assert snapshot() == before
    r.close()


class _FakeLog:
    """A log of entry records for the index's reader (offset -> Record)."""

    def __init__(self) -> None:
        self.records: list[Record] = []

    def append(self, sid: tuple[int, int], value: bytes) -> int:
        off = len(self.records)
        self.records.append(Record(off, 0, None, value, ((ID_HEADER, b"%d-%d" % sid),)))
        return off

    def read(self, offset: int, count: int) -> list[Record]:
        return self.records[offset : offset + count]


def test_index_matches_a_plain_list_under_random_adds_deletes_and_trims() -> None:
    """The index answers range/after/len like a sorted list of live IDs (t_stream.c
    semantics), across compactions and records landing in the log late."""
    rnd = random.Random(8)
    log = _FakeLog()
    rs = RedisStream("s", log.read)
    live: list[tuple[int, int]] = []
    pending: list[tuple[tuple[int, int], bytes]] = []
    ms = 0
    for _ in range(4 * COMPACT_MIN):
        op = rnd.random()
        if op < 0.7:
            ms += rnd.randint(0, 2)
            sid = (ms, rs.last_id[1] + 1) if ms == rs.last_id[0] else (ms, 0)
            value = encode_fields([b"n", b"%d-%d" % sid])
            rs.append_new(sid, value)
            live.append(sid)
            pending.append((sid, value))
        elif op < 0.8 and live:
            sid = rnd.choice(live)
            assert rs.delete(sid)
            live.remove(sid)
        elif op < 0.85:
            k = rnd.randint(0, 5)
            assert rs.trim_before(k) == min(k, len(live))
            del live[:k]
        elif pending:  # the writer lands a few records
            k = rnd.randint(1, 20)
            run: list[tuple[int, int] | None] = []
            first = len(log.records)
            for sid, value in pending[:k]:
                if rnd.random() < 0.1:  # a control record (XDEL/XTRIM) between entries
                    log.append((0, 0), b"")
                    run.append(None)
                log.append(sid, value)
                run.append(sid)
            rs.note_written_run(run, first)  # how the store's writer reports a batch
            del pending[:k]
        assert len(rs) == len(live)
    for sid, value in pending:
        rs.note_written(sid, log.append(sid, value))
    assert not rs.unwritten
    assert rs.sids(rs.after((0, 0))) == live
    lo, hi = live[len(live) // 3], live[2 * len(live) // 3]
    assert rs.sids(rs.range(lo, hi)) == [s for s in live if lo <= s <= hi]
    assert rs.sids(rs.range(lo, hi, 7, rev=True)) == [s for s in live if lo <= s <= hi][::-1][:7]
    got = rs.entries(rs.range(lo, hi))
    assert [e[1][1] for e in got] == [b"%d-%d" % s for s in live if lo <= s <= hi]
    assert rs.count_below(hi) == live.index(hi)
