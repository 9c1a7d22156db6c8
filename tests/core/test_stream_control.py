"""Stream.read and control batches (core/stream.py docstring: records of control
batches are skipped unless `include_control=True`; Kafka protocol guide, "Control
Batches": consumers never return control records to the application)."""

from __future__ import annotations

import asyncio
import struct

from mqlite.core.broker import BrokerCore
from mqlite.core.clock import ManualClock
from mqlite.core.config import CoreConfig
from mqlite.storage import encode_batch

CONTROL = struct.pack(">hh", 0, 0x5244)


def run(coro):
    return asyncio.run(coro)


async def _core() -> BrokerCore:
    return await BrokerCore.open(None, CoreConfig(fsync="never", maintenance_interval=0), ManualClock())


async def _control(stream, value: bytes) -> None:
    await stream.append_batch(0, encode_batch([(CONTROL, value, (("op", b"x"),), 1)], is_control=True))


def test_read_skips_control_batches_and_opts_in_with_include_control() -> None:
    """A control batch between data is invisible to a default read, present with the opt-in."""

    async def main() -> None:
        core = await _core()
        s = core.create_stream("s")
        await s.append(b"a", partition=0)
        await _control(s, b"bookkeeping")
        await s.append_records(0, [(None, b"b", (), 2), (None, b"c", (), 3)])
        assert [(r.offset, r.value) for r in s.read(0, 0)] == [(0, b"a"), (2, b"b"), (3, b"c")]
        assert [r.value for r in s.read(0, 1)] == [b"b", b"c"]  # starting on the control offset
        assert [r.value for r in s.read(0, 0, include_control=True)] == [b"a", b"bookkeeping", b"b", b"c"]
        await core.close()

    run(main())


def test_max_records_counts_data_records_only() -> None:
    """Skipped control records do not use up `max_records`: the read goes on past them."""

    async def main() -> None:
        core = await _core()
        s = core.create_stream("s")
        for i in range(5):
            await _control(s, b"op%d" % i)
        await s.append_records(0, [(None, b"d%d" % i, (), 10) for i in range(3)])
        assert [r.value for r in s.read(0, 0, max_records=2)] == [b"d0", b"d1"]
        assert len(s.read(0, 0, max_records=2, include_control=True)) == 2
        await core.close()

    run(main())


def test_read_of_only_control_batches_up_to_the_end_is_empty() -> None:
    """Below `latest` a read may return [] when only control batches remain (documented)."""

    async def main() -> None:
        core = await _core()
        s = core.create_stream("s")
        await s.append(b"a", partition=0)
        await _control(s, b"tail")
        assert s.latest(0) == 2
        assert s.read(0, 1) == []
        assert [r.value for r in s.read(0, 1, include_control=True)] == [b"tail"]
        await core.close()

    run(main())


def test_file_log_reads_skip_control_batches_after_reopen(tmp_path) -> None:
    """The skip works from stored segments too (no tail cache after a restart)."""

    async def main() -> None:
        config = CoreConfig(fsync="never", maintenance_interval=0)
        core = await BrokerCore.open(tmp_path, config, ManualClock())
        s = core.create_stream("s")
        await s.append(b"a", partition=0)
        await _control(s, b"x")
        await s.append(b"b", partition=0)
        await core.close()
        core = await BrokerCore.open(tmp_path, config, ManualClock())
        s = core.get_stream("s")
        assert [r.value for r in s.read(0, 0)] == [b"a", b"b"]
        assert [r.value for r in s.read(0, 0, include_control=True)] == [b"a", b"x", b"b"]
        await core.close()

    run(main())
