"""LogFactory: where every core registry gets its logs; owns the shared GroupCommitter.

Layout on disk (data directory mode):

    <data_dir>/<kind>s/<name>/<partition>/     one FileLog (segments + indexes)
    <data_dir>/mqlite.lock                     exclusive lock (one process per dir)

`kind` is the registry's noun ('stream', 'queue', 'queue-journal', 'router', ...).
A name made of `[A-Za-z0-9._-]` (not '.' or '..') is its own directory name; any other
(AMQP queue names may hold '/', '%', any UTF-8) is percent-encoded byte by byte outside
`[A-Za-z0-9_-]`, and one still longer than 200 characters is cut and suffixed with
`~<sha256>`. Encoded names always hold '%' and plain ones never do, so two names never
share a directory and none escapes `<data_dir>/<kind>s/`. In memory
mode (`data_dir is None`) every log is a `MemoryLog` and nothing touches the disk.

Invariants: one open Log per (kind, name, partition); `delete(kind, name)` discards the
entity's open logs and moves its directory to `<data_dir>/.trash/` at once (removed by
a background thread: `trash.py`); `close()` flushes and closes every open
log, stops the committer and releases the lock.
Concurrency: called from core's event loop only; the logs themselves are thread-safe
(storage's contract) and the committer runs its own fsync thread.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from mqlite.core import ondisk
from mqlite.core.config import CoreConfig, StreamConfig
from mqlite.core.trash import Trash
from mqlite.errors import StorageError
from mqlite.storage import (
    FileLog,
    FsyncPolicy,
    GroupCommitter,
    Log,
    LogConfig,
    MemoryLog,
    acquire_dir_lock,
)


def _unlimited(value: int | None) -> int | None:
    return None if value is None or value < 0 else value


def to_log_config(config: StreamConfig | None, defaults: StreamConfig) -> LogConfig:
    """Map a StreamConfig (resolved against `defaults`; -1 = unlimited, as Kafka spells
    it) onto storage's LogConfig (None = unlimited)."""
    cfg = (config or StreamConfig()).resolved(defaults)
    base = LogConfig()
    deletes = cfg.cleanup_policy != 1  # compact alone never deletes by age or size
    return LogConfig(
        segment_bytes=cfg.segment_bytes or base.segment_bytes,
        segment_ms=_unlimited(cfg.segment_ms),
        retention_ms=_unlimited(cfg.retention_ms) if deletes else None,
        retention_bytes=_unlimited(cfg.retention_bytes) if deletes else None,
        compact=bool(cfg.cleanup_policy),
        delete_retention_ms=cfg.delete_retention_ms if cfg.delete_retention_ms is not None
        else base.delete_retention_ms,
        min_compaction_lag_ms=cfg.min_compaction_lag_ms or 0,
        max_batch_bytes=cfg.max_message_bytes or base.max_batch_bytes,
        timestamp_type=cfg.timestamp_type or 0,
        timestamp_before_max_ms=_unlimited(cfg.timestamp_before_max_ms),
        timestamp_after_max_ms=_unlimited(cfg.timestamp_after_max_ms),
    )


