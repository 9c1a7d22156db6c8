"""Streams: append/read, partitioning, offsets, long-poll, retention (issue #3 section 2)."""

from __future__ import annotations

import asyncio

import pytest

from mqlite.core.broker import BrokerCore
from mqlite.core.clock import ManualClock
from mqlite.core.config import CoreConfig
from mqlite.core.errors import InvalidValue, OffsetOutOfRange, StreamNotFound
from mqlite.core.partitioner import partition_for_key
from mqlite.storage import decode_batch, encode_batch


def run(coro):
    return asyncio.run(coro)


async def _core(clock: ManualClock | None = None) -> BrokerCore:
    return await BrokerCore.open(
        None, CoreConfig(fsync="never", maintenance_interval=0), clock or ManualClock()
    )


def test_append_assigns_dense_offsets_per_partition() -> None:
    """Rule: offsets in a partition are dense and increasing from 0."""

    async def main() -> None:
        core = await _core()
        s = core.create_stream("t", partitions=2)
        got = [await s.append(f"v{i}", partition=i % 2) for i in range(6)]
        assert got == [(0, 0), (1, 0), (0, 1), (1, 1), (0, 2), (1, 2)]
        assert [r.value for r in s.read(0, 0)] == [b"v0", b"v2", b"v4"]
        assert s.latest(0) == 3 and s.earliest(0) == 0
        await core.close()

    run(main())


def test_keyed_records_go_to_the_kafka_murmur2_partition() -> None:
    """Rule: key -> toPositive(murmur2(key)) % partitions (Kafka default partitioner)."""

    async def main() -> None:
        core = await _core()
        s = core.create_stream("keys", partitions=7)
        for key in (b"user-1", b"user-2", b"foobar", b"21"):
            p, _ = await s.append(b"x", key=key)
            assert p == partition_for_key(key, 7)
        await core.close()

    run(main())


def test_keyless_records_go_round_robin() -> None:
    """Rule (issue #3): round-robin without a key."""

    async def main() -> None:
        core = await _core()
        s = core.create_stream("rr", partitions=3)
        parts = [(await s.append(b"x"))[0] for _ in range(6)]
        assert parts == [0, 1, 2, 0, 1, 2]
        await core.close()

    run(main())


def test_record_keeps_key_headers_and_timestamp() -> None:
    """Rule: a Record has offset, key, value, headers, timestamp."""

    async def main() -> None:
        clock = ManualClock(start_ms=1_700_000_000_123)
        core = await _core(clock)
        s = core.create_stream("h")
        await s.append(b"v", key="k", headers={"a": "1", "b": b"\x00", "c": None})
        (r,) = s.read(0, 0)
        assert (r.offset, r.key, r.value, r.timestamp) == (0, b"k", b"v", 1_700_000_000_123)
        assert r.headers == (("a", b"1"), ("b", b"\x00"), ("c", None))
        await core.close()

    run(main())


def test_read_outside_the_log_raises_offset_out_of_range() -> None:
    """Rule (Kafka OFFSET_OUT_OF_RANGE): offsets outside [earliest, latest] are refused;
    reading at latest returns nothing."""

    async def main() -> None:
        core = await _core()
        s = core.create_stream("r")
        await s.append(b"a")
        assert s.read(0, 1) == []
        with pytest.raises(OffsetOutOfRange) as err:
            s.read(0, 2)
        assert (err.value.start, err.value.end) == (0, 1)
        with pytest.raises(OffsetOutOfRange):
            s.read(0, -1)
        with pytest.raises(InvalidValue):
            s.read(1, 0)
        await core.close()

    run(main())


