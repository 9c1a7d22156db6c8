"""CONNECT, PUBLISH, PUBACK/PUBREC/PUBREL/PUBCOMP, SUBSCRIBE, UNSUBSCRIBE, PINGREQ, DISCONNECT.

One MQTT 3.1.1 / 5.0 client connection on the shared transport: bytes go through the
sans-IO `codec.Parser`; each packet is handled here against the connection's session
(`sessions.Session`) and the listener's `MqttBroker`; deliveries to the client are
`delivery.Outbound`'s.

Errors (MQTT 5.0 4.13, 3.1.1 4.8): a violation before CONNECT is accepted is answered
with CONNACK and its reason code (5.0; 3.1.1's return code where one exists) and a
close; after, 5.0 clients get DISCONNECT with the reason code and a reason string,
3.1.1 clients a close. Nothing from a refused packet is stored or routed.
Inbound QoS 1 acknowledgements are sent in arrival order once the message is routed
(durable under the server's fsync policy); the PUBLISHes decoded from one read are
routed as one batch (one append per destination queue), before any other packet of
that read is handled; QoS 2 is Method A (route on PUBLISH,
remember the packet id until PUBREL), the ids kept in the session, so a resent PUBLISH
after a reconnect or restart is not routed twice.
Concurrency: the server's event loop only.
"""

from __future__ import annotations

import logging
import uuid
from collections import deque
from typing import Any

from mqlite.protocols.amqp import eager
from mqlite.protocols.flow import Credit, Pause
from mqlite.protocols.mqtt import codec as C
from mqlite.protocols.mqtt import topics
from mqlite.protocols.mqtt.broker import (
    RECEIVE_MAXIMUM,
    TOPIC_ALIAS_MAXIMUM,
    MqttBroker,
)
from mqlite.protocols.mqtt.delivery import Outbound
from mqlite.protocols.mqtt.sessions import NEVER, Session, Sub
from mqlite.protocols.transport import Connection, ConnectionRegistry
from mqlite.security import throttle

log = logging.getLogger("mqlite.mqtt")

INFLIGHT_HIGH = 4096  # routed-but-unacknowledged publishes before reading pauses
INFLIGHT_LOW = 1024


