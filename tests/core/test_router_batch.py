"""Router.publish_batch (core/router_batch.py): the results `publish` would give, in
order, with one `send_batch` per destination queue for runs of plain queue deliveries."""

from __future__ import annotations

from typing import Any

from mqlite.core.broker import BrokerCore
from mqlite.core.message import Envelope
from mqlite.core.router import Destination
from tests.core.test_router_delivery import bodies, with_core

Q = Destination.queue


def count_batches(core: BrokerCore, name: str) -> list[int]:
    """Record the size of every `send_batch` the queue gets (the real method still runs)."""
    q: Any = core.get_queue(name)
    sizes: list[int] = []
    real = q.send_batch

    async def counting(entries: list[Any]) -> Any:
        sizes.append(len(entries))
        return await real(entries)

    q.send_batch = counting
    return sizes


def test_a_topic_batch_appends_once_per_queue_and_keeps_order() -> None:
    async def t(core: BrokerCore) -> None:
        core.create_queue("a")
        core.create_queue("all")
        ex = core.create_router("t", "topic")
        ex.bind_key(Q("a"), "x.a")
        ex.bind_key(Q("all"), "x.*")
        ex.bind_key(Q("all"), "#")  # a second binding to the same queue: delivered once
        sizes_a, sizes_all = count_batches(core, "a"), count_batches(core, "all")
        envs = [Envelope(str(i).encode(), routing_key="x.a" if i % 2 else "x.b") for i in range(6)]
        results = await ex.publish_batch(envs)
        assert [r.routed for r in results] == [1, 2, 1, 2, 1, 2]
        assert results[1].destinations == (Q("a"), Q("all"))
        assert sizes_a == [3] and sizes_all == [6]
        assert await bodies(core, "a") == [b"1", b"3", b"5"]
        assert await bodies(core, "all") == [str(i).encode() for i in range(6)]

    with_core(t)


def test_unroutable_and_alternate_messages_in_a_batch_keep_their_place() -> None:
    async def t(core: BrokerCore) -> None:
        core.create_queue("q")
        core.create_queue("unrouted")
        alt = core.create_router("alt", "fanout")
        alt.bind_key(Q("q"), "")  # the alternate delivers into the same queue
        main = core.create_router("main", "direct", {"alternate": "alt"})
        main.bind_key(Q("q"), "k")
        envs = [Envelope(b"1", routing_key="k"), Envelope(b"2", routing_key="nobody"),
                Envelope(b"3", routing_key="k")]
        results = await main.publish_batch(envs)
        assert [r.routed for r in results] == [1, 1, 1]
        assert [r.via_alternate for r in results] == [False, True, False]
        assert await bodies(core, "q") == [b"1", b"2", b"3"]
        plain = core.create_router("plain", "direct")
        results = await plain.publish_batch([Envelope(b"x", routing_key="nobody")])
        assert results[0].routed == 0 and not results[0]

    with_core(t)


def test_a_missing_queue_fails_its_entries_and_dead_letters_them_only() -> None:
    async def t(core: BrokerCore) -> None:
        core.create_queue("dlq")
        core.create_queue("ok")
        ex = core.create_router("x", "fanout", {"dead_letter": {"kind": "queue", "name": "dlq"}})
        ex.bind_key(Q("ok"), "")
        ex.bind_key(Q("missing"), "")
        results = await ex.publish_batch([Envelope(b"m1"), Envelope(b"m2")])
        for r in results:
            assert r.routed == 1 and r.dead_lettered == 1 and r.destinations == (Q("ok"),)
            assert [f.destination for f in r.failed] == [Q("missing")]
            assert "QueueNotFound" in r.failed[0].reason
        assert await bodies(core, "ok") == [b"m1", b"m2"]
        msgs = await core.get_queue("dlq").receive(max_messages=10)
        assert [m.body for m in msgs] == [b"m1", b"m2"]
        assert msgs[0].meta["mqlite.dlq.destination"] == b"queue:missing"

    with_core(t)
