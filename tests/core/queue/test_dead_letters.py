"""Dead letters: SQS redrive after maxReceiveCount, DLQ move tasks back to the source,
and AMQP dead-lettering (expired, maxlen, rejected) to a router (RabbitMQ DLX docs)."""

from __future__ import annotations

import asyncio

import pytest
from queue_support import StubRouter, with_core

from mqlite.core.errors import QueueFull
from mqlite.core.message import Attribute, Envelope


def test_message_moves_to_dlq_after_max_receive_count() -> None:
    """SQS: when ReceiveCount exceeds maxReceiveCount the message moves to the DLQ, with
    its id, body and attributes."""

    async def main(core, clock):
        dlq = core.create_queue("dlq")
        q = core.create_queue("q", visibility_timeout=1,
                              redrive={"dead_letter_target": "dlq", "max_receive_count": 2})
        sent = await q.send(b"poison", {"a": Attribute("Number", "1")})
        for _ in range(2):
            assert len(await q.receive()) == 1
            clock.advance(1)
        assert await q.receive() == []
        assert q.counts().total == 0
        [m] = await dlq.receive()
        assert (m.id, m.body, m.attributes["a"].value) == (sent.message_id, b"poison", "1")

    with_core(main)


def test_move_task_returns_dlq_messages_to_their_source_queue() -> None:
    """SQS StartMessageMoveTask without a destination: back to the source queue."""

    async def main(core, clock):
        dlq = core.create_queue("dlq")
        q = core.create_queue("q", visibility_timeout=1,
                              redrive={"dead_letter_target": "dlq", "max_receive_count": 1})
        for i in range(3):
            await q.send(str(i).encode())
        await q.receive(10)
        clock.advance(1)
        assert await q.receive(10) == []
        assert dlq.counts().visible == 3
        task = core.queues.start_message_move("dlq")
        await task.wait()
        assert task.status == "COMPLETED" and task.moved == 3 and task.to_move == 3
        assert dlq.counts().total == 0
        assert sorted(m.body for m in await q.receive(10)) == [b"0", b"1", b"2"]
        assert core.queues.list_message_moves("dlq")[0] is task

    with_core(main)


def test_expired_messages_are_dead_lettered_with_reason_expired() -> None:
    """RabbitMQ: per-queue x-message-ttl and per-message expiration; expired messages go
    to the dead-letter exchange with reason 'expired'."""

    async def main(core, clock):
        router = StubRouter()
        q = core.create_queue("q", message_ttl_ms=1000, dead_letter_exchange="dlx",
                              dead_letter_routing_key="dead")
        q.resolve_router = lambda name: router
        await q.send(b"queue-ttl", routing_key="rk")
        await q.send(b"msg-ttl", ttl_ms=500)
        clock.advance(1)
        assert await q.receive(10) == []
        assert [e.body for e in router.published] == [b"queue-ttl", b"msg-ttl"]
        env = router.published[0]
        assert env.routing_key == "dead"
        assert env.meta["dlx.reason"] == b"expired" and env.meta["dlx.queue"] == b"q"
        assert env.meta["dlx.routing_key"] == b"rk"
        assert q.counts().total == 0

    with_core(main)


def test_tick_expires_heads_without_a_consumer() -> None:
    async def main(core, clock):
        router = StubRouter()
        q = core.create_queue("q", message_ttl_ms=1000, dead_letter_exchange="dlx")
        q.resolve_router = lambda name: router
        await q.send(b"x")
        await q.receive(1, visibility_timeout=0)  # puts it at the head
        clock.advance(2)
        core.queues.tick()
        await q.expire_heads()
        assert [e.body for e in router.published] == [b"x"]

    with_core(main)


def test_max_length_drop_head_dead_letters_the_oldest() -> None:
    """RabbitMQ x-max-length with overflow drop-head: the oldest ready message is
    dropped (dead-lettered, reason 'maxlen')."""

    async def main(core, clock):
        router = StubRouter()
        q = core.create_queue("q", max_length=2, dead_letter_exchange="dlx")
        q.resolve_router = lambda name: router
        for i in range(4):
            await q.send(str(i).encode())
        assert [e.body for e in router.published] == [b"0", b"1"]
        assert router.published[0].meta["dlx.reason"] == b"maxlen"
        assert [m.body for m in await q.receive(10)] == [b"2", b"3"]

    with_core(main)


