"""MQTT 3.1.1 / 5.0 listener: `start(core, settings, host, port) -> Listener`.

Owns the one `MqttBroker` (MQTT view of the core) per listener; TLS when the server
has it (`--tls`), the connection limits every TCP front-end has. Connected clients of
5.0 are told DISCONNECT 0x8B (Server shutting down) when the listener closes.
Concurrency: the server's event loop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mqlite.protocols import limits
from mqlite.protocols.mqtt import codec as C
from mqlite.protocols.mqtt.broker import MqttBroker
from mqlite.protocols.mqtt.connection import MqttConnection
from mqlite.protocols.transport import ConnectionRegistry, Listener, listen
from mqlite.security import tls

if TYPE_CHECKING:
    from mqlite.core.api import BrokerCore
    from mqlite.settings import Settings


async def start(core: BrokerCore, settings: Settings, host: str, port: int) -> Listener:
    """Start serving MQTT on host:port (0 = a free port)."""
    broker = MqttBroker(core, settings)

    def factory(registry: ConnectionRegistry) -> MqttConnection:
        return MqttConnection(registry, broker)

    listener = await listen("mqtt", host, port, factory, ssl_context=tls.server_context(settings), owner=core,
                            limits=limits.for_server(core, settings))
    original_close = listener.close

    async def close() -> None:
        for conn in list(listener.registry.connections):
            if not isinstance(conn, MqttConnection):
                continue
            if conn.version == 5 and conn.session is not None:
                conn.send(C.encode_disconnect(C.SERVER_SHUTTING_DOWN, {C.REASON_STRING: "server shutting down"}))
        for task in list(broker.delivery_tasks):
            task.cancel()
        await original_close()

    listener.close = close  # type: ignore[method-assign]
    return listener
