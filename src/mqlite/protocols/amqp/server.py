"""AMQP 0-9-1 listener: `start(core, settings, host, port) -> Listener`.

Owns the one `AmqpBroker` (AMQP view of the core) per listener and the disk-space
watch that drives Connection.Blocked: when free space under the data directory falls
below `Settings.extra["amqp_disk_free_limit"]` bytes (default 50 MB, RabbitMQ's
`disk_free_limit`), publishing connections are told Connection.Blocked and are not read
until space returns (then Connection.Unblocked).
Concurrency: the server's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
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
    data_dir = getattr(core, "data_dir", None)
    if data_dir is not None:
        limit = int((getattr(settings, "extra", None) or {}).get("amqp_disk_free_limit", DISK_FREE_LIMIT))
        task = asyncio.get_running_loop().create_task(_watch_disk(broker, data_dir, limit))
        original_close = listener.close

        async def close() -> None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await original_close()

        listener.close = close  # type: ignore[method-assign]
    return listener


async def _watch_disk(broker: AmqpBroker, data_dir: Any, limit: int) -> None:
    while True:
        try:
            free = shutil.disk_usage(data_dir).free
        except OSError:
            free = limit + 1
        reason = "low on disk" if free < limit else None
        if reason != broker.blocked_reason:
            if reason:
                log.warning("free disk space %d below limit %d: blocking publishers", free, limit)
            broker.set_blocked(reason)
        await asyncio.sleep(DISK_CHECK_INTERVAL)
