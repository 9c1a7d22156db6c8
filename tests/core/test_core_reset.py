"""core.reset: deletes what a scope selects, in memory and on disk, in one catalog
transaction; runs front-end hooks; data directories go at once (moved to the trash)."""

from __future__ import annotations

import asyncio

import pytest

from mqlite.core.broker import BrokerCore
from mqlite.core.config import CoreConfig
from mqlite.core.errors import InvalidValue
from mqlite.core.matchers.index import MatcherKind
from mqlite.core.reset import on_reset, reset
from mqlite.core.router import Destination


def run(coro):
    return asyncio.run(coro)


async def _populated(data_dir):
    core = await BrokerCore.open(data_dir, CoreConfig(fsync="never"))
    q = core.create_queue("q1")
    await q.send(b"a")
    core.create_queue("amqp/q", name_rule="amqp")
    s = core.create_stream("s1", 2)
    await s.append(b"x")
    core.groups.get("g").commit("s1", 0, 1)
    r = core.create_router("t1", "sns")
    r.bind(Destination.queue("q1"), MatcherKind.FANOUT, None)
    core.create_router("x1", "fanout").bind(Destination.router("t1"), MatcherKind.FANOUT, None)
    core.catalog.kv_put("sqs/queues", "q1", {"tags": {"a": "b"}})
    core.catalog.kv_put("kafka", "next-producer-id", 1234)
    core.catalog.put_entity("user", "admin", {"role": "admin"})
    return core


@pytest.mark.parametrize("on_disk", [False, True])
def test_full_reset_empties_the_broker_but_keeps_users_and_producer_ids(tmp_path, on_disk):
    async def main():
        core = await _populated(tmp_path / "d" if on_disk else None)
        calls = []
        on_reset(core, lambda sel: calls.append(("before", sel.everything)), "before")
        on_reset(core, lambda sel: calls.append(("after", sorted(sel.queues))))
        result = await reset(core)
        assert result.deleted == {"queues": 2, "streams": 1, "routers": 2, "groups": 1}
        assert calls == [("before", True), ("after", ["amqp/q", "q1"])]
        assert core.list_queues() == core.list_streams() == core.list_routers() == core.groups.list() == []
        assert core.catalog.kv_items("sqs/queues") == []
        assert core.catalog.kv_get("kafka", "next-producer-id") == 1234
        assert core.catalog.get_entity("user", "admin") == {"role": "admin"}
        # the same names come back empty
        q = core.create_queue("q1")
        assert q.counts().visible == 0
        s = core.create_stream("s1", 1)
        assert s.latest(0) == 0
        await core.close()
        if on_disk:
            reopened = await BrokerCore.open(tmp_path / "d", CoreConfig(fsync="never"))
            assert reopened.list_queues() == ["q1"] and reopened.get_queue("q1").counts().visible == 0
            await reopened.close()
    run(main())


def test_scoped_resets(tmp_path):
    async def main():
        core = await _populated(None)
        res = await reset(core, "sqs")
        assert res.deleted["queues"] == 1 and core.list_queues() == ["amqp/q"]
        # the SNS topic's subscription to the deleted queue went with it
        assert core.get_router("t1").bindings() == []
        res = await reset(core, "streams")
        assert core.list_streams() == [] and res.deleted["streams"] == 1
        res = await reset(core, "amqp")
        assert core.list_queues() == [] and core.list_routers() == ["t1"]
        await core.close()
    run(main())


def test_unknown_scope_changes_nothing():
    async def main():
        core = await _populated(None)
        with pytest.raises(InvalidValue, match="unknown reset scope"):
            await reset(core, "nope")
        assert core.list_queues() == ["amqp/q", "q1"]
        await core.close()
    run(main())


def test_deleted_directories_are_gone_at_once_and_removed_later(tmp_path):
    async def main():
        core = await BrokerCore.open(tmp_path, CoreConfig(fsync="always"))
        s = core.create_stream("big", 3)
        for i in range(100):
            await s.append(b"x" * 100, partition=i % 3)
        assert (tmp_path / "streams" / "big").is_dir()
        core.delete_stream("big")
        assert not (tmp_path / "streams" / "big").exists()
        await core.close()  # waits for the trash
        assert list((tmp_path / ".trash").iterdir()) == []
    run(main())
