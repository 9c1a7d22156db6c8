"""RouterRegistry: routers and bindings are durable in the catalog and restored on
restart (docs/architecture.md "core": registries persist their own entities)."""

from __future__ import annotations

import asyncio
import datetime
import decimal
from pathlib import Path

import pytest

from mqlite.core.broker import BrokerCore
from mqlite.core.config import CoreConfig
from mqlite.core.errors import InvalidName, RouterExists, RouterNotFound
from mqlite.core.message import Attribute, Envelope
from mqlite.core.router import Destination, MatcherKind
from mqlite.core.routers import from_json, to_json

CONFIG = CoreConfig(fsync="never", maintenance_interval=0)
Q = Destination.queue


def test_routers_and_bindings_survive_a_restart(tmp_path: Path) -> None:
    async def main() -> None:
        core = await BrokerCore.open(tmp_path, CONFIG)
        core.create_queue("q")
        ex = core.create_router("ex", "headers", {"alternate": "alt"})
        args = {"x-match": "all", "raw": b"\x00\x01", "d": decimal.Decimal("1.5"),
                "t": datetime.datetime(2024, 5, 1, 12, 0)}
        hb = ex.bind_key(Q("q"), "", args)
        topic = core.create_router("t", "sns")
        sb = topic.bind(Q("q"), "sns", {"color": ["red"]}, binding_id="sub-1")
        transient = core.create_router("tmp", "fanout", {"durable": False})
        transient.bind_key(Q("q"), "")
        ex.bind_key(Q("other"), "", {"a": 1}, durable=False)
        await core.close()

        core = await BrokerCore.open(tmp_path, CONFIG)
        assert core.list_routers() == ["ex", "t"]
        ex2 = core.get_router("ex")
        assert ex2.kind == "headers" and ex2.config == {"alternate": "alt"}
        [b] = ex2.bindings()
        assert b.id == hb.id and b.spec == args and b.matcher is MatcherKind.HEADERS
        r = await ex2.publish(Envelope(b"m"), headers=dict(args))
        assert r.destinations == (Q("q"),)
        t2 = core.get_router("t")
        assert [x.id for x in t2.bindings()] == [sb.id]
        r = await t2.publish(Envelope(b"n", attributes={"color": Attribute("String", "red")}))
        assert r.routed == 1
        # binding order (seq) continues after restart
        nb = t2.bind(Q("q"), "fanout")
        assert nb.seq > t2.get_binding("sub-1").seq
        await core.close()

    asyncio.run(main())


def test_create_is_idempotent_for_same_kind_and_config_only() -> None:
    async def main() -> None:
        core = await BrokerCore.open(None, CONFIG)
        a = core.create_router("a", "topic", {"x": 1})
        assert core.create_router("a", "topic", {"x": 1}) is a
        with pytest.raises(RouterExists):
            core.create_router("a", "direct")
        with pytest.raises(RouterExists):
            core.create_router("a", "topic", {"x": 2})
        with pytest.raises(RouterNotFound):
            core.get_router("nope")
        with pytest.raises(InvalidName):
            core.create_router("bad\x1fname", "topic")
        with pytest.raises(InvalidName):
            core.create_router("k", "")
        assert core.routers.get_or_create("a", "topic") is a
        assert core.routers.find("nope") is None
        await core.close()

    asyncio.run(main())


def test_deleting_a_router_removes_its_bindings_and_bindings_to_it(tmp_path: Path) -> None:
    async def main() -> None:
        core = await BrokerCore.open(tmp_path, CONFIG)
        src = core.create_router("src", "fanout")
        dst = core.create_router("dst", "fanout")
        src.bind_key(Destination.router("dst"), "")
        dst.bind_key(Q("q"), "")
        assert core.delete_router("dst") is True
        assert core.delete_router("dst") is False
        assert src.bindings() == []
        await core.close()
        core = await BrokerCore.open(tmp_path, CONFIG)
        assert core.list_routers() == ["src"] and core.get_router("src").bindings() == []
        assert core.catalog.list_entities("binding") == []
        await core.close()

    asyncio.run(main())


def test_remove_destination_drops_bindings_to_a_deleted_queue() -> None:
    """AMQP: deleting a queue deletes its bindings."""

    async def main() -> None:
        core = await BrokerCore.open(None, CONFIG)
        a = core.create_router("a", "direct")
        b = core.create_router("b", "topic")
        a.bind_key(Q("q"), "k")
        b.bind_key(Q("q"), "#")
        b.bind_key(Q("keep"), "#")
        assert core.routers.remove_destination(Q("q")) == 2
        assert [x.destination for x in b.bindings()] == [Q("keep")]
        await core.close()

    asyncio.run(main())


def test_auto_delete_router_goes_with_its_last_binding() -> None:
    """AMQP exchange.declare auto-delete: deleted when the last binding is removed."""

    async def main() -> None:
        core = await BrokerCore.open(None, CONFIG)
        ex = core.create_router("ad", "fanout", {"auto_delete": True})
        b1 = ex.bind_key(Q("q1"), "")
        ex.bind_key(Q("q2"), "")
        ex.unbind(b1)
        assert core.list_routers() == ["ad"]
        ex.unbind_key(Q("q2"), "")
        assert core.list_routers() == []
        await core.close()

    asyncio.run(main())


def test_set_config_is_durable(tmp_path: Path) -> None:
    async def main() -> None:
        core = await BrokerCore.open(tmp_path, CONFIG)
        core.create_router("x", "fanout")
        core.routers.set_config("x", {"dead_letter": Q("dlq").to_json()})
        await core.close()
        core = await BrokerCore.open(tmp_path, CONFIG)
        assert core.get_router("x").config == {"dead_letter": {"kind": "queue", "name": "dlq"}}
        await core.close()

    asyncio.run(main())


def test_json_codec_round_trips_amqp_table_values() -> None:
    v = {"b": b"\xff", "d": decimal.Decimal("2.50"), "t": datetime.datetime(2020, 1, 2, 3, 4, 5),
         "l": [1, (2, 3)], "n": None, "dest": Q("q")}
    back = from_json(to_json(v))
    assert back == {**v, "l": [1, [2, 3]], "dest": {"kind": "queue", "name": "q"}}


def test_rebinding_an_id_replaces_the_binding_without_auto_deleting(tmp_path: Path) -> None:
    """SNS re-subscribe / EventBridge PutTargets with the same id replaces in place."""

    async def main() -> None:
        core = await BrokerCore.open(tmp_path, CONFIG)
        r = core.create_router("r", "sns", {"auto_delete": True})
        r.bind(Q("a"), "fanout", binding_id="t1")
        b = r.bind(Q("b"), "fanout", binding_id="t1")
        assert core.list_routers() == ["r"] and r.bindings() == [b]
        await core.close()
        core = await BrokerCore.open(tmp_path, CONFIG)
        assert [x.destination for x in core.get_router("r").bindings()] == [Q("b")]
        await core.close()

    asyncio.run(main())
