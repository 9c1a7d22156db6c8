"""Pipelined write commands: replies wait for their writes, but the pipeline keeps running.

XADD (and XDEL, XTRIM, XSETID, group changes) reply once their record is in the log
(#26); a pipelined run executes every command and sends its replies together, in
request order, once the writes they report are done, as Redis replies in order after
its AOF write. Checked with redis-py pipelines and MULTI/EXEC, both RESP versions.
"""

from __future__ import annotations

import redis


def test_a_pipeline_of_writes_and_reads_is_answered_in_order(r: redis.Redis) -> None:
    pipe = r.pipeline(transaction=False)
    for i in range(50):
        pipe.xadd("p", {"n": str(i)}, id=f"{i + 1}-0")
    pipe.xlen("p")
    pipe.xdel("p", "3-0")
    pipe.xrange("p", count=3)
    pipe.xgroup_create("p", "g", id="0")
    pipe.xreadgroup("g", "c", {"p": ">"}, count=2)
    pipe.xack("p", "g", "1-0")
    replies = pipe.execute()
    assert [x.decode() for x in replies[:50]] == [f"{i + 1}-0" for i in range(50)]
    assert replies[50:53] == [50, 1, [(b"1-0", {b"n": b"0"}), (b"2-0", {b"n": b"1"}), (b"4-0", {b"n": b"3"})]]
    assert replies[53] is True
    assert replies[54]  # two entries delivered (the reply's shape differs by RESP version)
    assert replies[55] == 1
    assert r.xpending("p", "g")["pending"] == 1


def test_multi_exec_with_writes_replies_once_they_are_written(r: redis.Redis) -> None:
    pipe = r.pipeline(transaction=True)
    pipe.xadd("t", {"a": "1"}, id="1-0")
    pipe.xadd("t", {"a": "2"}, id="2-0")
    pipe.xlen("t")
    assert pipe.execute() == [b"1-0", b"2-0", 2]
    assert r.xlen("t") == 2


def test_an_error_in_the_middle_of_a_pipelined_run_keeps_the_order(r: redis.Redis) -> None:
    pipe = r.pipeline(transaction=False)
    pipe.xadd("e", {"a": "1"}, id="5-0")
    pipe.xadd("e", {"a": "2"}, id="4-0")  # smaller than the top item: an error reply
    pipe.xadd("e", {"a": "3"}, id="6-0")
    replies = pipe.execute(raise_on_error=False)
    assert replies[0] == b"5-0" and isinstance(replies[1], redis.ResponseError) and replies[2] == b"6-0"
