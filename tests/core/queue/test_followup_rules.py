"""Follow-up rules: cancelled long polls, AMQP vs SQS purge, TTLs above 2^32-1 ms,
transient messages across restarts, per-message TTL expiry on idle queues, queue names
that are not safe directory names."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from queue_support import open_core, run, with_core

from mqlite.core.clock import ManualClock
from mqlite.core.errors import InvalidName
from mqlite.core.message import Envelope
from mqlite.core.queue import journal as journal_mod


async def _yield(n: int = 20) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


def test_cancelled_long_poll_does_not_swallow_the_wake_up_of_a_live_one() -> None:
    """SQS long polling returns as soon as a message is available: a cancelled poll
    (a client that went away) must not take the wake-up meant for a live poller."""

    async def main(core, clock):
        q = core.create_queue("q")
        loop = asyncio.get_running_loop()
        gone = loop.create_task(q.receive(1, wait=20))
        await _yield()
        gone.cancel()
        await _yield()
        assert gone.cancelled()
        assert q._waiters == []  # the cancelled poll left no waiter behind
        live = loop.create_task(q.receive(1, wait=20))
        await _yield()
        await q.send(b"x")
        await _yield()
        assert live.done() and [m.body for m in live.result()] == [b"x"]

    with_core(main)


def test_finished_waiters_do_not_count_toward_the_wake_limit() -> None:
    """One wake-up per newly visible message: a waiter that is already finished is
    skipped without using up the message's wake-up."""

    async def main(core, clock):
        q = core.create_queue("q")
        loop = asyncio.get_running_loop()
        dead = loop.create_future()
        dead.cancel()
        q._waiters.append(dead)  # as a poll cancelled elsewhere would leave it
        live = loop.create_task(q.receive(1, wait=20))
        await _yield()
        await q.send(b"x")
        await _yield()
        assert live.done() and [m.body for m in live.result()] == [b"x"]

    with_core(main)


def test_sqs_purge_deletes_in_flight_messages_too_and_counts_them() -> None:
    """SQS PurgeQueue: "deletes all messages in a queue", in-flight ones included."""

    async def main(core, clock):
        q = core.create_queue("q")
        await q.send_batch([Envelope(b"%d" % i) for i in range(5)])
        [m] = await q.receive()
        ack = q.purge()
        await ack
        assert ack.count == 5
        assert q.counts().total == 0
        await q.delete(m.receipt)  # a no-op now

    with_core(main)


def test_amqp_purge_keeps_unacked_messages_and_counts_only_the_ready_ones() -> None:
    """RabbitMQ queue.purge "removes all messages that are not awaiting
    acknowledgment": unacked deliveries stay, and a requeued one comes back."""

    async def main(core, clock):
        q = core.queues.create("aq", name_rule="amqp")
        await q.send_batch([Envelope(b"%d" % i) for i in range(6)])
        got = await q.receive(2, visibility_timeout=float("inf"), owner="ch")
        ack = q.purge(include_in_flight=False)
        await ack
        assert ack.count == 4
        c = q.counts()
        assert (c.visible, c.in_flight) == (0, 2)
        await q.delete(got[0].receipt)
        q.release(got[1].receipt)  # nack requeue: back in the queue
        assert [m.body for m in await q.receive(10)] == [b"1"]
        await q.send(b"new")
        assert [m.body for m in await q.receive(10)] == [b"new"]

    with_core(main)


def test_amqp_purge_keeping_unacked_survives_restart(tmp_path: Path) -> None:
    """The purge is durable; the unacked messages it kept are redelivered after a
    restart (their channel is gone), the purged ones never come back."""

    async def main() -> None:
        clock = ManualClock()
        async with open_core(tmp_path, clock) as core:
            q = core.queues.create("aq", name_rule="amqp")
            await q.send_batch([Envelope(b"%d" % i) for i in range(6)])
            await q.receive(1)  # leases "0"
            [keep] = await q.receive(1, visibility_timeout=float("inf"), owner="ch")  # "1"
            await q.receive(1)  # "2", leased (visibility timeout)
            assert q.purge(include_in_flight=False).count == 3
        async with open_core(tmp_path, clock) as core:
            q = core.get_queue("aq")
            c = q.counts()
            assert c.visible + c.in_flight == 3
            clock.advance(31)
            assert sorted(m.body for m in await q.receive(10)) == [b"0", b"1", b"2"]
            assert keep.body == b"1"

    run(main())


