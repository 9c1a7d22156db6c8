"""Follow-up rules: cancelled long polls, AMQP vs SQS purge, TTLs above 2^32-1 ms,
transient messages across restarts, per-message TTL expiry on idle queues, queue names
that are not safe directory names."""

from __future__ import annotations

import asyncio
from pathlib import Path

from queue_support import open_core, run, with_core

from mqlite.core.clock import ManualClock
from mqlite.core.message import Envelope


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
