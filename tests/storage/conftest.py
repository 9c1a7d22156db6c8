"""Fixtures for the storage tests: one `make_log` factory per Log implementation.

The shared contract suite (test_log_contract.py) runs against both, as DESIGN.md rule 3
asks ("both checked by one shared test suite").
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mqlite.storage import FileLog, GroupCommitter, Log, LogConfig, MemoryLog


class LogMaker:
    """Creates (and re-opens, for FileLog) logs of one kind; closes them all at the end."""

    def __init__(self, kind: str, root: Path) -> None:
        self.kind = kind
        self.root = root
        self.committer = GroupCommitter("always")
        self.logs: list[Log] = []
        self._n = 0

    def __call__(self, config: LogConfig | None = None) -> Log:
        self._n += 1
        log: Log
        if self.kind == "file":
            log = FileLog(self.root / f"log{self._n}", config, self.committer)
        else:
            log = MemoryLog(config)
        self.logs.append(log)
        return log

    def reopen(self, log: Log) -> Log:
        """Close and open again on the same files (a MemoryLog is returned as is)."""
        if isinstance(log, FileLog):
            log.close()
            new = FileLog(log.directory, log.config, self.committer)
            self.logs.append(new)
            return new
        return log

    def close(self) -> None:
        for log in self.logs:
            log.close()
        self.committer.close()


@pytest.fixture(params=["file", "memory"])
def make_log(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[..., Log]]:
    maker = LogMaker(request.param, tmp_path)
    yield maker
    maker.close()