def test_message_ttl_and_per_message_ttl_above_32_bits_are_accepted() -> None:
    """RabbitMQ takes any non-negative x-message-ttl / expiration (Celery's delay queues
    declare up to 2^27 s in ms); messages still expire when that time has passed."""

    async def main(core, clock):
        big = 2**27 * 1000
        q = core.queues.create("celery_delay_27", name_rule="amqp", message_ttl_ms=big,
                               retention=1209600)
        assert q.config.message_ttl_ms == big
        await q.send(b"x", ttl_ms=2**33)
        assert q.counts().visible == 1
        [m] = await q.receive()
        assert m.body == b"x"

    with_core(main)


def test_tick_expires_a_per_message_ttl_at_the_head_behind_an_unacked_message() -> None:
    """RabbitMQ expires a message once it reaches the head of its queue, consumers or
    not: with the oldest message out unacknowledged and no queue TTL, an expired message
    next in line goes on the next maintenance tick (dead-lettered, reason expired)."""

    async def main(core, clock):
        q = core.queues.create("ttlq", name_rule="amqp")
        await q.send(b"first")
        await q.send(b"short", ttl_ms=1000)
        await q.send(b"plain")
        [first] = await q.receive(1, visibility_timeout=float("inf"), owner="ch")
        assert first.body == b"first"
        clock.advance(2)
        core.queues.tick()
        await _yield()
        c = q.counts()
        assert (c.visible, c.in_flight) == (1, 1)
        assert [m.body for m in await q.receive(10)] == [b"plain"]

    with_core(main)


def test_tick_expires_per_message_ttl_after_restart_without_a_receive(tmp_path: Path) -> None:
    """After a restart no head is loaded; the per-message TTL still expires on tick."""

    async def main() -> None:
        clock = ManualClock()
        async with open_core(tmp_path, clock) as core:
            q = core.queues.create("ttlq", name_rule="amqp")
            await q.send(b"short", ttl_ms=1000)
            await q.send(b"long", ttl_ms=60_000)
        async with open_core(tmp_path, clock) as core:
            q = core.get_queue("ttlq")
            clock.advance(2)
            core.queues.tick()
            await _yield()
            assert q.counts().visible == 1
            clock.advance(60)
            core.queues.tick()
            await _yield()
            assert q.counts().visible == 0

    run(main())


def test_transient_flag_is_a_record_header_only_when_false() -> None:
    """Plain messages stay header-free on disk; a transient one carries one header."""

    async def main(core, clock):
        q = core.create_queue("q")
        await q.send_batch([Envelope(b"durable"), Envelope(b"transient", persistent=False)])
        first, second = q._log.read_records(0, 2)
        assert first.headers == () and second.headers == (("n", b""),)
        assert [m.body for m in await q.receive(10)] == [b"durable", b"transient"]

    with_core(main)


def test_transient_messages_are_dropped_by_recovery_and_not_counted(tmp_path: Path) -> None:
    """RabbitMQ classic queues do not keep transient (delivery_mode 1) messages across a
    restart: recovery drops them, leased or not, and counts are right at once."""

    async def main() -> None:
        clock = ManualClock()
        async with open_core(tmp_path, clock) as core:
            q = core.queues.create("aq", name_rule="amqp")
            envs = [Envelope(b"p0"), Envelope(b"t1", persistent=False), Envelope(b"p2"),
                    Envelope(b"t3", persistent=False), Envelope(b"p4")]
            await q.send_batch(envs)
            got = await q.receive(2, visibility_timeout=30)  # p0 and t1 leased
            assert [m.body for m in got] == [b"p0", b"t1"]
        async with open_core(tmp_path, clock) as core:
            q = core.get_queue("aq")
            c = q.counts()
            assert (c.visible, c.in_flight) == (2, 1)  # p2, p4 visible; p0 leased
            clock.advance(30)
            assert [m.body for m in await q.receive(10)] == [b"p0", b"p2", b"p4"]
            await q.send_envelope(Envelope(b"t5", persistent=False))
        async with open_core(tmp_path, clock) as core:  # a second restart: still right
            q = core.get_queue("aq")
            c = q.counts()
            assert (c.visible, c.in_flight) == (0, 3)
            clock.advance(30)
            assert sorted(m.body for m in await q.receive(10)) == [b"p0", b"p2", b"p4"]

    run(main())


