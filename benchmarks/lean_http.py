"""A lean HTTP/1.1 load-generator client: prepared requests over keep-alive connections.

The benchmarks run their load generators on the same two cores as the server, so every
microsecond the client spends is taken from the server being measured. aiohttp's client
costs ~100-150 µs of CPU per request; this one writes pre-built request bytes and parses
only the status line, Content-Length and Connection, ~15-25 µs. Responses must carry
Content-Length (mqlite and moto's server both do); a response that closes the
connection (`Connection: close`, HTTP/1.0) makes the next request reconnect.

    conn = LeanConnection("127.0.0.1", port)
    raw = prepare("127.0.0.1", port, body, headers)     # once
    status, body = await conn.request(raw)               # many times
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping


def prepare(host: str, port: int, body: bytes, headers: Mapping[str, str], path: str = "/") -> bytes:
    """The bytes of one POST request (headers as given, plus Host and Content-Length)."""
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{k}: {v}" for k, v in headers.items() if k.lower() not in ("host", "content-length")]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.buf = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes, bool]] | None = None
        self.transport: asyncio.BaseTransport | None = None
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # uvloop's transports are not asyncio.Transport subclasses

    def data_received(self, data: bytes) -> None:
        self.buf += data
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buf[:end]).lower()
        lines = head.split(b"\r\n")
        size = next((int(h[15:]) for h in lines if h.startswith(b"content-length:")), 0)
        if len(self.buf) < end + 4 + size:
            return
        body = bytes(self.buf[end + 4:end + 4 + size])
        del self.buf[:end + 4 + size]
        close = head.startswith(b"http/1.0") or b"connection: close" in lines
        waiter.set_result((int(head[9:12]), body, close))

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("connection closed before a response"))


class LeanConnection:
    """One keep-alive connection; one request at a time (see module docstring)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._proto: _Protocol | None = None

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        proto = self._proto
        if proto is None or proto.lost:
            loop = asyncio.get_running_loop()
            _, proto = await loop.create_connection(_Protocol, self.host, self.port)
            self._proto = proto
        assert proto.transport is not None
        proto.waiter = asyncio.get_running_loop().create_future()
        proto.transport.write(raw)  # type: ignore[attr-defined]
        status, body, close = await proto.waiter
        if close:
            proto.transport.close()
            self._proto = None
        return status, body

    def close(self) -> None:
        if self._proto is not None and self._proto.transport is not None:
            self._proto.transport.close()
        self._proto = None