class MqttConnection(Connection):
    """See module docstring."""

    def __init__(self, registry: ConnectionRegistry, broker: MqttBroker) -> None:
        super().__init__(registry)
        self.broker = broker
        self.parser = C.Parser(broker.max_packet)
        self.max_request_bytes = broker.max_packet
        self.version = 4
        self.session: Session | None = None
        self.principal: str | None = None
        self.will: C.Will | None = None
        self.will_delay = 0
        self.client_receive_max = 65535
        self.client_max_packet = C.MAX_PACKET
        self.aliases: dict[int, str] = {}
        self.acks: deque[list[Any]] = deque()  # [bytes | None] in arrival order
        self.inflight = 0  # publishes being routed
        self.inbound_unacked = 0  # QoS > 0 publishes not yet acknowledged (Receive Maximum)
        self.outbound: Outbound | None = None
        self.taken_over = False
        self.normal_disconnect = False
        self.out: list[bytes] = []  # packets written at the end of this loop iteration
        self.publish_credit = Credit(self, INFLIGHT_HIGH, INFLIGHT_LOW)
        # PUBLISHes of the current read, routed together by `flush_publishes`
        self.batch: list[tuple[str, bytes, int, bool, C.Props]] = []
        self.batch_done: list[Any] = []

    def queue_send(self, packet: bytes) -> None:
        """Write `packet` with the others of this loop iteration (one syscall, not one each)."""
        if not self.out:
            self.loop.call_soon(self.flush)
        self.out.append(packet)

    def flush(self) -> None:
        out, self.out = self.out, []
        if out:
            self.send_many(out)

    def send(self, data: bytes | bytearray | memoryview) -> None:
        """Write now, after what `queue_send` holds (packets keep their order)."""
        if self.out:
            self.flush()
        super().send(data)

    @property
    def authenticated(self) -> bool:
        return self.session is not None

    # -- transport -----------------------------------------------------------------------------
    def held_bytes(self) -> int:
        return self.parser.pending

    def on_data(self, data: bytes) -> None:
        try:
            packets = self.parser.feed(data)
        except C.MqttError as exc:
            self.fail(exc.reason, exc.text)
            return
        try:
            for packet in packets:
                if self.closed:
                    return
                if self.batch and not isinstance(packet, C.Publish):
                    self.flush_publishes()  # what came before it is routed before it runs
                try:
                    self.handle(packet)
                except C.MqttError as exc:
                    self.flush_publishes()
                    self.fail(exc.reason, exc.text)
                    return
        finally:
            self.flush_publishes()

    def flush_publishes(self) -> None:
        """Route the gathered PUBLISHes in one batch (`MqttBroker.publish_many`); each
        one's `done` runs after the batch is appended (and durable), in order."""
        items, dones = self.batch, self.batch_done
        if not items:
            return
        self.batch, self.batch_done = [], []
        s = self.session
        client_id = s.client_id if s is not None else ""

        def all_done(routed: Any, exc: BaseException | None) -> None:
            for i, done in enumerate(dones):
                done(routed[i] if exc is None else None, exc)

        eager.start(self.broker.publish_many(items, client_id), all_done)

    def on_idle_timeout(self) -> None:
        self.fail(C.KEEP_ALIVE_TIMEOUT, "keep alive timeout")

    def on_close(self, exc: Exception | None) -> None:
        s = self.session
        if s is None or s.conn is not self:
            return
        s.conn = None
        if self.outbound is not None:
            self.outbound.stop()
        broker = self.broker
        if self.will is not None and not self.normal_disconnect:
            delay = self.will_delay if self.version == 5 else 0
            if s.expiry != NEVER:
                delay = min(delay, s.expiry)
            broker.will_later(s.client_id, self.will, delay if not self.taken_over or s.persistent else 0)
        if s.expiry == 0 or s.ended:
            broker.sessions.end(s)
        else:
            broker.sessions.save(s)
            broker.expire_later(s, s.expiry)

    def fail(self, reason: int, text: str) -> None:
        """Answer a protocol violation (see module docstring) and close."""
        if self.closed:
            return
        log.info("mqtt %s: %s (reason 0x%02X); closing", self.peername, text, reason)
        if self.version == 5:
            if self.session is None:
                self.send(C.encode_connack(5, False, reason if reason >= 0x80 else C.UNSPECIFIED_ERROR,
                                           {C.REASON_STRING: text}))
            else:
                self.send(C.encode_disconnect(reason, {C.REASON_STRING: text}))
        elif self.session is None and reason == C.UNSUPPORTED_PROTOCOL_VERSION:
            self.send(C.encode_connack(4, False, 0x01))  # 3.1.1: unacceptable protocol version
        self.close()

    # -- dispatch ------------------------------------------------------------------------------
    def handle(self, p: Any) -> None:
        if self.session is None:
            if not isinstance(p, C.Connect):
                raise C.MqttError(C.PROTOCOL_ERROR, "the first packet must be CONNECT")
            self.connect(p)
        elif isinstance(p, C.Publish):
            self.publish(p)
        elif isinstance(p, C.Ack):
            self.ack(p)
        elif isinstance(p, C.Subscribe):
            self.subscribe(p)
        elif isinstance(p, C.Unsubscribe):
            self.unsubscribe(p)
        elif isinstance(p, C.PingReq):
            self.send(C.PINGRESP_BYTES)
        elif isinstance(p, C.Disconnect):
            self.disconnect(p)
        elif isinstance(p, C.Connect):
            raise C.MqttError(C.PROTOCOL_ERROR, "second CONNECT on one connection")
        else:
            raise C.MqttError(C.PROTOCOL_ERROR, "AUTH without an authentication method")

    # -- CONNECT -------------------------------------------------------------------------------
    def connect(self, p: C.Connect) -> None:
        """CONNECT: authenticate, take over or open the session, CONNACK, resend in-flight."""
        self.version = v = p.version
        v5 = v == 5
        if v == 3:
            self.version = 4  # 3.1 and 3.1.1 share the wire format a server writes
        if C.AUTH_METHOD in p.props:
            self.refuse(C.BAD_AUTH_METHOD, 0x04, "enhanced authentication is not supported")
            return
        client_id = p.client_id
        assigned = None
        if not client_id:
            if not p.clean and not v5:
                self.refuse(C.CLIENT_ID_NOT_VALID, 0x02, "empty client identifier needs a clean session")
                return
            client_id = assigned = "mqlite-" + uuid.uuid4().hex
        users = self.broker.users
        if users.enabled:
            user = users.check(p.username or "", p.password or b"") if p.username is not None else None
            if user is None:
                wait = throttle.for_server(self.broker.core).failed(throttle.address_of(self.peername))
                self.loop.call_later(wait, self.refuse, C.BAD_USERNAME_OR_PASSWORD, 0x04,
                                     "bad user name or password")
                self.pause_reading(Pause.CREDIT)  # nothing more is read: the refusal closes
                return
            self.principal = user.name
        if p.will is not None:
            if not topics.valid_name(p.will.topic):
                raise C.MqttError(C.TOPIC_NAME_INVALID, f"invalid will topic {p.will.topic!r}")
            if not self.broker.allowed(self.principal, "write"):
                self.refuse(C.NOT_AUTHORIZED, 0x05, "not authorized to publish the will")
                return
        props = p.props
        if v5:
            expiry = int(props.get(C.SESSION_EXPIRY, 0))
            if props.get(C.RECEIVE_MAXIMUM) == 0 or props.get(C.MAXIMUM_PACKET_SIZE) == 0:
                raise C.MqttError(C.PROTOCOL_ERROR, "Receive Maximum or Maximum Packet Size of 0")
            self.client_receive_max = props.get(C.RECEIVE_MAXIMUM, 65535)
            self.client_max_packet = props.get(C.MAXIMUM_PACKET_SIZE, C.MAX_PACKET)
        else:
            expiry = 0 if p.clean else NEVER
        store = self.broker.sessions
        old = store.sessions.get(client_id)
        if old is not None and old.conn is not None:  # session takeover (MQTT 4.1.3)
            prev = old.conn
            prev.taken_over = True
            if prev.version == 5:
                prev.send(C.encode_disconnect(C.SESSION_TAKEN_OVER, {C.REASON_STRING: "session taken over"}))
            prev.on_close(None)  # hand the session over now, not when the socket goes
            prev.session = None
            prev.close()
        if p.clean:  # the old session ends now: its delayed will goes (MQTT 5.0 3.1.3.2.2)
            self.broker.fire_will(client_id)
        else:
            self.broker.cancel_will(client_id)
        s, present = store.open(client_id, p.clean, expiry)
        s.conn = self
        self.session = s
        self.will = p.will
        self.will_delay = int(p.will.props.get(C.WILL_DELAY, 0)) if p.will is not None else 0
        ack_props: C.Props = {}
        if v5:
            ack_props = {C.RECEIVE_MAXIMUM: RECEIVE_MAXIMUM, C.TOPIC_ALIAS_MAXIMUM: TOPIC_ALIAS_MAXIMUM,
                         C.MAXIMUM_PACKET_SIZE: self.broker.max_packet, C.RETAIN_AVAILABLE: 1,
                         C.WILDCARD_SUB_AVAILABLE: 1, C.SUB_ID_AVAILABLE: 1, C.SHARED_SUB_AVAILABLE: 1}
            if assigned is not None:
                ack_props[C.ASSIGNED_CLIENT_ID] = assigned
        self.send(C.encode_connack(v, present, C.SUCCESS, ack_props))
        if p.keep_alive:  # MQTT 3.1.2.10: one and a half times the keep alive
            self.idle_timeout = p.keep_alive * 1.5
            if self._idle_handle is not None:
                self._idle_handle.cancel()
            self._idle_handle = self.loop.call_later(self.idle_timeout, self._check_idle)
        self.outbound = Outbound(self, s)
        self.outbound.start()

    def refuse(self, reason5: int, code3: int, text: str) -> None:
        """CONNACK with a failure and close (MQTT 3.2.2.3)."""
        if self.closed:
            return
        log.info("mqtt %s: connection refused: %s", self.peername, text)
        if self.version == 5:
            self.send(C.encode_connack(5, False, reason5, {C.REASON_STRING: text}))
        else:
            self.send(C.encode_connack(4, False, code3))
        self.close()

    # -- PUBLISH (inbound) ---------------------------------------------------------------------
    def publish(self, p: C.Publish) -> None:
        """PUBLISH from the client: topic alias, checks, retain, route, acknowledge in order."""
        s = self.session
        assert s is not None
        topic = p.topic
        alias = p.props.get(C.TOPIC_ALIAS)
        if alias is not None:
            if alias == 0 or alias > TOPIC_ALIAS_MAXIMUM:
                raise C.MqttError(C.TOPIC_ALIAS_INVALID, f"topic alias {alias} out of range")
            if topic:
                self.aliases[alias] = topic
            else:
                found = self.aliases.get(alias)
                if found is None:
                    raise C.MqttError(C.PROTOCOL_ERROR, f"topic alias {alias} not set")
                topic = found
        if not topics.valid_name(topic):
            raise C.MqttError(C.TOPIC_NAME_INVALID, f"invalid topic name {topic!r}")
        qos, pid = p.qos, p.packet_id
        if qos and self.version == 5 and self.inbound_unacked >= RECEIVE_MAXIMUM:
            raise C.MqttError(C.RECEIVE_MAXIMUM_EXCEEDED, "more unacknowledged QoS 1 and 2 publishes than Receive Maximum")
        kind = C.PUBACK if qos == 1 else C.PUBREC
        if qos == 2 and pid in s.in_qos2:
            if p.dup or self.version != 5:  # a resend: already routed (Method A)
                self._ack_now(kind, pid, C.SUCCESS)
            else:
                self._ack_now(kind, pid, C.PACKET_ID_IN_USE, "packet identifier in use")
            return
        if p.props.get(C.PAYLOAD_FORMAT) == 1:
            try:
                p.payload.decode("utf-8")
            except UnicodeDecodeError:
                if qos:
                    self._ack_now(kind, pid or 0, C.PAYLOAD_FORMAT_INVALID, "payload is not UTF-8")
                return
        if not self.broker.allowed(self.principal, "write"):
            if self.version != 5:
                raise C.MqttError(C.NOT_AUTHORIZED, f"not authorized to publish to {topic!r}")
            if qos:
                self._ack_now(kind, pid or 0, C.NOT_AUTHORIZED, f"not authorized to publish to {topic!r}")
            return
        entry: list[Any] | None = None
        if qos:
            entry = [None]
            self.acks.append(entry)
            self.inbound_unacked += 1
            if qos == 2:
                s.in_qos2.add(pid)  # type: ignore[arg-type]
        self.inflight += 1
        self.publish_credit.update(self.inflight)

        def done(routed: Any, exc: BaseException | None) -> None:
            self.inflight -= 1
            self.publish_credit.update(self.inflight)
            if entry is None:
                return
            if exc is not None:
                log.error("mqtt %s: publish to %r failed: %s", self.peername, topic, exc)
                self.inbound_unacked -= 1
                if qos == 2:
                    s.in_qos2.discard(pid)  # type: ignore[arg-type]
                entry[0] = C.encode_ack(self.version, kind, pid or 0, C.UNSPECIFIED_ERROR)
            else:
                if qos == 2:
                    self.broker.sessions.save(s)
                if qos == 1:
                    self.inbound_unacked -= 1
                reason = C.NO_MATCHING_SUBSCRIBERS if not routed else C.SUCCESS
                entry[0] = C.encode_ack(self.version, kind, pid or 0, reason)
            self._flush_acks()

        self.batch.append((topic, p.payload, qos, p.retain, p.props))
        self.batch_done.append(done)

    def _ack_now(self, kind: int, pid: int, reason: int, text: str | None = None) -> None:
        props = {C.REASON_STRING: text} if text and self.version == 5 else None
        self.acks.append([C.encode_ack(self.version, kind, pid, reason, props)])
        self._flush_acks()

    def _flush_acks(self) -> None:
        acks = self.acks
        out = []
        while acks and acks[0][0] is not None:
            out.append(acks.popleft()[0])
        for packet in out:
            self.queue_send(packet)

    # -- acknowledgements -------------------------------------------------------------------
    def ack(self, p: C.Ack) -> None:
        s = self.session
        assert s is not None
        if p.kind == C.PUBREL:  # the client releases an inbound QoS 2 message
            if p.packet_id in s.in_qos2:
                s.in_qos2.discard(p.packet_id)
                self.inbound_unacked = max(0, self.inbound_unacked - 1)
                self.broker.sessions.save(s)
                self.send(C.encode_ack(self.version, C.PUBCOMP, p.packet_id))
            else:
                self.send(C.encode_ack(self.version, C.PUBCOMP, p.packet_id, C.PACKET_ID_NOT_FOUND))
            return
        assert self.outbound is not None
        self.outbound.acked(p)

    # -- SUBSCRIBE / UNSUBSCRIBE ---------------------------------------------------------------
    def subscribe(self, p: C.Subscribe) -> None:
        """SUBSCRIBE: validate each filter, bind it, SUBACK, then the retained messages."""
        s = self.session
        assert s is not None and self.outbound is not None
        sub_ids = p.props.get(C.SUBSCRIPTION_ID) or []
        if 0 in sub_ids or len(sub_ids) > 1:
            raise C.MqttError(C.PROTOCOL_ERROR, "invalid Subscription Identifier")
        sub_id = sub_ids[0] if sub_ids else None
        v5 = self.version == 5
        codes: list[int] = []
        retained: list[tuple[Sub, bool]] = []
        for want in p.subscriptions:
            try:
                group, inner = topics.split_shared(want.filter)
            except ValueError:
                codes.append(C.TOPIC_FILTER_INVALID if v5 else 0x80)
                continue
            if not topics.valid_filter(inner):
                codes.append(C.TOPIC_FILTER_INVALID if v5 else 0x80)
                continue
            if group is not None and want.no_local:
                raise C.MqttError(C.PROTOCOL_ERROR, "No Local on a shared subscription")
            if not self.broker.allowed(self.principal, "read"):
                codes.append(C.NOT_AUTHORIZED if v5 else 0x80)
                continue
            sub = Sub(want.filter, want.qos, want.no_local, want.retain_as_published, want.retain_handling,
                      sub_id, group, inner if group is not None else "")
            existed, queue = self.broker.sessions.subscribe(s, sub)
            self.outbound.watch(queue)
            codes.append(want.qos)
            if group is None and (sub.retain_handling == 0 or (sub.retain_handling == 1 and not existed)):
                retained.append((sub, existed))
        self.broker.sessions.save(s)
        self.send(C.encode_suback(self.version, p.packet_id, codes))
        now = self.broker.now_ms()
        for sub, _ in retained:
            for msg in self.broker.retained.matching(sub.filter, now):
                self.outbound.send_retained(msg, sub, now)

    def unsubscribe(self, p: C.Unsubscribe) -> None:
        """UNSUBSCRIBE: unbind each filter; 5.0 says which had no subscription."""
        s = self.session
        assert s is not None
        codes = [C.SUCCESS if self.broker.sessions.unsubscribe(s, f) else C.NO_SUBSCRIPTION_EXISTED
                 for f in p.filters]
        self.broker.sessions.save(s)
        self.send(C.encode_unsuback(self.version, p.packet_id, codes))

    # -- DISCONNECT ------------------------------------------------------------------------------
    def disconnect(self, p: C.Disconnect) -> None:
        """DISCONNECT: a normal one discards the will (5.0: unless reason 0x04)."""
        s = self.session
        assert s is not None
        expiry = p.props.get(C.SESSION_EXPIRY)
        if expiry is not None:
            if s.expiry == 0 and expiry:
                raise C.MqttError(C.PROTOCOL_ERROR, "Session Expiry set on DISCONNECT after 0 on CONNECT")
            s.expiry = expiry
        self.normal_disconnect = p.reason != C.DISCONNECT_WITH_WILL
        self.close()
