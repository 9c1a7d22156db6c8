"""Kafka listener: length-prefixed frames in, handler dispatch, responses in request order.

Owns `start(core, settings, host, port) -> Listener` and `KafkaConnection`, the
`transport.Connection` subclass for one client socket.

Invariants (Kafka protocol guide, "network"): every request is an int32 size plus
payload; a frame over the size cap (`socket.request.max.bytes`, 100 MiB, or
`settings.kafka_max_frame_bytes`; before SASL completes, when users are configured,
`sasl.server.max.receive.size`, 512 KiB) closes the connection, as do an unknown API
key, an unparsable request, and a request other than ApiVersions/SASL before SASL
authentication when users are configured. Requests on one connection are processed
one at a time in arrival order (Kafka mutes a channel while a request is in flight),
so responses always leave in request order even when a handler awaits (long-poll
fetch, join-group); Produce with acks=0 sends no response. Responses to pipelined
requests are gathered and written together (one write for many small answers), but
never held back behind a request that may wait.

Concurrency: the server's one event loop. Each connection has at most one worker task
draining its queue of frames; reading pauses when the queue grows past a bound, and
when the server's read budget cannot reserve a partial frame's declared size plus the
queued frames (`read_budget.py`).
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections import deque

from mqlite.core.api import BrokerCore
from mqlite.protocols import limits
from mqlite.protocols.kafka.codec import FrameReader, FrameTooLarge
from mqlite.protocols.kafka.frontend import KafkaFrontEnd, Session
from mqlite.protocols.transport import Connection, ConnectionRegistry, Listener, listen
from mqlite.security import tls
from mqlite.settings import Settings

log = logging.getLogger("mqlite.kafka")

_QUEUE_HIGH = 64
_QUEUE_LOW = 8
# api keys (as the first two bytes of a frame) whose handler may wait: Fetch, JoinGroup,
# SyncGroup; responses gathered before one of these are sent first.
_MAY_WAIT = frozenset(struct.pack(">h", key) for key in (1, 11, 14))


class KafkaConnection(Connection):
    """One Kafka client connection; see module docstring."""

    idle_timeout = 600.0  # connections.max.idle.ms (10 minutes)

    def __init__(self, registry: ConnectionRegistry, frontend: KafkaFrontEnd) -> None:
        super().__init__(registry)
        self.frontend = frontend
        self.reader = FrameReader(frontend.max_frame_bytes)
        self.queue: deque[bytes] = deque()
        self.queued_bytes = 0
        self.worker: asyncio.Task[None] | None = None
        self.session: Session | None = None
        # requests queued behind the one being served: reading pauses above _QUEUE_HIGH
        self.backlog = self.credit(_QUEUE_HIGH + 1, _QUEUE_LOW)

    def on_connect(self) -> None:
        self.session = self.frontend.new_session(self.peername, self.sockname)
        if not self.session.authenticated:
            self.reader.max_frame = self.frontend.sasl_max_receive_bytes
            self.reader.rule = "sasl.server.max.receive.size"

    @property
    def authenticated(self) -> bool:  # type: ignore[override]
        return self.session is None or self.session.authenticated

    @property
    def max_request_bytes(self) -> int:  # type: ignore[override]
        return self.reader.max_frame + 4

    def held_bytes(self) -> int:
        return self.reader.declared + self.queued_bytes

    def on_data(self, data: bytes) -> None:
        reader = self.reader
        if reader.rule != "socket.request.max.bytes" and self.session is not None and self.session.authenticated:
            reader.max_frame, reader.rule = self.frontend.max_frame_bytes, "socket.request.max.bytes"
        try:
            frames = reader.feed(data)
        except FrameTooLarge as exc:
            log.warning("kafka %s: %s; closing", self.peername, exc)
            self.abort()
            return
        if not frames:
            return
        self.queued_bytes += sum(map(len, frames))
        self.queue.extend(frames)
        self.backlog.update(len(self.queue))
        if self.worker is None:
            self.worker = self.loop.create_task(self._work())

    async def _work(self) -> None:
        pending: list[bytes] = []
        try:
            queue = self.queue
            session = self.session
            assert session is not None
            dispatch = self.frontend.dispatch
            budget = self.registry.limits
            while queue and not self.closed:
                frame = queue.popleft()
                self.queued_bytes -= len(frame)
                if budget is not None:
                    self.account()
                self.backlog.update(len(queue))
                if pending and frame[:2] in _MAY_WAIT:
                    self._flush(pending)  # earlier answers must not wait behind a long poll
                out = await dispatch(session, frame)
                if isinstance(out, list):
                    pending.extend(out)
                elif out is False:  # close, as Kafka does
                    self.registry.aborted += 1
                    self._flush(pending)
                    self.close()
                    return
                if session.close_after_response:  # a failed SASL authentication: one guess per connection
                    self._flush(pending)
                    self.close()
                    return
                if pending and (not queue or len(pending) > 64):
                    self._flush(pending)
                    if self.write_blocked:
                        await self.drain()
        except ConnectionResetError:
            pass
        except Exception:
            log.exception("kafka %s: request failed; closing", self.peername)
            self.abort()
        finally:
            self.worker = None
            if pending and not self.closed:
                self._flush(pending)

    def _flush(self, pending: list[bytes]) -> None:
        if len(pending) == 1:
            self.send(pending[0])
        elif pending:
            total = sum(len(p) for p in pending)
            if total <= 256 * 1024:
                self.send(b"".join(pending))
            else:
                self.send_many(pending)
        pending.clear()

    def on_close(self, exc: Exception | None) -> None:
        self.queue.clear()
        self.queued_bytes = 0
        if self.worker is not None:
            self.worker.cancel()
        if self.session is not None:
            self.frontend.close_session(self.session)


async def start(core: BrokerCore, settings: Settings, host: str, port: int) -> Listener:
    """Serve the Kafka protocol on `host:port` over `core` (port 0 = any free port)."""
    frontend = KafkaFrontEnd(core, settings)
    listener = await listen("kafka", host, port, lambda registry: KafkaConnection(registry, frontend),
                            ssl_context=tls.server_context(settings), owner=core,
                            limits=limits.for_server(core, settings))
    frontend.start()
    original_close = listener.close

    async def close() -> None:
        await frontend.stop()
        await original_close()

    listener.close = close  # type: ignore[method-assign]
    return listener