def test_offset_for_time_finds_first_record_at_or_after_timestamp() -> None:
    """Rule (Kafka ListOffsets by timestamp): earliest offset whose timestamp >= ts."""

    async def main() -> None:
        core = await _core()
        s = core.create_stream("ts")
        for i, ts in enumerate((1000, 2000, 3000)):
            await s.append(f"{i}", timestamp=ts)
        assert s.offset_for_time(0, 1500) == 1
        assert s.offset_for_time(0, 2000) == 1
        assert s.offset_for_time(0, 0) == 0
        assert s.offset_for_time(0, 3001) is None
        await core.close()

    run(main())


def test_append_batch_stores_the_client_bytes_with_only_base_offset_rewritten() -> None:
    """Rule (Kafka produce): the broker rewrites baseOffset and partitionLeaderEpoch (the
    fields outside the CRC); every other byte is stored as sent."""

    async def main() -> None:
        core = await _core()
        s = core.create_stream("raw")
        await s.append(b"first")
        raw = encode_batch([(b"k", b"v1"), (None, b"v2")], 0)
        result = await s.append_batch(0, raw)
        assert (result.base_offset, result.last_offset) == (1, 2)
        stored = s.read_batches(0, 1, 1 << 20)
        assert len(stored) == 1 and stored[0][16:] == raw[16:] and stored[0][8:12] == raw[8:12]
        header, records = decode_batch(stored[0])
        assert header.base_offset == 1 and [r.offset for r in records] == [1, 2]
        await core.close()

    run(main())


def test_append_many_keeps_input_order_and_groups_keyless_on_one_partition() -> None:
    """Rule: keyed items follow murmur2; keyless ones of one call share a partition."""

    async def main() -> None:
        core = await _core()
        s = core.create_stream("many", partitions=4)
        out = await s.append_many([b"a", (b"b", b"key"), b"c"])
        assert out[0][0] == out[2][0] and out[2][1] == out[0][1] + 1
        assert out[1][0] == partition_for_key(b"key", 4)
        assert [r.value for r in s.read(out[0][0], out[0][1])][:2] == [b"a", b"c"]
        await core.close()

    run(main())


def test_wait_for_data_returns_as_soon_as_a_record_arrives() -> None:
    """Rule (long poll): return as soon as any watched partition has data past its position."""

    async def main() -> None:
        core = await _core()
        s = core.create_stream("lp", partitions=2)
        waiter = asyncio.ensure_future(s.wait_for_data({0: 0, 1: 0}, timeout=30))
        await asyncio.sleep(0)
        assert not waiter.done()
        await s.append(b"x", partition=1)
        assert await waiter is True
        await core.close()

    run(main())


def test_wait_for_data_times_out_without_data() -> None:
    """Rule (long poll): the wait expires with nothing when no data arrives."""

    async def main() -> None:
        core = await _core()
        s = core.create_stream("lp2")
        assert await s.wait_for_data({0: 0}, timeout=0.01) is False
        assert await s.wait_for_data({0: 0}, timeout=0) is False
        await s.append(b"x")
        assert await s.wait_for_data({0: 0}, timeout=0) is True
        assert await s.wait_for_data({0: 1}, timeout=0) is False
        await core.close()

    run(main())


def test_wait_for_bytes_waits_until_min_bytes_are_available() -> None:
    """Rule (Kafka fetch min_bytes): respond once at least min_bytes are available."""

    async def main() -> None:
        core = await _core()
        s = core.create_stream("mb")
        waiter = asyncio.ensure_future(s.wait_for_bytes({0: 0}, 300, timeout=30))
        await s.append(b"x")
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert not waiter.done()  # one small batch is < 300 bytes
        await s.append(b"y" * 400)
        assert await waiter is True
        await core.close()

    run(main())


def test_deleting_a_stream_ends_its_long_polls() -> None:
    """Rule: a deleted stream's pending waits return (no data) instead of hanging."""

    async def main() -> None:
        core = await _core()
        s = core.create_stream("gone")
        waiter = asyncio.ensure_future(s.wait_for_data({0: 0}, timeout=30))
        await asyncio.sleep(0)
        assert core.delete_stream("gone") is True
        assert await waiter is False
        with pytest.raises(StreamNotFound):
            await s.append(b"x")
        await core.close()

    run(main())


