"""AmqpBroker: the AMQP view of one core, shared by every connection of a listener.

Owns the per-vhost exchange/queue/binding records (`entities.py`), the rules of
Exchange/Queue declare, bind, unbind, purge and delete as RabbitMQ applies them
(equivalence checks, `amq.` prefix, exclusive ownership, auto-delete, x-expires),
routing a publish (default exchange, alternate exchanges, delayed exchanges via
`delayed.py`), direct reply-to, and the Connection.Blocked state. A quorum queue is a
core queue with RabbitMQ's quorum rules (`queue_types.py`); a stream queue's `queue` is a
`StreamQueue` over the core stream of its name (`stream_queue.py`). Core objects are reached only through `bridge.Bridge`.

Invariants: every record has its core object; a deleted queue's consumers are
cancelled and its bindings removed; an exclusive queue dies with its connection.
Concurrency: the server's event loop only; no awaits between a check and its effect.
"""

from __future__ import annotations

import base64
import logging
import os
import weakref
from typing import Any

from mqlite.core.api import BrokerCore, QueueCounts
from mqlite.core.message import Envelope
from mqlite.core.reset import Selection, on_reset
from mqlite.errors import MqliteError
from mqlite.protocols.amqp import arguments as qargs
from mqlite.protocols.amqp import binding_view, delayed, queue_types
from mqlite.protocols.amqp import errors as E
from mqlite.protocols.amqp.bridge import Bridge
from mqlite.protocols.amqp.entities import (
    BUILTIN_EXCHANGES,
    EXCHANGE_TYPES,
    NS_EXCHANGES,
    NS_QUEUES,
    AmqpQueue,
    BindingRecord,
    ExchangeRecord,
    QueueRecord,
    core_name,
    kv_key,
)
from mqlite.protocols.amqp.properties import META_PROPS, PublishFacts, envelope_for, with_header
from mqlite.protocols.amqp.stream_queue import StreamCounts, StreamQueue
from mqlite.protocols.observe import Observer
from mqlite.security.authz import authorizer_for
from mqlite.security.users import Users
from mqlite.settings import Settings

log = logging.getLogger("mqlite.amqp")

REPLY_TO = "amq.rabbitmq.reply-to"
# core -> a weak reference to its AmqpBroker (provisioning declares entities through it)
_BROKERS: weakref.WeakKeyDictionary[Any, weakref.ref[AmqpBroker]] = weakref.WeakKeyDictionary()


def broker_for(core: BrokerCore) -> AmqpBroker | None:
    """The AMQP view of `core`, when the AMQP front-end is running."""
    ref = _BROKERS.get(core)
    return None if ref is None else ref()


