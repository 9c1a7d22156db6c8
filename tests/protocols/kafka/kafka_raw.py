"""A minimal blocking Kafka client over the sans-IO codec, for wire-level tests.

Sends `codec.encode_request` frames on a real socket and decodes the answers, so
tests can send exact (and deliberately broken) requests to a real server.
"""

from __future__ import annotations

import socket
import struct
from typing import Any

from mqlite.protocols.kafka import codec


class RawClient:
    def __init__(self, host: str, port: int, timeout: float = 10.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.correlation = 0

    def close(self) -> None:
        self.sock.close()

    def send_frame(self, payload: bytes) -> None:
        self.sock.sendall(struct.pack(">i", len(payload)) + payload)

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read_frame(self) -> bytes | None:
        """One response frame without its size prefix; None if the server closed."""
        head = self._read_exact(4)
        if head is None:
            return None
        size = struct.unpack(">i", head)[0]
        return self._read_exact(size)

    def _read_exact(self, n: int) -> bytes | None:
        buf = b""
        while len(buf) < n:
            try:
                chunk = self.sock.recv(n - len(buf))
            except ConnectionResetError:
                return None
            if not chunk:
                return None
            buf += chunk
        return buf

    def request(self, api_key: int, version: int, body: dict[str, Any]) -> dict[str, Any]:
        self.correlation += 1
        self.sock.sendall(codec.encode_request(api_key, version, self.correlation, body))
        frame = self.read_frame()
        assert frame is not None, "server closed the connection"
        correlation, decoded = codec.decode_response(api_key, version, frame)
        assert correlation == self.correlation
        return decoded

    def send(self, api_key: int, version: int, body: dict[str, Any]) -> int:
        """Send without waiting; returns the correlation id."""
        self.correlation += 1
        self.sock.sendall(codec.encode_request(api_key, version, self.correlation, body))
        return self.correlation

    def is_closed_by_server(self) -> bool:
        return self.read_frame() is None
