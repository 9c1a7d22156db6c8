"""AMQP entity records: exchanges, queues and bindings per virtual host, over core objects.

Owns: the AMQP-only facts core does not model (exchange type/durable/auto-delete/
internal/arguments, queue durable/exclusive owner/auto-delete/arguments, the binding
list used for unbind and cleanup) and their persistence in the catalog's kv namespaces
`amqp/exchanges`, `amqp/queues` (key `<vhost>\\x1f<name>`); bindings live in core (`binding_view.py`).

Names: in vhost `/` an AMQP entity's core name is its own name, so the same queue is
reachable by SQS; in any other vhost it is `<vhost>|<name>` (see docs/amqp-mapping.md).

Invariants: every record here has its core object (router or queue) and, when durable,
its catalog row. Transient records are also written (durable=false) so a restart can
drop their core objects, as RabbitMQ drops transient entities.

Concurrency: the server's event loop only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

from mqlite.core.api import Queue, Router

BUILTIN_EXCHANGES: tuple[tuple[str, str], ...] = (
    ("amq.direct", "direct"),
    ("amq.fanout", "fanout"),
    ("amq.topic", "topic"),
    ("amq.headers", "headers"),
    ("amq.match", "headers"),
)
EXCHANGE_TYPES = frozenset({"direct", "fanout", "topic", "headers"})

NS_EXCHANGES = "amqp/exchanges"
NS_QUEUES = "amqp/queues"
NS_BINDINGS = "amqp/bindings"


def core_name(vhost: str, name: str) -> str:
    """The core entity name of an AMQP entity (see module docstring)."""
    if vhost == "/":
        return name
    return vhost.replace("%", "%25").replace("/", "%2F") + "|" + name


def kv_key(vhost: str, name: str) -> str:
    return f"{vhost}\x1f{name}"


if TYPE_CHECKING:  # pragma: no cover
    from mqlite.protocols.amqp.stream_queue import StreamQueue

#: what a QueueRecord holds: core's queue, or the view of a stream (x-queue-type=stream)
AmqpQueue: TypeAlias = "Queue | StreamQueue"


@dataclass(slots=True, eq=False)
class BindingRecord:
    source: str  # exchange name
    destination: str  # queue or exchange name
    dest_kind: str  # "queue" | "exchange"
    routing_key: str
    arguments: dict[str, Any]
    handle: Any = None  # what core's Router.bind returned

    def key(self) -> tuple[str, str, str, str, str]:
        return (self.source, self.dest_kind, self.destination, self.routing_key, _args_key(self.arguments))

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source, "destination": self.destination, "dest_kind": self.dest_kind,
            "routing_key": self.routing_key, "arguments": _jsonable(self.arguments),
        }


@dataclass(slots=True, eq=False)
class ExchangeRecord:
    vhost: str
    name: str
    type: str
    durable: bool = True
    auto_delete: bool = False
    internal: bool = False
    arguments: dict[str, Any] = field(default_factory=dict)
    router: Router = None  # type: ignore[assignment]  # always given (AmqpBroker)
    bindings_out: int = 0  # bindings where this exchange is the source (auto-delete)
    builtin: bool = False
    e2e: list[BindingRecord] = field(default_factory=list)  # bindings with this as destination

    @property
    def alternate(self) -> str | None:
        value = self.arguments.get("alternate-exchange")
        if isinstance(value, bytes):
            value = value.decode()
        return value or None

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type, "durable": self.durable, "auto_delete": self.auto_delete,
            "internal": self.internal, "arguments": _jsonable(self.arguments),
        }


@dataclass(slots=True, eq=False)
class QueueRecord:
    vhost: str
    name: str
    durable: bool = True
    exclusive_owner: Any = None  # the owning AmqpConnection, or None
    auto_delete: bool = False
    arguments: dict[str, Any] = field(default_factory=dict)
    queue: AmqpQueue = None  # type: ignore[assignment]  # always given (AmqpBroker)
    consumers: dict[tuple[int, int, str], Any] = field(default_factory=dict)
    bindings: list[BindingRecord] = field(default_factory=list)
    had_consumer: bool = False
    expiry_handle: Any = None
    single_active: bool = False
    kind: str = "classic"  # x-queue-type: classic | quorum | stream
    delivery_limit: int | None = None  # quorum queues' x-delivery-limit

    @property
    def core_name(self) -> str:
        return core_name(self.vhost, self.name)

    @property
    def dest_kind(self) -> str:
        """The core destination kind bindings deliver to: a stream queue is a core stream."""
        return "stream" if self.kind == "stream" else "queue"

    def to_dict(self) -> dict[str, Any]:
        return {
            "durable": self.durable, "exclusive": self.exclusive_owner is not None,
            "auto_delete": self.auto_delete, "arguments": _jsonable(self.arguments),
        }


def _args_key(args: dict[str, Any]) -> str:
    return repr(sorted((k, repr(v)) for k, v in args.items()))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return str(value)
