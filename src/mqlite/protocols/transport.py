"""The one asyncio transport every TCP front-end (Kafka, AMQP, RESP) stands on.

Owns: accepting connections, flow control, idle timeouts and connection bookkeeping,
written once so the front-ends hold only protocol logic. A front-end subclasses
`Connection` and implements `on_data(data)` (feed its sans-IO codec, dispatch events)
and optionally `on_close(exc)`. Writing is `send(bytes)`; a handler that produces a
lot awaits `drain()`, which blocks while the kernel buffer is over the high-water mark
(asyncio's `pause_writing`/`resume_writing`; `write_blocked` says so). Flow control is
written here once, with named reasons (`flow.Pause`: client buffer, resource alarm,
credit, read budget): `pause_reading(reason)`/`resume_reading(reason)`, reading resumes
only when no reason is left; a front-end keeps its work in flight under a
`flow.Credit` (`self.credit(high, low)`), and one that must not read a peer that does
not read its replies calls `pause_while_client_buffer_full()`. A front-end that buffers partial requests overrides `held_bytes()`
(the bytes they are declared to need) and calls `account()` when that changes (after
every read it is called for it): the registry's `ReadBudget` then reserves them or
pauses the connection (`read_budget.py`). Every accepted connection first passes the
server's `ConnectionGuard` (descriptor reserve, per-listener and per-address caps) or is
closed at once; one that is still not `authenticated` after `unauthenticated_timeout`
seconds is closed (`limits.py`).

TLS: `listen(..., ssl_context=ctx)` serves TLS (see `tls_accept`); a failed handshake is
logged once with the client's address and the reason. On a plaintext listener, a client
whose first bytes are a TLS ClientHello is told nothing and closed, with one log line.

Concurrency: everything here runs on the server's one event loop; nothing blocks.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from typing import Any

from mqlite.protocols.flow import Credit, Pause
from mqlite.protocols.limits import ServerLimits

log = logging.getLogger("mqlite.transport")


class Connection(asyncio.Protocol):
    """One client connection. Subclasses implement `on_data`; see module docstring."""

    #: Seconds without any received byte before the connection is closed; None = never.
    idle_timeout: float | None = None
    #: The largest single request the protocol allows (the read budget lets a connection
    #: alone go over the budget up to this); front-ends set it from their caps.
    max_request_bytes: int = 0

    def __init__(self, registry: ConnectionRegistry) -> None:
        self.registry = registry
        self.transport: asyncio.Transport | None = None
        self.peername: Any = None
        self.sockname: Any = None
        self.closed = False
        self._write_paused = False
        self._drain_waiters: list[asyncio.Future[None]] = []
        self._idle_handle: asyncio.TimerHandle | None = None
        self._last_read = 0.0
        self._first_read = True
        self.tls = False  # the transport is TLS (set at connection_made)
        self._pauses: set[Pause] = set()
        self._address: str | None = None  # set once admitted by the connection guard
        self.loop = asyncio.get_event_loop()

    # -- asyncio.Protocol -------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Duck-typed: uvloop's TCPTransport is not a subclass of asyncio.Transport.
        self.transport = transport  # type: ignore[assignment]
        self.peername = transport.get_extra_info("peername")
        self.sockname = transport.get_extra_info("sockname")
        self.tls = transport.get_extra_info("sslcontext") is not None
        limits = self.registry.limits
        if limits is not None:
            address = str(self.peername[0]) if self.peername else ""
            sock = transport.get_extra_info("socket")
            if not limits.guard.admit(self.registry.name, address, sock.fileno() if sock is not None else 0):
                self.closed = True
                transport.abort()  # type: ignore[attr-defined]
                return
            self._address = address
            if limits.unauthenticated_timeout and not self.authenticated:
                self.loop.call_later(limits.unauthenticated_timeout, self._check_authenticated)
        self.registry.add(self)
        self._last_read = self.loop.time()
        if self.idle_timeout:
            self._idle_handle = self.loop.call_later(self.idle_timeout, self._check_idle)
        self.on_connect()

    def data_received(self, data: bytes) -> None:
        self._last_read = self.loop.time()
        if self._first_read:
            self._first_read = False
            if not self.tls and data[:2] == b"\x16\x03":  # a TLS record: handshake
                log.info("%s %s: TLS handshake on a plaintext port; closing", self.registry.name, self.peername)
                self.abort()
                return
        try:
            self.on_data(data)
        except Exception:  # a bug in a handler must cost one connection, not the server
            log.exception("connection %s: handler failed; closing", self.peername)
            self.abort()
            return
        if self.registry.limits is not None and not self.closed:
            self.account()

    def eof_received(self) -> bool | None:
        return None  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        limits = self.registry.limits
        if limits is not None and self._address is None:
            return  # refused by the connection guard: nothing was set up
        self.closed = True
        self.registry.discard(self)
        if limits is not None:
            limits.budget.forget(self)
            limits.guard.release(self.registry.name, self._address or "")
        if self._idle_handle:
            self._idle_handle.cancel()
        self._wake_drainers(exc or ConnectionResetError("connection lost"))
        self.on_close(exc)

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        self._wake_drainers(None)
        self.resume_reading(Pause.CLIENT_BUFFER)

    # -- for subclasses ---------------------------------------------------------------
    def on_connect(self) -> None:
        """Called once the transport is up."""

    def on_data(self, data: bytes) -> None:
        raise NotImplementedError

    def on_close(self, exc: Exception | None) -> None:
        """Called once when the connection is gone, whoever closed it."""

    def send(self, data: bytes | bytearray | memoryview) -> None:
        if self.transport is not None and not self.closed:
            self.transport.write(data)

    def send_many(self, chunks: list[bytes]) -> None:
        if self.transport is not None and not self.closed:
            self.transport.writelines(chunks)

    async def drain(self) -> None:
        """Wait while the peer is not reading fast enough (write buffer over limit)."""
        if self.closed:
            raise ConnectionResetError("connection closed")
        if not self._write_paused:
            return
        fut: asyncio.Future[None] = self.loop.create_future()
        self._drain_waiters.append(fut)
        await fut

    @property
    def write_blocked(self) -> bool:
        """The peer is not reading fast enough: a writer should `await drain()`."""
        return self._write_paused

    def pause_while_client_buffer_full(self) -> None:
        """Stop reading while the peer does not read what we send (`Pause.CLIENT_BUFFER`,
        lifted by `resume_writing`): RESP calls it after each reply, as Redis stops
        serving a client that does not read; Kafka and AMQP writers `await drain()`."""
        if self._write_paused:
            self.pause_reading(Pause.CLIENT_BUFFER)

    def pause_reading(self, reason: Pause) -> None:
        """Stop reading for `reason` (see `flow.Pause`); a no-op if it already holds."""
        first = not self._pauses
        self._pauses.add(reason)
        if first and self.transport is not None and not self.closed:
            self.transport.pause_reading()

    def resume_reading(self, reason: Pause) -> None:
        """Lift `reason`; reading resumes when no other reason holds."""
        if reason not in self._pauses:
            return
        self._pauses.discard(reason)
        if not self._pauses and self.transport is not None and not self.closed:
            self.transport.resume_reading()

    @property
    def reading_paused_for(self) -> frozenset[Pause]:
        """Why reading is paused now (empty = reading)."""
        return frozenset(self._pauses)

    def credit(self, high: int, low: int) -> Credit:
        """A `flow.Credit` over this connection: `update(level)` pauses reading
        (`Pause.CREDIT`) at `high` work in flight and resumes below `low`."""
        return Credit(self, high, low)

    def held_bytes(self) -> int:
        """Bytes this connection's partial requests are declared to need (see module doc)."""
        return 0

    def account(self) -> None:
        """Report `held_bytes()` to the read budget (reserve, release or pause)."""
        limits = self.registry.limits
        if limits is not None and not self.closed:
            limits.budget.update(self, self.held_bytes())

    @property
    def authenticated(self) -> bool:
        """Whether the peer has logged in (front-ends with authentication override)."""
        return True

    def _check_authenticated(self) -> None:
        if self.closed or self.authenticated:
            return
        limits = self.registry.limits
        log.info("connection %s not authenticated after %.0fs; closing", self.peername,
                 limits.unauthenticated_timeout if limits else 0)
        self.abort()

    def evict(self, reason: str) -> None:
        """The read budget cut this connection off; a front-end may say so first."""
        self.abort()

    def close(self) -> None:
        """Flush what was sent, then close."""
        if self.transport is not None and not self.closed:
            self.transport.close()

    def abort(self) -> None:
        """Close at once, dropping unsent bytes."""
        if self.transport is not None and not self.closed:
            self.registry.aborted += 1
            self.transport.abort()

    @property
    def write_buffer_size(self) -> int:
        return self.transport.get_write_buffer_size() if self.transport else 0

    # -- internals --------------------------------------------------------------------
    def _wake_drainers(self, exc: Exception | None) -> None:
        waiters, self._drain_waiters = self._drain_waiters, []
        for fut in waiters:
            if not fut.done():
                if exc is None:
                    fut.set_result(None)
                else:
                    fut.set_exception(exc)

    def _check_idle(self) -> None:
        if self.closed or not self.idle_timeout:
            return
        idle = self.loop.time() - self._last_read
        if idle >= self.idle_timeout:
            log.info("connection %s idle for %.1fs; closing", self.peername, idle)
            self.on_idle_timeout()
            return
        self._idle_handle = self.loop.call_later(self.idle_timeout - idle, self._check_idle)

    def on_idle_timeout(self) -> None:
        """Default: drop the peer. AMQP overrides to send its heartbeat-timeout close."""
        self.abort()


