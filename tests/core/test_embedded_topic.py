"""Embedded pub/sub: broker.topic(name) fans a message out to subscribed queues and
streams, filtered by SNS filter policies (a richer call than issue #3 §4 requires)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import mqlite
from mqlite.core.errors import InvalidPattern, InvalidValue


def test_every_subscriber_gets_each_message_and_filters_select() -> None:
    """Rule (SNS): each subscription receives every message its filter policy matches;
    without a policy it receives all."""
    with mqlite.Broker() as broker:
        news = broker.topic("news")
        everything, signups = broker.queue("everything"), broker.queue("signups")
        log = broker.stream("news-log")
        news.subscribe(everything)
        news.subscribe(signups, filter={"kind": ["signup"]})
        news.subscribe(log)
        assert news.publish("welcome", attributes={"kind": "signup"}) == 3
        assert news.publish("hi again", attributes={"kind": "login"}) == 2
        assert [m.body for m in everything.receive(10)] == [b"welcome", b"hi again"]
        assert [m.body for m in signups.receive(10)] == [b"welcome"]
        assert [r.value for r in log.read(0, 0)] == [b"welcome", b"hi again"]


def test_subscribe_is_idempotent_and_unsubscribe_stops_delivery() -> None:
    """Rule (SNS Subscribe): subscribing the same endpoint again returns the same
    subscription; after Unsubscribe nothing more is delivered."""
    with mqlite.Broker() as broker:
        t = broker.topic("t")
        q = broker.queue("q")
        sid = t.subscribe("q")
        assert t.subscribe(q) == sid
        assert t.unsubscribe(sid) is True
        assert t.publish("lost") == 0
        assert q.receive() == []


def test_bad_filter_and_bad_target_are_refused() -> None:
    """Rule (SNS): an invalid filter policy is refused and no subscription is made."""
    with mqlite.Broker() as broker:
        t = broker.topic("t")
        with pytest.raises(InvalidPattern):
            t.subscribe("q", filter={"kind": "not-a-list"})
        with pytest.raises(InvalidValue):
            t.subscribe(42)
        assert t.publish("x") == 0


def test_subscriptions_survive_restart(tmp_path: Path) -> None:
    """Rule: topics and subscriptions are durable (catalog)."""
    with mqlite.Broker(tmp_path) as broker:
        broker.topic("t").subscribe(broker.queue("q"))
    with mqlite.Broker(tmp_path) as broker:
        assert broker.topic("t").publish("after restart") == 1
        assert [m.body for m in broker.queue("q").receive()] == [b"after restart"]


def test_async_topic_has_the_same_names() -> None:
    async def main() -> None:
        async with mqlite.AsyncBroker() as broker:
            t = await broker.topic("t")
            q = await broker.queue("q")
            await t.subscribe(q)
            assert await t.publish(b"x") == 1
            assert [m.body for m in await q.receive()] == [b"x"]

    asyncio.run(main())
