"""Channels: Redis Pub/Sub semantics (Redis docs "Redis Pub/Sub", PUBSUB command family)
with a bounded buffer per subscriber."""

from __future__ import annotations

import asyncio

import pytest

from mqlite.core.channels import (
    CUT_OFF_REASON,
    BufferedSubscriber,
    Channels,
    Delivery,
    Subscriber,
)
from mqlite.core.clock import ManualClock


def test_publish_returns_receivers_and_delivers_in_order() -> None:
    """PUBLISH returns the number of clients that received the message."""
    ch = Channels()
    a, b = BufferedSubscriber(), BufferedSubscriber()
    assert ch.subscribe(a, ["news", "sport"]) == [(b"news", 1), (b"sport", 2)]
    ch.subscribe(b, ["news"])
    assert ch.publish("news", b"1") == 2
    assert ch.publish(b"sport", b"2") == 1
    assert ch.publish("weather", b"3") == 0
    assert a.drain() == [Delivery("message", b"news", b"1"), Delivery("message", b"sport", b"2")]
    assert b.drain() == [Delivery("message", b"news", b"1")]


def test_pattern_subscribers_get_pmessage_and_count_once_per_matching_pattern() -> None:
    """A client matching via a channel and two patterns receives three copies."""
    ch = Channels()
    s = BufferedSubscriber()
    ch.subscribe(s, ["news.tech"])
    assert ch.psubscribe(s, ["news.*", "n*"]) == [(b"news.*", 2), (b"n*", 3)]
    assert ch.publish("news.tech", b"x") == 3
    kinds = [(d.kind, d.pattern) for d in s.drain()]
    assert kinds == [("message", None), ("pmessage", b"news.*"), ("pmessage", b"n*")]


def test_subscribing_twice_is_idempotent() -> None:
    ch = Channels()
    s = BufferedSubscriber()
    ch.subscribe(s, ["a"])
    assert ch.subscribe(s, ["a"]) == [(b"a", 1)]
    assert ch.publish("a", b"m") == 1


def test_unsubscribe_counts_down_and_all_form_removes_everything() -> None:
    """UNSUBSCRIBE without arguments unsubscribes from all channels (patterns stay)."""
    ch = Channels()
    s = BufferedSubscriber()
    ch.subscribe(s, ["a", "b"])
    ch.psubscribe(s, ["p*"])
    assert ch.unsubscribe(s, ["a", "zzz"]) == [(b"a", 2), (b"zzz", 2)]
    assert ch.unsubscribe(s) == [(b"b", 1)]
    assert ch.subscription_count(s) == 1
    assert ch.punsubscribe(s) == [(b"p*", 0)]
    assert ch.subscribers() == 0
    assert ch.unsubscribe(s) == []  # nothing left: the front-end replies with a nil channel


def test_pubsub_introspection() -> None:
    """PUBSUB CHANNELS lists active channels (not patterns); NUMSUB counts channel
    subscribers only; NUMPAT counts distinct patterns."""
    ch = Channels()
    a, b = BufferedSubscriber(), BufferedSubscriber()
    ch.subscribe(a, ["news.tech", "sport"])
    ch.subscribe(b, ["news.tech"])
    ch.psubscribe(a, ["news.*"])
    ch.psubscribe(b, ["news.*", "x?"])
    assert ch.channels() == [b"news.tech", b"sport"]
    assert ch.channels("news.*") == [b"news.tech"]
    assert ch.numsub(["news.tech", "sport", "none"]) == [(b"news.tech", 2), (b"sport", 1), (b"none", 0)]
    assert ch.numpat() == 2
    ch.remove(a)
    assert ch.channels() == [b"news.tech"]
    assert ch.numpat() == 2
    ch.remove(b)
    assert ch.channels() == [] and ch.numpat() == 0


def test_shard_channels_are_separate_from_classic_channels() -> None:
    """SSUBSCRIBE/SPUBLISH: shard channels, counted apart; PUBLISH does not reach them."""
    ch = Channels()
    s = BufferedSubscriber()
    assert ch.ssubscribe(s, ["orders"]) == [(b"orders", 1)]
    assert ch.publish("orders", b"x") == 0
    assert ch.spublish("orders", b"y") == 1
    assert s.drain() == [Delivery("smessage", b"orders", b"y")]
    assert ch.shardchannels() == [b"orders"] and ch.shardchannels("o*") == [b"orders"]
    assert ch.shardnumsub(["orders"]) == [(b"orders", 1)]
    assert ch.subscription_count(s) == 0 and ch.shard_count(s) == 1
    assert ch.sunsubscribe(s) == [(b"orders", 0)]
    assert ch.spublish("orders", b"z") == 0


