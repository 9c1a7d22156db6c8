"""Restart: queues, messages and lease state survive (issue #3: "after a restart ... no
deleted message comes back and every undeleted one is still there")."""

from __future__ import annotations

from pathlib import Path

from queue_support import open_core, run

from mqlite.core.clock import ManualClock
from mqlite.core.message import Envelope
from mqlite.core.queue import journal as journal_mod


def test_clean_restart_keeps_undeleted_drops_deleted_and_keeps_leases(tmp_path: Path) -> None:
    async def main() -> None:
        clock = ManualClock()
        async with open_core(tmp_path, clock) as core:
            q = core.create_queue("q", visibility_timeout=30)
            await q.send_batch([Envelope(str(i).encode()) for i in range(6)])
            got = await q.receive(3)
            await q.delete(got[0].receipt)
            await q.delete(got[2].receipt)
            receipt1 = got[1].receipt
        async with open_core(tmp_path, clock) as core:
            q = core.get_queue("q")
            assert q.config.visibility_timeout == 30
            c = q.counts()
            assert (c.visible, c.in_flight) == (3, 1)  # "1" is still leased
            assert [m.body for m in await q.receive(10)] == [b"3", b"4", b"5"]
            await q.delete(receipt1)  # the receipt from before the restart still works
            assert q.counts().in_flight == 3
            clock.advance(30)
            assert sorted(m.body for m in await q.receive(10)) == [b"3", b"4", b"5"]

    run(main())


def test_receive_counts_survive_restart_and_drive_redrive(tmp_path: Path) -> None:
    async def main() -> None:
        clock = ManualClock()
        async with open_core(tmp_path, clock) as core:
            core.create_queue("dlq")
            q = core.create_queue("q", visibility_timeout=1,
                                  redrive={"dead_letter_target": "dlq", "max_receive_count": 2})
            await q.send(b"x")
            await q.receive()
            clock.advance(1)
        async with open_core(tmp_path, clock) as core:
            q = core.get_queue("q")
            [m] = await q.receive()
            assert m.receive_count == 2
            clock.advance(1)
            assert await q.receive() == []
            assert core.get_queue("dlq").counts().visible == 1

    run(main())


def test_fifo_dedup_and_group_blocking_survive_restart(tmp_path: Path) -> None:
    async def main() -> None:
        clock = ManualClock()
        async with open_core(tmp_path, clock) as core:
            q = core.create_queue("q.fifo", fifo=True)
            first = await q.send(b"a1", group_id="a", dedup_id="1")
            await q.send(b"a2", group_id="a", dedup_id="2")
            await q.receive(1)
        async with open_core(tmp_path, clock) as core:
            q = core.get_queue("q.fifo")
            again = await q.send(b"a1", group_id="a", dedup_id="1")
            assert again.duplicate and again.message_id == first.message_id
            assert await q.receive(10) == []  # group a is still blocked by a1's lease

    run(main())


def test_purge_survives_restart(tmp_path: Path) -> None:
    async def main() -> None:
        async with open_core(tmp_path) as core:
            q = core.create_queue("q")
            for _ in range(3):
                await q.send(b"x")
            await q.purge()
            await q.send(b"after")
        async with open_core(tmp_path) as core:
            assert [m.body for m in await core.get_queue("q").receive(10)] == [b"after"]

    run(main())


def test_journal_compaction_keeps_state_and_bounds_the_journal(tmp_path: Path, monkeypatch) -> None:
    """Compaction: a snapshot replaces the records before it."""
    monkeypatch.setattr(journal_mod, "SNAPSHOT_EVERY", 10)

    async def main() -> None:
        async with open_core(tmp_path) as core:
            q = core.create_queue("q")
            await q.send_batch([Envelope(str(i).encode()) for i in range(100)])
            for _ in range(40):
                [m] = await q.receive()
                await q.delete(m.receipt)
            assert len(await q.receive()) == 1  # held in flight across the restart
            assert q._journal._since_snapshot < 10
        async with open_core(tmp_path) as core:
            q = core.get_queue("q")
            c = q.counts()
            assert (c.visible, c.in_flight) == (59, 1)
            assert (await q.receive())[0].body == b"41"

    run(main())


def test_deleted_queue_is_gone_after_restart(tmp_path: Path) -> None:
    async def main() -> None:
        async with open_core(tmp_path) as core:
            core.create_queue("q")
            core.create_queue("keep")
            core.delete_queue("q")
        async with open_core(tmp_path) as core:
            assert core.list_queues() == ["keep"]

    run(main())


def test_unawaited_acks_are_written_by_a_clean_shutdown(tmp_path: Path) -> None:
    """AMQP acks have no reply, so the front-end does not await them; a clean restart
    (flush on close) must still keep them deleted."""

    async def main() -> None:
        async with open_core(tmp_path) as core:
            q = core.create_queue("q")
            await q.send_batch([Envelope(str(i).encode()) for i in range(4)])
            for m in await q.receive(3):
                q.delete(m.receipt)  # not awaited
        async with open_core(tmp_path) as core:
            assert [m.body for m in await core.get_queue("q").receive(10)] == [b"3"]

    run(main())


def test_journal_forgets_offsets_a_crash_cut_from_the_message_log() -> None:
    """A consumer may delete a message whose append was not yet fsynced; if a crash then
    cuts that tail from the message log, the journal's 'done' for those offsets must
    not swallow the new messages that reuse them (after one restart or several)."""
    from mqlite.core.clock import ManualClock
    from mqlite.core.queue.config import QueueConfig
    from mqlite.core.queue.queue import Queue
    from mqlite.storage.memlog import MemoryLog

    async def main() -> None:
        clock = ManualClock()
        journal, messages = MemoryLog(), MemoryLog()
        q = Queue("q", QueueConfig(), messages, journal, clock, token="t0")
        await q.send_batch([Envelope(str(i).encode()) for i in range(5)])
        for m in await q.receive(5):
            await q.delete(m.receipt)
        assert q.lwm == 5
        cut = MemoryLog()  # the crash kept only the first 3 records
        cut.append(messages.read_records(0, 3))
        q = Queue("q", QueueConfig(), cut, journal, clock, token="t0")
        assert q.counts().total == 0
        await q.send(b"new")
        q = Queue("q", QueueConfig(), cut, journal, clock, token="t0")
        assert [m.body for m in await q.receive(10)] == [b"new"]

    run(main())