def test_add_partitions_grows_and_new_keys_spread() -> None:
    """Rule (Kafka CreatePartitions): partitions can be added, never removed."""

    async def main() -> None:
        core = await _core()
        s = core.create_stream("grow")
        assert s.add_partitions(2) == 3
        assert s.partition_count == 3 and s.latest(2) == 0
        with pytest.raises(InvalidValue):
            s.set_partitions(2)
        assert s.set_partitions(5) == 5
        await core.close()

    run(main())


def test_retention_by_bytes_drops_whole_old_segments() -> None:
    """Rule (Kafka retention.bytes): whole segments beyond the limit are deleted."""

    async def main() -> None:
        core = await _core()
        s = core.create_stream("ret", config={"segment_bytes": 200, "retention_bytes": 400})
        for i in range(40):
            await s.append(b"x" * 50)
        s.apply_retention()
        assert s.earliest(0) > 0
        assert s.latest(0) == 40
        assert s.size_bytes() <= 400 + 200
        await core.close()

    run(main())


def test_retention_by_age_applies_on_tick_with_the_injected_clock() -> None:
    """Rule (Kafka retention.ms): segments whose newest record is older are deleted."""

    async def main() -> None:
        clock = ManualClock()
        core = await _core(clock)
        s = core.create_stream("age", config={"segment_bytes": 200, "retention_ms": 60_000})
        for _ in range(20):
            await s.append(b"x" * 50)
        clock.advance(3600)
        await s.append(b"fresh")
        core.tick()
        assert s.earliest(0) > 0
        assert s.read(0, s.earliest(0))[-1].value == b"fresh"
        await core.close()

    run(main())


def test_delete_records_moves_the_earliest_offset() -> None:
    """Rule (Kafka DeleteRecords): the low watermark moves to the given offset."""

    async def main() -> None:
        core = await _core()
        s = core.create_stream("dr")
        for _ in range(5):
            await s.append(b"x")
        assert s.delete_records(0, 3) == 3
        assert s.earliest(0) == 3
        assert [r.offset for r in s.read(0, 3)] == [3, 4]
        await core.close()

    run(main())


def test_set_config_is_validated_and_kept() -> None:
    """Rule: stream configs are integers of known names; unknown keys are refused."""

    async def main() -> None:
        core = await _core()
        s = core.create_stream("cfg")
        s.set_config(retention_ms=1000)
        assert s.config.retention_ms == 1000
        assert s.effective_config.segment_bytes is not None
        with pytest.raises(InvalidValue):
            s.set_config(bogus=1)
        with pytest.raises(InvalidValue):
            s.set_config(retention_ms="soon")
        await core.close()

    run(main())


def test_wait_for_streams_spans_several_streams_with_total_min_bytes() -> None:
    """Rule (Kafka fetch): one fetch waits on partitions of several topics; min_bytes
    counts the bytes available over all of them."""
    from mqlite.core.stream import wait_for_streams

    async def main() -> None:
        core = await _core()
        a, b = core.create_stream("a"), core.create_stream("b", partitions=2)
        watch = [(a, {0: 0}), (b, {0: 0, 1: 0})]
        waiter = asyncio.ensure_future(wait_for_streams(watch, 1, timeout=30))
        await asyncio.sleep(0)
        assert not waiter.done()
        await b.append(b"x", partition=1)
        assert await waiter is True
        big = asyncio.ensure_future(wait_for_streams(watch, 400, timeout=30))
        await a.append(b"y" * 150)
        await asyncio.sleep(0)
        assert not big.done()
        await b.append(b"z" * 200, partition=0)
        assert await big is True
        assert await wait_for_streams(watch, 10_000, timeout=0.01) is False
        await core.close()

    run(main())