class ConnectionRegistry:
    """The live connections of one listener, so shutdown can close them all."""

    def __init__(self, name: str = "", limits: ServerLimits | None = None) -> None:
        self.connections: set[Connection] = set()
        self.name = name  # the listener's name, for log lines
        self.limits = limits
        self.accepted = 0  # connections opened since start (metrics)
        self.aborted = 0  # connections the server cut off: bad frames, failed auth, idle

    def add(self, conn: Connection) -> None:
        self.connections.add(conn)
        self.accepted += 1

    def discard(self, conn: Connection) -> None:
        self.connections.discard(conn)

    def close_all(self) -> None:
        for conn in list(self.connections):
            conn.close()


class Listener:
    """A bound TCP listener and its connections; what `start_*` functions return."""

    def __init__(self, name: str, server: asyncio.base_events.Server, registry: ConnectionRegistry) -> None:
        self.name = name
        self.server = server
        self.registry = registry

    @property
    def port(self) -> int:
        return int(self.server.sockets[0].getsockname()[1])

    @property
    def host(self) -> str:
        return str(self.server.sockets[0].getsockname()[0])

    async def close(self) -> None:
        self.server.close()
        self.registry.close_all()
        await self.server.wait_closed()


async def listen(
    name: str, host: str, port: int, factory: Callable[[ConnectionRegistry], Connection],
    ssl_context: ssl.SSLContext | None = None, owner: Any = None, limits: ServerLimits | None = None,
) -> Listener:
    """Bind `host:port` (0 = a free port) and serve `factory(registry)` per connection,
    over TLS when `ssl_context` is given (failed handshakes count as failed logins of
    `owner`'s server, see `mqlite.security.throttle`); `limits` are the server's
    (`limits.for_server`), None = unbounded."""
    registry = ConnectionRegistry(name, limits)
    if limits is not None:
        limits.guard.add_listener(name)
    loop = asyncio.get_running_loop()
    if ssl_context is None:
        server = await loop.create_server(lambda: factory(registry), host, port, reuse_address=True)
    else:
        from mqlite.protocols.tls_accept import TlsAccept

        server = await loop.create_server(
            lambda: TlsAccept(name, ssl_context, lambda: factory(registry), owner), host, port,
            reuse_address=True)
    listener = Listener(name, server, registry)
    log.info("%s listening on %s:%d%s", name, listener.host, listener.port, " (TLS)" if ssl_context else "")
    return listener
