"""STOMP listener: `start(core, settings, host, port) -> Listener`.

Uses the AMQP front-end's `AmqpBroker` of the same core when AMQP is on (so STOMP and
AMQP clients share queues, exchanges and bindings, as on RabbitMQ), else opens its own
view of the same durable entities when the first STOMP client connects (a server that
no STOMP client uses gets no AMQP entities from it). TLS when the server has it
(`--tls`, like every listener).
Concurrency: the server's event loop.
"""

from __future__ import annotations

import asyncio

from mqlite.core.api import BrokerCore
from mqlite.protocols import limits
from mqlite.protocols.amqp.broker import AmqpBroker, broker_for
from mqlite.protocols.stomp.connection import StompConnection
from mqlite.protocols.transport import ConnectionRegistry, Listener, listen
from mqlite.security import tls
from mqlite.settings import Settings


async def start(core: BrokerCore, settings: Settings, host: str, port: int) -> Listener:
    """Start serving STOMP on host:port (0 = a free port)."""
    own: list[AmqpBroker] = []  # the view made here, kept alive by the listener

    def broker() -> AmqpBroker:
        found = broker_for(core)
        if found is None:
            found = AmqpBroker(core, settings)
            found.open()
            own.append(found)
        return found

    tasks: set[asyncio.Task[None]] = set()  # subscriptions' push loops

    def factory(registry: ConnectionRegistry) -> StompConnection:
        return StompConnection(registry, broker(), settings, tasks)

    listener = await listen("stomp", host, port, factory, ssl_context=tls.server_context(settings), owner=core,
                            limits=limits.for_server(core, settings))
    listener.stomp_brokers = own  # type: ignore[attr-defined]
    original_close = listener.close

    async def close() -> None:
        await original_close()
        for task in list(tasks):  # loops still parked in a long poll of a closing core
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    listener.close = close  # type: ignore[method-assign]
    return listener
