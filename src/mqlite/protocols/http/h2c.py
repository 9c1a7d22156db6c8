"""HTTP/2 over cleartext (prior knowledge) on the HTTP port, beside HTTP/1.1.

The AWS SDK for JavaScript v3's Kinesis client speaks HTTP/2 for every call (and any
client may for SubscribeToShard). Each new plaintext connection is sniffed: a client that
opens with HTTP/2's connection preface (`PRI * HTTP/2.0...`) is served by `H2Gateway`;
anything else is handed, bytes and transport, to aiohttp's HTTP/1.1 protocol at its first
differing byte (`transport.set_protocol`, so HTTP/1.1 costs nothing after that).

`H2Gateway` is a sans-IO h2 (hyper-h2) connection over the transport. Each HTTP/2
request is replayed as an HTTP/1.1 request to this same server on loopback (aiohttp
client, the `:authority` as Host, every other header as sent, so SigV4 verifies
unchanged) and the answer streamed back as it comes: HEADERS, then DATA within HTTP/2
flow control (the sender waits for WINDOW_UPDATE), then END_STREAM. A streamed answer
(SubscribeToShard's event stream) flows chunk by chunk; a client's RST_STREAM cancels its
request. So every AWS service (and /_mqlite/) is served over HTTP/2 with no change to
their code. Not served: HTTP/1.1's `Upgrade: h2c` (clients that use it fall back to
HTTP/1.1) and HTTP/2 over TLS (no ALPN `h2` yet). Known cost: behind the gateway a
request comes from loopback, so the throttle of failed signatures (`security.throttle`,
keyed by client address) counts all HTTP/2 clients together; credentials are checked as
for HTTP/1.1.
Concurrency: one gateway per connection on the server's loop; one task per stream.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

log = logging.getLogger("mqlite.http.h2c")

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
# Hop-by-hop headers (RFC 9113 8.2.2): not forwarded in either direction.
_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te"})


class Sniff(asyncio.Protocol):
    """A new connection's first protocol: picks HTTP/2 or HTTP/1.1 from its first bytes."""

    __slots__ = ("_buf", "_http1", "_http2", "_transport")

    def __init__(self, http1: Callable[[], asyncio.Protocol], http2: Callable[[], asyncio.Protocol]) -> None:
        self._http1 = http1
        self._http2 = http2
        self._buf = b""
        self._transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        buf = self._buf = self._buf + data
        n = min(len(buf), len(PREFACE))
        if buf[:n] != PREFACE[:n]:
            self._switch(self._http1())
        elif len(buf) >= len(PREFACE):
            self._switch(self._http2())

    def _switch(self, proto: asyncio.Protocol) -> None:
        transport, buf = self._transport, self._buf
        self._buf = b""
        transport.set_protocol(proto)
        proto.connection_made(transport)
        if not transport.is_closing():
            proto.data_received(buf)

    def eof_received(self) -> bool:
        return False  # closed before it said anything useful

    def connection_lost(self, exc: BaseException | None) -> None:
        self._transport = None


