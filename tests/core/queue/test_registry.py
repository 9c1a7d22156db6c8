"""QueueRegistry: catalog persistence, configuration changes, message move tasks."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import pytest
from queue_support import open_core, run, with_core

from mqlite.core.clock import ManualClock
from mqlite.core.errors import InvalidValue, QueueNotFound
from mqlite.core.message import Envelope


def test_set_config_is_durable_and_fifo_is_fixed(tmp_path: Path) -> None:
    """SQS SetQueueAttributes changes survive restart; FifoQueue cannot change."""

    async def main() -> None:
        async with open_core(tmp_path) as core:
            core.create_queue("q")
            core.queues.set_config("q", visibility_timeout=7, redrive_allow_policy={"permission": "denyAll"})
            with pytest.raises(InvalidValue):
                core.queues.set_config("q", fifo=True)
            with pytest.raises(InvalidValue):
                core.queues.set_config("q", delay=1000)
            assert core.get_queue("q").config.delay == 0
        async with open_core(tmp_path) as core:
            cfg = core.get_queue("q").config
            assert cfg.visibility_timeout == 7 and cfg.redrive_allow_policy.permission == "denyAll"

    run(main())


def test_amqp_named_queue_and_until_released_leases_after_restart(tmp_path: Path) -> None:
    """An AMQP consumer's unacked messages return to the queue when the broker restarts
    (its channel is gone), with their delivery counted."""

    async def main() -> None:
        async with open_core(tmp_path) as core:
            q = core.queues.create("amq.gen-1.x", name_rule="amqp")
            await q.send(b"x")
            await q.receive(1, visibility_timeout=math.inf, owner="ch")
        async with open_core(tmp_path) as core:
            [m] = await core.get_queue("amq.gen-1.x").receive()
            assert m.receive_count == 2

    run(main())


def test_delayed_messages_stay_delayed_across_restart(tmp_path: Path) -> None:
    async def main() -> None:
        clock = ManualClock()
        async with open_core(tmp_path, clock) as core:
            q = core.create_queue("q")
            await q.send(b"later", delay=60)
            await q.send(b"now")
        async with open_core(tmp_path, clock) as core:
            q = core.get_queue("q")
            assert [m.body for m in await q.receive(10, visibility_timeout=600)] == [b"now"]
            clock.advance(60)
            assert [m.body for m in await q.receive(10)] == [b"later"]

    run(main())


def test_change_visibility_batch_reports_per_entry() -> None:
    async def main(core, clock):
        q = core.create_queue("q")
        await q.send_batch([Envelope(b"a"), Envelope(b"b")])
        a, b = await q.receive(2)
        await q.delete(b.receipt)
        out = q.change_visibility_batch([(a.receipt, 0), (b.receipt, 5), ("junk", 1)])
        assert out[0] is None and type(out[1]).__name__ == "MessageNotInflight"
        assert type(out[2]).__name__ == "InvalidReceipt"
        assert [m.body for m in await q.receive()] == [b"a"]

    with_core(main)


def test_move_task_to_an_explicit_destination_and_cancel_rules() -> None:
    """SQS StartMessageMoveTask with DestinationArn; one running task per source;
    CancelMessageMoveTask only for running tasks."""

    async def main(core, clock):
        dlq = core.create_queue("dlq")
        other = core.create_queue("other")
        await dlq.send_batch([Envelope(b"m") for _ in range(5)])
        with pytest.raises(QueueNotFound):
            core.queues.start_message_move("dlq", "missing")
        task = core.queues.start_message_move("dlq", "other", max_per_second=500)
        with pytest.raises(InvalidValue):
            core.queues.start_message_move("dlq")
        await task.wait()
        assert task.status == "COMPLETED" and other.counts().visible == 5
        with pytest.raises(InvalidValue):
            core.queues.cancel_message_move(task.handle)

    with_core(main)


def test_move_task_without_a_source_fails_with_a_reason() -> None:
    async def main(core, clock):
        core.create_queue("dlq")
        await core.get_queue("dlq").send(b"never dead-lettered")
        task = core.queues.start_message_move("dlq")
        await task.wait()
        assert task.status == "FAILED" and task.failure_reason

    with_core(main)


def test_fifo_redrive_keeps_group_and_order_in_the_fifo_dlq() -> None:
    async def main(core, clock):
        dlq = core.create_queue("dlq.fifo", fifo=True)
        q = core.create_queue("q.fifo", fifo=True, visibility_timeout=1,
                              redrive={"dead_letter_target": "dlq.fifo", "max_receive_count": 1})
        await q.send(b"1", group_id="g", dedup_id="1")
        await q.send(b"2", group_id="g", dedup_id="2")
        await q.receive(10)
        clock.advance(1)
        assert await q.receive(10) == []
        got = await dlq.receive(10)
        assert [(m.body, m.group_id) for m in got] == [(b"1", "g"), (b"2", "g")]

    with_core(main)


def test_deleting_a_queue_wakes_its_long_pollers_with_queue_not_found() -> None:
    async def main(core, clock):
        q = core.create_queue("q")
        waiter = asyncio.get_running_loop().create_task(q.receive(1, wait=20))
        await asyncio.sleep(0)
        core.delete_queue("q")
        with pytest.raises(QueueNotFound):
            await asyncio.wait_for(waiter, 5)

    with_core(main)
