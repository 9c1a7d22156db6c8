"""STOMP frame codec, sans-IO: bytes in, `Frame`s and heart-beats out; `encode` for output.

Owns the wire grammar of STOMP 1.0-1.2 (stomp.github.io, "Augmented BNF"):

    frame  = command EOL *(header EOL) EOL *OCTET NUL *(EOL)      EOL = [CR] LF

- Heart-beats are bare EOLs between frames; each run of them is one `HEARTBEAT` event.
- A body is read for exactly `content-length` octets (then a NUL must follow), else up
  to the first NUL.
- Header escaping (1.1: `\\n \\c \\\\`, 1.2 adds `\\r`) applies to every frame but
  CONNECT/STOMP and CONNECTED; an undefined escape is a frame error. 1.0 has no
  escaping, and RabbitMQ trims leading blanks of its values. The first of repeated
  headers wins (1.2, "Repeated Header Entries"); `FrameParser.version` selects the rules
  once CONNECT has negotiated them.
- Limits: the header section (`max_header_bytes`, `max_headers`) and the body
  (`max_body`); a frame over them is a `FrameError`, as is any malformed frame. After a
  `FrameError` the parser is unusable (the connection is closed, as the spec requires).

Concurrency: none; one parser per connection. No asyncio import.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

HEARTBEAT = "heartbeat"
CLIENT_COMMANDS = frozenset({"CONNECT", "STOMP", "SEND", "SUBSCRIBE", "UNSUBSCRIBE", "ACK", "NACK",
                             "BEGIN", "COMMIT", "ABORT", "DISCONNECT"})
_UNESCAPE_11 = {b"n": "\n", b"c": ":", b"\\": "\\"}
_UNESCAPE_12 = {**_UNESCAPE_11, b"r": "\r"}
_ESCAPE_RE = re.compile(rb"\\(.?)", re.DOTALL)
_LEADING_EOLS = re.compile(rb"(?:\r?\n)+")


class FrameError(Exception):
    """A malformed or oversized frame: `message` and `detail` go into the ERROR frame."""

    def __init__(self, message: str, detail: str) -> None:
        super().__init__(f"{message}: {detail}")
        self.message = message
        self.detail = detail


@dataclass(slots=True)
class Frame:
    """One STOMP frame; `headers` in wire order (first of a repeated name wins in `get`)."""

    command: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def get(self, name: str, default: str | None = None) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value
        return default

    def header_map(self) -> dict[str, str]:
        """Headers as a dict, first occurrence winning."""
        out: dict[str, str] = {}
        for key, value in self.headers:
            out.setdefault(key, value)
        return out


class FrameParser:
    """Incremental frame parser (see module docstring)."""

    def __init__(self, max_body: int = 16 << 20, max_header_bytes: int = 64 << 10, max_headers: int = 1000) -> None:
        self.buf = bytearray()
        self.version = "1.0"  # set by the connection after CONNECT
        self.max_body = max_body
        self.max_header_bytes = max_header_bytes
        self.max_headers = max_headers
        self._head: tuple[Frame, int, int | None] | None = None  # parsed head, body start, length
        self._scanned = 0  # body bytes of the pending frame already searched for NUL

    def feed(self, data: bytes) -> list[Frame | str]:
        """Add bytes; return complete frames and `HEARTBEAT` markers in arrival order."""
        buf = self.buf
        buf += data
        out: list[Frame | str] = []
        pos = 0  # consumed bytes are cut once per feed (cutting per frame is quadratic)
        size = len(buf)
        try:
            while pos < size:
                if self._head is None:
                    eols = _LEADING_EOLS.match(buf, pos)
                    if eols is not None:
                        pos = eols.end()
                        out.append(HEARTBEAT)
                        continue
                    if buf[pos] == 13 and pos + 1 == size:
                        break  # a CR whose LF has not arrived yet
                    limit = pos + self.max_header_bytes + 3
                    end = buf.find(b"\n\n", pos, limit)
                    end_crlf = buf.find(b"\n\r\n", pos, limit if end == -1 else end)
                    if end_crlf != -1:
                        end, skip = end_crlf, 3
                    else:
                        skip = 2
                    if end == -1:
                        if size - pos > self.max_header_bytes:
                            raise FrameError("Invalid frame", f"frame headers larger than {self.max_header_bytes} bytes")
                        break
                    frame = self._parse_head(bytes(buf[pos:end]))
                    length = self._content_length(frame)
                    self._head = (frame, end + skip - pos, length)
                frame, start, length = self._head
                start += pos
                if length is not None:
                    if size < start + length + 1:
                        break
                    if buf[start + length] != 0:
                        raise FrameError("Invalid frame", "body is not terminated by NUL after content-length octets")
                    end_body = start + length
                else:
                    end_body = buf.find(b"\x00", start + self._scanned, start + self.max_body + 1)
                    if end_body == -1:
                        if size - start > self.max_body:
                            raise FrameError("Invalid frame", f"body larger than the maximum of {self.max_body} bytes")
                        self._scanned = size - start  # a body arriving in pieces is scanned once
                        break
                frame.body = bytes(buf[start:end_body])
                pos = end_body + 1
                self._head = None
                self._scanned = 0
                out.append(frame)
        finally:
            if pos:
                del buf[:pos]
        return out

    @property
    def pending_bytes(self) -> int:
        """Bytes a partial frame is declared or seen to need (the read budget's figure)."""
        if self._head is not None and self._head[2] is not None:
            return max(len(self.buf), self._head[1] + self._head[2] + 1)
        return len(self.buf)

    def _content_length(self, frame: Frame) -> int | None:
        text = frame.get("content-length")
        if text is None:
            return None
        text = text.strip()
        if not text.isdigit():
            raise FrameError("Invalid frame", f"content-length is not a non-negative integer: '{text}'")
        length = int(text)
        if length > self.max_body:
            raise FrameError("Invalid frame", f"body larger than the maximum of {self.max_body} bytes")
        return length

    def _parse_head(self, head: bytes) -> Frame:
        lines = head.split(b"\n")
        command = lines[0].rstrip(b"\r").decode("utf-8", "replace")
        if len(lines) - 1 > self.max_headers:
            raise FrameError("Invalid frame", f"more than {self.max_headers} headers")
        raw_headers = command not in ("CONNECT", "STOMP", "CONNECTED")
        escapes = None if self.version == "1.0" or not raw_headers else (
            _UNESCAPE_12 if self.version == "1.2" else _UNESCAPE_11)
        trim = self.version == "1.0"
        headers: list[tuple[str, str]] = []
        for line in lines[1:]:
            if line.endswith(b"\r"):
                line = line[:-1]
            colon = line.find(b":")
            if colon <= 0:
                raise FrameError("Invalid frame", f"header line without a name and colon: {line[:64]!r}")
            key, value = line[:colon], line[colon + 1:]
            if escapes is not None:
                name, text = _unescape(key, escapes), _unescape(value, escapes)
            else:
                name, text = _text(key), _text(value)
            if trim:
                text = text.lstrip()
            headers.append((name, text))
        return Frame(command, headers)


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise FrameError("Invalid frame", "header is not valid UTF-8") from None


def _unescape(raw: bytes, table: dict[bytes, str]) -> str:
    if b"\\" not in raw:
        return _text(raw)

    def one(match: re.Match[bytes]) -> bytes:
        out = table.get(match.group(1))
        if out is None:
            raise FrameError("Invalid frame", f"undefined escape sequence in header: {match.group(0)!r}")
        return out.encode()

    return _text(_ESCAPE_RE.sub(one, raw))


def _escape(text: str, version: str) -> str:
    if version == "1.0":
        return text.replace("\n", " ")  # 1.0 cannot carry a newline in a header at all
    text = text.replace("\\", "\\\\").replace("\n", "\\n").replace(":", "\\c")
    if version == "1.2":
        text = text.replace("\r", "\\r")
    return text


def encode(command: str, headers: list[tuple[str, str]] | dict[str, str], body: bytes = b"",
           version: str = "1.2", *, content_length: bool = True) -> bytes:
    """One frame's bytes. Headers are escaped for `version` (never on CONNECTED)."""
    items = headers.items() if isinstance(headers, dict) else headers
    escape = command != "CONNECTED"
    parts = [command]
    for key, value in items:
        if escape:
            parts.append(f"{_escape(key, version)}:{_escape(value, version)}")
        else:
            parts.append(f"{key}:{value}")
    if content_length and (body or command in ("MESSAGE", "ERROR")):
        parts.append(f"content-length:{len(body)}")
    head = "\n".join(parts).encode("utf-8", "surrogateescape")
    return head + b"\n\n" + body + b"\x00\n"  # RabbitMQ's trailing_lf: a heart-beat EOL after NUL
