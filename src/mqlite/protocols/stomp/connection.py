"""One STOMP connection: CONNECT and heart-beating, frame dispatch, deliveries, ERROR.

Owns the connection's state machine: before CONNECT/STOMP only those frames are
accepted; CONNECT negotiates the version (the highest common of `accept-version`, 1.0
when absent), checks login/passcode against the broker's one user model (as the AMQP
front-end does: guest from loopback only, failed logins throttled) and the vhost named
by `host` (absent = `/`), and answers CONNECTED with `session`, `heart-beat`, `server`
and `version`. Heart-beats follow RabbitMQ: the server sends every `cy` ms and expects
something every `cx` ms, both rounded to whole seconds (at least one); a peer silent
for twice its interval is closed. Commands are handled in `commands.py`.

Errors: a frame error or a refused command gets one ERROR frame (RabbitMQ's message and
text, `receipt-id` when the frame asked for a receipt), then the connection is closed
as the STOMP spec requires ("the server MUST then close the connection"); what the
failed frame would have done is not done. The exception is a subscription whose queue
was deleted: an ERROR naming it, and the connection goes on (RabbitMQ).

Concurrency: the server's event loop; frames are handled in arrival order, a SEND's
routing starts synchronously (eager), its RECEIPT is sent when the message is stored.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import logging
import os
from typing import Any

import mqlite
from mqlite.errors import MqliteError
from mqlite.protocols.amqp.connection import delete_acked, login_allowed_from
from mqlite.protocols.amqp.entities import AmqpQueue
from mqlite.protocols.amqp.errors import AmqpError
from mqlite.protocols.amqp.properties import exchange_of, raw_properties_for
from mqlite.protocols.flow import Credit
from mqlite.protocols.stomp import commands
from mqlite.protocols.stomp import errors as E
from mqlite.protocols.stomp.destinations import format_destination
from mqlite.protocols.stomp.frames import (
    HEARTBEAT,
    Frame,
    FrameError,
    FrameParser,
    encode,
)
from mqlite.protocols.stomp.headers import delivery_headers
from mqlite.protocols.stomp.subscription import Subscription
from mqlite.protocols.transport import Connection, ConnectionRegistry
from mqlite.security import throttle

log = logging.getLogger("mqlite.stomp")

#: SENDs being routed on one connection before it stops reading (flow control).
INFLIGHT_HIGH = 4096
INFLIGHT_LOW = 1024


class Pending:
    """A delivery awaiting ACK/NACK."""

    __slots__ = ("queue", "receipt", "sub", "tag")

    def __init__(self, tag: int, sub: Subscription, queue: AmqpQueue, receipt: Any) -> None:
        self.tag = tag
        self.sub = sub
        self.queue = queue
        self.receipt = receipt


def negotiate(accept: str | None) -> str | None:
    """The highest version both sides speak (RabbitMQ's rule), None if there is none."""
    offered = [v.strip() for v in (accept or "1.0").split(",")]
    common = [v for v in offered if v in E.SUPPORTED]
    return max(common, key=lambda v: tuple(int(x) for x in v.split("."))) if common else None


def heart_beat(value: str | None) -> tuple[int, int]:
    """(send every, expect every) in ms for a client's `heart-beat: cx,cy`; RabbitMQ
    rounds each to whole seconds, at least one."""
    try:
        cx, cy = (int(x) for x in (value or "0,0").split(","))
    except ValueError:
        raise E.StompError("Bad CONNECT", f"Invalid heart-beat header: '{value}'") from None

    def secs(ms: int) -> int:
        return 0 if ms <= 0 else max(1, ms // 1000)

    return secs(cy) * 1000, secs(cx) * 1000


class StompConnection(Connection):
    """See module docstring."""

    def __init__(self, registry: ConnectionRegistry, broker: Any, settings: Any,
                 tasks: set[asyncio.Task[None]] | None = None) -> None:
        super().__init__(registry)
        self.broker = broker
        self.tasks: set[asyncio.Task[None]] = tasks if tasks is not None else set()
        self.settings = settings
        self.insecure = bool(getattr(settings, "insecure", False))
        self.max_request_bytes = int(getattr(settings, "amqp_max_message_size", 16 << 20)) + 65536
        self.parser = FrameParser(max_body=int(getattr(settings, "amqp_max_message_size", 16 << 20)))
        self.version: str | None = None
        self.user: str | None = None
        self.vhost = "/"
        self.session = ""
        self.closing = False
        self.disconnecting = False
        self.subs: dict[str, Subscription] = {}
        self.unacked: dict[int, Pending] = {}
        self.next_tag = 1
        self.leased: dict[int, Any] = {}
        self.txs: dict[str, list[Frame]] = {}
        self.declared: set[str] = set()
        self.reply_queues: dict[str, str] = {}
        self.inflight = 0  # SENDs awaiting their append
        self.sends = Credit(self, INFLIGHT_HIGH, INFLIGHT_LOW)
        self.batch: Any = None  # commands.SendBatch of this read
        self.acks: dict[Any, list[Any]] = {}  # queue -> receipts ACKed in this read
        self.idle_waiters: list[asyncio.Future[None]] = []
        self._send_every = 0.0
        self._expect_every = 0.0
        self._last_write = 0.0
        self._hb_handle: asyncio.TimerHandle | None = None

    # -- as the channel of the AMQP consumers behind subscriptions (subscription.py) --
    number = 0

    @property
    def conn(self) -> StompConnection:
        return self

    # -- transport hooks --------------------------------------------------------------
    @property
    def authenticated(self) -> bool:
        return self.user is not None

    @property
    def principal(self) -> str | None:
        return (self.user or None) if self.broker.auth_enabled else None

    def held_bytes(self) -> int:
        return self.parser.pending_bytes

    def on_data(self, data: bytes) -> None:
        if self.closing or self.disconnecting:
            return
        try:
            events = self.parser.feed(data)
        except FrameError as exc:
            self.fail(E.StompError(exc.message, exc.detail))
            return
        for event in events:
            if self.closing or self.disconnecting:
                break  # nothing after DISCONNECT or an ERROR is acted on
            if event is HEARTBEAT:
                continue
            assert isinstance(event, Frame)
            if self.batch is not None and event.command != "SEND":
                self.flush_batch()
            self.handle(event)
        self.flush_batch()
        self.flush_acks()

    def on_close(self, exc: Exception | None) -> None:
        self.flush_batch()
        self.flush_acks()  # before the leases are released: ACKed means deleted
        self.closing = True
        if self._hb_handle is not None:
            self._hb_handle.cancel()
        for sub in list(self.subs.values()):
            self.remove_subscription(sub)
        self.unacked.clear()
        for queue in self.leased.values():
            try:
                queue.release_owner(self)
            except MqliteError:
                pass
        self.leased.clear()
        self.broker.connection_closed(self)
        self._wake_idle()

    # -- dispatch ---------------------------------------------------------------------
    def handle(self, frame: Frame) -> None:
        try:
            if self.version is None:
                if frame.command in ("CONNECT", "STOMP"):
                    self.connect(frame)
                    return
                raise E.not_logged_in()
            commands.dispatch(self, frame)
        except E.StompError as exc:
            self.fail(exc, frame)
        except AmqpError as exc:
            self.fail(E.from_amqp(exc), frame)

    def fail(self, exc: E.StompError, frame: Frame | None = None) -> None:
        """Send ERROR, then close (flushing what was written)."""
        if self.closing:
            return
        self.flush_batch()  # the valid SENDs before the failed frame are kept
        log.info("stomp %s: ERROR %s: %s", self.peername, exc.title, exc.detail.strip())
        self.send_error(exc, frame)
        self.closing = True
        self.registry.aborted += 1
        self.close()

    def send_error(self, exc: E.StompError, frame: Frame | None = None, extra: tuple[tuple[str, str], ...] = ()) -> None:
        headers = [("message", exc.title), ("content-type", "text/plain"), ("version", ",".join(E.SUPPORTED)),
                   *extra]
        receipt = frame.get("receipt") if frame is not None else None
        if receipt is not None:
            headers.append(("receipt-id", receipt))
        self.write(encode("ERROR", headers, exc.detail.encode(), self.version or "1.0"))

    def write(self, data: bytes) -> None:
        self._last_write = self.loop.time()
        self.send(data)

    def receipt(self, frame: Frame) -> None:
        receipt = frame.get("receipt")
        if receipt is not None and not self.closing:
            self.write(encode("RECEIPT", [("receipt-id", receipt)], b"", self.version or "1.0"))

    # -- CONNECT ----------------------------------------------------------------------
    def connect(self, frame: Frame) -> None:
        version = negotiate(frame.get("accept-version"))
        if version is None:
            raise E.version_mismatch()
        send_every, expect_every = heart_beat(frame.get("heart-beat"))
        user = frame.get("login")
        passcode = frame.get("passcode")
        if user is None:
            user, passcode = "guest", "guest"  # RabbitMQ's default_login / default_passcode
        expected = self.broker.users.get(user)
        ok = expected is not None and passcode is not None and hmac.compare_digest(
            expected.encode(), passcode.encode()) and login_allowed_from(user, self.peername, self.insecure)
        if not ok:
            log.info("stomp %s: login refused for user %r", self.peername, user)
            self.closing = True
            delay = throttle.for_server(self.broker.core).failed(throttle.address_of(self.peername))
            self.loop.call_later(delay, self._refuse, E.access_refused(user))
            return
        vhost = frame.get("host") or "/"
        if vhost not in self.broker.vhosts:
            raise E.vhost_denied(vhost)
        self.version, self.user, self.vhost = version, user, vhost
        self.parser.version = version
        self.session = "session-" + base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")
        headers = [("server", f"mqlite/{mqlite.__version__}"), ("session", self.session),
                   ("heart-beat", f"{send_every},{expect_every}"), ("version", version)]
        self.write(encode("CONNECTED", headers, b"", version))
        self._send_every, self._expect_every = send_every / 1000, expect_every / 1000
        if send_every or expect_every:
            self._schedule_heartbeat()

    def _refuse(self, exc: E.StompError) -> None:
        self.closing = False
        self.fail(exc)

    # -- heart-beats ------------------------------------------------------------------
    def _schedule_heartbeat(self) -> None:
        steps = [s for s in (self._send_every, self._expect_every) if s]
        self._hb_handle = self.loop.call_later(min(steps) / 2, self._heartbeat_tick)

    def _heartbeat_tick(self) -> None:
        if self.closed or self.closing:
            return
        now = self.loop.time()
        if self._expect_every and now - self._last_read > 2 * self._expect_every:
            log.info("stomp %s: no heart-beat for %.1fs; closing", self.peername, now - self._last_read)
            self.abort()
            return
        if self._send_every and now - self._last_write >= self._send_every * 0.9:
            self.write(b"\n")
        self._schedule_heartbeat()

    # -- deliveries -------------------------------------------------------------------
    def deliver(self, sub: Subscription, queue: AmqpQueue, msgs: list[Any]) -> None:
        """MESSAGE frames for `msgs` in one write; pending deliveries for client acks."""
        out: list[bytes] = []
        version = self.version or "1.0"
        tag = self.next_tag
        for m in msgs:
            message_id = f"{sub.tag}@@{self.session}@@{tag}"
            headers: list[tuple[str, str]] = []
            if sub.sub_id is not None:
                headers.append(("subscription", sub.sub_id))
            # a message another protocol put in the queue has no routing key: the queue's name
            headers += [("destination", format_destination(exchange_of(m), m.routing_key or sub.qrec.name)),
                        ("message-id", message_id), ("redelivered", "true" if m.receive_count > 1 else "false")]
            if not sub.no_ack and version == "1.2":
                headers.append(("ack", message_id))
            own = {k for k, _ in headers}
            headers += [(k, v) for k, v in delivery_headers(raw_properties_for(m)) if k not in own]
            out.append(encode("MESSAGE", headers, m.body, version))
            if sub.no_ack:
                queue.delete(m.receipt)
            else:
                self.unacked[tag] = Pending(tag, sub, queue, m.receipt)
            tag += 1
        if not sub.no_ack:
            sub.unacked += tag - self.next_tag
            self.leased[id(queue)] = queue
        self.next_tag = tag
        self._last_write = self.loop.time()
        self.send_many(out)

    def settled(self, pendings: list[Pending]) -> None:
        for p in pendings:
            p.sub.unacked -= 1
            p.sub.poke()

    # -- subscriptions ----------------------------------------------------------------
    def remove_subscription(self, sub: Subscription) -> None:
        self.subs.pop(sub.tag, None)
        sub.stop()
        self.broker.consumer_removed(sub.qrec, sub)
        for other in list(sub.qrec.consumers.values()):
            other.poke()

    def server_cancel(self, sub: Subscription) -> None:
        """The queue went away (RabbitMQ: an ERROR naming the subscription; no close)."""
        self.remove_subscription(sub)
        if self.closing:
            return
        exc = E.StompError("Server cancelled subscription", "The server has canceled a subscription.\n"
                           f'No more messages will be delivered for "{sub.description}".\n')
        self.send_error(exc, None, (("subscription", sub.sub_id or sub.destination),))

    # -- DISCONNECT -------------------------------------------------------------------
    async def wait_idle(self) -> None:
        """Until every SEND in flight is stored."""
        while self.inflight and not self.closed:
            fut: asyncio.Future[None] = self.loop.create_future()
            self.idle_waiters.append(fut)
            await fut

    def _wake_idle(self) -> None:
        waiters, self.idle_waiters = self.idle_waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    def sending(self, n: int) -> None:
        self.inflight += n
        self.sends.update(self.inflight)

    def send_done(self, n: int) -> None:
        self.inflight -= n
        self.sends.update(self.inflight)
        if not self.inflight:
            self._wake_idle()

    def flush_acks(self) -> None:
        """Delete the messages ACKed during this read: one `delete_batch` per queue."""
        acks, self.acks = self.acks, {}
        delete_acked(acks)

    def flush_batch(self) -> None:
        batch, self.batch = self.batch, None
        if batch is not None:
            batch.flush()
