"""Outbound PUBLISH: from a session's queues to its client, QoS 0/1/2, within Receive Maximum.

`Outbound` runs one consumer task per queue the session reads (its own queue and each
shared-subscription queue it is a member of). A task leases messages with the session
as the lease owner (so leases outlive a reconnect), re-matches each against the
session's MQTT subscriptions (amq.topic's AMQP matching is wider: `#` also reaches
`$SYS/...`), and sends it at min(published QoS, best matching subscription's QoS) with
the matching Subscription Identifiers (5.0), honouring No Local and Retain As
Published. QoS 0 is acknowledged to the queue when written; QoS 1 on PUBACK; QoS 2 on
PUBREC, after which the packet id waits for PUBCOMP in `Session.out_rel` (persisted).
A QoS 2 PUBLISH of a persistent session is recorded by (queue, offset), so after a
restart the same message is sent again with the same packet id and DUP (no duplicate
at a Method A receiver). In-flight (PUBLISH or PUBREL) never exceeds the client's
Receive Maximum; a message larger than the client's Maximum Packet Size is dropped
(MQTT 5.0 3.1.2.11.4). Concurrency: the server's event loop.
"""

from __future__ import annotations

import asyncio
import logging
import math
from typing import TYPE_CHECKING, Any

from mqlite.core.errors import QueueNotFound
from mqlite.protocols.mqtt import codec as C
from mqlite.protocols.mqtt.crossing import META_CLIENT, publish_facts
from mqlite.protocols.mqtt.retained import RetainedMessage
from mqlite.protocols.mqtt.sessions import Inflight, Session, Sub, shared_queue_name
from mqlite.protocols.mqtt.topics import matches

if TYPE_CHECKING:
    from mqlite.core.api import Message, Queue
    from mqlite.protocols.mqtt.connection import MqttConnection

log = logging.getLogger("mqlite.mqtt")

MAX_BATCH = 256
POLL_WAIT = 5.0