def test_cancelled_long_poll_leaves_no_waiter_behind() -> None:
    """Rule: a client that goes away cancels its wait; nothing keeps its future."""

    async def main() -> None:
        core = await _core()
        s = core.create_stream("c")
        waiter = asyncio.ensure_future(s.wait_for_data({0: 0}, timeout=30))
        await asyncio.sleep(0)
        assert s._partitions[0].waiters
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert not s._partitions[0].waiters
        await core.close()

    run(main())


def test_closing_the_broker_ends_pending_long_polls() -> None:
    """Rule: shutdown does not hang on a long-polling consumer."""

    async def main() -> None:
        core = await _core()
        s = core.create_stream("z")
        waiter = asyncio.ensure_future(s.wait_for_data({0: 0}, timeout=30))
        await asyncio.sleep(0)
        await core.close()
        assert await waiter is False

    run(main())


def test_tail_reads_equal_what_the_log_decodes() -> None:
    """Invariant: records served from the recent-append cache are exactly the stored
    records (offset, timestamp, key, value, headers), for every append path."""

    async def main() -> None:
        core = await _core()
        s = core.create_stream("tail")
        await s.append(b"one", key=b"k", headers={"h": b"1", "n": None}, timestamp=5)
        await s.append_many([b"a", b"b"])
        await s.append_many([(b"c", b"kc", {"x": "y"}), (b"d", None)])
        await s.append_batch(0, encode_batch([(b"rk", b"raw")], 0))
        await s.append(None, key=b"tombstone")
        log = s._partitions[0].log
        for offset in range(s.latest(0)):
            assert s.read(0, offset, 100) == log.read_records(offset, 100)
        await core.close()

    run(main())


def test_tail_cache_memory_is_bounded_over_all_partitions() -> None:
    """Invariant (core/partition.py): the decoded tail caches of all partitions stay
    within the broker-wide budget; evicted partitions read from the log, unchanged."""

    async def main() -> None:
        config = CoreConfig(fsync="never", maintenance_interval=0, stream_tail_cache_bytes=50_000)
        core = await BrokerCore.open(None, config, ManualClock())
        s = core.create_stream("many", partitions=8)
        for round_ in range(5):
            for p in range(8):
                await s.append_many([b"v" * 200] * 20, partition=p)
            budget = core.streams.tail_budget
            assert budget.used <= 50_000
            assert budget.used == sum(part.tail_bytes for part in s._partitions)
        for p in range(8):
            assert len(s.read(p, 0, 1000)) == 100
        core.delete_stream("many")
        assert core.streams.tail_budget.used == 0
        await core.close()

    run(main())


def test_a_zero_budget_disables_the_tail_cache() -> None:
    async def main() -> None:
        config = CoreConfig(fsync="never", maintenance_interval=0, stream_tail_cache_bytes=0)
        core = await BrokerCore.open(None, config, ManualClock())
        s = core.create_stream("nocache")
        await s.append(b"x")
        assert s._partitions[0].tail == [] and s.read(0, 0)[0].value == b"x"
        await core.close()

    run(main())


@pytest.mark.parametrize(
    "bad",
    [{"segment_bytes": 10}, {"retention_ms": -2}, {"max_message_bytes": 0}, {"segment_ms": 0}],
)
def test_out_of_range_stream_configs_are_refused_and_nothing_changes(bad: dict[str, int]) -> None:
    """Rule (Kafka topic configs): -1 means unlimited for retention; sizes and ages have
    minimums; a refused change leaves the stream as it was."""

    async def main() -> None:
        core = await _core()
        s = core.create_stream("c", config={"retention_ms": 1000})
        with pytest.raises(InvalidValue):
            s.set_config(**bad)
        assert s.config.to_dict() == {"retention_ms": 1000}
        with pytest.raises(InvalidValue):
            core.create_stream("d", config=bad)
        assert core.list_streams() == ["c"]
        await core.close()

    run(main())