def test_transient_marker_survives_journal_compaction(tmp_path: Path, monkeypatch: Any) -> None:
    """The journal's snapshot carries where transient messages may live, so recovery
    still drops them after the journal compacted itself."""
    monkeypatch.setattr(journal_mod, "SNAPSHOT_EVERY", 5)

    async def main() -> None:
        clock = ManualClock()
        async with open_core(tmp_path, clock) as core:
            q = core.queues.create("aq", name_rule="amqp")
            await q.send_envelope(Envelope(b"t0", persistent=False))
            assert [m.body for m in await q.receive(1, visibility_timeout=3600)] == [b"t0"]
            for i in range(20):
                await q.send(b"p%d" % i)
                [m] = await q.receive()
                await q.delete(m.receipt)
        async with open_core(tmp_path, clock) as core:
            assert core.get_queue("aq").counts().total == 0

    run(main())


def test_amqp_queue_names_with_slashes_and_percents_never_collide_or_escape(tmp_path: Path) -> None:
    """RabbitMQ queue names are up to 255 bytes of UTF-8 ('/' allowed). Names become
    directories, so unsafe ones are encoded: 'a/b' and 'a%2Fb' get different
    directories, '..' and '../x' stay inside the data dir, and all survive a restart."""
    names = ["a/b", "a%2Fb", "a%252Fb", "..", "../escape", ".", "a.b", "tilde~", "é/ü",
             "x" * 200 + "/" + "y" * 54, "x" * 200 + "/" + "z" * 54]

    async def main() -> None:
        async with open_core(tmp_path) as core:
            for name in names:
                q = core.queues.create(name, name_rule="amqp")
                await q.send(name.encode())
        queue_dirs = {p.resolve() for p in (tmp_path / "queues").iterdir()}
        assert len(queue_dirs) == len(names)
        assert all(d.parent == (tmp_path / "queues").resolve() for d in queue_dirs)
        assert not (tmp_path / "escape").exists() and not (tmp_path.parent / "escape").exists()
        async with open_core(tmp_path) as core:
            for name in names:
                [m] = await core.get_queue(name).receive()
                assert m.body == name.encode()
            core.delete_queue("a/b")
            assert core.get_queue("a%2Fb").counts().in_flight == 1  # untouched by the delete
        async with open_core(tmp_path) as core:
            assert "a/b" not in core.list_queues() and "a%2Fb" in core.list_queues()

    run(main())


def test_amqp_queue_name_rule_is_255_bytes_of_utf8() -> None:
    """RabbitMQ: queue names up to 255 bytes of UTF-8 characters."""

    async def main(core, clock):
        core.queues.create("é" * 127, name_rule="amqp")  # 254 bytes
        with pytest.raises(InvalidName) as info:
            core.queues.create("é" * 128, name_rule="amqp")  # 256 bytes
        assert "255 bytes" in info.value.rule

    with_core(main)


def test_tick_expires_queue_ttl_at_the_head_behind_an_unacked_message() -> None:
    """x-message-ttl: a message that reaches the head after its TTL is dead (RabbitMQ),
    also while the oldest message is out unacknowledged and nobody receives."""

    async def main(core, clock):
        q = core.queues.create("qttl", name_rule="amqp", message_ttl_ms=1000)
        await q.send(b"first")
        await q.send(b"second")
        await q.receive(1, visibility_timeout=float("inf"), owner="ch")
        clock.advance(2)
        core.queues.tick()
        await _yield()
        c = q.counts()
        assert (c.visible, c.in_flight) == (0, 1)

    with_core(main)


def test_unlimited_retention_keeps_long_ttl_messages_past_14_days() -> None:
    """RabbitMQ has no retention: a Celery delay-queue message with a TTL of 2^21 s
    (~24 days) must live until its TTL, not die at SQS's 14-day maximum. AMQP queues
    use retention 0 = unlimited."""

    async def main(core, clock):
        q = core.queues.create("celery_delay_21", name_rule="amqp", retention=0,
                               message_ttl_ms=2**21 * 1000)
        await q.send(b"later")
        clock.advance(15 * 86400)
        core.queues.tick()
        await _yield()
        assert q.counts().visible == 1
        clock.advance(10 * 86400)
        core.queues.tick()
        await _yield()
        assert q.counts().visible == 0

    with_core(main)