class Outbound:
    """See module docstring."""

    def __init__(self, conn: MqttConnection, session: Session) -> None:
        self.conn = conn
        self.session = session
        self.sessions = conn.broker.sessions
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.receiving: set[str] = set()
        self.active = True
        self.reserved = 0
        self.wake = asyncio.Event()

    def start(self) -> None:
        """Resend what the last connection left unacknowledged, then start consuming."""
        s, conn = self.session, self.conn
        for entry in s.inflight.values():  # MQTT 4.4: same packet ids, DUP set
            packet = entry.packet
            conn.send(bytes((packet[0] | 0x08,)) + packet[1:])
        for pid in sorted(s.out_rel):
            conn.send(C.encode_ack(conn.version, C.PUBREL, pid))
        own = self.sessions.find_queue(s)
        if own is not None:
            self.watch(own)
        for queue in self.sessions.shared_queues(s):
            self.watch(queue)

    def watch(self, queue: Queue) -> None:
        if self.active and queue.name not in self.tasks:
            task = asyncio.get_running_loop().create_task(self.run(queue))
            self.tasks[queue.name] = task
            every = self.conn.broker.delivery_tasks  # cancelled at shutdown, even once stopped
            every.add(task)
            task.add_done_callback(every.discard)

    def stop(self) -> None:
        """Stop consuming. A task parked on `wake` is cancelled; one inside a long poll is
        not (see the AMQP consumer): it releases what the poll returns (at shutdown the
        broker cancels every task, `MqttBroker.delivery_tasks`)."""
        self.active = False
        for name, task in self.tasks.items():
            if name not in self.receiving:
                task.cancel()
        self.tasks.clear()
        self.wake.set()

    def credit(self) -> int:
        s = self.session
        return min(MAX_BATCH, self.conn.client_receive_max - len(s.inflight) - len(s.out_rel) - self.reserved)

    async def run(self, queue: Queue) -> None:
        s, conn = self.session, self.conn
        try:
            while self.active:
                n = self.credit()
                if n <= 0:
                    self.wake.clear()
                    await self.wake.wait()
                    continue
                self.reserved += n
                self.receiving.add(queue.name)
                try:
                    msgs = await queue.receive(n, POLL_WAIT, math.inf, owner=s)
                finally:
                    self.reserved -= n
                    self.receiving.discard(queue.name)
                if not self.active or s.conn is not conn or queue.deleted:
                    for m in reversed(msgs):
                        if not queue.deleted:
                            queue.release(m.receipt)
                    return
                for m in msgs:
                    self.deliver(queue, m)
                if conn._write_paused:
                    await conn.drain()
        except asyncio.CancelledError:
            pass
        except (ConnectionError, QueueNotFound):
            pass
        except Exception:
            log.exception("mqtt delivery from %s failed", queue.name)
        finally:
            if self.tasks.get(queue.name) is asyncio.current_task():
                del self.tasks[queue.name]

    def _subs_for(self, queue: Queue, topic: str) -> list[Sub]:
        s = self.session
        if queue.name == s.queue_name:
            return [x for x in s.subs.values() if x.group is None and matches(x.filter, topic)]
        return [x for x in s.subs.values() if x.group is not None and shared_queue_name(x.group, x.inner) == queue.name]

    def deliver(self, queue: Queue, m: Message) -> None:
        s, conn = self.session, self.conn
        now = conn.broker.now_ms()
        topic, pqos, pretain, props = publish_facts(m, now)
        subs = self._subs_for(queue, topic)
        origin = m.meta.get(META_CLIENT)
        if origin is not None and bytes(origin).decode() == s.client_id:
            subs = [x for x in subs if not x.no_local]
        if not subs:  # e.g. `$SYS/x` reached through `#`, or a No Local echo
            queue.delete(m.receipt)
            return
        qos = min(pqos, max(x.qos for x in subs))
        retain = pretain and any(x.retain_as_published for x in subs)
        ids = sorted({x.sub_id for x in subs if x.sub_id})
        if ids:
            props[C.SUBSCRIPTION_ID] = ids
        raw = C.encode_props(props) if conn.version == 5 else b""
        pid, dup = None, False
        if qos:
            key = (queue.name, m.offset)
            restored = s.restored_qos2.pop(f"{key[0]}\0{key[1]}", None) if qos == 2 else None
            if restored is not None and restored not in s.inflight and restored not in s.out_rel:
                pid, dup = restored, True
            else:
                pid = s.new_packet_id()
        packet = C.encode_publish(conn.version, topic, m.body, qos, retain, dup, pid, raw)
        if len(packet) > conn.client_max_packet:
            queue.delete(m.receipt)
            return
        conn.queue_send(packet)
        if not qos:
            queue.delete(m.receipt)
            return
        assert pid is not None
        s.inflight[pid] = Inflight(packet, queue, m.receipt, qos)
        if qos == 2 and s.persistent:
            s.out_qos2[pid] = f"{queue.name}\0{m.offset}"  # type: ignore[assignment]
            self.sessions.save(s)

    def send_retained(self, msg: RetainedMessage, sub: Sub, now: int) -> None:
        """A retained message for a new subscription (RETAIN set, MQTT 3.3.1.3)."""
        s, conn = self.session, self.conn
        qos = min(msg.qos, sub.qos)
        props = msg.props_now(now)
        if sub.sub_id:
            props[C.SUBSCRIPTION_ID] = [sub.sub_id]
        pid = s.new_packet_id() if qos else None
        raw = C.encode_props(props) if conn.version == 5 else b""
        packet = C.encode_publish(conn.version, msg.topic, msg.payload, qos, True, False, pid, raw)
        if len(packet) > conn.client_max_packet:
            return
        conn.send(packet)
        if pid is not None:
            s.inflight[pid] = Inflight(packet, None, "", qos)

    def acked(self, p: C.Ack) -> None:
        """PUBACK, PUBREC or PUBCOMP from the client."""
        s, conn = self.session, self.conn
        pid = p.packet_id
        entry = s.inflight.get(pid)
        if p.kind == C.PUBACK:
            if entry is None or entry.qos != 1:
                return  # unknown id: nothing to do (MQTT 4.3.2)
            del s.inflight[pid]
            self._settle(entry)
        elif p.kind == C.PUBREC:
            if entry is not None and entry.qos == 2:
                del s.inflight[pid]
                self._settle(entry)
                s.out_qos2.pop(pid, None)
                if p.reason < 0x80:
                    s.out_rel.add(pid)
                    conn.send(C.encode_ack(conn.version, C.PUBREL, pid))
                self.sessions.save(s)
            elif pid in s.out_rel:
                conn.send(C.encode_ack(conn.version, C.PUBREL, pid))
            else:
                conn.send(C.encode_ack(conn.version, C.PUBREL, pid, C.PACKET_ID_NOT_FOUND))
        elif p.kind == C.PUBCOMP:
            if pid in s.out_rel:
                s.out_rel.discard(pid)
                self.sessions.save(s)
        self.wake.set()

    @staticmethod
    def _settle(entry: Inflight) -> None:
        if entry.queue is not None and not entry.queue.deleted:
            entry.queue.delete(entry.receipt)
