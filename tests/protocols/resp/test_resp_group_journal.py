"""The consumer-group journal is per change (store.py, group_state.py; issue #25).

A group change is journaled as one record naming the PEL entries it touched, so what
an XACK writes does not grow with the pending list; a snapshot in the catalog covers
the records below a log cut; format-1 data dirs (the whole group state as one catalog
value) load and go on changing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import redis

from mqlite.core.broker import CATALOG_FILE
from mqlite.core.catalog import Catalog
from mqlite.protocols.resp.store import GROUPS_NS


def _log_bytes(data_dir: Path) -> int:
    return sum(p.stat().st_size for p in data_dir.rglob("*.log"))


def _pel_of(r: redis.Redis, key: str, group: str) -> list[tuple[bytes, bytes, int]]:
    return [(p["message_id"], p["consumer"], p["times_delivered"])
            for p in r.xpending_range(key, group, "-", "+", 100_000)]


def test_what_xack_journals_does_not_grow_with_the_pending_list(resp_server: Any) -> None:
    """Acknowledging one entry of a 20,000-entry PEL writes about as much as acknowledging
    one of a 20-entry PEL (the record states only the entries it touched)."""
    r = redis.Redis(port=resp_server.redis_port)
    grown = {}
    for key, n in (("small", 20), ("big", 20_000)):
        pipe = r.pipeline(transaction=False)
        for i in range(1, n + 1):
            pipe.xadd(key, {"f": "v"}, id=f"{i}-0")
            if i % 2000 == 0:
                pipe.execute()
        pipe.execute()
        r.xgroup_create(key, "g", id="0")
        while r.xreadgroup("g", "c", {key: ">"}, count=5000):
            pass
        before = _log_bytes(resp_server.data_dir)
        assert r.xack(key, "g", "7-0") == 1
        grown[key] = _log_bytes(resp_server.data_dir) - before
    assert 0 < grown["big"] < 1024 and grown["big"] <= grown["small"] + 64
    resp_server.restart()
    r = redis.Redis(port=resp_server.redis_port)
    assert r.xinfo_groups("big")[0]["pending"] == 19_999
    assert b"7-0" not in {p[0] for p in _pel_of(r, "big", "g")}


def test_group_state_survives_a_log_cut_and_a_restart(resp_server: Any) -> None:
    """MAXLEN trimming cuts the log below the change records of earlier deliveries; the
    snapshot written before the cut keeps the PEL, consumers and last-delivered-id."""
    r = redis.Redis(port=resp_server.redis_port)
    r.xgroup_create("capped", "g", id="0", mkstream=True)
    pipe = r.pipeline(transaction=False)
    for i in range(1, 12_001):
        pipe.xadd("capped", {"i": str(i)}, id=f"{i}-0")
        if i % 2000 == 0:
            pipe.execute()
            r.xreadgroup("g", "early", {"capped": ">"}, count=3)  # pending, then trimmed away
            r.xreadgroup("g", "early", {"capped": ">"}, count=997)
    pipe.execute()
    r.xreadgroup("g", "late", {"capped": ">"}, count=5)
    r.xtrim("capped", maxlen=100, approximate=False)
    r.xack("capped", "g", "4001-0", "4002-0")
    before = _pel_of(r, "capped", "g")
    r.close()

    def earliest() -> int:
        return int(resp_server.core.get_stream("capped").earliest(0))

    resp_server.restart()
    assert resp_server.call(earliest) >= 10_000  # the cut happened
    r = redis.Redis(port=resp_server.redis_port)
    assert _pel_of(r, "capped", "g") == before
    group = r.xinfo_groups("capped")[0]
    assert group["last-delivered-id"] == b"6005-0" and group["consumers"] == 2 and group["pending"] == 6003
    assert [e[0] for e in r.xreadgroup("g", "late", {"capped": ">"}, count=1)[0][1]] == [b"11901-0"]


def test_a_data_dir_with_format_1_group_state_loads_and_goes_on(mqlite_server_factory: Any) -> None:
    """Data dirs written before the per-change journal hold each stream's whole group
    state as one catalog value (a JSON list); it loads, and later changes add to it."""
    srv = mqlite_server_factory(http_port=None, kafka_port=None, amqp_port=None)
    r = redis.Redis(port=srv.redis_port)
    for i in range(1, 6):
        r.xadd("old", {"n": str(i)}, id=f"{i}-0")
    r.close()
    srv.stop()
    catalog = Catalog(srv.data_dir / CATALOG_FILE)
    with catalog.transaction():
        catalog.kv_put(GROUPS_NS, "old", [{  # exactly what the format-1 writer stored
            "name": "g", "last": "3-0", "read": 3,
            "pel": [["1-0", "alice", 1000, 1], ["2-0", "bob", 1001, 2], ["3-0", "alice", 1002, 1]],
            "consumers": [["alice", 1000, 1002], ["bob", 1001, 1001]],
        }])
    catalog.close()
    srv.start()
    r = redis.Redis(port=srv.redis_port)
    assert _pel_of(r, "old", "g") == [(b"1-0", b"alice", 1), (b"2-0", b"bob", 2), (b"3-0", b"alice", 1)]
    assert r.xack("old", "g", "1-0") == 1
    assert [e[0] for e in r.xreadgroup("g", "bob", {"old": ">"})[0][1]] == [b"4-0", b"5-0"]
    r.close()
    srv.kill()  # no flush on close: the change records are what carries the changes
    srv.start()
    r = redis.Redis(port=srv.redis_port)
    assert _pel_of(r, "old", "g") == [(b"2-0", b"bob", 2), (b"3-0", b"alice", 1),
                                      (b"4-0", b"bob", 1), (b"5-0", b"bob", 1)]
    consumers = {c["name"]: c["pending"] for c in r.xinfo_consumers("old", "g")}
    assert consumers == {b"alice": 1, b"bob": 3}


def test_destroyed_and_recreated_group_starts_empty_after_restart(resp_server: Any) -> None:
    """XGROUP DESTROY then CREATE in one pipeline: the journal restates the new group
    from empty, so the old group's PEL does not come back."""
    r = redis.Redis(port=resp_server.redis_port)
    for i in range(1, 4):
        r.xadd("s", {"n": str(i)}, id=f"{i}-0")
    r.xgroup_create("s", "g", id="0")
    r.xreadgroup("g", "c", {"s": ">"})
    pipe = r.pipeline(transaction=False)
    pipe.xgroup_destroy("s", "g")
    pipe.xgroup_create("s", "g", id="2-0")
    pipe.xreadgroup("g", "d", {"s": ">"})
    pipe.execute()
    r.close()
    resp_server.kill()
    resp_server.start()
    r = redis.Redis(port=resp_server.redis_port)
    assert _pel_of(r, "s", "g") == [(b"3-0", b"d", 1)]
    assert [c["name"] for c in r.xinfo_consumers("s", "g")] == [b"d"]