class H2Gateway(asyncio.Protocol):
    """One HTTP/2 connection, its streams replayed against `upstream` (see module doc)."""

    def __init__(self, upstream: str, session: Callable[[], Any]) -> None:
        import h2.config
        import h2.connection

        self._upstream = upstream
        self._session = session
        self._conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
        self._transport: Any = None
        self._streams: dict[int, dict[str, Any]] = {}
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._window = asyncio.Event()  # set whenever the client opens a flow-control window

    # -- asyncio callbacks ---------------------------------------------------------------
    def connection_made(self, transport: Any) -> None:
        self._transport = transport
        self._conn.initiate_connection()
        self._flush()

    def data_received(self, data: bytes) -> None:
        import h2.events
        import h2.exceptions

        try:
            events = self._conn.receive_data(data)
        except h2.exceptions.ProtocolError as exc:
            log.info("h2c: protocol error from %s: %s", self._peer(), exc)
            self._flush()
            self._transport.close()
            return
        for ev in events:
            if isinstance(ev, h2.events.RequestReceived):
                self._streams[ev.stream_id] = {"headers": ev.headers, "body": bytearray()}
                if ev.stream_ended is not None:
                    self._start(ev.stream_id)
            elif isinstance(ev, h2.events.DataReceived):
                stream = self._streams.get(ev.stream_id)
                if stream is not None:
                    stream["body"] += ev.data
                self._conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                if ev.stream_ended is not None:
                    self._start(ev.stream_id)
            elif isinstance(ev, h2.events.StreamEnded):
                self._start(ev.stream_id)
            elif isinstance(ev, h2.events.WindowUpdated | h2.events.RemoteSettingsChanged):
                self._window.set()
            elif isinstance(ev, h2.events.StreamReset):
                task = self._tasks.pop(ev.stream_id, None)
                if task is not None:
                    task.cancel()
            elif isinstance(ev, h2.events.ConnectionTerminated):
                self._transport.close()
        self._flush()

    def connection_lost(self, exc: BaseException | None) -> None:
        for task in self._tasks.values():
            task.cancel()
        self._tasks.clear()
        self._transport = None
        self._window.set()

    # -- streams -------------------------------------------------------------------------
    def _start(self, sid: int) -> None:
        stream = self._streams.pop(sid, None)
        if stream is not None and sid not in self._tasks:
            task = asyncio.get_running_loop().create_task(self._relay(sid, stream["headers"], bytes(stream["body"])))
            self._tasks[sid] = task
            task.add_done_callback(partial(self._forget, sid))

    def _forget(self, sid: int, _task: object) -> None:
        self._tasks.pop(sid, None)

    async def _relay(self, sid: int, headers: list[tuple[str, str]], body: bytes) -> None:
        pseudo = {k: v for k, v in headers if k.startswith(":")}
        fwd = [(k, v) for k, v in headers if not k.startswith(":") and k not in _HOP]
        if pseudo.get(":authority"):
            fwd.append(("host", pseudo[":authority"]))
        method, path = pseudo.get(":method", "GET"), pseudo.get(":path", "/")
        try:
            async with self._session().request(
                method, self._upstream + path, headers=fwd, data=body or None, allow_redirects=False,
                auto_decompress=False, skip_auto_headers=("User-Agent", "Accept-Encoding", "Content-Type"),
            ) as resp:
                out = [(":status", str(resp.status))]
                out += [(k.lower(), v) for k, v in resp.headers.items() if k.lower() not in _HOP]
                if not self._send_headers(sid, out):
                    return
                async for chunk in resp.content.iter_any():
                    if not await self._send_data(sid, chunk):
                        return
            self._end(sid)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the upstream failed: a 502 for this stream
            log.warning("h2c: stream %d (%s %s) failed: %s", sid, method, path, exc)
            if self._send_headers(sid, [(":status", "502")]):
                self._end(sid)

    def _alive(self, sid: int) -> bool:
        if self._transport is None:
            return False
        stream = self._conn.streams.get(sid)
        return stream is not None and not stream.closed

    def _send_headers(self, sid: int, headers: list[tuple[str, str]]) -> bool:
        if not self._alive(sid):
            return False
        self._conn.send_headers(sid, headers)
        self._flush()
        return True

    async def _send_data(self, sid: int, data: bytes) -> bool:
        view = memoryview(data)
        while view:
            if not self._alive(sid):
                return False
            window = min(self._conn.local_flow_control_window(sid), self._conn.max_outbound_frame_size)
            if window <= 0:
                self._window.clear()
                await self._window.wait()
                continue
            self._conn.send_data(sid, bytes(view[:window]))
            self._flush()
            view = view[window:]
        return True

    def _end(self, sid: int) -> None:
        if self._alive(sid):
            self._conn.end_stream(sid)
            self._flush()

    def _flush(self) -> None:
        out = self._conn.data_to_send()
        if out and self._transport is not None:
            self._transport.write(out)

    def _peer(self) -> Any:
        return self._transport.get_extra_info("peername") if self._transport is not None else None


def wrap(guard: Callable[[Any], asyncio.Protocol], sock_address: tuple[Any, ...]) -> Callable[[Any], asyncio.Protocol]:
    """The HTTP site's per-connection wrapper: sniff, then aiohttp's protocol (HTTP/1.1)
    or a gateway to it (HTTP/2), each inside the server's connection `guard`."""
    host, port = sock_address[0], sock_address[1]
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1" if host != "::" else "::1"
    upstream = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    holder: dict[str, Any] = {}

    def session() -> Any:
        s = holder.get("session")
        if s is None or s.closed:
            import aiohttp

            s = holder["session"] = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=None))
        return s

    def make(inner: Any) -> asyncio.Protocol:
        return Sniff(lambda: guard(inner), lambda: guard(H2Gateway(upstream, session)))

    async def close() -> None:
        if holder.get("session") is not None:
            await holder["session"].close()

    make.close = close  # type: ignore[attr-defined]
    return make


def closer(wrapper: Callable[[Any], asyncio.Protocol]) -> Callable[[Any], Awaitable[None]]:
    """An aiohttp `on_cleanup` callback closing `wrap`'s loopback client session."""
    async def cleanup(_app: Any) -> None:
        await wrapper.close()  # type: ignore[attr-defined]

    return cleanup
