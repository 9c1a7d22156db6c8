"""Resource alarms: low disk, high memory, a read-only data directory, sampled once.

One `ResourceMonitor` per broker answers "what is wrong with this machine right now?"
for everyone who acts on it: AMQP blocks publishers (RabbitMQ's disk and memory alarms),
`/_mqlite/health` reports `degraded` with the reasons. The thresholds are RabbitMQ's:
`disk_free_limit` (50 MB) and `vm_memory_high_watermark` (40% of RAM).

A write that fails for lack of space or an I/O error (`report_failure`, fed by
`core/alarms.py`) raises the disk alarm at once, whatever the threshold says; it clears
when a sample finds at least `max(disk_free_limit, 1 MiB)` free again.

Invariants: `reasons` is the last sample, a tuple of one-line texts, empty when healthy;
a change is logged once, not per sample.
Concurrency: sampled from the server's loop (a few syscalls, no blocking I/O).
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("mqlite.resources")

DISK_FREE_LIMIT = 50_000_000
_FREE_AFTER_FAILURE = 1024 * 1024


def default_memory_limit() -> int:
    """40% of physical memory (RabbitMQ's `vm_memory_high_watermark`)."""
    try:
        return int(0.4 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError):
        return 1 << 62


def resident_bytes() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


class ResourceMonitor:
    """See module docstring."""

    def __init__(self, data_dir: Path | None, disk_free_limit: int = DISK_FREE_LIMIT,
                 memory_limit: int | None = None) -> None:
        self.data_dir = data_dir
        self.disk_free_limit = disk_free_limit
        self.memory_limit = default_memory_limit() if memory_limit is None else memory_limit
        self.reasons: tuple[str, ...] = ()
        self.failure: str | None = None  # a write failed on storage (report_failure)
        self._listeners: list[Callable[[tuple[str, ...]], None]] = []

    def on_change(self, callback: Callable[[tuple[str, ...]], None]) -> None:
        self._listeners.append(callback)

    @property
    def disk_alarm(self) -> bool:
        return any(r.startswith(("low on disk", "data directory")) for r in self.reasons)

    @property
    def memory_alarm(self) -> bool:
        return any(r.startswith("low on memory") for r in self.reasons)

    def report_failure(self, reason: str) -> None:
        """A write failed on storage: raise the disk alarm now (see module docstring)."""
        if self.failure is None:
            self.failure = reason
            self.sample()

    def sample(self) -> tuple[str, ...]:
        """Check now; notify and log when the set of reasons changed."""
        reasons = []
        if self.failure is not None:
            try:
                free = shutil.disk_usage(self.data_dir).free if self.data_dir is not None else 0
            except OSError:
                free = 0
            if free >= max(self.disk_free_limit, _FREE_AFTER_FAILURE):
                self.failure = None
            else:
                reasons.append(f"low on disk: a write failed: {self.failure}")
        if self.data_dir is not None:
            reasons.extend(self._disk_reasons(self.data_dir))
        rss = resident_bytes()
        if rss > self.memory_limit:
            reasons.append(f"low on memory: resident {rss >> 20} MiB over the limit {self.memory_limit >> 20} MiB")
        found = tuple(reasons)
        if found != self.reasons:
            self.reasons = found
            if found:
                log.warning("resource alarm: %s", "; ".join(found))
            else:
                log.info("resource alarm cleared")
            for callback in self._listeners:
                callback(found)
        return found

    def _disk_reasons(self, path: Path) -> list[str]:
        try:
            usage = shutil.disk_usage(path)
            readonly = bool(os.statvfs(path).f_flag & os.ST_RDONLY) or not os.access(path, os.W_OK)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return [f"data directory {path} is missing"]
            return [f"data directory {path}: {exc.strerror}"]
        reasons = []
        if readonly:
            reasons.append(f"data directory {path} is read-only")
        if usage.free < self.disk_free_limit:
            reasons.append(f"low on disk: {usage.free >> 20} MiB free under {path}, "
                           f"below the limit {self.disk_free_limit >> 20} MiB")
        return reasons
