"""Router: bindings, matching, delivery to queues/streams/channels/routers, fallbacks
(docs/architecture.md "Router"; AMQP 0-9-1 exchange semantics as RabbitMQ documents
them; SNS fan-out; EventBridge rules)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import replace

import pytest

from mqlite.core.broker import BrokerCore
from mqlite.core.channels import BufferedSubscriber
from mqlite.core.config import CoreConfig
from mqlite.core.errors import InvalidPattern, InvalidValue
from mqlite.core.message import Attribute, Envelope
from mqlite.core.router import (
    Binding,
    Destination,
    MatcherKind,
    RouteResult,
)

CONFIG = CoreConfig(fsync="never", maintenance_interval=0)


def with_core(fn: Callable[[BrokerCore], Awaitable[None]]) -> None:
    async def main() -> None:
        core = await BrokerCore.open(None, CONFIG)
        try:
            await fn(core)
        finally:
            await core.close()

    asyncio.run(main())


async def bodies(core: BrokerCore, queue: str) -> list[bytes]:
    msgs = await core.get_queue(queue).receive(max_messages=10)
    return [m.body for m in msgs]


Q = Destination.queue


def test_topic_exchange_routes_to_matching_queues_and_counts_them() -> None:
    """RabbitMQ tutorial 5: *.orange.* and *.*.rabbit / lazy.#."""

    async def t(core: BrokerCore) -> None:
        core.create_queue("q1")
        core.create_queue("q2")
        ex = core.create_router("logs", "topic")
        ex.bind_key(Q("q1"), "*.orange.*")
        ex.bind_key(Q("q2"), "*.*.rabbit")
        ex.bind_key(Q("q2"), "lazy.#")
        r = await ex.publish(Envelope(b"1", routing_key="quick.orange.rabbit"))
        assert r.routed == 2 and set(r.destinations) == {Q("q1"), Q("q2")}
        r = await ex.publish(Envelope(b"2", routing_key="lazy.orange.male.rabbit"))
        assert r.routed == 1  # q2 once although two of its bindings match
        r = await ex.publish(Envelope(b"3", routing_key="quick.brown.fox"))
        assert not r and r.routed == 0
        assert await bodies(core, "q1") == [b"1"]
        assert await bodies(core, "q2") == [b"1", b"2"]

    with_core(t)


def test_direct_fanout_and_headers_exchanges() -> None:
    async def t(core: BrokerCore) -> None:
        for q in ("a", "b", "h"):
            core.create_queue(q)
        direct = core.create_router("d", "direct")
        direct.bind_key(Q("a"), "black")
        direct.bind_key(Q("b"), "white")
        assert (await direct.publish(Envelope(b"x", routing_key="black"))).destinations == (Q("a"),)
        fan = core.create_router("f", "fanout")
        fan.bind_key(Q("a"), "")
        fan.bind_key(Q("b"), "ignored")
        assert (await fan.publish(Envelope(b"y", routing_key="whatever"))).routed == 2
        hdr = core.create_router("hx", "headers")
        hdr.bind_key(Q("h"), "", {"x-match": "any", "format": "pdf", "type": "report"})
        r = await hdr.publish(Envelope(b"z"), headers={"format": "pdf"})
        assert r.routed == 1
        r = await hdr.publish(Envelope(b"w"), headers={"format": "zip"})
        assert r.routed == 0
        assert await bodies(core, "h") == [b"z"]

    with_core(t)


