"""MQTT sessions over core: one durable queue per session bound to amq.topic, as RabbitMQ does.

Owns every session of the listener (`SessionStore`): its subscriptions, its queue
(`mqtt-subscription-<client id>qos1`, bound to the `amq.topic` router once per filter
with the filter as an AMQP topic key), the shared-subscription queues
(`mqtt-shared-<group>-<filter>`, one per group and filter, consumed by every member),
the packet-identifier state that must outlive a connection (inbound QoS 2 ids awaiting
PUBREL, outbound ids awaiting PUBCOMP, outbound QoS 2 publishes by queue offset), the
session expiry timers, and the client-id registry used for session takeover.

Persistence (catalog kv `mqtt/sessions`, key = client id): a session that outlives its
connection (3.1.1 Clean Session 0; 5.0 Session Expiry > 0) is written on every change
of its subscriptions or packet-id state; its queue and bindings are durable core
objects, so queued messages and subscriptions survive a restart. A clean session's
queue is transient and deleted with it.

Invariants: one connection at most per session (`Session.conn`); a session's queue
exists while the session does; leases of in-flight deliveries are owned by the
session, so they survive a reconnect and are sent again with their packet ids.
Concurrency: the server's event loop only.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mqlite.core.errors import CoreError
from mqlite.core.router import Destination, DestinationKind
from mqlite.protocols.mqtt.topics import split_shared, to_routing_key

if TYPE_CHECKING:
    from mqlite.core.api import BrokerCore, Queue, Router

log = logging.getLogger("mqlite.mqtt")

NS_SESSIONS = "mqtt/sessions"
EXCHANGE = "amq.topic"
NEVER = 0xFFFFFFFF  # Session Expiry Interval meaning "does not expire"


@dataclass(slots=True)
class Sub:
    """One subscription of a session (the filter as subscribed, `$share/...` included)."""

    filter: str
    qos: int
    no_local: bool = False
    retain_as_published: bool = False
    retain_handling: int = 0
    sub_id: int | None = None
    group: str | None = None  # shared subscription group
    inner: str = ""  # the filter without `$share/<group>/`

    def to_list(self) -> list[Any]:
        return [self.filter, self.qos, self.no_local, self.retain_as_published, self.retain_handling, self.sub_id]

    @classmethod
    def from_list(cls, row: list[Any]) -> Sub:
        group, inner = split_shared(row[0])
        return cls(row[0], row[1], row[2], row[3], row[4], row[5], group, inner)


@dataclass(slots=True, eq=False)
class Inflight:
    """An outbound QoS 1/2 PUBLISH awaiting its PUBACK/PUBREC."""

    packet: bytes  # the PUBLISH as first sent (DUP set when sent again)
    queue: Queue | None = None  # the core queue it was leased from (None: a retained message)
    receipt: str = ""
    qos: int = 1


@dataclass(slots=True, eq=False)
class Session:
    client_id: str
    queue_name: str
    expiry: int = 0  # seconds the session outlives its connection (NEVER: forever)
    subs: dict[str, Sub] = field(default_factory=dict)
    in_qos2: set[int] = field(default_factory=set)  # inbound ids awaiting PUBREL
    out_rel: set[int] = field(default_factory=set)  # outbound ids awaiting PUBCOMP
    out_qos2: dict[int, str] = field(default_factory=dict)  # outbound QoS 2 id -> "queue\0offset"
    restored_qos2: dict[str, int] = field(default_factory=dict)  # "queue\0offset" -> id, after a restart
    inflight: dict[int, Inflight] = field(default_factory=dict)
    next_id: int = 1
    conn: Any = None
    expiry_timer: Any = None
    ended: bool = False

    @property
    def persistent(self) -> bool:
        return self.expiry > 0

    def new_packet_id(self) -> int:
        inflight, out_rel = self.inflight, self.out_rel  # probed, not copied: O(1) per id
        for _ in range(65535):
            pid = self.next_id
            self.next_id = pid % 65535 + 1
            if pid not in inflight and pid not in out_rel:
                return pid
        raise RuntimeError("no free packet identifier")

    def to_dict(self) -> dict[str, Any]:
        return {"expiry": self.expiry, "subs": [s.to_list() for s in self.subs.values()],
                "in2": sorted(self.in_qos2), "rel": sorted(self.out_rel),
                "out2": {str(k): v for k, v in self.out_qos2.items()}, "at": int(time.time())}


def queue_name_for(client_id: str) -> str:
    name = f"mqtt-subscription-{client_id}qos1"
    if len(name.encode()) > 255:  # AMQP's short string limit on queue names
        name = "mqtt-subscription-" + hashlib.sha256(client_id.encode()).hexdigest() + "qos1"
    return name


def shared_queue_name(group: str, inner: str) -> str:
    name = f"mqtt-shared-{group}-{inner}"
    if len(name.encode()) > 255:
        name = "mqtt-shared-" + hashlib.sha256(f"{group}\0{inner}".encode()).hexdigest()
    return name


class SessionStore:
    """Every MQTT session of one listener (see module docstring)."""

    def __init__(self, core: BrokerCore) -> None:
        self.core = core
        self.catalog = core.catalog
        self.sessions: dict[str, Session] = {}
        self.shared_holders: dict[str, set[str]] = {}  # shared queue name -> client ids
        self.router = self.topic_router()

    def topic_router(self) -> Router:
        router = self.core.routers.find(EXCHANGE)
        if router is None or router.deleted:  # the AMQP front-end makes the same one (same kind and config)
            router = self.core.create_router(EXCHANGE, "topic", {"durable": True})
        return router

    # -- start-up -------------------------------------------------------------------------
    def restore(self, on_expired: Any) -> None:
        """Sessions kept by the last run; those whose expiry passed while down end now."""
        if self.catalog is None:
            return
        now = int(time.time())
        for client_id, row in self.catalog.kv_items(NS_SESSIONS):
            s = Session(client_id, queue_name_for(client_id), int(row.get("expiry", 0)))
            s.subs = {r[0]: Sub.from_list(r) for r in row.get("subs", [])}
            s.in_qos2 = set(row.get("in2", []))
            s.out_rel = set(row.get("rel", []))
            s.restored_qos2 = {str(where): int(pid) for pid, where in row.get("out2", {}).items()}
            self.sessions[client_id] = s
            for sub in s.subs.values():
                if sub.group is not None:
                    self.shared_holders.setdefault(shared_queue_name(sub.group, sub.inner), set()).add(client_id)
            left = s.expiry - (now - int(row.get("at", now)))
            if s.expiry != NEVER and left <= 0:
                self.end(s)
            elif s.expiry != NEVER:
                on_expired(s, left)
        for name in self.core.list_queues("mqtt-subscription-"):  # clean sessions cut by a crash
            if name not in {x.queue_name for x in self.sessions.values()}:
                self._delete_queue(name)

    # -- lifecycle ----------------------------------------------------------------------------
    def open(self, client_id: str, clean: bool, expiry: int) -> tuple[Session, bool]:
        """The session for a CONNECT: (session, session present)."""
        s = self.sessions.get(client_id)
        if s is not None and clean:
            self.end(s)
            s = None
        present = s is not None
        if s is None:
            s = Session(client_id, queue_name_for(client_id))
            self.sessions[client_id] = s
        if s.expiry_timer is not None:
            s.expiry_timer.cancel()
            s.expiry_timer = None
        s.expiry = expiry
        self.save(s)  # the queue is made by the first subscription (idle clients cost no log)
        return s, present

    def queue(self, s: Session) -> Queue:
        return self._queue(s.queue_name)

    def find_queue(self, s: Session) -> Queue | None:
        try:
            return self.core.get_queue(s.queue_name)
        except CoreError:
            return None

    def _queue(self, name: str) -> Queue:
        try:
            return self.core.get_queue(name)
        except CoreError:
            return self.core.create_queue(name, None, name_rule="amqp")

    def end(self, s: Session) -> None:
        """The session ends: its queue, bindings and stored state go."""
        s.ended = True
        if s.expiry_timer is not None:
            s.expiry_timer.cancel()
            s.expiry_timer = None
        for sub in list(s.subs.values()):
            self.unsubscribe(s, sub.filter)
        for entry in s.inflight.values():
            if entry.queue is not None and not entry.queue.deleted:
                entry.queue.release(entry.receipt)
        s.inflight.clear()
        self._delete_queue(s.queue_name)
        if self.sessions.get(s.client_id) is s:
            del self.sessions[s.client_id]
        if self.catalog is not None:
            self.catalog.kv_delete(NS_SESSIONS, s.client_id)

    def _delete_queue(self, name: str) -> None:
        try:
            self.core.delete_queue(name)
        except CoreError:
            pass
        self.core.routers.remove_destination(Destination(DestinationKind.QUEUE, name))

    def save(self, s: Session) -> None:
        if self.catalog is not None and s.persistent and not s.ended:
            self.catalog.kv_put(NS_SESSIONS, s.client_id, s.to_dict())

    # -- subscriptions ------------------------------------------------------------------------
    def subscribe(self, s: Session, sub: Sub) -> tuple[bool, Queue]:
        """Add or replace a subscription: (it existed before, the queue it fills)."""
        existed = sub.filter in s.subs
        s.subs[sub.filter] = sub
        if sub.group is not None:
            qname = shared_queue_name(sub.group, sub.inner)
            holders = self.shared_holders.setdefault(qname, set())
            holders.add(s.client_id)
            queue = self._queue(qname)
        else:
            qname = s.queue_name
            queue = self.queue(s)
        self.router.bind_key(Destination(DestinationKind.QUEUE, qname), to_routing_key(sub.inner or sub.filter))
        return existed, queue

    def unsubscribe(self, s: Session, flt: str) -> bool:
        sub = s.subs.pop(flt, None)
        if sub is None:
            return False
        key = to_routing_key(sub.inner or sub.filter)
        if sub.group is not None:
            qname = shared_queue_name(sub.group, sub.inner)
            holders = self.shared_holders.get(qname, set())
            holders.discard(s.client_id)
            if not holders:
                self.shared_holders.pop(qname, None)
                self._delete_queue(qname)
            return True
        self.router.unbind_key(Destination(DestinationKind.QUEUE, s.queue_name), key)
        return True

    def shared_queues(self, s: Session) -> list[Queue]:
        names = {shared_queue_name(sub.group, sub.inner) for sub in s.subs.values() if sub.group is not None}
        return [self._queue(n) for n in sorted(names)]
