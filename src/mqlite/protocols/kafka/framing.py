"""Kafka framing, sans-IO: a byte stream in, whole request frames out.

Every Kafka request and response is an int32 size followed by that many bytes
(Kafka protocol guide, "Network"). `FrameReader` buffers partial frames, copies each
payload once, and refuses a frame over its cap from the size field alone (the broker's
`socket.request.max.bytes`, 100 MiB by default) with `FrameTooLarge`.
No I/O, no asyncio; one reader per connection.
"""

from __future__ import annotations

import struct

from mqlite.errors import ProtocolError

_S_i = struct.Struct(">i")


class FrameTooLarge(ProtocolError):
    def __init__(self, size: int, limit: int, rule: str = "socket.request.max.bytes") -> None:
        super().__init__(f"frame of {size} bytes over limit {limit} ({rule})", rule=rule)
        self.size = size


class FrameReader:
    """Splits a byte stream into Kafka frames (int32 size + payload); caps frame size."""

    __slots__ = ("_buf", "max_frame", "rule")

    def __init__(self, max_frame: int = 100 * 1024 * 1024, rule: str = "socket.request.max.bytes") -> None:
        self._buf = bytearray()
        self.max_frame = max_frame
        self.rule = rule  # the setting named when a frame is refused

    def feed(self, data: bytes) -> list[bytes]:
        """Append `data`; return every complete frame payload. Raises `FrameTooLarge`.

        Each payload is copied once out of the input (whole frames in `data` are sliced
        from it directly when nothing is buffered)."""
        buf = self._buf
        if buf:
            buf += data
            src: bytes | bytearray = buf
        else:
            src = data
        frames: list[bytes] = []
        pos = 0
        n = len(src)
        view = memoryview(src)
        try:
            while n - pos >= 4:
                size = _S_i.unpack_from(src, pos)[0]
                if size < 0 or size > self.max_frame:
                    raise FrameTooLarge(size, self.max_frame, self.rule)
                if n - pos - 4 < size:
                    break
                frames.append(bytes(view[pos + 4 : pos + 4 + size]))
                pos += 4 + size
        finally:
            view.release()
        if src is buf:
            if pos:
                del buf[:pos]
        elif pos < n:
            buf += memoryview(data)[pos:]
        return frames

    @property
    def buffered(self) -> int:
        return len(self._buf)

    @property
    def declared(self) -> int:
        """Bytes the partial frame will occupy once complete (its size field + 4)."""
        n = len(self._buf)
        if n < 4:
            return n
        return 4 + int(_S_i.unpack_from(self._buf, 0)[0])
