"""Fsync policies, the group committer and the data-directory lock (issue 2: group
commit; `--fsync always|never|<ms>`; "opening a data directory that another mqlite
process holds" raises a typed error)."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from mqlite.storage import (
    DataDirLocked,
    FsyncMode,
    FsyncPolicy,
    GroupCommitter,
    acquire_dir_lock,
)


@pytest.mark.parametrize(
    ("text", "mode", "ms"),
    [
        ("always", FsyncMode.ALWAYS, 0),
        ("never", FsyncMode.NEVER, 0),
        ("5", FsyncMode.INTERVAL, 5),
        ("1000ms", FsyncMode.INTERVAL, 1000),
        (" Always ", FsyncMode.ALWAYS, 0),
    ],
)
def test_fsync_policy_parses_the_flag_values(text, mode, ms):
    p = FsyncPolicy.parse(text)
    assert (p.mode, p.interval_ms) == (mode, ms)


@pytest.mark.parametrize("text", ["sometimes", "-5", ""])
def test_fsync_policy_refuses_other_values(text):
    with pytest.raises(ValueError):
        FsyncPolicy.parse(text)


class Counter:
    def __init__(self) -> None:
        self.calls = 0
        self.gate = threading.Event()
        self.gate.set()

    def sync(self) -> None:
        self.gate.wait()
        self.calls += 1


def test_appends_waiting_during_an_fsync_share_the_next_one():
    """Group commit: N appends registered while a sync runs are covered by one more sync."""
    target = Counter()
    with GroupCommitter("always") as c:
        target.gate.clear()
        first = c.durable_future(target)
        # the committer is now blocked inside sync(); these all queue behind it
        while c._waiting:
            pass
        rest = [c.durable_future(target) for _ in range(100)]
        target.gate.set()
        first.result(5)
        for f in rest:
            f.result(5)
        assert target.calls <= 3


def test_a_failing_sync_fails_the_futures_it_covered():
    class Broken:
        def sync(self) -> None:
            raise OSError("disk gone")

    with GroupCommitter("always") as c:
        f = c.durable_future(Broken())
        with pytest.raises(OSError, match="disk gone"):
            f.result(5)


def test_interval_policy_syncs_dirty_targets_in_the_background():
    target = Counter()
    with GroupCommitter("10") as c:
        assert c.durable_future(target).done()
        for _ in range(500):
            if target.calls:
                break
            threading.Event().wait(0.01)
        assert target.calls >= 1


def test_close_syncs_and_later_appends_sync_inline():
    target = Counter()
    c = GroupCommitter("always")
    c.close()
    f = c.durable_future(target)
    assert f.done() and target.calls == 1


def test_second_lock_on_a_data_dir_raises_a_typed_error(tmp_path):
    lock = acquire_dir_lock(tmp_path)
    with pytest.raises(DataDirLocked) as info:
        acquire_dir_lock(tmp_path)
    assert info.value.path == tmp_path
    lock.release()
    acquire_dir_lock(tmp_path).release()


def test_another_process_cannot_take_a_held_data_dir(tmp_path):
    with acquire_dir_lock(tmp_path):
        code = (
            "import sys\nfrom mqlite.storage import acquire_dir_lock, DataDirLocked\n"
            f"try:\n    acquire_dir_lock({str(tmp_path)!r})\nexcept DataDirLocked as e:\n    print(e); sys.exit(3)\n"
        )
        proc = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert proc.returncode == 3, proc.stderr
        assert "in use" in proc.stdout
