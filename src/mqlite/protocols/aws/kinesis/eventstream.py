"""The `application/vnd.amazon.eventstream` message encoding (sans-IO), server side.

One message, as botocore's `EventStreamBuffer` decodes it:

    total length (u32 BE) | headers length (u32 BE) | prelude CRC32 (of the 8 bytes above)
    | headers | payload | message CRC32 (of everything before it)

A header is `name length (u8) | name (UTF-8) | type (u8, 7 = string) | value length
(u16 BE) | value`. `event(event_type, payload)` builds an event message
(`:message-type` event, `:event-type`, `:content-type` application/json);
`exception(code, payload)` an exception message (`:message-type` exception,
`:exception-type`). Pure functions; no I/O.
"""

from __future__ import annotations

import enum
import struct
import zlib


class HeaderType(enum.IntEnum):
    STRING = 7


def _header(name: str, value: str) -> bytes:
    n = name.encode()
    v = value.encode()
    return struct.pack("!B", len(n)) + n + struct.pack("!BH", HeaderType.STRING, len(v)) + v


def message(headers: list[tuple[str, str]], payload: bytes) -> bytes:
    hdrs = b"".join(_header(k, v) for k, v in headers)
    total = 12 + len(hdrs) + len(payload) + 4
    prelude = struct.pack("!II", total, len(hdrs))
    prelude += struct.pack("!I", zlib.crc32(prelude) & 0xFFFFFFFF)
    body = prelude + hdrs + payload
    return body + struct.pack("!I", zlib.crc32(body) & 0xFFFFFFFF)


def event(event_type: str, payload: bytes, content_type: str = "application/json") -> bytes:
    return message([(":message-type", "event"), (":event-type", event_type),
                    (":content-type", content_type)], payload)


def exception(code: str, payload: bytes, content_type: str = "application/json") -> bytes:
    return message([(":message-type", "exception"), (":exception-type", code),
                    (":content-type", content_type)], payload)
