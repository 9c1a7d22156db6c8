"""The AMQP front-end's only calls into core queues and routers (one seam).

Owns: creating/finding/deleting the core queues and routers behind AMQP entities,
binding (every AMQP binding carries the `amqp.dead_letter` transform so messages the
core dead-letters get RabbitMQ's `x-death` headers on their way through the DLX), and
publishing an Envelope through a router or straight into a queue.

Queues are created with `name_rule="amqp"`. Routers carry `durable` in their config
(core persists durable routers and their durable bindings); `alternate` is the
alternate exchange's core router name.
Concurrency: the server's event loop only.
"""

from __future__ import annotations

from typing import Any

from mqlite.core.api import Binding, BrokerCore, Queue, Router, Stream
from mqlite.core.errors import CoreError, QueueFull
from mqlite.core.message import Envelope
from mqlite.core.router import Destination, DestinationKind
from mqlite.protocols.amqp.dead_letter import TRANSFORM
from mqlite.protocols.amqp.entities import AmqpQueue

_KINDS = {"queue": DestinationKind.QUEUE, "stream": DestinationKind.STREAM}


class Bridge:
    """Core access for one AMQP front-end (see module docstring)."""

    def __init__(self, core: BrokerCore) -> None:
        self.core = core

    # -- queues --------------------------------------------------------------------------
    def create_queue(self, name: str, attributes: dict[str, Any]) -> Queue:
        return self.core.create_queue(name, None, name_rule="amqp", **attributes)

    def find_queue(self, name: str) -> Queue | None:
        try:
            return self.core.get_queue(name)
        except CoreError:
            return None

    def delete_queue(self, name: str) -> None:
        self.core.delete_queue(name)
        routers = getattr(self.core, "routers", None)
        if routers:
            routers.remove_destination(Destination(DestinationKind.QUEUE, name))

    # -- streams (stream queues) --------------------------------------------------------
    def stream_for(self, name: str, config: dict[str, Any]) -> Stream:
        """The core stream of a stream queue (a Kafka topic of that name is adopted)."""
        try:
            stream = self.core.get_stream(name)
        except CoreError:
            return self.core.create_stream(name, 1, config or None)
        if config:
            stream.set_config(config)
        return stream

    def delete_stream(self, name: str) -> None:
        self.core.delete_stream(name)
        routers = getattr(self.core, "routers", None)
        if routers:
            routers.remove_destination(Destination(DestinationKind.STREAM, name))

    # -- routers -------------------------------------------------------------------------
    def create_router(self, name: str, kind: str, config: dict[str, Any]) -> Router:
        return self.core.create_router(name, kind, config)

    def find_router(self, name: str) -> Router | None:
        return self.core.routers.find(name)

    def set_router_config(self, name: str, config: dict[str, Any]) -> None:
        self.core.routers.set_config(name, config)

    def delete_router(self, name: str) -> None:
        self.core.delete_router(name)

    def bind(self, router: Router, dest_kind: str, dest_name: str, routing_key: str,
             args: dict[str, Any], durable: bool) -> Binding:
        dest = Destination(_KINDS.get(dest_kind, DestinationKind.ROUTER), dest_name)
        if router.kind == "headers":
            return router.bind(dest, "headers", dict(args), {"routing_key": routing_key, "transform": TRANSFORM},
                               durable=durable)
        return router.bind(dest, router.default_matcher(), routing_key, {**args, "transform": TRANSFORM},
                           durable=durable)

    def unbind(self, router: Router, handle: Any) -> None:
        if handle is not None and not router.deleted:
            router.unbind(handle)

    # -- publishing ----------------------------------------------------------------------
    async def publish(self, router: Router, env: Envelope, headers: Any) -> tuple[int, bool]:
        """Route through `router`: (queues reached, whether a queue refused it)."""
        result = await router.publish(env, headers=headers)
        refused = bool(result.failed) and any(f.reason.startswith("QueueFull") for f in result.failed)
        return result.routed, refused

    async def send(self, queue: AmqpQueue, env: Envelope) -> tuple[int, bool]:
        try:
            await queue.send_envelope(env)
        except QueueFull:
            return 1, True
        return 1, False
