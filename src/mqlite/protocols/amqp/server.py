"""AMQP 0-9-1 listener: `start(core, settings, host, port) -> Listener`.

Owns the one `AmqpBroker` (AMQP view of the core) per listener. Connection.Blocked
follows the core's resource alarms (core/resources.py; thresholds `amqp_disk_free_limit`
and `amqp_memory_limit`, RabbitMQ's `disk_free_limit` and `vm_memory_high_watermark`):
publishing connections are told Connection.Blocked and are not read until the alarm
clears (then Connection.Unblocked).
Concurrency: the server's event loop.
"""

from __future__ import annotations

import logging

from mqlite.core.api import BrokerCore
from mqlite.protocols import limits
from mqlite.protocols.amqp.broker import AmqpBroker
from mqlite.protocols.amqp.connection import AmqpConnection
from mqlite.protocols.transport import ConnectionRegistry, Listener, listen
from mqlite.security import tls
from mqlite.settings import Settings

log = logging.getLogger("mqlite.amqp")


async def start(core: BrokerCore, settings: Settings, host: str, port: int) -> Listener:
    """Start serving AMQP on host:port (0 = a free port)."""
    broker = AmqpBroker(core, settings)
    broker.open()

    def factory(registry: ConnectionRegistry) -> AmqpConnection:
        return AmqpConnection(registry, broker, settings)

    listener = await listen("amqp", host, port, factory, ssl_context=tls.server_context(settings), owner=core,
                            limits=limits.for_server(core, settings))
    # RabbitMQ's alarms: publishers are blocked while the core's resource monitor
    # reports low disk or memory (a read-only data directory counts as no disk).
    resources = core.resources

    def on_alarm(reasons: tuple[str, ...]) -> None:
        reason = "low on disk" if resources.disk_alarm else "low on memory" if resources.memory_alarm else None
        if reason != broker.blocked_reason:
            broker.set_blocked(reason)

    resources.on_change(on_alarm)
    on_alarm(resources.reasons)
    original_close = listener.close

    async def close() -> None:
        broker.delayed.close()  # held messages stay in the catalog for the next start
        await original_close()

    listener.close = close  # type: ignore[method-assign]
    return listener
