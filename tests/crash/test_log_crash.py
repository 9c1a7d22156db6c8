"""Crash test (issue 2, "Tests"): a child appends with fsync=always and reports each
acknowledged offset; it is SIGKILLed mid-write; after reopen every acknowledged record
is present and intact, and the log accepts new appends. Also checks the kernel released
the child's data-dir lock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mqlite.storage import FileLog, LogConfig, acquire_dir_lock

CHILD = Path(__file__).with_name("log_crash_child.py")
sys.path.insert(0, str(CHILD.parent))
from log_crash_child import value_for


@pytest.mark.slow
@pytest.mark.parametrize("round_", range(2))
def test_acknowledged_records_survive_sigkill_mid_write(tmp_path, round_):
    env = dict(os.environ)
    src = Path(__file__).resolve().parents[2] / "src"
    env["PYTHONPATH"] = f"{src}{os.pathsep}{env.get('PYTHONPATH', '')}"
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None
    acked: dict[int, int] = {}
    assert proc.stdout.readline().strip() == b"ready"
    target = 300 + 200 * round_
    deadline = time.monotonic() + 60
    while len(acked) < target and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        off, key = line.split()
        acked[int(off)] = int(key)
    os.kill(proc.pid, signal.SIGKILL)  # the child is still appending: mid-write
    rest, err = proc.communicate(timeout=30)
    for line in rest.splitlines():  # acks written before the kill are acks too
        parts = line.split()
        if len(parts) == 2:
            acked[int(parts[0])] = int(parts[1])
    assert proc.returncode == -signal.SIGKILL
    assert len(acked) >= target, err.decode()[-2000:]

    with acquire_dir_lock(tmp_path):  # the dead child's lock is gone
        log = FileLog(
            tmp_path / "log",
            LogConfig(segment_bytes=64 * 1024, index_interval_bytes=512),
        )
        assert log.end_offset > max(acked)
        records = {r.offset: r for r in log.read_records(0, log.end_offset)}
        for off, key in acked.items():
            r = records[off]
            assert r.key == b"%d" % key
            assert r.value == value_for(key)
            assert r.headers == (("k", b"%d" % key),)
        res = log.append([(b"after", b"crash")])
        assert res.base_offset == log.end_offset - 1
        assert log.read_records(res.base_offset)[0].value == b"crash"
        log.close()
