"""Connection.Start/StartOk/Tune/TuneOk/Open/Close/UpdateSecret, heartbeats, Blocked, channel dispatch.

Owns one client connection's state machine (`states.py`: the enum and its transition
table, checked on every move):

    HEADER -> (Start sent) START_OK -> (Tune sent) TUNE_OK -> OPEN -> OPENED -> CLOSING

Start advertises product `mqlite`, its version, mechanisms `PLAIN AMQPLAIN` and the
capabilities RabbitMQ clients check. Users come from `Settings.amqp_users`; `guest` may
log in from loopback only (RabbitMQ's `loopback_users`). Heartbeats: we send one every
half interval and close a peer silent for two intervals. UpdateSecret on an open
connection is answered UpdateSecretOk (RabbitMQ's internal backend keeps the user; the
secret matters only to token backends, which mqlite has not). A channel error sends
Channel.Close and ignores that channel until Close-Ok; a connection error sends
Connection.Close and ignores everything but Close-Ok (frame errors close at once
after the Close, since the stream can no longer be parsed).

Concurrency: the server's event loop. `on_data` parses and dispatches synchronously.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import struct
import time
from typing import TYPE_CHECKING, Any

from pamqp import commands
from pamqp import decode as pdecode

import mqlite
from mqlite.core import alarms
from mqlite.errors import MqliteError
from mqlite.protocols.amqp import basic, eager, exchanges, queues
from mqlite.protocols.amqp import errors as E
from mqlite.protocols.amqp.channel import Channel
from mqlite.protocols.amqp.frames import (
    HEARTBEAT_FRAME,
    MAX_MESSAGE_SIZE,
    PROTOCOL_HEADER,
    BadProtocolHeader,
    ChannelFault,
    FrameError,
    FrameReader,
    HeartbeatEvent,
    MethodEvent,
    ProtocolHeaderEvent,
    Publish,
    encode_method,
)
from mqlite.protocols.amqp.observed import action_of, entity_of
from mqlite.protocols.amqp.states import CAN_CLOSE, ENDING, GONE, HANDSHAKE, ConnState, check
from mqlite.protocols.flow import Pause
from mqlite.protocols.transport import Connection, ConnectionRegistry
from mqlite.security import throttle
from mqlite.settings import Settings

if TYPE_CHECKING:
    from mqlite.protocols.amqp.broker import AmqpBroker

log = logging.getLogger("mqlite.amqp")

CHANNEL_MAX = 2047
#: Publishes in flight on one connection before it stops reading (`flow.Credit`).
INFLIGHT_HIGH = 4096
INFLIGHT_LOW = 1024
CAPABILITIES = {
    "publisher_confirms": True,
    "exchange_exchange_bindings": True,
    "basic.nack": True,
    "consumer_cancel_notify": True,
    "connection.blocked": True,
    "consumer_priorities": True,
    "authentication_failure_close": True,
    "per_consumer_qos": True,
    "direct_reply_to": True,
}

HANDLERS: dict[type, Any] = {**exchanges.HANDLERS, **queues.HANDLERS, **basic.HANDLERS}


class AmqpConnection(Connection):
    """See module docstring."""

    def __init__(self, registry: ConnectionRegistry, broker: AmqpBroker, settings: Settings) -> None:
        super().__init__(registry)
        self.broker = broker
        self.settings = settings
        self.server_frame_max = int(getattr(settings, "amqp_frame_max", 131072))
        self.server_heartbeat = int(getattr(settings, "amqp_heartbeat", 60))
        self.settings_insecure = bool(getattr(settings, "insecure", False))
        self.reader = FrameReader(
            self.server_frame_max, int(getattr(settings, "amqp_max_message_size", MAX_MESSAGE_SIZE)), opened=False)
        self.frame_max = self.server_frame_max
        self.channel_max = CHANNEL_MAX
        self.heartbeat = 0
        self._state = ConnState.HEADER
        self.channels: dict[int, Channel] = {}
        self.closing_channels: set[int] = set()
        self.capabilities: dict[str, Any] = {}
        self.client_properties: dict[str, Any] = {}
        self.user = ""
        self.vhost = "/"
        self.inflight = 0  # publishes awaiting their append (confirm or not)
        self.publishes = self.credit(INFLIGHT_HIGH, INFLIGHT_LOW)  # flow control on them
        self.last_rx = 0.0
        self._hb_handle: Any = None
        self._blocked_sent = False
        self.batch: Any = None  # basic.PublishBatch being gathered during one on_data
        self.acks: dict[Any, list[str]] = {}  # queue -> receipts acked during one on_data

    @property
    def state(self) -> ConnState:
        return self._state

    @state.setter
    def state(self, new: ConnState) -> None:
        self._state = check(self._state, new)  # IllegalTransition: a bug, never a client's

    # -- transport hooks --------------------------------------------------------------
    @property
    def authenticated(self) -> bool:  # type: ignore[override]
        return self._state not in HANDSHAKE

    @property
    def max_request_bytes(self) -> int:  # type: ignore[override]
        return self.reader.max_message_size + self.frame_max

    def held_bytes(self) -> int:
        return self.reader.declared

    def on_connect(self) -> None:
        self.last_rx = self.loop.time()
        self.broker.connections.add(self)

    def on_data(self, data: bytes) -> None:
        if self._state in GONE:
            return
        self.last_rx = self.loop.time()
        try:
            events = self.reader.feed(data)
        except BadProtocolHeader:
            self.send(PROTOCOL_HEADER)
            self.state = ConnState.DEAD
            self.close()
            return
        except FrameError as exc:
            self.events_then_die(exc)
            return
        for ev in events:
            if self._state in GONE:
                return
            if type(ev) is not Publish:
                if self.batch is not None:
                    self.flush_batch()
                if self.acks and not (type(ev) is MethodEvent and type(ev.method) is _ACK):
                    self.flush_acks()
            started = time.perf_counter()
            try:
                try:
                    self.dispatch(ev)
                except Exception as exc:
                    reason = alarms.note_failure(self.broker.core, exc)
                    if reason is None or isinstance(exc, E.AmqpError):
                        raise
                    # a soft error, as RabbitMQ answers a method it lacks resources for
                    raise E.AmqpError(E.RESOURCE_ERROR, f"RESOURCE_ERROR - {reason}", *_ids(getattr(ev, "method", None))) from exc
            except E.AmqpError as err:
                self._observe(ev, str(err.code), started)
                channel = getattr(ev, "channel", 0)
                if err.hard or channel == 0:
                    self.connection_error(err)
                else:
                    ch = self.channels.get(channel)
                    if ch is not None:
                        self.channel_error(ch, err)
            else:
                self._observe(ev, None, started)
        if self.batch is not None:
            self.flush_batch()
        if self.acks:
            self.flush_acks()

    def _observe(self, ev: Any, error: str | None, started: float) -> None:
        action = action_of(ev)
        if action is not None:
            self.broker.observer.done("amqp", action, lambda: entity_of(ev), self.peername, error, started)

    def flush_acks(self) -> None:
        """Delete the messages acked during this read: one `delete_batch` per queue."""
        acks, self.acks = self.acks, {}
        delete_acked(acks)

    def flush_batch(self) -> None:
        """Send the gathered default-exchange publishes (see basic.PublishBatch)."""
        batch, self.batch = self.batch, None
        if batch is not None:
            batch.flush()  # publishes that preceded a channel error still count

    def events_then_die(self, exc: FrameError) -> None:
        """A framing error: the stream cannot be parsed further; Close, then drop."""
        if self._state in CAN_CLOSE:
            self.send(encode_method(0, commands.Connection.Close(
                reply_code=exc.reply_code, reply_text=exc.text[:255], class_id=exc.class_id,
                method_id=exc.method_id)))
        self.state = ConnState.DEAD
        self._teardown()
        self.close()

    def on_close(self, exc: Exception | None) -> None:
        self.state = ConnState.CLOSED
        self._teardown()

    def _teardown(self) -> None:
        if self._hb_handle is not None:
            self._hb_handle.cancel()
            self._hb_handle = None
        for ch in list(self.channels.values()):
            ch.cleanup()
        self.channels.clear()
        self.broker.connection_closed(self)

    def close(self) -> None:
        """Server shutdown (Listener.close) of an open connection: RabbitMQ's
        320 CONNECTION_FORCED, then close; internal closes have left 'opened' already."""
        if self._state is ConnState.OPENED and not self.closed:
            self.state = ConnState.DEAD
            self.send_method(0, commands.Connection.Close(
                reply_code=E.CONNECTION_FORCED,
                reply_text="CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'",
                class_id=0, method_id=0))
        super().close()

    # -- output -----------------------------------------------------------------------
    def send_method(self, channel: int, method: Any) -> None:
        self.send(encode_method(channel, method))

    # -- dispatch ---------------------------------------------------------------------
    def dispatch(self, ev: Any) -> None:
        if type(ev) is Publish:
            ch = self.channels.get(ev.channel)
            if ch is None or ch.closing:
                if ev.channel in self.closing_channels:
                    return
                raise E.AmqpError(E.CHANNEL_ERROR, "CHANNEL_ERROR - expected 'channel.open'", 60, 40)
            basic.publish(ch, ev)
            return
        if type(ev) is MethodEvent:
            if ev.channel == 0:
                self._connection_method(ev.method)
            else:
                self._channel_method(ev.channel, ev.method)
            return
        if type(ev) is HeartbeatEvent:
            return
        if type(ev) is ChannelFault:
            if ev.channel not in self.channels:
                raise E.AmqpError(E.CHANNEL_ERROR, "CHANNEL_ERROR - expected 'channel.open'", 60, 40)
            raise E.AmqpError(ev.reply_code, ev.text, ev.class_id, ev.method_id)
        if type(ev) is ProtocolHeaderEvent:
            self._send_start()

    def _channel_method(self, number: int, m: Any) -> None:
        if self._state is not ConnState.OPENED:
            if self._state is ConnState.CLOSING:
                return
            raise E.AmqpError(E.COMMAND_INVALID, f"COMMAND_INVALID - unexpected method {m.name} before connection.open")
        if number in self.closing_channels:
            if isinstance(m, commands.Channel.CloseOk):
                self.closing_channels.discard(number)
                self.reader.resume_channel(number)
            elif isinstance(m, commands.Channel.Close):
                self.send_method(number, commands.Channel.CloseOk())
            return
        ch = self.channels.get(number)
        if isinstance(m, commands.Channel.Open):
            if ch is not None:
                raise E.AmqpError(E.CHANNEL_ERROR, "CHANNEL_ERROR - second 'channel.open' seen", 20, 10)
            if number > self.channel_max:
                raise E.AmqpError(
                    E.NOT_ALLOWED,
                    f"NOT_ALLOWED - channel number {number} exceeds the negotiated channel_max {self.channel_max}",
                    20, 10)
            self.channels[number] = Channel(self, number)
            self.send_method(number, commands.Channel.OpenOk())
            return
        if ch is None:
            raise E.AmqpError(E.CHANNEL_ERROR, "CHANNEL_ERROR - expected 'channel.open'", *_ids(m))
        if isinstance(m, commands.Channel.Close):
            ch.cleanup()
            del self.channels[number]
            self.reader.discard_channel(number)
            self.send_method(number, commands.Channel.CloseOk())
            return
        if isinstance(m, commands.Channel.CloseOk):
            return
        handler = HANDLERS.get(type(m))
        if handler is None:
            raise E.AmqpError(E.COMMAND_INVALID, f"COMMAND_INVALID - unexpected method {m.name} on a channel", *_ids(m))
        try:
            handler(ch, m)
        except E.AmqpError as err:
            if not err.class_id:
                err.class_id, err.method_id = _ids(m)
            raise

    # -- errors -----------------------------------------------------------------------
    def channel_error(self, ch: Channel, err: E.AmqpError) -> None:
        """Soft error: Channel.Close with the reply; the channel is dead until Close-Ok."""
        if err.hard:
            self.connection_error(err)
            return
        if self.channels.get(ch.number) is not ch:
            return
        log.debug("channel %d error: %s", ch.number, err.text)
        ch.cleanup()
        del self.channels[ch.number]
        self.reader.discard_channel(ch.number, ignore=True)
        self.closing_channels.add(ch.number)
        self.send_method(ch.number, commands.Channel.Close(
            reply_code=err.code, reply_text=err.text, class_id=err.class_id, method_id=err.method_id))

    def connection_error(self, err: E.AmqpError) -> None:
        """Hard error: Connection.Close; everything but Close-Ok is then ignored."""
        if self._state in ENDING:
            return
        log.debug("connection error: %s", err.text)
        self.registry.aborted += 1
        self.send_method(0, commands.Connection.Close(
            reply_code=err.code, reply_text=err.text, class_id=err.class_id, method_id=err.method_id))
        self.state = ConnState.CLOSING
        for ch in list(self.channels.values()):
            ch.cleanup()
        self.channels.clear()
        self.loop.call_later(5.0, self._force_close)

    def _force_close(self) -> None:
        if not self.closed:
            self.abort()

    @property
    def principal(self) -> str | None:
        """The authenticated user's name; None while auth is off (guest mode)."""
        return self.user or None if self.broker.auth_enabled else None

    # -- connection class -------------------------------------------------------------
    def _send_start(self) -> None:
        props = {
            "product": "mqlite",
            "version": getattr(mqlite, "__version__", "0.1.0"),
            "platform": "Python",
            "copyright": "mqlite contributors",
            "information": "Licensed under the Apache License 2.0",
            "cluster_name": "mqlite",
            "capabilities": dict(CAPABILITIES),
        }
        self.send_method(0, commands.Connection.Start(
            version_major=0, version_minor=9, server_properties=props,  # type: ignore[arg-type]
            mechanisms="PLAIN AMQPLAIN", locales="en_US"))
        self.state = ConnState.START_OK

    def _connection_method(self, m: Any) -> None:
        state = self._state
        if state is ConnState.CLOSING:
            if isinstance(m, commands.Connection.CloseOk | commands.Connection.Close):
                if isinstance(m, commands.Connection.Close):
                    self.send_method(0, commands.Connection.CloseOk())
                self.state = ConnState.DEAD
                self.close()
            return
        if isinstance(m, commands.Connection.StartOk) and state is ConnState.START_OK:
            self._start_ok(m)
        elif isinstance(m, commands.Connection.TuneOk) and state is ConnState.TUNE_OK:
            self._tune_ok(m)
        elif isinstance(m, commands.Connection.Open) and state is ConnState.OPEN:
            self._open(m)
        elif isinstance(m, commands.Connection.Close):
            self.send_method(0, commands.Connection.CloseOk())
            self.state = ConnState.DEAD
            self._teardown()
            self.close()
        elif isinstance(m, commands.Connection.CloseOk):
            self.state = ConnState.DEAD
            self.close()
        elif isinstance(m, commands.Connection.Blocked | commands.Connection.Unblocked):
            return
        elif isinstance(m, commands.Connection.UpdateSecret) and state is ConnState.OPENED:
            # RabbitMQ's internal (password) backend keeps the user and answers OK: the
            # secret matters to token backends (OAuth 2), which mqlite does not have
            log.info("amqp: %s updated its secret (%s)", self.user, m.reason)
            self.send_method(0, commands.Connection.UpdateSecretOk())
        else:
            raise E.AmqpError(E.COMMAND_INVALID, f"COMMAND_INVALID - unexpected method {m.name} in state {state.value}", *_ids(m))

    def _start_ok(self, m: Any) -> None:
        self.client_properties = dict(m.client_properties or {})
        caps = self.client_properties.get("capabilities") or {}
        self.capabilities = dict(caps) if isinstance(caps, dict) else {}
        user, password = _credentials(m.mechanism, m.response)
        expected = self.broker.users.get(user) if user is not None else None
        ok = expected is not None and password is not None and hmac.compare_digest(
            expected.encode(), password.encode())
        if ok and not login_allowed_from(user, self.peername, self.settings_insecure):
            ok = False
        if not ok:
            text = (f"ACCESS_REFUSED - Login was refused using authentication mechanism {m.mechanism}. "
                    "For details see the broker logfile.")
            if user is None:
                text = f"ACCESS_REFUSED - unsupported authentication mechanism '{m.mechanism}'"
            log.info("amqp %s: login refused for user %r (mechanism %s)", self.peername, user, m.mechanism)
            self.state = ConnState.DEAD
            delay = throttle.for_server(self.broker.core).failed(throttle.address_of(self.peername))
            self.loop.call_later(delay, self._refuse_login, text)
            return
        self.user = user or ""
        self.send_method(0, commands.Connection.Tune(
            channel_max=CHANNEL_MAX, frame_max=self.server_frame_max, heartbeat=self.server_heartbeat))
        self.state = ConnState.TUNE_OK

    def _refuse_login(self, text: str) -> None:
        """Connection.Close 403 ACCESS_REFUSED, then close (after the throttle's delay)."""
        self.send_method(0, commands.Connection.Close(reply_code=E.ACCESS_REFUSED, reply_text=text,
                                                      class_id=10, method_id=11))
        self.close()

    def _tune_ok(self, m: Any) -> None:
        if m.frame_max and m.frame_max < 4096:
            raise E.AmqpError(E.NOT_ALLOWED, f"NOT_ALLOWED - frame_max={m.frame_max} < 4096 min size", 10, 31)
        if m.frame_max > self.server_frame_max:
            raise E.AmqpError(E.NOT_ALLOWED, f"NOT_ALLOWED - frame_max={m.frame_max} > {self.server_frame_max} max size", 10, 31)
        self.frame_max = m.frame_max or self.server_frame_max
        self.reader.frame_max = self.frame_max
        self.channel_max = m.channel_max or CHANNEL_MAX
        self.heartbeat = m.heartbeat
        if self.heartbeat:
            self._hb_handle = self.loop.call_later(self.heartbeat / 2, self._heartbeat_tick)
        self.state = ConnState.OPEN

    def _open(self, m: Any) -> None:
        vhost = m.virtual_host or "/"
        if vhost not in self.broker.vhosts:
            raise E.AmqpError(E.NOT_ALLOWED, f"NOT_ALLOWED - vhost {vhost} not found", 10, 40)
        self.vhost = vhost
        self.state = ConnState.OPENED
        self.reader.opened = True  # the negotiated frame_max and publishing from now on
        self.send_method(0, commands.Connection.OpenOk())

    # -- heartbeats and blocking ------------------------------------------------------
    def _heartbeat_tick(self) -> None:
        self._hb_handle = None
        if self.closed or self._state in GONE:
            return
        silent = self.loop.time() - self.last_rx
        if silent > 2 * self.heartbeat:
            log.info("missed heartbeats from client %s, timeout: %ds", self.peername, self.heartbeat)
            self.state = ConnState.DEAD
            self._teardown()
            self.abort()
            return
        self.send(HEARTBEAT_FRAME)
        self._hb_handle = self.loop.call_later(self.heartbeat / 2, self._heartbeat_tick)

    def block_publisher(self, reason: str) -> None:
        """RabbitMQ's resource alarms: a connection that publishes while one holds is
        told (Connection.Blocked) and then not read until it clears."""
        self.set_blocked(reason)
        self.pause_reading(Pause.RESOURCE_ALARM)

    def set_blocked(self, reason: str | None) -> None:
        """Connection.Blocked / Unblocked (when the client supports it); when the alarm
        clears, a blocked publisher is read again."""
        if not reason:
            self.resume_reading(Pause.RESOURCE_ALARM)
        if not self.capabilities.get("connection.blocked") or self._state is not ConnState.OPENED:
            return
        if reason and not self._blocked_sent:
            self._blocked_sent = True
            self.send_method(0, commands.Connection.Blocked(reason=reason))
        elif not reason and self._blocked_sent:
            self._blocked_sent = False
            self.send_method(0, commands.Connection.Unblocked())