def test_invalid_patterns_are_rejected_at_bind_time_and_leave_no_binding() -> None:
    """Bad input: invalid policy/pattern -> the real system's error, never at publish."""

    async def t(core: BrokerCore) -> None:
        sns = core.create_router("topic", "sns")
        with pytest.raises(InvalidPattern, match="Invalid parameter: FilterPolicy: "):
            sns.bind(Q("q"), "sns", {"a": "not-a-list"})
        bus = core.create_router("bus", "event_bus")
        with pytest.raises(InvalidPattern, match="Event pattern is not valid"):
            bus.bind(Q("q"), "event_pattern", '{"source": "x"}')
        hx = core.create_router("hx", "headers")
        with pytest.raises(InvalidPattern, match="Invalid x-match"):
            hx.bind_key(Q("q"), "", {"x-match": "some"})
        with pytest.raises(InvalidValue):
            sns.bind(Q("q"), "regex", ".*")
        with pytest.raises(InvalidValue):
            sns.bind(Destination("mailbox", "x"), "fanout")  # type: ignore[arg-type]
        assert sns.bindings() == [] and bus.bindings() == [] and hx.bindings() == []

    with_core(t)


def test_sns_filter_policies_select_subscriptions() -> None:
    """SNS: a subscription without a policy gets everything; with one, only matches."""

    async def t(core: BrokerCore) -> None:
        for q in ("all", "red", "big"):
            core.create_queue(q)
        topic = core.create_router("orders", "sns", {"dedupe": False})
        topic.bind(Q("all"), "fanout")
        topic.bind(Q("red"), "sns", {"color": ["red"]})
        topic.bind(Q("big"), "sns", json.dumps({"size": [{"numeric": [">", 10]}]}), {"scope": "MessageBody"})
        r = await topic.publish(Envelope(b'{"size": 11}', attributes={"color": Attribute("String", "red")}))
        assert r.routed == 3
        r = await topic.publish(Envelope(b"not json", attributes={"color": Attribute("String", "blue")}))
        assert r.destinations == (Q("all"),)  # a malformed body breaks no other binding

    with_core(t)


def test_event_bus_rules_as_routers_with_targets() -> None:
    """EventBridge: bus -> rule (pattern) -> targets; two rules may target one queue."""

    async def t(core: BrokerCore) -> None:
        core.create_queue("t")
        bus = core.create_router("default", "event_bus")
        for name in ("r1", "r2"):
            core.create_router(name, "rule", {"dedupe": False})
            bus.bind(Destination.router(name), "event_pattern", {"source": ["app"]})
            core.get_router(name).bind(Q("t"), "fanout")
        r = await bus.publish(Envelope(json.dumps({"source": "app", "detail": {}}).encode()))
        assert r.routed == 2
        assert len(await bodies(core, "t")) == 2
        r = await bus.publish(Envelope(json.dumps({"source": "other"}).encode()))
        assert r.routed == 0

    with_core(t)


def test_exchange_to_exchange_cycles_terminate() -> None:
    """Loop protection: each router is visited once per publish (RabbitMQ e2e)."""

    async def t(core: BrokerCore) -> None:
        core.create_queue("q")
        a = core.create_router("a", "fanout")
        b = core.create_router("b", "fanout")
        a.bind_key(Destination.router("b"), "")
        b.bind_key(Destination.router("a"), "")
        b.bind_key(Q("q"), "")
        a.bind_key(Q("q"), "")
        r = await a.publish(Envelope(b"m"))
        assert r.routed == 1  # q reached twice, delivered once
        assert await bodies(core, "q") == [b"m"]

    with_core(t)


def test_stream_and_channel_destinations() -> None:
    async def t(core: BrokerCore) -> None:
        core.create_stream("events")
        sub = BufferedSubscriber()
        core.channels.subscribe(sub, ["live"])
        ex = core.create_router("x", "fanout")
        ex.bind_key(Destination.stream("events"), "")
        ex.bind_key(Destination.channel("live"), "")
        env = Envelope(b"v", attributes={"a": Attribute("String", "1")}, meta={"amqp.type": b"t"},
                       routing_key="rk")
        r = await ex.publish(env)
        assert r.routed == 2
        rec = core.get_stream("events").read(0, 0)[0]
        assert rec.value == b"v" and rec.key == b"rk"
        assert ("amqp.type", b"t") in list(rec.headers) and ("a", b"1") in list(rec.headers)
        assert [d.payload for d in sub.drain()] == [b"v"]

    with_core(t)


