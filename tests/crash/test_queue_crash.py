"""SIGKILL crash test for queues (issue #3 §3/§5): after a kill -9, no acknowledged send
is lost and no acknowledged delete comes back (fsync=always)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mqlite.core.broker import BrokerCore
from mqlite.core.clock import ManualClock
from mqlite.core.config import CoreConfig

CHILD = Path(__file__).with_name("queue_crash_child.py")


def _run_and_kill(data_dir: Path, name: str, min_deletes: int) -> tuple[set[str], set[str], set[str]]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), str(data_dir), name],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True,
    )
    sent: set[str] = set()
    deleted: set[str] = set()
    deleting: set[str] = set()  # deletes begun (acknowledged or not)
    deadline = time.monotonic() + 60
    try:
        assert proc.stdout is not None
        while len(deleted) < min_deletes and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            kind, _, mid = line.strip().partition(" ")
            {"S": sent, "D": deleted, "d": deleting}[kind].add(mid)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # lines written before the kill were acknowledged operations too
        assert proc.stdout is not None
        for line in proc.stdout.read().splitlines():
            kind, _, mid = line.strip().partition(" ")
            if mid:
                {"S": sent, "D": deleted, "d": deleting}[kind].add(mid)
    if len(deleted) < min_deletes:
        pytest.fail(f"child made too little progress: {proc.stderr.read() if proc.stderr else ''}")
    return sent, deleted, deleting - deleted


@pytest.mark.slow
@pytest.mark.parametrize("name", ["crashq", "crashq.fifo"])
def test_sigkill_loses_no_acknowledged_send_and_resurrects_no_acknowledged_delete(
    tmp_path: Path, name: str
) -> None:
    sent, deleted, in_doubt = _run_and_kill(tmp_path, name, min_deletes=150)
    # The child deletes one message at a time, so at most one delete was under way when
    # SIGKILL came: it may have become durable without being acknowledged.
    assert len(in_doubt) <= 1

    async def reopen() -> list[tuple[str, bytes, str | None]]:
        # an hour later: every lease the child held has expired
        clock = ManualClock(start_ms=time.time_ns() // 1_000_000 + 3_600_000)
        core = await BrokerCore.open(tmp_path, CoreConfig(fsync="always", maintenance_interval=0), clock)
        try:
            q = core.get_queue(name)
            ids: list[tuple[str, bytes, str | None]] = []
            while True:
                got = await q.receive(10, visibility_timeout=600)
                if not got:
                    break
                ids += [(m.id, m.body, m.group_id) for m in got]
                for m in got:
                    await q.delete(m.receipt)  # FIFO: unblock the group
            return ids
        finally:
            await core.close()

    delivered = asyncio.run(reopen())
    ids = [mid for mid, _, _ in delivered]
    remaining = set(ids)
    assert len(ids) == len(remaining)
    if name.endswith(".fifo"):  # FIFO: each group still in send order after the crash
        last: dict[str | None, int] = {}
        for _, body, group in delivered:
            n = int(body[1:])
            assert n > last.get(group, -1), f"group {group} out of order"
            last[group] = n
    assert not (remaining & deleted), "an acknowledged delete came back"
    assert (sent - deleted - in_doubt) <= remaining, "an acknowledged send was lost"
