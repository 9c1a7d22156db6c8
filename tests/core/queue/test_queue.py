"""Standard queue semantics: send, receive, leases, receipts, delete, visibility, purge,
counts, long polls, batches and bad input (SQS API reference; issue #3 section 3)."""

from __future__ import annotations

import asyncio
import math

import pytest
from queue_support import with_core

from mqlite.core.errors import (
    InvalidName,
    InvalidReceipt,
    InvalidValue,
    LimitExceeded,
    MessageNotInflight,
    QueueExists,
    QueueNotFound,
)
from mqlite.core.message import Attribute, Envelope


def test_message_is_invisible_while_leased_and_reappears_after_visibility_timeout() -> None:
    """SQS: a received message stays invisible for the visibility timeout, then is
    delivered again with a higher receive count."""

    async def main(core, clock):
        q = core.create_queue("q", visibility_timeout=5)
        sent = await q.send(b"hello", {"k": Attribute("String", "v")})
        [m] = await q.receive(10)
        assert (m.id, m.body, m.receive_count) == (sent.message_id, b"hello", 1)
        assert m.attributes["k"] == Attribute("String", "v")
        assert await q.receive(10) == []
        assert q.counts().in_flight == 1
        clock.advance(5)
        [again] = await q.receive(10)
        assert again.id == m.id and again.receive_count == 2 and again.receipt != m.receipt
        assert again.first_receive_timestamp == m.first_receive_timestamp

    with_core(main)


def test_stale_receipt_handle_does_not_delete_redelivered_message() -> None:
    """SQS: 'You must provide the most recently received receipt handle ... otherwise,
    the request succeeds, but the message will not be deleted.'"""

    async def main(core, clock):
        q = core.create_queue("q", visibility_timeout=1)
        await q.send(b"x")
        [first] = await q.receive()
        clock.advance(2)
        [second] = await q.receive()
        await q.delete(first.receipt)  # succeeds, deletes nothing
        assert q.counts().in_flight == 1
        await q.delete(second.receipt)
        assert q.counts().total == 0

    with_core(main)


def test_receipt_of_expired_lease_still_deletes_when_not_received_again() -> None:
    """SQS: a receipt stays valid until the message is received again."""

    async def main(core, clock):
        q = core.create_queue("q", visibility_timeout=1)
        await q.send(b"x")
        [m] = await q.receive()
        clock.advance(2)
        assert q.counts().visible == 1
        await q.delete(m.receipt)
        assert q.counts().total == 0 and await q.receive() == []

    with_core(main)


@pytest.mark.parametrize("receipt", ["", "garbage", "abc.1.1", 42])
def test_unknown_receipt_raises_invalid_receipt(receipt: object) -> None:
    """SQS ReceiptHandleIsInvalid: a handle this queue never issued."""

    async def main(core, clock):
        q = core.create_queue("q")
        await q.send(b"x")
        with pytest.raises(InvalidReceipt):
            q.delete(receipt)  # type: ignore[arg-type]
        other = core.create_queue("other")
        await other.send(b"y")
        [m] = await other.receive()
        with pytest.raises(InvalidReceipt):
            q.delete(m.receipt)  # another queue's receipt
        assert q.counts().visible == 1

    with_core(main)


def test_change_visibility_extends_and_zero_makes_visible_now() -> None:
    """SQS ChangeMessageVisibility: the new timeout counts from now; 0 = visible now."""

    async def main(core, clock):
        q = core.create_queue("q", visibility_timeout=10)
        await q.send(b"x")
        [m] = await q.receive()
        clock.advance(8)
        q.change_visibility(m.receipt, 10)
        clock.advance(8)
        assert await q.receive() == []
        q.change_visibility(m.receipt, 0)
        [m2] = await q.receive()
        assert m2.receive_count == 2
        q.change_visibility(m.receipt, 5)  # an older handle of an in-flight message (SQS allows it)
        with pytest.raises(InvalidValue):
            q.change_visibility(m2.receipt, 43201)
        q.change_visibility(m2.receipt, 43200)
        clock.advance(43190)
        with pytest.raises(InvalidValue):  # beyond 12 h from the receive
            q.change_visibility(m2.receipt, 20)

    with_core(main)


