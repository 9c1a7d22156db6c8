"""A broker never deletes data because its metadata is missing or damaged (#26 item 7).

Rules: stream and queue data whose catalog row is gone (a catalog that lagged its logs
at a power cut) is restored from the directories, not deleted as orphans; a missing
catalog while data is present, or a damaged one, stops the start with one line that
names the repair command; `mqlite check` reports and `mqlite repair` (dry run unless
--apply) rebuilds the catalog from the directories.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from mqlite.core.broker import BrokerCore
from mqlite.core.catalog import Catalog
from mqlite.core.config import CoreConfig
from mqlite.core.errors import CatalogUnusable

CONFIG = CoreConfig(fsync="never", maintenance_interval=0)


def run(coro):  # noqa: ANN001, ANN201
    return asyncio.run(coro)


async def _fill(data_dir: Path) -> None:
    core = await BrokerCore.open(data_dir, CONFIG)
    stream = core.create_stream("orders.eu", partitions=3)
    for p in range(3):
        await stream.append(f"record-{p}".encode(), partition=p)
    queue = core.create_queue("jobs.fifo", fifo=True)
    await queue.send(b"job-1", group_id="g", dedup_id="d1")
    await core.close()


def _drop_catalog(data_dir: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{data_dir}/catalog.sqlite3{suffix}").unlink(missing_ok=True)


def test_stream_and_queue_without_catalog_rows_are_restored_with_their_data(tmp_path: Path) -> None:
    async def main() -> None:
        await _fill(tmp_path)
        catalog = Catalog(tmp_path / "catalog.sqlite3")
        catalog.delete_entity("stream", "orders.eu")
        catalog.delete_entity("queue", "jobs.fifo")
        catalog.close()
        core = await BrokerCore.open(tmp_path, CONFIG)
        stream = core.get_stream("orders.eu")
        assert stream.partition_count == 3
        assert [stream.read(p, 0)[0].value for p in range(3)] == [b"record-0", b"record-1", b"record-2"]
        queue = core.get_queue("jobs.fifo")
        assert queue.config.fifo
        [msg] = await queue.receive(1)
        assert msg.body == b"job-1"
        await core.close()

    run(main())


def test_missing_catalog_with_data_refuses_to_start_and_deletes_nothing(tmp_path: Path) -> None:
    async def main() -> None:
        await _fill(tmp_path)
        _drop_catalog(tmp_path)
        before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.log"))
        with pytest.raises(CatalogUnusable, match=r"catalog .* is missing but .* holds data of 1 streams, 1 queues; nothing was deleted; run `mqlite check"):
            await BrokerCore.open(tmp_path, CONFIG)
        assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.log")) == before

    run(main())


def test_damaged_catalog_refuses_to_start(tmp_path: Path) -> None:
    async def main() -> None:
        await _fill(tmp_path)
        _drop_catalog(tmp_path)
        (tmp_path / "catalog.sqlite3").write_bytes(b"this is not sqlite" * 100)
        with pytest.raises(CatalogUnusable, match="is damaged"):
            await BrokerCore.open(tmp_path, CONFIG)

    run(main())


def _mqlite(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mqlite.cli", *args], capture_output=True, text=True, timeout=120)


def test_serve_check_and_repair_from_the_command_line(tmp_path: Path) -> None:
    """serve refuses with one line and exit 1; check reports (exit 1 when there are
    problems); repair is a dry run without --apply; with it the catalog is rebuilt and
    the data served again."""
    run(_fill(tmp_path))
    _drop_catalog(tmp_path)
    served = _mqlite("serve", "--data-dir", str(tmp_path), "--http-port", "0", "--kafka-port", "0",
                     "--amqp-port", "0", "--redis-port", "0", "--mqtt-port", "0", "--stomp-port", "0")
    assert served.returncode == 1
    [why] = [line for line in served.stderr.splitlines() if line.startswith("mqlite: cannot start:")]
    assert "is missing" in why and "Traceback" not in served.stderr
    checked = _mqlite("check", str(tmp_path))
    assert checked.returncode == 1
    assert "catalog: missing" in checked.stdout
    assert "stream 'orders.eu': 3 partitions on disk, no catalog entry" in checked.stdout
    dry = _mqlite("repair", str(tmp_path))
    assert dry.returncode == 0 and "dry run" in dry.stdout
    assert not (tmp_path / "catalog.sqlite3").exists()
    applied = _mqlite("repair", str(tmp_path), "--apply")
    assert applied.returncode == 0, applied.stderr
    assert _mqlite("check", str(tmp_path)).returncode == 0

    async def main() -> None:
        core = await BrokerCore.open(tmp_path, CONFIG)
        assert core.get_stream("orders.eu").read(2, 0)[0].value == b"record-2"
        assert core.get_queue("jobs.fifo").counts().visible == 1
        await core.close()

    run(main())