def test_max_length_reject_publish_raises_queue_full() -> None:
    """RabbitMQ overflow reject-publish: publishes beyond the limit are refused."""

    async def main(core, clock):
        q = core.create_queue("q", max_length=2, overflow="reject-publish")
        await q.send(b"1")
        await q.send(b"2")
        with pytest.raises(QueueFull):
            await q.send(b"3")
        await q.receive(1)  # unacked messages do not count (ready messages only)
        await q.send(b"3")
        assert q.counts().total == 3

    with_core(main)


def test_max_length_bytes_drop_head() -> None:
    async def main(core, clock):
        q = core.create_queue("q", max_length_bytes=10)
        await q.send(b"123456")
        await q.send(b"7890ab")
        assert [m.body for m in await q.receive(10)] == [b"7890ab"]

    with_core(main)


def test_reject_without_requeue_dead_letters_with_reason_rejected() -> None:
    async def main(core, clock):
        router = StubRouter()
        q = core.create_queue("q", dead_letter_exchange="dlx")
        q.resolve_router = lambda name: router
        await q.send(b"bad", routing_key="orig")
        [m] = await q.receive()
        await q.reject(m.receipt)
        assert router.published[0].meta["dlx.reason"] == b"rejected"
        assert router.published[0].routing_key == "orig"
        assert q.counts().total == 0

    with_core(main)


def test_priorities_deliver_higher_first_and_fifo_within_a_priority() -> None:
    """RabbitMQ priority queues (x-max-priority): higher priority first; priorities above
    the maximum count as the maximum."""

    async def main(core, clock):
        q = core.create_queue("q", max_priority=9)
        for body, prio in [(b"low", 0), (b"mid1", 5), (b"high", 200), (b"mid2", 5), (b"low2", None)]:
            await q.send(body, priority=prio)
        got = await q.receive(10)
        assert [m.body for m in got] == [b"high", b"mid1", b"mid2", b"low", b"low2"]
        assert got[0].priority == 9

    with_core(main)


def test_queue_expires_when_unused() -> None:
    """RabbitMQ x-expires: a queue unused for the period is deleted."""

    async def main(core, clock):
        core.create_queue("q", expires_ms=1000)
        clock.advance(2)
        core.queues.tick()
        assert core.list_queues() == []

    with_core(main)


def test_long_poll_is_woken_by_release() -> None:
    async def main(core, clock):
        q = core.create_queue("q")
        await q.send(b"x")
        [m] = await q.receive()
        waiter = asyncio.get_running_loop().create_task(q.receive(1, wait=20))
        await asyncio.sleep(0)
        q.release(m.receipt)
        assert [x.body for x in await asyncio.wait_for(waiter, 5)] == [b"x"]

    with_core(main)


def test_receive_skips_a_long_run_of_expired_messages() -> None:
    """RabbitMQ: expired messages at the head are dead-lettered; the consumer gets the
    first live one behind them."""

    async def main(core, clock):
        q = core.create_queue("q")
        await q.send_batch([Envelope(b"old", ttl_ms=10) for _ in range(100)])
        clock.advance(1)
        await q.send(b"live")
        assert [m.body for m in await q.receive(1)] == [b"live"]

    with_core(main)


def test_without_an_existing_dlq_the_message_keeps_being_delivered() -> None:
    """SQS: the redrive policy names a DLQ; if it does not exist the message stays."""

    async def main(core, clock):
        q = core.create_queue("q", visibility_timeout=1,
                              redrive={"dead_letter_target": "missing", "max_receive_count": 1})
        await q.send(b"x")
        for count in (1, 2, 3):
            [m] = await q.receive()
            assert m.receive_count == count
            clock.advance(1)

    with_core(main)


def test_a_dlq_refusing_the_message_leaves_it_in_the_source() -> None:
    async def main(core, clock):
        dlq = core.create_queue("dlq", max_length=0, overflow="reject-publish")
        q = core.create_queue("q", visibility_timeout=1,
                              redrive={"dead_letter_target": "dlq", "max_receive_count": 1})
        await q.send(b"x")
        await q.receive()
        clock.advance(1)
        assert await q.receive() == []  # the move was refused: kept, not lost
        assert q.counts().total == 1 and dlq.counts().total == 0

    with_core(main)
