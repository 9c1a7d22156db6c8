"""Consumer-group state durability follows `--fsync` (store.py's rule).

Redis's `appendfsync always` makes every write command durable before its reply; under
mqlite's `--fsync always` XGROUP/XREADGROUP/XACK/XCLAIM reply only once the group
state is committed, so a SIGKILL right after the replies loses none of it.
"""

from __future__ import annotations

from pathlib import Path

import redis

from mqlite.testing import spawn_server

_ONLY_REDIS = ("--http-port", "off", "--kafka-port", "off", "--amqp-port", "off")


def test_group_changes_survive_sigkill_right_after_their_replies_under_fsync_always(tmp_path: Path) -> None:
    """appendfsync always: a reply means durable (PEL, last-delivered-id, claims, acks)."""
    data = tmp_path / "data"
    proc = spawn_server(data, "--fsync", "always", *_ONLY_REDIS)
    try:
        r = redis.Redis(port=proc.ports["redis"])
        for i in range(1, 5):
            r.xadd("jobs", {"n": str(i)}, id=f"{i}-0")
        r.xgroup_create("jobs", "g", id="0")
        assert len(r.xreadgroup("g", "alice", {"jobs": ">"}, count=3)[0][1]) == 3
        assert r.xack("jobs", "g", "1-0") == 1
        assert [c[0] for c in r.xclaim("jobs", "g", "bob", 0, ["2-0"])] == [b"2-0"]
        r.close()
    finally:
        proc.kill()  # SIGKILL: no flush on close
    proc = spawn_server(data, "--fsync", "always", *_ONLY_REDIS)
    try:
        r = redis.Redis(port=proc.ports["redis"])
        group = r.xinfo_groups("jobs")[0]
        assert group["last-delivered-id"] == b"3-0" and group["pending"] == 2
        pending = r.xpending_range("jobs", "g", "-", "+", 10)
        assert [(p["message_id"], p["consumer"]) for p in pending] == [(b"2-0", b"bob"), (b"3-0", b"alice")]
        r.close()
    finally:
        proc.stop()
