"""BrokerCore: the registry every front-end receives; composes and owns the core objects.

Owns the lifecycle of: the `Catalog` (`<data_dir>/catalog.sqlite3`, or in memory), the
`LogFactory` (logs, the shared group committer, the data-directory lock), and one
registry per noun: `StreamRegistry`, `GroupStore`, `TransactionCoordinator`
(`core.transactions`), `QueueRegistry`, `RouterRegistry`,
plus `Channels` (live pub/sub). It delegates the create/get/delete/list calls of
docs/architecture.md ("core") to them, and runs a background maintenance task that
calls every registry's `tick()` (retention, expiries) each `maintenance_interval`.

Registries are built as `Registry(catalog, logs, clock, core)`; optional hooks, called
when present: `async open()` after construction, `tick()` periodically, `async flush()`
and `async close()` on `BrokerCore.close()` (in reverse order of opening; flush is
skipped for a registry with `close_flushes = True`).

Invariants: after `open()` returns every entity in the catalog is available; after
`close()` every log is flushed and closed, the catalog is closed and the directory lock
released; `close()` is idempotent.
Concurrency: created and used on one event loop (the server's, or the embedded
broker's private loop); no locks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mqlite.core import alarms
from mqlite.core.catalog import Catalog
from mqlite.core.catalogcheck import open_catalog, refuse_without_catalog
from mqlite.core.channels import Channels
from mqlite.core.clock import Clock
from mqlite.core.config import CoreConfig, StreamConfig
from mqlite.core.errors import InvalidName, StreamNotFound
from mqlite.core.groups import GroupStore
from mqlite.core.transactions import TransactionCoordinator
from mqlite.core.logs import LogFactory
from mqlite.core.naming import is_internal_stream
from mqlite.core.queue.config import QueueConfig
from mqlite.core.queue.queue import Queue
from mqlite.core.queues import QueueRegistry
from mqlite.core.resources import ResourceMonitor
from mqlite.core.router import Router
from mqlite.core.routers import RouterRegistry
from mqlite.core.stream import Stream
from mqlite.core.streams import StreamRegistry
from mqlite.core.telemetry import Telemetry
from mqlite.core.transforms import TransformRegistry
from mqlite.storage.histogram import Histogram

log = logging.getLogger("mqlite.core")

CATALOG_FILE = "catalog.sqlite3"


def _refuse_internal(name: str) -> None:
    if is_internal_stream(name):
        raise InvalidName(f"stream name {name!r} is reserved for the broker's internal streams",
                          rule="internal-stream")


class BrokerCore:
    """See module docstring. Build with `await BrokerCore.open(...)`."""

    def __init__(self, data_dir: Path | None, config: CoreConfig, clock: Clock) -> None:
        self.data_dir = data_dir
        self.config = config
        self.clock = clock
        self.catalog: Catalog = None  # type: ignore[assignment]
        self.logs: LogFactory = None  # type: ignore[assignment]
        self.streams: StreamRegistry = None  # type: ignore[assignment]
        self.groups: GroupStore = None  # type: ignore[assignment]
        self.transactions: TransactionCoordinator = None  # type: ignore[assignment]
        self.queues: QueueRegistry = None  # type: ignore[assignment]
        self.routers: RouterRegistry = None  # type: ignore[assignment]
        self.channels: Channels = None  # type: ignore[assignment]
        self.transforms = TransformRegistry(config.transforms)
        self.resources = ResourceMonitor(data_dir, config.disk_free_limit, config.memory_limit)
        self.telemetry = Telemetry()  # request counts and latencies (protocols.observe fills it)
        self.started_ms = clock.now_ms()
        self._opened: list[Any] = []
        self._maintenance: asyncio.Task[None] | None = None
        self.closed = False

    # -- lifecycle ---------------------------------------------------------------------------
    @classmethod
    async def open(
        cls,
        data_dir: Path | str | None,
        config: CoreConfig | None = None,
        clock: Clock | None = None,
    ) -> BrokerCore:
        """Open (creating if needed) a data directory, or an in-memory broker for None."""
        path = None if data_dir is None else Path(data_dir)
        core = cls(path, config or CoreConfig(), clock or Clock())
        try:
            await core._open()
        except BaseException:
            await core.close()
            raise
        return core

    async def _open(self) -> None:
        if self.data_dir is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        # The lock first: a second process must fail before touching the catalog.
        self.logs = LogFactory(self.data_dir, self.config)
        if self.data_dir is not None:
            catalog_path = self.data_dir / CATALOG_FILE
            if not catalog_path.exists() and not self.config.rebuild_catalog:
                refuse_without_catalog(self.data_dir, catalog_path)
        mode = self.config.fsync_spec.mode
        self.catalog = open_catalog(
            None if self.data_dir is None else self.data_dir / CATALOG_FILE,
            fsync=mode == "always",
            committer=self.logs.committer if mode == "interval" and self.data_dir else None,
        )
        self.streams = await self._start(StreamRegistry(self.catalog, self.logs, self.clock, self))
        self.groups = GroupStore(self.catalog, self.clock, self.streams.get)
        self.transactions = await self._start(TransactionCoordinator(self))
        self.queues = await self._start(QueueRegistry(self.catalog, self.logs, self.clock, self))
        self.routers = await self._start(RouterRegistry(self.catalog, self.logs, self.clock, self))
        self.channels = await self._start(Channels(self.clock))
        self.resources.sample()
        if self.config.maintenance_interval > 0:
            self._maintenance = asyncio.get_running_loop().create_task(
                self._maintain(), name="mqlite-core-maintenance"
            )

    async def _start(self, registry: Any) -> Any:
        opener = getattr(registry, "open", None)
        if opener is not None and asyncio.iscoroutinefunction(opener):
            await opener()
        self._opened.append(registry)
        return registry

    async def _maintain(self) -> None:
        while True:
            await asyncio.sleep(self.config.maintenance_interval)
            try:
                self.tick()
            except Exception as exc:  # a failing pass must not stop future passes
                if alarms.note_failure(self, exc) is None:  # a full disk is logged once, by the alarm
                    log.exception("core maintenance pass failed")

    def tick(self) -> None:
        """One maintenance pass: resource alarms, then every registry's `tick()`
        (retention, expiries)."""
        self.resources.sample()
        for registry in list(self._opened):
            tick = getattr(registry, "tick", None)
            if tick is not None:
                tick()

    async def flush(self) -> None:
        """Flush every registry and log (fsync)."""
        for registry in list(self._opened):
            flush = getattr(registry, "flush", None)
            if flush is not None:
                result = flush()
                if asyncio.iscoroutine(result):
                    await result
        if self.logs is not None:
            self.logs.flush()

    async def close(self) -> None:
        """Flush and close everything; idempotent."""
        if self.closed:
            return
        self.closed = True
        if self._maintenance is not None:
            self._maintenance.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._maintenance
        errors: list[BaseException] = []
        for registry in reversed(self._opened):
            # a registry whose close() flushes says so, saving a second fsync per log
            hooks = ("close",) if getattr(registry, "close_flushes", False) else ("flush", "close")
            for hook in hooks:
                fn = getattr(registry, hook, None)
                if fn is None:
                    continue
                try:
                    result = fn()
                    if asyncio.iscoroutine(result):
                        await result
                except Exception as exc:  # close the rest, then re-raise
                    log.exception("closing %s failed", type(registry).__name__)
                    errors.append(exc)
        self._opened.clear()
        if self.logs is not None:
            try:
                self.logs.close()
            except Exception as exc:  # noqa: BLE001 - the catalog must still close
                errors.append(exc)
        if self.catalog is not None:
            self.catalog.close()
        if errors:
            raise errors[0]

    @property
    def memory(self) -> bool:
        return self.data_dir is None

    def commit_histograms(self) -> tuple[Histogram, Histogram] | None:
        """The group committer's (appends per fsync round, seconds per fsync) histograms
        for metrics; None when logs are in memory. Front-ends never reach `logs`."""
        committer = self.logs.committer if self.logs is not None else None
        if committer is None:
            return None
        return committer.batch_sizes, committer.sync_seconds

    # -- streams: the user-visible surface ------------------------------------------------------
    # Every front-end reaches streams by a client-given name through these five calls, and
    # they are where internal streams (`naming.is_internal_stream`: Firehose buffers,
    # EventBridge archives) are hidden, once for every protocol: looked up, deleted or
    # found they are absent, listed they are left out, and their names cannot be created.
    # The front-ends that own internal streams use the registry, `core.streams`, directly.
    def create_stream(
        self, name: str, partitions: int = 1, config: StreamConfig | Mapping[str, Any] | None = None
    ) -> Stream:
        _refuse_internal(name)
        return self.streams.create(name, partitions, config)

    def get_stream(self, name: str) -> Stream:
        if is_internal_stream(name):
            raise StreamNotFound(name)
        return self.streams.get(name)

    def find_stream(self, name: str) -> Stream | None:
        """The stream, or None when there is none (or it is internal)."""
        return None if is_internal_stream(name) else self.streams.find(name)

    def stream(
        self, name: str, partitions: int = 1, config: StreamConfig | Mapping[str, Any] | None = None
    ) -> Stream:
        """Get or create."""
        _refuse_internal(name)
        return self.streams.get_or_create(name, partitions, config)

    def delete_stream(self, name: str) -> bool:
        if is_internal_stream(name):
            return False
        return self.streams.delete(name)

    def list_streams(self, prefix: str = "") -> list[str]:
        return [n for n in self.streams.list(prefix) if not is_internal_stream(n)]

    # -- queues (QueueRegistry, issue #3 queue part) -----------------------------------------------
    def create_queue(self, name: str, config: QueueConfig | None = None, **attributes: Any) -> Queue:
        return self.queues.create(name, config, **attributes)

    def get_queue(self, name: str) -> Queue:
        return self.queues.get(name)

    def queue(self, name: str, config: QueueConfig | None = None, **attributes: Any) -> Queue:
        """Get or create."""
        return self.queues.get_or_create(name, config, **attributes)

    def delete_queue(self, name: str) -> Any:
        return self.queues.delete(name)

    def list_queues(self, prefix: str = "") -> list[str]:
        return self.queues.list(prefix)

    # -- routers (RouterRegistry) ------------------------------------------------------------------
    def create_router(self, name: str, kind: str, config: Mapping[str, Any] | None = None) -> Router:
        return self.routers.create(name, kind, config)

    def get_router(self, name: str) -> Router:
        return self.routers.get(name)

    def delete_router(self, name: str) -> Any:
        return self.routers.delete(name)

    def list_routers(self, *args: Any, **kwargs: Any) -> list[str]:
        return self.routers.list(*args, **kwargs)