def test_change_visibility_of_deleted_message_raises_not_inflight() -> None:
    async def main(core, clock):
        q = core.create_queue("q")
        await q.send(b"x")
        [m] = await q.receive()
        await q.delete(m.receipt)
        with pytest.raises(MessageNotInflight):
            q.change_visibility(m.receipt, 5)

    with_core(main)


def test_receive_returns_messages_in_send_order_and_respects_max() -> None:
    """Standard queues are best-effort ordered; ours deliver in log order."""

    async def main(core, clock):
        q = core.create_queue("q")
        results = await q.send_batch([Envelope(str(i).encode()) for i in range(25)])
        assert [r.offset for r in results] == list(range(25))
        got = []
        while batch := await q.receive(10):
            assert len(batch) <= 10
            got += [m.body for m in batch]
        assert got == [str(i).encode() for i in range(25)]
        assert q.counts().in_flight == 25

    with_core(main)


def test_batch_send_reports_errors_per_entry_and_sends_the_rest() -> None:
    """SQS SendMessageBatch: each entry succeeds or fails on its own."""

    async def main(core, clock):
        q = core.create_queue("q", max_message_bytes=1024)
        out = await q.send_batch([Envelope(b"ok"), Envelope(b"x" * 2000), Envelope(b"ok2", delay=901)])
        assert out[0].message_id
        assert isinstance(out[1], LimitExceeded) and "max_message_bytes" in out[1].rule
        assert isinstance(out[2], InvalidValue) and out[2].rule.startswith("delay")
        assert q.counts().visible == 1

    with_core(main)


def test_delay_hides_message_until_due() -> None:
    """SQS DelaySeconds: per message, or the queue default."""

    async def main(core, clock):
        q = core.create_queue("q", delay=10)
        await q.send(b"queue-default")
        await q.send(b"own", delay=2)
        await q.send(b"now", delay=0)
        assert [m.body for m in await q.receive(10)] == [b"now"]
        assert q.counts().delayed == 2
        clock.advance(2)
        assert [m.body for m in await q.receive(10)] == [b"own"]
        clock.advance(8)
        assert [m.body for m in await q.receive(10)] == [b"queue-default"]

    with_core(main)


def test_long_poll_returns_as_soon_as_a_message_is_sent() -> None:
    """SQS long polling: return as soon as a message is available."""

    async def main(core, clock):
        q = core.create_queue("q")
        loop = asyncio.get_running_loop()
        waiter = loop.create_task(q.receive(1, wait=20))
        await asyncio.sleep(0)
        assert not waiter.done()
        await q.send(b"wake")
        msgs = await asyncio.wait_for(waiter, 5)
        assert [m.body for m in msgs] == [b"wake"]

    with_core(main)


def test_long_poll_wakes_on_visibility_expiry_via_tick() -> None:
    async def main(core, clock):
        q = core.create_queue("q", visibility_timeout=3)
        await q.send(b"x")
        await q.receive()
        waiter = asyncio.get_running_loop().create_task(q.receive(1, wait=20))
        await asyncio.sleep(0)
        clock.advance(3)
        core.queues.tick()
        msgs = await asyncio.wait_for(waiter, 5)
        assert msgs[0].receive_count == 2

    with_core(main)


def test_purge_deletes_everything_including_in_flight() -> None:
    """SQS PurgeQueue deletes all messages; `last_purge_ms` feeds the 60 s rule."""

    async def main(core, clock):
        q = core.create_queue("q")
        for i in range(5):
            await q.send(b"m")
        [m] = await q.receive()
        await q.purge()
        assert q.counts().total == 0 and await q.receive(10) == []
        assert q.last_purge_ms == clock.now_ms()
        await q.delete(m.receipt)  # deleting a purged message is a harmless no-op
        await q.send(b"after")
        assert [x.body for x in await q.receive(10)] == [b"after"]

    with_core(main)


