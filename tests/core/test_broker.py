"""BrokerCore: lifecycle, registries, restart persistence (docs/architecture.md "core")."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mqlite.core.broker import BrokerCore
from mqlite.core.clock import ManualClock
from mqlite.core.config import CoreConfig
from mqlite.core.errors import InvalidName, InvalidValue, StreamExists, StreamNotFound
from mqlite.errors import StorageError

CONFIG = CoreConfig(fsync="never", maintenance_interval=0)


def run(coro):
    return asyncio.run(coro)


def test_memory_broker_creates_gets_lists_and_deletes_streams() -> None:
    """Rule: create raises StreamExists for a taken name; get raises StreamNotFound."""

    async def main() -> None:
        core = await BrokerCore.open(None, CONFIG)
        assert core.memory
        s = core.create_stream("a", partitions=2)
        assert core.get_stream("a") is s and core.stream("a", 5) is s
        assert core.stream("b").partition_count == 1
        with pytest.raises(StreamExists):
            core.create_stream("a")
        assert core.list_streams() == ["a", "b"]
        assert core.delete_stream("a") is True and core.delete_stream("a") is False
        with pytest.raises(StreamNotFound):
            core.get_stream("a")
        await core.close()
        await core.close()  # idempotent

    run(main())


@pytest.mark.parametrize("name", ["", "..", "bad name", "x" * 250])
def test_bad_stream_names_are_refused_and_nothing_is_created(name: str) -> None:
    """Rule (Kafka topic names): [a-zA-Z0-9._-], 1-249, not '.' or '..'."""

    async def main() -> None:
        core = await BrokerCore.open(None, CONFIG)
        with pytest.raises(InvalidName):
            core.create_stream(name)
        assert core.list_streams() == []
        await core.close()

    run(main())


@pytest.mark.parametrize("partitions", [0, -1, 10_001, 1.5, "2"])
def test_bad_partition_counts_are_refused(partitions: object) -> None:
    """Rule: a stream has 1-10000 partitions."""

    async def main() -> None:
        core = await BrokerCore.open(None, CONFIG)
        with pytest.raises(InvalidValue):
            core.create_stream("p", partitions)  # type: ignore[arg-type]
        assert core.list_streams() == []
        await core.close()

    run(main())


def test_streams_partitions_config_and_offsets_survive_restart(tmp_path: Path) -> None:
    """Rule (issue #3): a restart restores streams, partitions and committed offsets."""

    async def first() -> bytes:
        core = await BrokerCore.open(tmp_path, CONFIG)
        s = core.create_stream("orders", partitions=3, config={"retention_ms": 5000})
        s.add_partitions(1)
        core.groups.get("billing").commit("orders", 2, 7, "meta")
        stream_id = s.id
        await core.close()
        return stream_id

    async def second(stream_id: bytes) -> None:
        core = await BrokerCore.open(tmp_path, CONFIG)
        s = core.get_stream("orders")
        assert s.partition_count == 4 and s.id == stream_id
        assert s.config.retention_ms == 5000
        c = core.groups.get("billing").committed("orders", 2)
        assert c is not None and (c.offset, c.metadata) == (7, "meta")
        assert core.groups.list() == ["billing"]
        await core.close()

    run(second(run(first())))


def test_a_second_broker_on_the_same_directory_is_refused(tmp_path: Path) -> None:
    """Rule: one process per data directory (the directory lock)."""

    async def main() -> None:
        core = await BrokerCore.open(tmp_path, CONFIG)
        with pytest.raises(StorageError):
            await BrokerCore.open(tmp_path, CONFIG)
        await core.close()
        again = await BrokerCore.open(tmp_path, CONFIG)  # released on close
        await again.close()

    run(main())


def test_deleting_a_stream_forgets_committed_offsets_for_it() -> None:
    """Rule (Kafka): deleting a topic deletes the groups' offsets for it."""

    async def main() -> None:
        core = await BrokerCore.open(None, CONFIG)
        core.create_stream("t")
        core.create_stream("u")
        g = core.groups.get("g")
        g.commit("t", 0, 1)
        g.commit("u", 0, 2)
        core.delete_stream("t")
        assert g.committed("t", 0) is None and g.committed("u", 0) is not None
        await core.close()

    run(main())


def test_tick_runs_registry_maintenance_with_manual_clock() -> None:
    """Rule: retention is applied by the periodic maintenance pass (core.tick)."""

    async def main() -> None:
        clock = ManualClock()
        core = await BrokerCore.open(None, CONFIG.replace(retention_check_interval=10), clock)
        s = core.create_stream("r", config={"segment_bytes": 100, "retention_ms": 1000})
        for _ in range(10):
            await s.append(b"x" * 60)
        clock.advance(5)
        await s.append(b"y")
        core.tick()  # 5 s since the last pass < 10 s: not yet
        assert s.earliest(0) == 0
        clock.advance(10)
        core.tick()
        assert s.earliest(0) > 0
        await core.close()

    run(main())


def test_invalid_fsync_policy_is_refused() -> None:
    """Rule: fsync is 'always', 'never' or milliseconds."""
    with pytest.raises(InvalidValue):
        CoreConfig(fsync="sometimes")
    assert CoreConfig(fsync="250").fsync_spec.interval_ms == 250


@pytest.mark.parametrize("fsync", ["always", "never", "50"])
def test_records_survive_restart_under_every_fsync_policy(tmp_path: Path, fsync: str) -> None:
    """Rule (issue #3): a clean restart keeps every appended record in every partition,
    with its offset, key, value, headers and timestamp."""

    async def first() -> list[tuple[int, int]]:
        core = await BrokerCore.open(tmp_path, CONFIG.replace(fsync=fsync))
        s = core.create_stream("log", partitions=2)
        out = [await s.append(f"v{i}", key=f"k{i}", headers={"i": str(i)}, timestamp=1000 + i) for i in range(20)]
        out += await s.append_many([b"a", b"b"], partition=1)
        await core.close()
        return out

    async def second(expected: list[tuple[int, int]]) -> None:
        core = await BrokerCore.open(tmp_path, CONFIG.replace(fsync=fsync))
        s = core.get_stream("log")
        got = {(p, r.offset): r for p in range(2) for r in s.read(p, 0, 1000)}
        assert sorted(got) == sorted(expected)
        for i, pos in enumerate(expected[:20]):
            r = got[pos]
            assert (r.key, r.value, r.headers, r.timestamp) == (
                f"k{i}".encode(), f"v{i}".encode(), (("i", str(i).encode()),), 1000 + i
            )
        assert await s.append(b"next", partition=1) == (1, s.latest(1) - 1)
        await core.close()

    run(second(run(first())))


def test_deleted_stream_data_is_gone_after_restart(tmp_path: Path) -> None:
    """Rule: deleting a stream removes its logs; a new stream of that name starts at 0."""

    async def main() -> None:
        core = await BrokerCore.open(tmp_path, CONFIG)
        s = core.create_stream("x")
        await s.append(b"old")
        core.delete_stream("x")
        assert not (tmp_path / "streams" / "x").exists()
        await core.close()
        core = await BrokerCore.open(tmp_path, CONFIG)
        assert core.list_streams() == []
        s = core.create_stream("x")
        assert s.latest(0) == 0
        await core.close()

    run(main())


def test_a_deleted_stream_leaves_neither_data_nor_catalog_row(tmp_path: Path) -> None:
    """Rule: a delete removes the data first (to the trash), then the catalog row, so a
    crash in between never leaves data without a row (which the next start would
    restore rather than delete, #26); after a clean delete nothing of it comes back."""

    async def main() -> None:
        core = await BrokerCore.open(tmp_path, CONFIG)
        s = core.create_stream("x")
        await s.append(b"old")
        core.delete_stream("x")
        await core.close()
        core = await BrokerCore.open(tmp_path, CONFIG)
        assert core.list_streams() == []
        assert not (tmp_path / "streams" / "x").exists()
        assert core.create_stream("x").latest(0) == 0
        await core.close()

    run(main())
