"""Issue 26, item 10: under fsync `always` a full disk must not pile refused appends up
in memory. The first append whose write fails is refused through its durability
future; until a write succeeds again, later appends are refused at once (nothing is
buffered for them), and appends resume by themselves when space returns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mqlite.storage import FileLog, GroupCommitter, LogWriteError

MiB = 1024 * 1024


def test_refused_appends_are_not_kept_in_memory_and_appends_resume(mount_tmpfs: Any) -> None:
    small_disk: Path = mount_tmpfs(4)
    with GroupCommitter("always") as committer:
        log = FileLog(small_disk / "log", None, committer)
        filler = small_disk / "filler"
        with open(filler, "wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass
        value = b"v" * 200_000
        refused_at_once = 0
        first = log.append([(None, value)])
        with pytest.raises(LogWriteError):
            first.durable.result(timeout=30)
        for _ in range(100):  # 20 MB offered to a full disk
            try:
                log.append([(None, value)])
            except LogWriteError:
                refused_at_once += 1
        assert refused_at_once == 100
        assert sum(seg.pending_bytes for seg in log._segments) <= len(value) + 1024
        filler.unlink()
        after = log.append([(None, b"after")])
        after.durable.result(timeout=30)
        assert log.read_records(after.base_offset, 1)[0].value == b"after"
        log.close()