@pytest.mark.parametrize(
    ("kwargs", "rule"),
    [
        ({"max_messages": 0}, "max_messages"),
        ({"max_messages": 10_001}, "max_messages"),
        ({"wait": 21}, "receive_wait"),
        ({"wait": -1}, "receive_wait"),
        ({"visibility_timeout": 43201}, "visibility_timeout"),
        ({"visibility_timeout": -1}, "visibility_timeout"),
    ],
)
def test_out_of_range_receive_arguments_raise_naming_the_rule(kwargs: dict, rule: str) -> None:
    async def main(core, clock):
        q = core.create_queue("q")
        await q.send(b"x")
        with pytest.raises(InvalidValue) as info:
            await q.receive(**kwargs)
        assert info.value.rule.startswith(rule)
        assert q.counts().visible == 1  # nothing changed

    with_core(main)


def test_message_over_the_size_limit_is_refused_and_nothing_is_stored() -> None:
    """SQS: messages up to 1 MiB (body + attributes), configurable per queue."""

    async def main(core, clock):
        q = core.create_queue("q")
        await q.send(b"x" * (1024 * 1024))
        with pytest.raises(LimitExceeded):
            await q.send(b"x" * (1024 * 1024 - 3), {"abc": Attribute("String", "v")})
        assert q.counts().visible == 1

    with_core(main)


def test_sending_to_a_deleted_queue_raises_queue_not_found() -> None:
    async def main(core, clock):
        q = core.create_queue("q")
        assert core.delete_queue("q") is True
        with pytest.raises(QueueNotFound):
            await q.send(b"x")
        with pytest.raises(QueueNotFound):
            core.get_queue("q")
        assert core.delete_queue("q") is False

    with_core(main)


@pytest.mark.parametrize("name", ["", "a" * 81, "has space", "dot.name", "x.fifo"])
def test_bad_queue_names_are_refused_naming_the_rule(name: str) -> None:
    """SQS: 1-80 of [A-Za-z0-9_-]; '.fifo' suffix exactly for FIFO queues."""

    async def main(core, clock):
        with pytest.raises(InvalidName) as info:
            core.create_queue(name)
        assert "queue-name" in info.value.rule
        assert core.list_queues() == []

    with_core(main)


def test_amqp_names_allow_dots_and_at_signs() -> None:
    async def main(core, clock):
        q = core.queues.create("celery@host.celery.pidbox", name_rule="amqp")
        assert core.get_queue("celery@host.celery.pidbox") is q

    with_core(main)


def test_create_is_idempotent_with_identical_config_and_refuses_a_different_one() -> None:
    """SQS CreateQueue: same attributes -> the existing queue; different -> QueueAlreadyExists."""

    async def main(core, clock):
        a = core.create_queue("q", visibility_timeout=5)
        assert core.create_queue("q", visibility_timeout=5) is a
        with pytest.raises(QueueExists):
            core.create_queue("q", visibility_timeout=6)
        assert core.queue("q") is a
        core.create_queue("qa")
        assert core.list_queues("q") == ["q", "qa"]

    with_core(main)


def test_until_released_lease_never_expires_and_release_requeues_at_original_position() -> None:
    """AMQP: unacked messages stay with the consumer; nack/reject with requeue puts the
    message back at (or near) its original position."""

    async def main(core, clock):
        q = core.create_queue("q")
        for i in range(3):
            await q.send(str(i).encode())
        first = await q.receive(2, visibility_timeout=math.inf, owner="ch1")
        clock.advance(100_000)
        assert [m.body for m in await q.receive(1)] == [b"2"]
        q.release(first[1].receipt)
        q.release(first[0].receipt)
        got = await q.receive(10)
        assert [m.body for m in got] == [b"0", b"1"]
        assert all(m.receive_count == 2 for m in got)

    with_core(main)