def test_alternate_exchange_takes_unroutable_messages() -> None:
    """RabbitMQ alternate-exchange: unroutable messages go there (counts for mandatory)."""

    async def t(core: BrokerCore) -> None:
        core.create_queue("unrouted")
        alt = core.create_router("alt", "fanout")
        alt.bind_key(Q("unrouted"), "")
        core.create_queue("q")
        main = core.create_router("main", "direct", {"alternate": "alt"})
        main.bind_key(Q("q"), "k")
        r = await main.publish(Envelope(b"1", routing_key="k"))
        assert r.destinations == (Q("q"),) and not r.via_alternate
        r = await main.publish(Envelope(b"2", routing_key="other"))
        assert r.routed == 1 and r.via_alternate and r.destinations == (Q("unrouted"),)

    with_core(t)


def test_failed_deliveries_go_to_the_dead_letter_route_and_others_still_get_it() -> None:
    async def t(core: BrokerCore) -> None:
        core.create_queue("dlq")
        core.create_queue("ok")
        core.create_queue("own-dlq")
        ex = core.create_router("x", "fanout", {"dead_letter": {"kind": "queue", "name": "dlq"}})
        ex.bind_key(Q("missing"), "")
        ex.bind_key(Q("ok"), "")
        ex.bind(Q("missing-too"), "fanout", None, {"dead_letter": Q("own-dlq")})
        r = await ex.publish(Envelope(b"m"))
        assert r.routed == 1 and r.dead_lettered == 2
        assert [f.destination for f in r.failed] == [Q("missing"), Q("missing-too")]
        assert "QueueNotFound" in r.failed[0].reason
        msgs = await core.get_queue("dlq").receive()
        assert msgs[0].body == b"m"
        assert msgs[0].meta["mqlite.dlq.destination"] == b"queue:missing"
        assert msgs[0].meta["mqlite.dlq.router"] == b"x"
        assert await bodies(core, "own-dlq") == [b"m"]

    with_core(t)


def test_unroutable_messages_dead_letter_only_when_configured() -> None:
    async def t(core: BrokerCore) -> None:
        core.create_queue("dlq")
        ex = core.create_router(
            "x", "direct", {"dead_letter": Q("dlq").to_json(), "dead_letter_unroutable": True}
        )
        r = await ex.publish(Envelope(b"lost", routing_key="nobody"))
        assert r.routed == 0 and r.dead_lettered == 1 and r.failed == ()
        msgs = await core.get_queue("dlq").receive()
        assert msgs[0].meta["mqlite.dlq.reason"] == b"unroutable"

    with_core(t)


def test_transform_hook_rewrites_drops_or_dead_letters() -> None:
    def upper(env: Envelope, b: Binding) -> Envelope:
        return replace(env, body=env.body.upper() + b.args["transform_args"]["suffix"].encode())

    def drop(env: Envelope, b: Binding) -> None:
        return None

    def boom(env: Envelope, b: Binding) -> Envelope:
        raise ValueError("bad template")

    async def t(core: BrokerCore) -> None:
        core.transforms.register("test.upper", upper)
        core.transforms.register("test.drop", drop)
        core.transforms.register("test.boom", boom)
        for q in ("a", "b", "c", "dlq"):
            core.create_queue(q)
        ex = core.create_router("x", "fanout", {"dead_letter": Q("dlq").to_json()})
        ex.bind(Q("a"), "fanout", None, {"transform": "test.upper", "transform_args": {"suffix": "!"}})
        ex.bind(Q("b"), "fanout", None, {"transform": "test.drop"})
        ex.bind(Q("c"), "fanout", None, {"transform": "test.boom"})
        ex.bind(Q("c"), "fanout", "2", {"transform": "test.unregistered"})
        r = await ex.publish(Envelope(b"hi"))
        assert r.destinations == (Q("a"),) and r.dead_lettered == 2
        assert await bodies(core, "a") == [b"HI!"]
        assert await bodies(core, "b") == []
        reasons = [m.meta["mqlite.dlq.reason"] for m in await core.get_queue("dlq").receive(10)]
        assert reasons[0].startswith(b"transform failed: bad template")
        assert b"not registered" in reasons[1]

    with_core(t)