def test_slow_subscriber_is_cut_off_without_affecting_others() -> None:
    """Redis client-output-buffer-limit pubsub: a client over the hard limit is
    disconnected; the publisher and the other subscribers carry on."""
    ch = Channels()
    slow = BufferedSubscriber(hard_limit=100)
    fast = BufferedSubscriber()
    ch.subscribe(slow, ["c"])
    ch.psubscribe(slow, ["c*"])
    ch.subscribe(fast, ["c"])
    for _ in range(10):
        ch.publish("c", b"x" * 30)
        fast.drain()
    assert slow.closed_reason == CUT_OFF_REASON
    assert ch.subscription_count(slow) == 0 and ch.numpat() == 0
    assert ch.numsub(["c"]) == [(b"c", 1)]
    assert ch.cut_offs == 1
    assert ch.publish("c", b"after") == 1
    assert fast.drain() == [Delivery("message", b"c", b"after")]


def test_soft_limit_cuts_off_after_staying_over_for_the_configured_time() -> None:
    """Redis soft limit: over <soft> bytes continuously for <seconds>."""
    clock = ManualClock()
    ch = Channels(clock)
    s = BufferedSubscriber(hard_limit=0, soft_limit=10, soft_seconds=5, clock=clock)
    ch.subscribe(s, ["c"])
    ch.publish("c", b"x" * 20)
    clock.advance(4)
    ch.publish("c", b"x")
    assert s.closed_reason is None
    clock.advance(1)
    ch.publish("c", b"x")
    assert s.closed_reason == CUT_OFF_REASON


def test_soft_limit_timer_resets_when_the_buffer_drains() -> None:
    clock = ManualClock()
    s = BufferedSubscriber(hard_limit=0, soft_limit=10, soft_seconds=5, clock=clock)
    assert s.deliver("message", b"c", b"x" * 20, None)
    s.drain()
    clock.advance(10)
    assert s.deliver("message", b"c", b"x" * 20, None)


def test_buffered_subscriber_is_a_subscriber_and_get_waits() -> None:
    s = BufferedSubscriber()
    assert isinstance(s, Subscriber)

    async def main() -> None:
        ch = Channels()
        ch.subscribe(s, ["c"])
        assert await s.get(timeout=0.01) is None
        waiter = asyncio.ensure_future(s.get(timeout=5))
        await asyncio.sleep(0)
        ch.publish("c", b"hi")
        assert await waiter == Delivery("message", b"c", b"hi")
        ch.close()
        assert s.closed_reason == "server shutting down"
        assert await s.get(timeout=5) is None

    asyncio.run(main())


class RecordingSubscriber:
    """A front-end style subscriber: refuses when told to, records its cut-off."""

    def __init__(self, accept: bool = True) -> None:
        self.accept = accept
        self.got: list[tuple[str, bytes, bytes, bytes | None]] = []
        self.reasons: list[str] = []

    def deliver(self, kind: str, channel: bytes, payload: bytes, pattern: bytes | None) -> bool:
        self.got.append((kind, channel, payload, pattern))
        return self.accept

    def cut_off(self, reason: str) -> None:
        self.reasons.append(reason)


def test_custom_subscriber_refusing_delivery_is_cut_off_once() -> None:
    ch = Channels()
    bad = RecordingSubscriber(accept=False)
    ch.subscribe(bad, ["a"])
    ch.psubscribe(bad, ["*"])
    assert ch.publish("a", b"1") == 2
    assert bad.reasons == [CUT_OFF_REASON]
    assert ch.publish("a", b"2") == 0


@pytest.mark.parametrize("name", ["plain", b"\xff\x00binary"])
def test_binary_channel_names(name) -> None:
    ch = Channels()
    s = RecordingSubscriber()
    ch.subscribe(s, [name])
    assert ch.publish(name, b"p") == 1


class ExplodingSubscriber(RecordingSubscriber):
    def deliver(self, kind: str, channel: bytes, payload: bytes, pattern: bytes | None) -> bool:
        raise RuntimeError("broken connection object")


def test_a_subscriber_that_raises_is_cut_off_and_others_still_receive() -> None:
    ch = Channels()
    bad, good = ExplodingSubscriber(), RecordingSubscriber()
    ch.subscribe(bad, ["a"])
    ch.ssubscribe(bad, ["s"])
    ch.subscribe(good, ["a"])
    assert ch.publish("a", b"1") == 2
    assert bad.reasons == [CUT_OFF_REASON]
    assert good.got == [("message", b"a", b"1", None)]
    assert ch.spublish("s", b"2") == 0