_ACK = commands.Basic.Ack


def _ack_done(_: Any, exc: BaseException | None) -> None:
    if exc is not None and not isinstance(exc, MqliteError):
        log.warning("acknowledgement failed: %r", exc)


def delete_acked(acks: dict[Any, list[Any]]) -> None:
    """Delete acknowledged messages, queue -> receipts: one `delete_batch` per queue
    (also the STOMP front-end's ACK)."""
    for queue, receipts in acks.items():
        try:
            if len(receipts) == 1:
                queue.delete(receipts[0])
            else:
                eager.start(queue.delete_batch(receipts), _ack_done)
        except MqliteError:
            pass  # the queue was deleted meanwhile


def _ids(m: Any) -> tuple[int, int]:
    index = getattr(m, "index", 0)
    return index >> 16, index & 0xFFFF


def _credentials(mechanism: str, response: Any) -> tuple[str | None, str | None]:
    raw = response.encode("utf-8") if isinstance(response, str) else bytes(response or b"")
    if mechanism == "PLAIN":
        parts = raw.split(b"\x00")
        if len(parts) != 3:
            return "", None
        return parts[1].decode("utf-8", "replace"), parts[2].decode("utf-8", "replace")
    if mechanism == "AMQPLAIN":
        try:
            _, table = pdecode.field_table(len(raw).to_bytes(4, "big") + raw)
        except (ValueError, IndexError, struct.error, UnicodeDecodeError):
            return "", None
        login, password = table.get("LOGIN"), table.get("PASSWORD")
        if isinstance(login, bytes | bytearray):
            login = bytes(login).decode()
        if isinstance(password, bytes | bytearray):
            password = bytes(password).decode()
        return str(login or ""), (None if password is None else str(password))
    return None, None


def login_allowed_from(user: str | None, peer: Any, insecure: bool) -> bool:
    """RabbitMQ's `loopback_users = [guest]`: guest logs in from loopback only, unless
    `--insecure` (the operator opened the broker to the network: `loopback_users = none`)."""
    return user != "guest" or insecure or _loopback(peer)


def _loopback(peer: Any) -> bool:
    try:
        host = peer[0] if isinstance(peer, tuple) else str(peer)
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except (ValueError, TypeError, IndexError):
        return isinstance(peer, str)  # unix socket
