"""Core's transaction coordinator without a wire: state kept in the catalog, aborted
ranges pruned when retention removes them or the stream goes (issue #21).

The Kafka wire rules are in tests/protocols/kafka/test_kafka_transactions.py."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mqlite.core.broker import BrokerCore
from mqlite.core.clock import ManualClock
from mqlite.core.config import CoreConfig
from mqlite.core.transactions import PRUNE_EVERY_MS, TransactionError, TxnState
from mqlite.storage.recordbatch import encode_batch

CONFIG = CoreConfig(fsync="never", maintenance_interval=3600)


def _batch(pid: int, epoch: int, seq: int) -> bytes:
    return encode_batch([(None, b"v")], producer_id=pid, producer_epoch=epoch, base_sequence=seq,
                        is_transactional=True)


async def _abort_one(core: BrokerCore, stream: object, txn: str = "t") -> tuple[int, int]:
    pid, epoch = await core.transactions.init_producer(txn, 60_000)
    core.transactions.add_partitions(txn, pid, epoch, [(stream, 0)])
    core.transactions.begin_append(pid, epoch, stream, 0)
    await stream.append_batch(0, _batch(pid, epoch, 0), client=True)  # type: ignore[attr-defined]
    await core.transactions.end(txn, pid, epoch, commit=False)
    return pid, epoch


def test_state_survives_reopen_and_aborted_ranges_are_pruned(tmp_path: Path) -> None:
    """A reopened core knows each transactional id's producer, epoch and state; the
    aborted range of a partition is dropped once retention (here DeleteRecords) passes
    its marker, and with the stream."""

    async def main() -> None:
        clock = ManualClock()
        core = await BrokerCore.open(tmp_path / "d", CONFIG, clock)
        s = core.create_stream("s")
        pid, epoch = await _abort_one(core, s)
        assert core.transactions.aborted(s, 0, 0, 10) == [(pid, 0)]
        await core.close()
        core = await BrokerCore.open(tmp_path / "d", CONFIG, clock)
        s = core.get_stream("s")
        t = core.transactions.describe("t")
        assert (t.pid, t.epoch, t.state) == (pid, epoch, TxnState.COMPLETE_ABORT)
        assert core.transactions.aborted(s, 0, 0, 10) == [(pid, 0)]
        with pytest.raises(TransactionError) as info:
            await core.transactions.end("t", pid, epoch, commit=True)
        assert info.value.reason == "invalid_state"
        s.delete_records(0, 2)  # past the abort marker at offset 1
        clock.advance(PRUNE_EVERY_MS / 1000 + 1)
        core.transactions.tick()
        assert core.transactions.aborted(s, 0, 0, 10) == []
        s2 = core.create_stream("s2")
        await _abort_one(core, s2, "t2")
        core.delete_stream("s2")
        clock.advance(PRUNE_EVERY_MS / 1000 + 1)
        core.transactions.tick()
        assert core.catalog.kv_items("transactions/aborted") == []
        await core.close()

    asyncio.run(main())
