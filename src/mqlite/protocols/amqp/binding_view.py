"""AMQP's view of its bindings, rebuilt from the one place they are stored: core.

A binding is stored once, as a binding of the exchange's core `Router` (catalog entity
`binding`, written by `Router.bind`, durable ones restored by core at start). The AMQP
front-end keeps, per queue and per exchange, the `BindingRecord`s that Queue.Unbind,
Exchange.Unbind, auto-delete and exports need; `restore` rebuilds them from the routers'
bindings after a restart instead of keeping a second durable copy.

`migrate_stored_twice` upgrades a data directory of an older release, which also kept
every durable binding in catalog kv `amqp/bindings`: each row is applied through the
normal bind path (a no-op where core already has the binding) and deleted.
Concurrency: called once from `AmqpBroker.open`, on the server's event loop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mqlite.core.api import Catalog, DestinationKind
from mqlite.protocols.amqp import errors as E
from mqlite.protocols.amqp.dead_letter import TRANSFORM
from mqlite.protocols.amqp.entities import NS_BINDINGS, BindingRecord, ExchangeRecord, core_name

if TYPE_CHECKING:  # pragma: no cover
    from mqlite.protocols.amqp.broker import AmqpBroker


def restore(broker: AmqpBroker) -> None:
    """Rebuild every exchange's outgoing `BindingRecord`s from its router's bindings."""
    for (vhost, name), ex in list(broker.exchanges.items()):
        if name == "" or ex.router is None:
            continue
        prefix = core_name(vhost, "")
        for cb in ex.router.bindings():
            dest = cb.destination
            if cb.args.get("transform") != TRANSFORM or not dest.name.startswith(prefix):
                continue  # not made by AMQP (the transform marks AMQP's bindings)
            dest_name = dest.name[len(prefix):]
            if dest.kind is DestinationKind.ROUTER:
                drec: ExchangeRecord | None = broker.exchanges.get((vhost, dest_name))
                if drec is None:
                    continue
                records, dest_kind = drec.e2e, "exchange"
            else:
                qrec = broker.queues.get((vhost, dest_name))
                if qrec is None:
                    continue
                records, dest_kind = qrec.bindings, "queue"
            if ex.type == "headers":  # Bridge.bind: the arguments are the match spec
                routing_key, arguments = str(cb.args.get("routing_key", "")), dict(cb.spec or {})
            else:
                routing_key = str(cb.spec or "")
                arguments = {k: v for k, v in cb.args.items() if k != "transform"}
            b = BindingRecord(name, dest_name, dest_kind, routing_key, arguments, handle=cb)
            if not any(x.key() == b.key() for x in records):
                records.append(b)
                ex.bindings_out += 1


def migrate_stored_twice(broker: AmqpBroker, catalog: Catalog) -> None:
    """Apply, then delete, the `amqp/bindings` rows an older release wrote."""
    for key, cfg in catalog.kv_items(NS_BINDINGS):
        vhost = key.split("\x1f", 1)[0]
        try:
            broker.add_binding(vhost, cfg["source"], cfg["dest_kind"], cfg["destination"],
                               cfg["routing_key"], cfg.get("arguments", {}))
        except E.AmqpError:
            pass  # its exchange or queue is gone: so is the binding
        catalog.kv_delete(NS_BINDINGS, key)