def test_bind_is_idempotent_and_unbind_rebind_work() -> None:
    async def t(core: BrokerCore) -> None:
        ex = core.create_router("x", "topic")
        b1 = ex.bind_key(Q("q"), "a.*")
        assert ex.bind_key(Q("q"), "a.*") is b1
        b2 = ex.bind_key(Q("q"), "a.*", {"x-arg": 1})  # other arguments: another binding
        assert b2 is not b1 and len(ex.bindings()) == 2
        assert ex.unbind_key(Q("q"), "a.*")
        assert not ex.unbind_key(Q("q"), "a.*")
        assert ex.bindings() == [b2]
        topic = core.create_router("t", "sns")
        sub = topic.bind(Q("q"), "sns", {"a": ["1"]}, binding_id="sub-1")
        assert topic.match(Envelope(b"", attributes={"a": Attribute("String", "1")})) == [sub]
        sub2 = topic.rebind("sub-1", spec={"a": ["2"]})
        assert sub2.id == "sub-1" and topic.get_binding("sub-1") is sub2
        assert topic.match(Envelope(b"", attributes={"a": Attribute("String", "1")})) == []
        assert topic.match(Envelope(b"", attributes={"a": Attribute("String", "2")})) == [sub2]
        assert topic.unbind("sub-1") and not topic.unbind(sub2)
        with pytest.raises(InvalidValue):
            core.create_router("custom", "x-delayed").bind_key(Q("q"), "k")

    with_core(t)


def test_destination_and_route_result_shapes() -> None:
    assert Destination("queue", "q") == Q("q")  # type: ignore[arg-type]
    assert str(Destination.http("http://h/p")) == "http:http://h/p"
    assert Destination.from_json({"kind": "stream", "name": "s"}) == Destination.stream("s")
    assert not RouteResult(0) and RouteResult(2)
    assert MatcherKind("event_pattern") is MatcherKind.EVENT_PATTERN


def test_headers_default_to_attribute_values_when_no_table_is_given() -> None:
    async def t(core: BrokerCore) -> None:
        hx = core.create_router("hx", "headers")
        b = hx.bind_key(Q("q"), "", {"k": "v"})
        assert hx.match(Envelope(b"", attributes={"k": Attribute("String", "v")})) == [b]

    with_core(t)


def test_dead_letter_routes_cannot_loop() -> None:
    """A message is dead-lettered at most once: a failing dead-letter route drops it."""

    async def t(core: BrokerCore) -> None:
        a = core.create_router("a", "fanout", {"dead_letter": Destination.router("b").to_json()})
        b = core.create_router("b", "fanout", {"dead_letter": Destination.router("a").to_json()})
        a.bind_key(Q("missing-a"), "")
        b.bind_key(Q("missing-b"), "")
        r = await a.publish(Envelope(b"m"))
        assert r.routed == 0 and r.dead_lettered == 1 and len(r.failed) == 1

    with_core(t)


def test_transformed_envelopes_are_matched_on_their_own_content() -> None:
    """Exchange-to-exchange after a transform: the next router sees the new envelope."""

    def rekey(env: Envelope, b: Binding) -> Envelope:
        return replace(env, routing_key="after", body=b'{"k": "after"}')

    async def t(core: BrokerCore) -> None:
        core.transforms.register("test.rekey", rekey)
        core.create_queue("q")
        first = core.create_router("first", "fanout")
        second = core.create_router("second", "direct")
        first.bind(Destination.router("second"), "fanout", None, {"transform": "test.rekey"})
        second.bind_key(Q("q"), "after")
        r = await first.publish(Envelope(b"{}", routing_key="before"))
        assert r.destinations == (Q("q"),)

    with_core(t)