class AmqpBroker:
    """See module docstring."""

    def __init__(self, core: BrokerCore, settings: Settings) -> None:
        self.core = core
        self.settings = settings
        self.bridge = Bridge(core)
        self.observer = Observer(core, settings)
        self.exchanges: dict[tuple[str, str], ExchangeRecord] = {}
        self.queues: dict[tuple[str, str], QueueRecord] = {}
        self.vhosts: set[str] = {"/"} | set(settings.amqp_vhosts if settings is not None else ())
        # every configured user (mqlite.security.users); with none, RabbitMQ's default
        # guest:guest, which logs in from loopback only
        users = Users.from_settings(settings).secrets() if settings is not None else {}
        self.auth_enabled = bool(users)
        self.users: dict[str, str] = users or {"guest": "guest"}
        self.connections: set[Any] = set()
        self.reply_to: dict[str, Any] = {}  # token -> Consumer
        self.default_routers: dict[str, Any] = {}  # vhost -> core router of exchange ""
        self.blocked_reason: str | None = None
        self._catalog = getattr(core, "catalog", None)
        _BROKERS[core] = weakref.ref(self)
        on_reset(core, self.reset_before, "before")
        on_reset(core, self.reset_after, "after")
        self.delayed = delayed.DelayedMessages(self._catalog, self._publish_delayed)
        self.authz = authorizer_for(core, settings) if settings is not None else None

    def authorize(self, conn: Any, vhost: str, op: str, kind: str, name: str,
                  class_id: int, method_id: int) -> None:
        """The one authorization check (security/authz.py), answered as RabbitMQ refuses
        a permission: 403 ACCESS_REFUSED naming the resource, vhost and user. RabbitMQ's
        configure / write / read permissions map onto create+admin / write / read rules;
        a queue is kind `queue`, an exchange kind `router` (the default one `amq.default`)."""
        authz = self.authz
        if authz is None or not authz.enabled:
            return
        principal = conn.principal if conn is not None else None
        if not authz.allowed(principal, op, kind, name):
            what = "queue" if kind == "queue" else "exchange"
            raise E.AmqpError(E.ACCESS_REFUSED, f"ACCESS_REFUSED - access to {what} '{name}' in vhost "
                              f"'{vhost}' refused for user '{principal or 'anonymous'}'", class_id, method_id)

    def set_blocked(self, reason: str | None) -> None:
        """A resource alarm started (reason) or cleared (None): tell every connection."""
        self.blocked_reason = reason
        for conn in list(self.connections):
            conn.set_blocked(reason)

    # -- startup ----------------------------------------------------------------------
    def open(self) -> None:
        """Restore durable entities; drop transient ones (a restart, as RabbitMQ does)."""
        for vhost in self.vhosts:
            self._ensure_vhost(vhost)
        if self._catalog is None:
            return
        for key, cfg in self._catalog.kv_items(NS_EXCHANGES):
            vhost, name = key.split("\x1f", 1)
            if not cfg.get("durable"):
                self.bridge.delete_router(core_name(vhost, name))
                self._catalog.kv_delete(NS_EXCHANGES, key)
                continue
            self.vhosts.add(vhost)
            self._ensure_vhost(vhost)
            self._make_exchange(vhost, name, cfg["type"], True, cfg.get("auto_delete", False),
                                cfg.get("internal", False), cfg.get("arguments", {}), persist=False)
        for key, cfg in self._catalog.kv_items(NS_QUEUES):
            vhost, name = key.split("\x1f", 1)
            if not cfg.get("durable") or cfg.get("exclusive"):
                self.bridge.delete_queue(core_name(vhost, name))
                self._catalog.kv_delete(NS_QUEUES, key)
                continue
            self.vhosts.add(vhost)
            rec = self._make_queue(vhost, name, True, None, cfg.get("auto_delete", False),
                                   cfg.get("arguments", {}), persist=False)
            self._bind_default(rec)
        binding_view.restore(self)  # bindings live once, in core: AMQP's view is rebuilt
        binding_view.migrate_stored_twice(self, self._catalog)
        self.delayed.restore()

    def add_vhost(self, vhost: str) -> None:
        """A new virtual host with its default and built-in exchanges (provisioning)."""
        self.vhosts.add(vhost)
        self._ensure_vhost(vhost)

    def _ensure_vhost(self, vhost: str) -> None:
        cname = core_name(vhost, "")
        default = self.bridge.find_router(cname) or self.bridge.create_router(cname, "direct", {"durable": True})
        self.default_routers[vhost] = default
        for name, kind in BUILTIN_EXCHANGES:
            if (vhost, name) not in self.exchanges:
                rec = self._make_exchange(vhost, name, kind, True, False, False, {}, persist=False)
                rec.builtin = True

    # -- reset (core/reset.py) ---------------------------------------------------------
    def reset_before(self, sel: Selection) -> None:
        """Delete the selected queues and exchanges as Queue.Delete/Exchange.Delete do
        (consumers are cancelled with basic.cancel); built-in exchanges come back after."""
        for rec in [r for r in self.queues.values() if r.core_name in sel.queues]:
            self.drop_queue(rec)
        for xrec in [r for r in self.exchanges.values() if core_name(r.vhost, r.name) in sel.routers]:
            if not xrec.builtin and (xrec.vhost, xrec.name) in self.exchanges:
                self._drop_exchange(xrec)

    def reset_after(self, sel: Selection) -> None:
        """Forget records whose core entity is gone; re-create each vhost's default and
        built-in exchanges, and the default-exchange binding of every queue left."""
        for key, ex in list(self.exchanges.items()):
            if ex.router is None or ex.router.deleted:
                del self.exchanges[key]
        for key, rec in list(self.queues.items()):
            if rec.queue is None or rec.queue.deleted:
                del self.queues[key]
        rebuilt = {v for v, r in self.default_routers.items() if r.deleted}
        for vhost in self.vhosts:
            self._ensure_vhost(vhost)
        for rec in self.queues.values():
            if rec.vhost in rebuilt:
                self._bind_default(rec)

    # -- exchanges --------------------------------------------------------------------
    def exchange(self, vhost: str, name: str) -> ExchangeRecord:
        rec = self.exchanges.get((vhost, name))
        if rec is None:
            raise E.not_found_exchange(name, vhost)
        return rec

    def declare_exchange(
        self, vhost: str, name: str, kind: str, *, passive: bool, durable: bool,
        auto_delete: bool, internal: bool, arguments: dict[str, Any],
    ) -> ExchangeRecord:
        """Exchange.Declare."""
        if name == "":
            raise E.AmqpError(E.ACCESS_REFUSED, "ACCESS_REFUSED - operation not permitted on the default exchange")
        rec = self.exchanges.get((vhost, name))
        if passive:
            if rec is None:
                raise E.not_found_exchange(name, vhost)
            return rec
        if kind not in EXCHANGE_TYPES and kind != delayed.TYPE:
            raise E.AmqpError(E.COMMAND_INVALID, f"COMMAND_INVALID - unknown exchange type '{kind}'")
        delayed.routing_type(kind, {k: _text(v) for k, v in (arguments or {}).items()})
        if rec is None:
            if name.startswith("amq."):
                raise E.access_refused_name("exchange", name, vhost)
            return self._make_exchange(vhost, name, kind, durable, auto_delete, internal, arguments)
        for arg, got, cur in (("type", kind, rec.type), ("durable", durable, rec.durable),
                              ("auto_delete", auto_delete, rec.auto_delete), ("internal", internal, rec.internal)):
            if got != cur:
                raise E.inequivalent_arg(arg, "exchange", name, vhost, got, cur)
        ae_new, ae_cur = _text(arguments.get("alternate-exchange")), _text(rec.arguments.get("alternate-exchange"))
        if ae_new != ae_cur:
            raise E.inequivalent_arg("alternate-exchange", "exchange", name, vhost, ae_new, ae_cur)
        return rec

    def _make_exchange(
        self, vhost: str, name: str, kind: str, durable: bool, auto_delete: bool, internal: bool,
        arguments: dict[str, Any], *, persist: bool = True,
    ) -> ExchangeRecord:
        args = {k: _text(v) for k, v in (arguments or {}).items()}
        config: dict[str, Any] = {"durable": durable}
        if args.get("alternate-exchange"):
            config["alternate"] = core_name(vhost, args["alternate-exchange"])
        cname = core_name(vhost, name)
        rkind = delayed.routing_type(kind, args)  # a delayed exchange routes as x-delayed-type
        router = self.bridge.find_router(cname)
        if router is None:
            router = self.bridge.create_router(cname, rkind, config)
        elif router.config != config or router.kind != rkind:
            self.bridge.delete_router(cname)
            router = self.bridge.create_router(cname, rkind, config)
        rec = ExchangeRecord(vhost, name, kind, durable, auto_delete, internal, args, router)
        rec.bindings_out = len(router.bindings())
        self.exchanges[(vhost, name)] = rec
        if persist and self._catalog is not None:
            self._catalog.kv_put(NS_EXCHANGES, kv_key(vhost, name), rec.to_dict())
        return rec

    def delete_exchange(self, vhost: str, name: str, if_unused: bool) -> None:
        """Exchange.Delete (deleting a missing exchange is not an error in RabbitMQ 3.x+)."""
        if name == "" or name.startswith("amq."):
            raise E.AmqpError(E.ACCESS_REFUSED, f"ACCESS_REFUSED - operation not permitted on the {'default' if not name else 'builtin'} exchange" if not name else f"ACCESS_REFUSED - exchange name '{name}' contains reserved prefix 'amq.*'")
        rec = self.exchanges.get((vhost, name))
        if rec is None:
            return
        if if_unused and rec.bindings_out:
            raise E.AmqpError(E.PRECONDITION_FAILED, f"PRECONDITION_FAILED - exchange '{name}' in vhost '{vhost}' in use")
        self._drop_exchange(rec)

    def _drop_exchange(self, rec: ExchangeRecord) -> None:
        for b in list(self._all_bindings(rec.vhost)):
            if b.source == rec.name or (b.dest_kind == "exchange" and b.destination == rec.name):
                self._remove_binding(rec.vhost, b)
        self.exchanges.pop((rec.vhost, rec.name), None)
        self.bridge.delete_router(core_name(rec.vhost, rec.name))
        if self._catalog is not None:
            self._catalog.kv_delete(NS_EXCHANGES, kv_key(rec.vhost, rec.name))

    # -- queues -----------------------------------------------------------------------
    def _lookup_queue(self, vhost: str, name: str) -> QueueRecord | None:
        """The record of a queue, adopting a core queue made by another front-end (SQS)."""
        rec = self.queues.get((vhost, name))
        if rec is None and vhost == "/" and name:
            queue = self.bridge.find_queue(name)
            if queue is not None:
                rec = QueueRecord(vhost, name, True, None, False, {}, queue)
                self.queues[(vhost, name)] = rec
                self._bind_default(rec)
        return rec

    def queue(self, vhost: str, name: str, conn: Any = None) -> QueueRecord:
        rec = self._lookup_queue(vhost, name)
        if rec is None:
            raise E.not_found_queue(name, vhost)
        if conn is not None and rec.exclusive_owner is not None and rec.exclusive_owner is not conn:
            raise E.resource_locked(name, vhost)
        return rec

    def declare_queue(
        self, conn: Any, vhost: str, name: str, *, passive: bool, durable: bool, exclusive: bool,
        auto_delete: bool, arguments: dict[str, Any],
    ) -> QueueRecord:
        """Queue.Declare."""
        generated = False
        if name == "":
            if passive:
                raise E.not_found_queue(name, vhost)
            name = "amq.gen-" + base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")
            generated = True
        rec = self._lookup_queue(vhost, name)
        if passive:
            if rec is None:
                raise E.not_found_queue(name, vhost)
            if rec.exclusive_owner is not None and rec.exclusive_owner is not conn:
                raise E.resource_locked(name, vhost)
            self._touch(rec)
            return rec
        if rec is None and name.startswith("amq.") and not generated:
            raise E.access_refused_name("queue", name, vhost)
        args = qargs.validate_queue_args(arguments, name, vhost)
        if rec is None:
            queue_types.check_declare(queue_types.queue_type(args), name, vhost, generated, durable,
                                      exclusive, auto_delete, args)
        if rec is not None:
            if rec.exclusive_owner is not None and rec.exclusive_owner is not conn:
                raise E.resource_locked(name, vhost)
            for arg, got, cur in (("durable", durable, rec.durable),
                                  ("exclusive", exclusive, rec.exclusive_owner is not None),
                                  ("auto_delete", auto_delete, rec.auto_delete)):
                if got != cur:
                    raise E.inequivalent_arg(arg, "queue", name, vhost, got, cur)
            diff = qargs.first_inequivalent(args, rec.arguments)
            if diff is not None:
                raise E.inequivalent_arg(diff[0], "queue", name, vhost, diff[1], diff[2])
            self._touch(rec)
            return rec
        rec = self._make_queue(vhost, name, durable, conn if exclusive else None, auto_delete, args)
        self._bind_default(rec)
        return rec

    def _make_queue(
        self, vhost: str, name: str, durable: bool, owner: Any, auto_delete: bool,
        args: dict[str, Any], *, persist: bool = True,
    ) -> QueueRecord:
        cname = core_name(vhost, name)
        if queue_types.queue_type(args) == "stream":
            queue: AmqpQueue | None = StreamQueue(
                self.bridge.stream_for(cname, queue_types.stream_config(args)), name, vhost)
        else:
            queue = self.bridge.find_queue(cname)
        if queue is None:
            try:
                queue = self.bridge.create_queue(cname, qargs.queue_config_attributes(args, vhost))
            except MqliteError as exc:  # a core validation error
                raise E.from_core(exc, name=name, vhost=vhost) from None
        rec = QueueRecord(vhost, name, durable, owner, auto_delete, args, queue,
                          single_active=bool(args.get("x-single-active-consumer")),
                          kind=queue_types.queue_type(args), delivery_limit=queue_types.delivery_limit(args))
        self.queues[(vhost, name)] = rec
        if persist and self._catalog is not None:
            self._catalog.kv_put(NS_QUEUES, kv_key(vhost, name), rec.to_dict())
        self._touch(rec)
        return rec

    def _bind_default(self, rec: QueueRecord) -> None:
        """Every queue is bound to the default exchange by its name (AMQP 0-9-1 2.1.3.3);
        a core binding, so core dead-lettering to exchange "" reaches the queue."""
        router = self.default_routers.get(rec.vhost)
        if router is not None:
            self.bridge.bind(router, rec.dest_kind, rec.core_name, rec.name, {}, rec.durable)

    def delete_queue(self, conn: Any, vhost: str, name: str, if_unused: bool, if_empty: bool) -> int:
        """Queue.Delete: returns the number of messages deleted."""
        rec = self.queues.get((vhost, name))
        if rec is None:
            return 0  # RabbitMQ 3.x: deleting a missing queue succeeds with 0
        if rec.exclusive_owner is not None and rec.exclusive_owner is not conn:
            raise E.resource_locked(name, vhost)
        if if_unused and rec.consumers:
            raise E.AmqpError(E.PRECONDITION_FAILED, f"PRECONDITION_FAILED - queue '{name}' in vhost '{vhost}' in use")
        counts = rec.queue.counts()
        ready = _ready(counts)
        if if_empty and ready:
            raise E.AmqpError(E.PRECONDITION_FAILED, f"PRECONDITION_FAILED - queue '{name}' in vhost '{vhost}' is not empty")
        self.drop_queue(rec)
        return ready

    def drop_queue(self, rec: QueueRecord) -> None:
        """Remove a queue with its bindings; cancel its consumers (consumer_cancel_notify)."""
        if self.queues.get((rec.vhost, rec.name)) is not rec:
            return
        del self.queues[(rec.vhost, rec.name)]
        if rec.expiry_handle is not None:
            rec.expiry_handle.cancel()
            rec.expiry_handle = None
        for consumer in list(rec.consumers.values()):
            consumer.channel.server_cancel(consumer)
        for b in list(rec.bindings):
            self._remove_binding(rec.vhost, b)
        if rec.kind == "stream":
            self.bridge.delete_stream(rec.core_name)
        else:
            self.bridge.delete_queue(rec.core_name)
        if self._catalog is not None:
            self._catalog.kv_delete(NS_QUEUES, kv_key(rec.vhost, rec.name))

    def purge_queue(self, conn: Any, vhost: str, name: str) -> int:
        """RabbitMQ: purge removes the messages not awaiting acknowledgement; returns
        how many (Queue.PurgeOk message_count)."""
        rec = self.queue(vhost, name, conn)
        if isinstance(rec.queue, StreamQueue):
            raise rec.queue.not_supported("queue.purge")
        return int(rec.queue.purge(include_in_flight=False).count)

    # -- consumers and lifecycles -----------------------------------------------------
    def consumer_added(self, rec: QueueRecord, consumer: Any) -> None:
        rec.consumers[consumer.key] = consumer
        rec.had_consumer = True
        self._touch(rec)

    def consumer_removed(self, rec: QueueRecord, consumer: Any) -> None:
        if rec.consumers.pop(consumer.key, None) is None:
            return
        if not rec.consumers:
            if rec.auto_delete and rec.had_consumer:
                self.drop_queue(rec)
                return
            self._touch(rec)

    def _touch(self, rec: QueueRecord) -> None:
        """Restart the x-expires timer (queue unused = no consumers, get or redeclare)."""
        expires = rec.arguments.get("x-expires")
        if not expires:
            return
        if rec.expiry_handle is not None:
            rec.expiry_handle.cancel()
            rec.expiry_handle = None
        if rec.consumers:
            return
        import asyncio

        loop = asyncio.get_running_loop()
        rec.expiry_handle = loop.call_later(expires / 1000, self._expire, rec)

    def touch(self, rec: QueueRecord) -> None:
        self._touch(rec)

    def _expire(self, rec: QueueRecord) -> None:
        rec.expiry_handle = None
        if not rec.consumers:
            self.drop_queue(rec)

    def connection_closed(self, conn: Any) -> None:
        self.connections.discard(conn)
        for rec in [r for r in self.queues.values() if r.exclusive_owner is conn]:
            self.drop_queue(rec)

    # -- bindings ---------------------------------------------------------------------
    def _all_bindings(self, vhost: str) -> list[BindingRecord]:
        out: list[BindingRecord] = []
        for rec in self.queues.values():
            if rec.vhost == vhost:
                out.extend(rec.bindings)
        for ex in self.exchanges.values():
            if ex.vhost == vhost:
                out.extend(ex.e2e)
        return out

    def bind(self, conn: Any, vhost: str, source: str, dest_kind: str, destination: str,
             routing_key: str, arguments: dict[str, Any]) -> None:
        """Queue.Bind / Exchange.Bind."""
        if source == "" or (dest_kind == "exchange" and destination == ""):
            raise E.AmqpError(E.ACCESS_REFUSED, "ACCESS_REFUSED - operation not permitted on the default exchange")
        if dest_kind == "queue":
            self.queue(vhost, destination, conn)
        self.add_binding(vhost, source, dest_kind, destination, routing_key, arguments)

    def add_binding(self, vhost: str, source: str, dest_kind: str, destination: str, routing_key: str,
                    arguments: dict[str, Any]) -> None:
        ex = self.exchange(vhost, source)
        args = {k: v for k, v in (arguments or {}).items()}
        b = BindingRecord(source, destination, dest_kind, routing_key, args)
        if dest_kind == "queue":
            qrec = self.queue(vhost, destination)
            if any(x.key() == b.key() for x in qrec.bindings):
                return
            durable = qrec.durable and ex.durable
        else:
            drec = self.exchange(vhost, destination)
            e2e = _e2e(drec)
            if any(x.key() == b.key() for x in e2e):
                return
            durable = drec.durable and ex.durable
        try:
            kind = qrec.dest_kind if dest_kind == "queue" else dest_kind
            b.handle = self.bridge.bind(ex.router, kind, core_name(vhost, destination), routing_key,
                                        _plain_args(args), durable)
        except MqliteError as exc:
            raise E.from_core(exc, vhost=vhost) from None
        ex.bindings_out += 1
        if dest_kind == "queue":
            qrec.bindings.append(b)
        else:
            e2e.append(b)

    def unbind(self, conn: Any, vhost: str, source: str, dest_kind: str, destination: str,
               routing_key: str, arguments: dict[str, Any]) -> None:
        """Queue.Unbind / Exchange.Unbind. A binding that is already gone (with its
        auto-deleted exchange or queue) is a no-op, as RabbitMQ's idempotent unbind."""
        if source == "":
            raise E.AmqpError(E.ACCESS_REFUSED, "ACCESS_REFUSED - operation not permitted on the default exchange")
        if dest_kind == "queue":
            rec = self.queues.get((vhost, destination))
            if rec is not None and rec.exclusive_owner is not None and rec.exclusive_owner is not conn:
                raise E.resource_locked(destination, vhost)
            bindings = rec.bindings if rec is not None else []
        else:
            ex = self.exchanges.get((vhost, destination))
            bindings = ex.e2e if ex is not None else []
        key = BindingRecord(source, destination, dest_kind, routing_key, dict(arguments or {})).key()
        for b in list(bindings):
            if b.key() == key:
                self._remove_binding(vhost, b)

    def _remove_binding(self, vhost: str, b: BindingRecord) -> None:
        ex = self.exchanges.get((vhost, b.source))
        if b.dest_kind == "queue":
            q = self.queues.get((vhost, b.destination))
            if q is not None and b in q.bindings:
                q.bindings.remove(b)
        else:
            d = self.exchanges.get((vhost, b.destination))
            if d is not None and b in _e2e(d):
                _e2e(d).remove(b)
        if ex is not None:
            self.bridge.unbind(ex.router, b.handle)
            ex.bindings_out = max(0, ex.bindings_out - 1)
            if ex.auto_delete and ex.bindings_out <= 0 and not ex.builtin:
                self._drop_exchange(ex)

    # -- publishing -------------------------------------------------------------------
    def resolve_publish(self, vhost: str, exchange: str, routing_key: str) -> tuple[Any, bool]:
        """(target, is_queue) for a publish; raises 404/403 as RabbitMQ does."""
        if exchange == "":
            rec = self._lookup_queue(vhost, routing_key)
            return (rec.queue if rec is not None else None), True
        ex = self.exchanges.get((vhost, exchange))
        if ex is None:
            raise E.not_found_exchange(exchange, vhost)
        if ex.internal:
            raise E.AmqpError(E.ACCESS_REFUSED, f"ACCESS_REFUSED - cannot publish to internal exchange '{exchange}' in vhost '{vhost}'")
        return ex, False

    async def route(self, vhost: str, target: Any, is_queue: bool, env: Envelope,
                    headers: Any = None) -> tuple[int, bool]:
        """Deliver an envelope to its resolved target: (queues reached, refused by a full
        queue). Alternate exchanges are the core router's `alternate` fallback."""
        if is_queue:
            if target is None:
                return 0, False
            return await self.bridge.send(target, env)
        if target.type == delayed.TYPE:
            delay = delayed.delay_of(headers)
            if delay is not None:  # held (durably), routed later; counts as routed now
                raw = with_header(bytes(env.meta.get(META_PROPS) or b"\x00\x00"), "x-delay", -delay)
                self.delayed.hold(vhost, target.name, env.routing_key, raw, env.body, delay)
                return 1, False
        return await self.bridge.publish(target.router, env, headers)

    async def _publish_delayed(self, vhost: str, exchange: str, routing_key: str, raw: bytes, body: bytes) -> None:
        """Route a held message through its delayed exchange now (gone exchange: dropped)."""
        ex = self.exchanges.get((vhost, exchange))
        if ex is None:
            return
        facts = PublishFacts(raw)
        await self.bridge.publish(ex.router, envelope_for(exchange, routing_key, raw, body, facts), facts.headers)


def _e2e(rec: ExchangeRecord) -> list[BindingRecord]:
    return rec.e2e


def _plain_args(args: dict[str, Any]) -> dict[str, Any]:
    """Binding arguments with long strings as str (pamqp may hand back bytes)."""
    return {k: _text(v) for k, v in args.items()}


def _text(value: Any) -> Any:
    # any bytes may arrive (a long string is not checked as UTF-8 on the wire)
    return value.decode("utf-8", "surrogateescape") if isinstance(value, bytes | bytearray) else value


def _ready(counts: QueueCounts | StreamCounts) -> int:
    for attr in ("visible", "ready", "messages", "available"):
        value = getattr(counts, attr, None)
        if isinstance(value, int):
            return value
    return 0
