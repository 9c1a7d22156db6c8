"""AMQP 0-9-1 listener: `start(core, settings, host, port) -> Listener`.

Owns the one `AmqpBroker` (AMQP view of the core) per listener and its once-a-second
housekeeping: expiring per-message TTLs at the heads of idle queues, and the resource
watch that drives Connection.Blocked, as RabbitMQ's alarms: when free space under the
data directory falls below `Settings.extra["amqp_disk_free_limit"]` bytes (default 50 MB,
RabbitMQ's `disk_free_limit`), or the process's resident memory rises above
`Settings.extra["amqp_memory_limit"]` bytes (default 40% of RAM, RabbitMQ's
`vm_memory_high_watermark`), publishing connections are told Connection.Blocked and are
not read until the alarm clears (then Connection.Unblocked).
Concurrency: the server's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
from typing import Any

from mqlite.protocols.amqp.broker import AmqpBroker
from mqlite.protocols.amqp.connection import AmqpConnection
from mqlite.protocols.transport import ConnectionRegistry, Listener, listen

log = logging.getLogger("mqlite.amqp")

DISK_FREE_LIMIT = 50_000_000
DISK_CHECK_INTERVAL = 1.0


async def start(core: Any, settings: Any, host: str, port: int) -> Listener:
    """Start serving AMQP on host:port (0 = a free port)."""
    broker = AmqpBroker(core, settings)
    broker.open()

    def factory(registry: ConnectionRegistry) -> AmqpConnection:
        return AmqpConnection(registry, broker, settings)

    listener = await listen("amqp", host, port, factory)
    extra = getattr(settings, "extra", None) or {}
    disk_limit = int(extra.get("amqp_disk_free_limit", DISK_FREE_LIMIT))
    memory_limit = int(extra.get("amqp_memory_limit", _default_memory_limit()))
    data_dir = getattr(core, "data_dir", None)
    task = asyncio.get_running_loop().create_task(_watch(broker, data_dir, disk_limit, memory_limit))
    original_close = listener.close

    async def close() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await original_close()

    listener.close = close  # type: ignore[method-assign]
    return listener


def _default_memory_limit() -> int:
    try:
        return int(0.4 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError):
        return 1 << 62


def _rss() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


async def _watch(broker: AmqpBroker, data_dir: Any, disk_limit: int, memory_limit: int) -> None:
    while True:
        reason = None
        if data_dir is not None:
            try:
                free = shutil.disk_usage(data_dir).free
            except OSError:
                free = disk_limit + 1
            if free < disk_limit:
                reason = "low on disk"
        if reason is None and _rss() > memory_limit:
            reason = "low on memory"
        if reason != broker.blocked_reason:
            if reason:
                log.warning("resource alarm (%s): blocking publishers", reason)
            broker.set_blocked(reason)
        await asyncio.sleep(DISK_CHECK_INTERVAL)