class LogFactory:
    """Opens FileLogs under the data directory (or MemoryLogs); see module docstring."""

    def __init__(self, data_dir: Path | None, config: CoreConfig) -> None:
        self.data_dir = data_dir
        self.config = config
        self.memory = data_dir is None
        self._open: dict[tuple[str, str, int], Log] = {}
        self._parts: dict[tuple[str, str], set[int]] = {}  # (kind, name) -> open partitions
        self._lock: Any = None
        self.committer: GroupCommitter | None = None
        self._trash: Trash | None = None
        self._deferred: dict[str, set[str]] | None = None  # inside bulk_delete()
        if data_dir is not None:
            data_dir.mkdir(parents=True, exist_ok=True)
            if config.lock_data_dir:
                self._lock = _acquire_lock(data_dir)
            self._trash = Trash(data_dir)
        try:
            self.committer = _make_committer(config)
        except BaseException:
            self._release_lock()
            raise

    def path(self, kind: str, name: str, partition: int | None = None) -> Path:
        if self.data_dir is None:
            raise ValueError("a memory broker has no log directories")
        base = self.data_dir / f"{kind}s" / dir_name(name)
        return base if partition is None else base / str(partition)

    def open(
        self, kind: str, name: str, partition: int = 0, config: StreamConfig | Any | None = None
    ) -> Log:
        """The log of (kind, name, partition), created if missing. `config` is a core
        `StreamConfig` (mapped to storage's LogConfig) or a storage `LogConfig`."""
        key = (kind, name, partition)
        existing = self._open.get(key)
        if existing is not None and not _closed(existing):
            return existing
        log_config = self._log_config(config)
        if self.data_dir is None:
            new: Log = MemoryLog(log_config)
        else:
            directory = self.path(kind, name, partition)
            if not directory.is_dir():
                self._make_durable_dirs(directory)
            ondisk.write_name(directory.parent, name)  # recovery reads names from it
            new = FileLog(directory, log_config, self.committer)
        self._open[key] = new
        self._parts.setdefault((kind, name), set()).add(partition)
        return new

    def _make_durable_dirs(self, directory: Path) -> None:
        """Create a log's directory and fsync each parent whose entries changed, so a
        power cut cannot drop a new entity's directory while its data was fsynced."""
        assert self.data_dir is not None
        missing = []
        d = directory
        while not d.exists() and d != self.data_dir:
            missing.append(d)
            d = d.parent
        directory.mkdir(parents=True, exist_ok=True)
        for created in reversed(missing):
            ondisk.fsync_dir(created.parent)

    def _log_config(self, config: Any) -> Any:
        if config is None or isinstance(config, StreamConfig):
            return to_log_config(config, self.config.stream_defaults)
        return config

    def reconfigure(self, log: Log, config: StreamConfig | Any) -> None:
        """Apply a changed configuration (retention, segment roll) to an open log."""
        log_config = self._log_config(config)
        setter = getattr(log, "set_config", None)
        if setter is not None:
            setter(log_config)
        else:
            log.config = log_config  # type: ignore[attr-defined]

    def names(self, kind: str) -> list[str]:
        """Entity names that have a log directory of this kind on disk."""
        if self.data_dir is None:
            return sorted({k[1] for k in self._open if k[0] == kind})
        base = self.data_dir / f"{kind}s"
        if not base.is_dir():
            return []
        return sorted(unquote(p.name) for p in base.iterdir() if p.is_dir() and "~" not in p.name)

    def exists(self, kind: str, name: str) -> bool:
        if any(k[0] == kind and k[1] == name for k in self._open):
            return True
        return self.data_dir is not None and self.path(kind, name).exists()

    def delete(self, kind: str, name: str) -> None:
        """Close the entity's open logs and remove its data. The logs are discarded, not
        flushed: their files go next, so fsyncing them first would only cost time."""
        for partition in self._parts.pop((kind, name), ()):
            log = self._open.pop((kind, name, partition), None)
            if log is None:
                continue
            with contextlib.suppress(StorageError):  # the data goes anyway
                discard = getattr(log, "discard", None)
                discard() if discard is not None else log.close()
        if self._deferred is not None:
            self._deferred.setdefault(kind, set()).add(name)
        elif self._trash is not None:
            self._trash.discard(self.path(kind, name))

    @contextlib.contextmanager
    def bulk_delete(self) -> Iterator[None]:
        """Deletions inside move their directories at the end: a kind whose every
        directory was deleted goes to the trash whole, in one rename (a reset)."""
        self._deferred = {}
        try:
            yield
        finally:
            deferred, self._deferred = self._deferred, None
            for kind, names in deferred.items():
                self._discard_dirs(kind, names)

    def _discard_dirs(self, kind: str, names: set[str]) -> None:
        if self._trash is None or self.data_dir is None:
            return
        base = self.data_dir / f"{kind}s"
        gone = {dir_name(n) for n in names}
        try:
            on_disk = set(os.listdir(base))
        except FileNotFoundError:
            return
        if on_disk <= gone and not any(k == kind for k, _ in self._parts):
            self._trash.discard(base)
            return
        for name in names:
            self._trash.discard(self.path(kind, name))

    def corrupt_records_skipped(self) -> dict[tuple[str, str, int], int]:
        """(kind, name, partition) -> offsets a reader stepped over as corrupt (CRC
        failures in logs feeding queues and internal state), for the logs that have any."""
        return {k: n for k, log in self._open.items() if (n := getattr(log, "corrupt_records_skipped", 0))}

    def flush(self) -> None:
        for each in list(self._open.values()):
            if not _closed(each):
                each.flush()

    def close(self) -> None:
        """Flush and close every open log, stop the committer, release the lock."""
        first_error: BaseException | None = None
        try:
            for each in list(self._open.values()):
                try:
                    each.close()  # flushes (storage contract); idempotent
                except Exception as exc:  # noqa: BLE001 - close the others regardless
                    first_error = first_error or exc
            self._open.clear()
            self._parts.clear()
            if self.committer is not None:
                self.committer.close()
        finally:
            if self._trash is not None:
                self._trash.drain(timeout=30)
            self._release_lock()
        if first_error is not None:
            raise first_error

    def _release_lock(self) -> None:
        if self._lock is not None:
            release = getattr(self._lock, "release", None) or getattr(self._lock, "close", None)
            if release is not None:
                release()
            self._lock = None


_SAFE_NAME = re.compile(r"[A-Za-z0-9._-]+")
_MAX_DIR_NAME = 200


def dir_name(name: str) -> str:
    """The directory name of an entity name (see the module docstring)."""
    if _SAFE_NAME.fullmatch(name) and name not in (".", ".."):
        return name
    encoded = quote(name.encode("utf-8", "surrogatepass"), safe="")
    encoded = encoded.replace(".", "%2E").replace("~", "%7E")
    if len(encoded) > _MAX_DIR_NAME:
        digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()
        encoded = encoded[: _MAX_DIR_NAME - 65] + "~" + digest
    return encoded


def _make_committer(config: CoreConfig) -> GroupCommitter:
    return GroupCommitter(FsyncPolicy.parse(config.fsync))


def _acquire_lock(data_dir: Path) -> Any:
    return acquire_dir_lock(data_dir)


def _closed(log: Log) -> bool:
    return bool(getattr(log, "closed", False) or getattr(log, "_closed", False))
