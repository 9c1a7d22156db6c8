"""StreamRegistry: the named streams (Kafka topics, Kinesis streams, Redis streams).

Owns catalog entities of kind 'stream' (config: {'partitions': n, 'config': {...}
overrides, 'id': 32 hex chars (Kafka topic id), 'created': ms}) and each partition's
log, `logs.open('stream', name, p)`.

Invariants: every stream in memory has its catalog row and its `partitions` logs, and
vice versa; on construction every stream in the catalog is reopened (its logs
recovered by storage). Names follow `naming.validate_stream_name`. Deleting a stream
removes its logs, its catalog row and every group's committed offsets for it, and ends
its pending long-polls.

Concurrency: core's single event loop (see docs/architecture.md); no locks.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mqlite.core import ondisk
from mqlite.core.catalog import Catalog
from mqlite.core.clock import Clock
from mqlite.core.compaction import Compactor
from mqlite.core.config import COMPACTION_DEFAULTS, StreamConfig
from mqlite.core.errors import InvalidValue, StreamExists, StreamNotFound
from mqlite.core.logs import to_log_config
from mqlite.core.naming import validate_stream_name
from mqlite.core.partition import Partition, TailBudget
from mqlite.core.stream import Stream
from mqlite.storage import LogConfig

if TYPE_CHECKING:  # pragma: no cover
    from mqlite.core.broker import BrokerCore

log = logging.getLogger("mqlite.core")

KIND = "stream"
MAX_PARTITIONS = 10_000


def _check_partitions(n: Any) -> int:
    if type(n) is not int or not 1 <= n <= MAX_PARTITIONS:
        raise InvalidValue(
            "partitions",
            f"number of partitions must be 1-{MAX_PARTITIONS}, got {n!r}",
            rule="partitions-range",
        )
    return n


class StreamRegistry:
    """create/get/delete/list streams; `BrokerCore` delegates its stream calls here."""

    close_flushes = True  # closing a log flushes it (storage contract)

    def __init__(self, catalog: Catalog, logs: Any, clock: Clock, core: BrokerCore) -> None:
        self.catalog = catalog
        self.logs = logs
        self.clock = clock
        self.core = core
        config = getattr(core, "config", None)
        self.defaults: StreamConfig = COMPACTION_DEFAULTS.merged(config.stream_defaults if config else StreamConfig())
        self.fsync_always: bool = bool(config and config.fsync_spec.mode == "always")
        self.tail_budget = TailBudget(config.stream_tail_cache_bytes if config else 64 << 20)
        self._streams: dict[str, Stream] = {}
        self._last_retention = clock.monotonic()
        self.compactor = Compactor()
        for name, saved in catalog.list_entities(KIND):
            self._streams[name] = self._open(name, saved)
        if logs.data_dir is not None:
            self._adopt_orphans(logs.data_dir)

    def _adopt_orphans(self, data_dir: Any) -> None:
        """Data of a stream whose catalog row is gone (a catalog that lagged its logs at a
        power cut) is never deleted: the row is rebuilt from the directory (name,
        partition count; default config) and the stream served again."""
        for found in ondisk.entities_on_disk(data_dir, KIND):
            if found.name is None:
                log.warning("stream data in %s has no catalog entry and no recoverable name;"
                            " left in place", found.path)
                continue
            if found.name in self._streams:
                continue
            saved = {"partitions": max(found.partitions, 1), "config": {},
                     "id": uuid.uuid4().hex, "created": self.clock.now_ms()}
            self._streams[found.name] = self._open(found.name, saved)
            self.catalog.put_entity(KIND, found.name, saved)
            log.warning("stream %r had data on disk (%s) but no catalog entry: restored with"
                        " %d partitions and the default config", found.name, found.path,
                        saved["partitions"])

    # -- internals ------------------------------------------------------------------------
    def _log_config(self, config: StreamConfig) -> LogConfig:
        """Storage's LogConfig for a stream config; storage's own range checks become
        InvalidValue here, before anything is saved or opened."""
        try:
            return to_log_config(config, self.defaults)
        except ValueError as exc:
            raise InvalidValue("config", str(exc), rule="stream-config") from None

    def _open(self, name: str, saved: Mapping[str, Any]) -> Stream:
        config = StreamConfig.from_dict(saved.get("config"))
        effective = self._log_config(config)
        parts = [
            Partition(p, self.logs.open(KIND, name, p, effective), self.tail_budget)
            for p in range(int(saved["partitions"]))
        ]
        return Stream(
            self, name, parts, config, bytes.fromhex(saved["id"]), int(saved.get("created", 0))
        )

    def _save(self, stream: Stream) -> None:
        self.catalog.put_entity(
            KIND,
            stream.name,
            {
                "partitions": stream.partition_count,
                "config": stream.config.to_dict(),
                "id": stream.id.hex(),
                "created": stream.created_ms,
            },
        )

    def _add_partitions(self, stream: Stream, count: int) -> int:
        total = _check_partitions(stream.partition_count + count)
        effective = self._log_config(stream.config)
        new = [
            Partition(p, self.logs.open(KIND, stream.name, p, effective), self.tail_budget)
            for p in range(stream.partition_count, total)
        ]
        stream._partitions.extend(new)
        try:
            self._save(stream)
        except BaseException:
            del stream._partitions[-len(new):]
            for part in new:
                part.log.close()
            raise
        return total

    def _set_config(
        self, stream: Stream, config: StreamConfig | Mapping[str, Any] | None, changes: Mapping[str, Any]
    ) -> StreamConfig:
        if isinstance(config, StreamConfig):
            new = config
        else:
            data = dict(stream.config.to_dict())
            data.update(dict(config or {}))
            data.update(changes)
            new = StreamConfig.from_dict({k: v for k, v in data.items() if v is not None})
        effective = self._log_config(new)
        old = stream.config
        stream.config = new
        try:
            self._save(stream)
        except BaseException:
            stream.config = old
            raise
        for part in stream._partitions:
            self.logs.reconfigure(part.log, effective)
        return new

    # -- the registry calls -----------------------------------------------------------------
    def create(
        self,
        name: str,
        partitions: int = 1,
        config: StreamConfig | Mapping[str, Any] | None = None,
    ) -> Stream:
        """Create a stream (StreamExists if the name is taken)."""
        validate_stream_name(name, qualified=True)
        _check_partitions(partitions)
        if name in self._streams:
            raise StreamExists(name)
        cfg = config if isinstance(config, StreamConfig) else StreamConfig.from_dict(
            dict(config) if config else None
        )
        if self.logs.exists(KIND, name) and self.logs.data_dir is not None:
            aside = ondisk.set_aside(self.logs.path(KIND, name))
            log.warning("stream %r: data without a catalog entry was set aside as %s", name, aside)
        saved = {
            "partitions": partitions,
            "config": cfg.to_dict(),
            "id": uuid.uuid4().hex,
            "created": self.clock.now_ms(),
        }
        stream = self._open(name, saved)
        try:
            self.catalog.put_entity(KIND, name, saved)
        except BaseException:
            for part in stream._partitions:
                part.log.close()
            self.logs.delete(KIND, name)
            raise
        self._streams[name] = stream
        return stream

    def get(self, name: str) -> Stream:
        try:
            return self._streams[name]
        except KeyError:
            raise StreamNotFound(name) from None

    def find(self, name: str) -> Stream | None:
        return self._streams.get(name)

    def get_or_create(
        self, name: str, partitions: int = 1, config: StreamConfig | Mapping[str, Any] | None = None
    ) -> Stream:
        """The stream if it exists (whatever its partition count), else a new one."""
        stream = self._streams.get(name)
        return stream if stream is not None else self.create(name, partitions, config)

    def delete(self, name: str) -> bool:
        """Delete a stream, its data and its groups' offsets; False if it did not exist."""
        stream = self._streams.pop(name, None)
        if stream is None:
            return False
        stream.deleted = True
        for part in stream._partitions:
            part.wake()
            part.forget()
        # the directory first (moved to the trash at once), then the catalog row: a crash
        # in between leaves a row without data (an empty stream), never data without a
        # row, which the next start would restore (`_adopt_orphans`)
        self.logs.delete(KIND, name)  # discards the partitions' logs: no fsync before deletion
        self.catalog.delete_entity(KIND, name)
        groups = getattr(self.core, "groups", None)
        if groups is not None:
            groups.forget_stream(name)
        return True

    def list(self, prefix: str = "") -> list[str]:
        return sorted(n for n in self._streams if n.startswith(prefix))

    def __iter__(self) -> Any:
        return iter(list(self._streams.values()))

    def __len__(self) -> int:
        return len(self._streams)

    # -- lifecycle hooks (called by BrokerCore) ----------------------------------------------
    def tick(self) -> None:
        """Apply retention on every stream, at most every `retention_check_interval`."""
        config = getattr(self.core, "config", None)
        interval = config.retention_check_interval if config else 30.0
        now = self.clock.monotonic()
        self.compactor.tick(list(self._streams.values()), getattr(self.core, "transactions", None),
                            self.clock.now_ms())
        if now - self._last_retention < interval:
            return
        self._last_retention = now
        self.apply_retention()

    def apply_retention(self) -> None:
        now_ms = self.clock.now_ms()
        for stream in list(self._streams.values()):
            stream.apply_retention(now_ms)

    async def flush(self) -> None:
        for stream in list(self._streams.values()):
            stream.flush()

    async def close(self) -> None:
        for stream in list(self._streams.values()):
            stream.deleted = True  # ends pending long-polls; later calls raise
            stream._wake_all()
            for part in stream._partitions:
                part.forget()
                part.log.close()
        self._streams.clear()