def test_release_owner_requeues_everything_a_closed_channel_held() -> None:
    async def main(core, clock):
        q = core.create_queue("q")
        for i in range(4):
            await q.send(str(i).encode())
        await q.receive(3, visibility_timeout=math.inf, owner="ch1")
        assert q.release_owner("ch1") == 3
        assert q.counts().visible == 4
        assert [m.body for m in await q.receive(10)] == [b"0", b"1", b"2", b"3"]

    with_core(main)


def test_retention_expires_old_messages() -> None:
    """SQS MessageRetentionPeriod: older messages are deleted."""

    async def main(core, clock):
        q = core.create_queue("q", retention=60)
        await q.send(b"old")
        clock.advance(61)
        await q.send(b"new")
        assert [m.body for m in await q.receive(10)] == [b"new"]

    with_core(main)


def test_delete_batch_reports_invalid_receipts_per_entry() -> None:
    async def main(core, clock):
        q = core.create_queue("q")
        await q.send_batch([Envelope(b"a"), Envelope(b"b")])
        ms = await q.receive(10)
        out = await q.delete_batch([ms[0].receipt, "bogus", ms[1].receipt])
        assert out[0] is None and isinstance(out[1], InvalidReceipt) and out[2] is None
        assert q.counts().total == 0

    with_core(main)


def test_tick_drops_messages_past_retention_without_a_receive() -> None:
    """SQS MessageRetentionPeriod: messages are deleted when it passes, received or not
    (counts drop without anyone calling ReceiveMessage)."""

    async def main(core, clock):
        q = core.create_queue("q", retention=60)
        await q.send_batch([Envelope(b"old") for _ in range(3)])
        clock.advance(30)
        await q.send(b"young")
        clock.advance(31)
        core.queues.tick()
        await q.expire_heads()
        assert q.counts().visible == 1

    with_core(main)


def test_each_sent_message_wakes_one_long_poller_and_none_is_lost() -> None:
    """Long polls return as soon as a message is visible; waking is per message (no
    thundering herd), and no waiter misses a message that it could take."""

    async def main(core, clock):
        q = core.create_queue("q")
        loop = asyncio.get_running_loop()
        waiters = [loop.create_task(q.receive(1, wait=20)) for _ in range(5)]
        await asyncio.sleep(0)
        await q.send_batch([Envelope(b"a"), Envelope(b"b"), Envelope(b"c")])
        for _ in range(20):
            await asyncio.sleep(0)
        finished = [w for w in waiters if w.done()]
        assert len(finished) == 3
        assert sorted(w.result()[0].body for w in finished) == [b"a", b"b", b"c"]
        await q.send_batch([Envelope(b"d"), Envelope(b"e")])
        rest = await asyncio.wait_for(asyncio.gather(*[w for w in waiters if w not in finished]), 5)
        assert sorted(r[0].body for r in rest) == [b"d", b"e"]

    with_core(main)


def test_large_in_flight_bodies_are_not_held_but_come_back_intact() -> None:
    """Leases of large messages keep no body in RAM (re-read from the log), so
    redeliveries and dead-letter moves still carry the whole body."""

    async def main(core, clock):
        core.create_queue("dlq")
        q = core.create_queue("q", visibility_timeout=1,
                              redrive={"dead_letter_target": "dlq", "max_receive_count": 2})
        big = bytes(range(256)) * 64  # 16 KiB
        await q.send(big)
        [m1] = await q.receive()
        assert q._leases[m1.offset].stored.dropped
        clock.advance(1)
        [m2] = await q.receive()
        assert m2.body == big
        clock.advance(1)
        assert await q.receive() == []
        [dead] = await core.get_queue("dlq").receive()
        assert dead.body == big

    with_core(main)
