"""RESP request parser and RESP2/RESP3 reply encoder (sans-IO: bytes in, values out).

Owns the byte level of Redis's protocol, server side:

- `RequestParser.feed(data) -> list[list[bytes]]`: each item is one command's argv.
  Multibulk input goes through `hiredis.Reader` (C speed); the exact Python parser
  below re-reads whatever hiredis refuses, so behaviour and error texts are Redis's.
  Accepts multibulk requests (`*<n>\\r\\n$<len>\\r\\n<arg>\\r\\n...`, what every client
  library sends) and inline commands (`PING\\r\\n`, what telnet sends), with Redis's
  rules: empty inline lines are skipped, inline arguments follow `sdssplitargs` quoting,
  `*0`/negative counts are skipped. Limits as Redis's defaults: a bulk over
  `proto-max-bulk-len` (512 MB), a multibulk count over 1024*1024*1024, an inline line or
  multibulk header over 64 KB without a newline. A violation sets `parser.error`, a `RespProtocolError`
  whose message is Redis's own text (`Protocol error: invalid bulk length`); the server
  replies `-ERR <text>` and closes that connection, as Redis does. While `unauth` is set
  (a password is required and AUTH has not succeeded) the limits are Redis's for
  unauthenticated clients: at most 10 arguments (`Protocol error: unauthenticated
  multibulk length`) of at most 16 KiB (`... unauthenticated bulk length`), and one
  command is parsed per `feed` (the caller runs it, then feeds `b""`), so an AUTH lifts
  the limits for the very next command of the same pipeline. A partial command whose
  declared size (`declared`) passes `query_buffer_limit` (`client-query-buffer-limit`,
  1 GiB) sets `QueryBufferExceeded`: Redis closes such a client without a reply.
- `encode(value, resp3)`: reply values -> bytes. Python values map to RESP types:
  `bytes`/`str` bulk string, `int` integer, `None` null, `list`/`tuple` array, `bool`
  RESP3 boolean (integer 1/0 in RESP2), `float` double (bulk string in RESP2); wrappers
  `Simple`, `Error`, `Map`, `Set`, `Push`, `Verbatim`, `Double`, `BigNumber`, and
  `NULL_ARRAY` (RESP2 `*-1`). RESP2 downgrades map -> flat array, set -> array,
  push -> array, double -> bulk string, null -> `$-1` (or `*-1` for NULL_ARRAY),
  verbatim -> bulk string, boolean -> integer.

Invariants: the parser never holds more than one incomplete command plus the unread
tail; after a protocol error the parser stays failed (`error` set; the connection
closes after replying to the commands that preceded the error).
Concurrency: plain objects, one per connection; no I/O, no asyncio.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from itertools import chain
from typing import Any

import hiredis

from mqlite.errors import ProtocolError

PROTO_MAX_BULK_LEN = 512 * 1024 * 1024
PROTO_MAX_MULTIBULK_LEN = 1024 * 1024 * 1024
PROTO_INLINE_MAX_SIZE = 64 * 1024
CLIENT_QUERY_BUFFER_LIMIT = 1024 * 1024 * 1024
UNAUTH_MAX_MULTIBULK = 10  # Redis networking.c: limits while authRequired(c)
UNAUTH_MAX_BULK = 16384
# a pending command bigger than this leaves hiredis (which would hold a second copy)
_FAST_PATH_PENDING_MAX = 1 << 20
CRLF = b"\r\n"
_HEADER_AT_END = re.compile(rb"[$*]-?\d+\r\n\Z")


class RespProtocolError(ProtocolError):
    """The client broke RESP framing; `message` is Redis's text (without `ERR `)."""


class QueryBufferExceeded(RespProtocolError):
    """The pending command passed `client-query-buffer-limit`: close without a reply."""


# --------------------------------------------------------------------------- parsing
_DIGITS = [len(str(i)) for i in range(1 << 16)]  # decimal digits of small lengths
_digits = _DIGITS.__getitem__
_chain = chain.from_iterable


class RequestParser:
    """Incremental parser of client requests; see module docstring."""

    __slots__ = (
        "_argc",
        "_argv",
        "_argv_bytes",
        "_buf",
        "_bulk",
        "_consumed",
        "_hi",
        "_pos",
        "_spare",
        "_tail",
        "_tail_cmds",
        "_tail_len",
        "error",
        "max_bulk_len",
        "query_buffer_limit",
        "unauth",
    )

    def __init__(
        self, max_bulk_len: int = PROTO_MAX_BULK_LEN, query_buffer_limit: int = CLIENT_QUERY_BUFFER_LIMIT,
        *, unauth: bool = False,
    ) -> None:
        self._buf = bytearray()
        self._pos = 0
        self._argc = 0  # remaining bulk args of the current multibulk; 0 = none open
        self._argv: list[bytes] = []
        self._argv_bytes = 0
        self.query_buffer_limit = query_buffer_limit
        self.unauth = unauth
        self._bulk = -1  # length of the bulk being waited for, -1 = header expected
        self.max_bulk_len = max_bulk_len
        #: set once framing is broken: the commands before it are still returned, and the
        #: caller replies `-ERR <error.message>` after them and closes (Redis's order).
        self.error: RespProtocolError | None = None
        self._hi: hiredis.Reader | None = None  # set while hiredis holds a partial command
        self._spare: hiredis.Reader | None = None  # an idle reader, kept for the next chunk
        self._tail: list[bytes] = []
        self._tail_cmds = 0
        self._tail_len = 0
        self._consumed = 0

    @property
    def buffered(self) -> int:
        return len(self._buf) - self._pos + (self._tail_len if self._hi is not None else 0)

    @property
    def declared(self) -> int:
        """Bytes the pending partial command holds or is declared to need: what is
        buffered, the arguments already taken out, and the rest of the bulk being read."""
        if self._hi is not None:
            return self._tail_len
        unread = len(self._buf) - self._pos
        return unread + self._argv_bytes + (max(0, self._bulk + 2 - unread) if self._argc and self._bulk >= 0 else 0)

    def feed(self, data: bytes) -> list[list[bytes]]:
        """Append `data`; return the complete commands now available (maybe none)."""
        if self.error is not None:
            return []
        if self.unauth:
            return self._feed_py(data)
        if self._hi is not None or (
            data[:1] == b"*" and self._argc == 0 and self._pos >= len(self._buf)
        ):
            return self._feed_fast(data)
        return self._feed_py(data)

    def _feed_py(self, data: bytes) -> list[list[bytes]]:
        buf = self._buf
        if self._pos:
            del buf[: self._pos]
            self._pos = 0
        buf += data
        out: list[list[bytes]] = []
        try:
            self._parse(out)
            if self._argc and self.declared > self.query_buffer_limit:
                raise QueryBufferExceeded("closing client that reached max query buffer length")
        except RespProtocolError as exc:
            self.error = exc
        return out

    def _feed_fast(self, data: bytes) -> list[list[bytes]]:
        """hiredis fast path for multibulk requests; anything it cannot take (an inline
        command after a multibulk, a non-bulk element, bad framing) is re-parsed by the
        exact Python parser from the bytes since hiredis was last idle, and the Python
        parser then takes over (so replies and error texts are always Redis's).
        hiredis is idle when the canonical encoded size of the commands it returned
        equals the bytes fed since it was last idle."""
        hi = self._hi
        if hi is None:
            hi = self._spare or hiredis.Reader()
            self._hi = hi
            self._spare = None
            self._tail = []
            self._tail_len = 0
            self._tail_cmds = 0
        hi.feed(data)
        self._tail.append(data)
        self._tail_len += len(data)
        out: list[list[bytes]] = []
        gets = hi.gets
        try:
            while True:
                cmd = gets()
                if cmd is False:
                    break
                if type(cmd) is not list:
                    return self._fallback(self._valid_prefix(out))
                out.append(cmd)
        except hiredis.ProtocolError:
            return self._fallback(self._valid_prefix(out))
        rebuild = False
        if not hi.has_data():
            # Every byte fed is parsed: hiredis is idle unless the elements of a command
            # end exactly here. Probe with an empty multibulk: only an idle reader hands
            # it straight back (a pending command would swallow it: rebuilt below).
            try:
                hi.feed(b"*0\r\n")
                probe = hi.gets()
            except hiredis.ProtocolError:
                probe = None
            if type(probe) is list and not probe:
                try:
                    b"".join(_chain(out))  # TypeError on a non-bulk element (int, nil, array)
                except TypeError:
                    return self._fallback(self._valid_prefix(out))
                self._hi = None
                self._spare = hi
                self._consumed = 0
                self._tail = []
                self._tail_len = 0
                return [c for c in out if c] if [] in out else out  # `*0` requests are skipped
            rebuild = True
        consumed = self._consumed
        if out:
            # canonical encoded size of the commands (C-level maps)
            try:
                lens = list(map(len, _chain(out)))  # TypeError on a non-bulk element
            except TypeError:
                return self._fallback(self._valid_prefix(out))
            counts = list(map(len, out))
            try:  # decimal digits of each length, from a table (the hot path)
                digits = sum(map(_digits, counts)) + sum(map(_digits, lens))
            except IndexError:
                digits = sum(map(len, map(str, counts))) + sum(map(len, map(str, lens)))
            consumed += 3 * len(out) + 5 * len(lens) + sum(lens) + digits
            if 0 in counts:  # `*0` requests are skipped
                out = [c for c in out if c]
        if rebuild:
            if not all(type(a) is bytes for c in out for a in c):
                return self._fallback(self._valid_prefix(out))
            joined = self._tail[0] if len(self._tail) == 1 else b"".join(self._tail)
            rest = joined[consumed:]
            hi = self._hi = hiredis.Reader()
            hi.feed(rest)
            self._tail = [rest]
            self._tail_len = len(rest)
            consumed = 0
        if consumed == self._tail_len:  # idle: the next chunk may take either path
            self._hi = None
            self._consumed = 0
            return out
        if consumed:
            # keep only the bytes of the pending partial command, so a long pipeline
            # that never pauses at a command boundary does not grow the tail
            joined = self._tail[0] if len(self._tail) == 1 else b"".join(self._tail)
            rest = joined[consumed:]
            self._tail = [rest]
            self._tail_len = len(rest)
            consumed = 0
        self._consumed = consumed
        self._tail_cmds = 0
        # A partial command is pending. When the data ends in a header (a length to
        # check against the limits) or the command grew large (hiredis would keep a
        # second copy of it), the exact Python parser takes over until it is complete.
        if self._tail_len > _FAST_PATH_PENDING_MAX or _HEADER_AT_END.search(data) is not None:
            tail = self._tail[0] if len(self._tail) == 1 else b"".join(self._tail)
            self._hi = None
            self._tail = []
            self._tail_len = 0
            self._consumed = 0
            out += self._feed_py(tail)
        return out

    @staticmethod
    def _valid_prefix(out: list[list[bytes]]) -> list[list[bytes]]:
        """The non-empty commands of `out` before the first one with a non-bulk element
        (that one and the rest are re-parsed by the Python parser)."""
        good: list[list[bytes]] = []
        for cmd in out:
            if not all(type(a) is bytes for a in cmd):
                break
            if cmd:
                good.append(cmd)
        return good

    def _fallback(self, out: list[list[bytes]]) -> list[list[bytes]]:
        """Hand the bytes since hiredis was last idle to the Python parser."""
        done = self._tail_cmds + len(out)
        tail = b"".join(self._tail)
        self._hi = None
        self._tail = []
        self._consumed = 0
        replay = self._feed_py(tail)
        return out + replay[done:]

    def _parse(self, out: list[list[bytes]]) -> None:
        buf = self._buf
        n = len(buf)
        pos = self._pos
        try:
            while pos < n:
                if self._argc == 0:
                    if buf[pos] != 42:  # '*'
                        nl = buf.find(b"\n", pos)
                        if nl < 0:
                            if n - pos > PROTO_INLINE_MAX_SIZE:
                                raise RespProtocolError("Protocol error: too big inline request")
                            return
                        line = bytes(buf[pos:nl])
                        pos = nl + 1
                        if line.endswith(b"\r"):
                            line = line[:-1]
                        argv = split_inline(line)
                        if argv:
                            out.append(argv)
                            if self.unauth:
                                return
                        continue
                    nl = buf.find(b"\r\n", pos)
                    if nl < 0:
                        if n - pos > PROTO_INLINE_MAX_SIZE:
                            raise RespProtocolError("Protocol error: too big mbulk count string")
                        return
                    try:
                        count = int(buf[pos + 1 : nl])
                    except ValueError:
                        raise RespProtocolError("Protocol error: invalid multibulk length") from None
                    if count > PROTO_MAX_MULTIBULK_LEN:
                        raise RespProtocolError("Protocol error: invalid multibulk length")
                    if count > UNAUTH_MAX_MULTIBULK and self.unauth:
                        raise RespProtocolError("Protocol error: unauthenticated multibulk length")
                    pos = nl + 2
                    if count <= 0:
                        continue
                    self._argc = count
                    self._argv = []
                    self._argv_bytes = 0
                    self._bulk = -1
                # inside a multibulk
                if self._bulk < 0:
                    if pos >= n:
                        return
                    if buf[pos] != 36:  # '$'
                        got = chr(buf[pos])
                        raise RespProtocolError(f"Protocol error: expected '$', got '{got}'")
                    nl = buf.find(b"\r\n", pos)
                    if nl < 0:
                        if n - pos > PROTO_INLINE_MAX_SIZE:
                            raise RespProtocolError("Protocol error: too big bulk count string")
                        return
                    try:
                        blen = int(buf[pos + 1 : nl])
                    except ValueError:
                        raise RespProtocolError("Protocol error: invalid bulk length") from None
                    if blen < 0 or blen > self.max_bulk_len:
                        raise RespProtocolError("Protocol error: invalid bulk length")
                    if blen > UNAUTH_MAX_BULK and self.unauth:
                        raise RespProtocolError("Protocol error: unauthenticated bulk length")
                    pos = nl + 2
                    self._bulk = blen
                end = pos + self._bulk
                if end + 2 > n:
                    return
                if self._bulk < 65536:
                    self._argv.append(bytes(buf[pos:end]))
                else:  # one copy, not two (a bytearray slice, then bytes)
                    with memoryview(buf) as view:
                        self._argv.append(bytes(view[pos:end]))
                self._argv_bytes += self._bulk
                pos = end + 2
                self._bulk = -1
                self._argc -= 1
                if self._argc == 0:
                    out.append(self._argv)
                    self._argv = []
                    self._argv_bytes = 0
                    if self.unauth:
                        return  # one command at a time until AUTH (see module docstring)
        finally:
            self._pos = pos


def split_inline(line: bytes) -> list[bytes]:
    """Split an inline command like Redis's `sdssplitargs` (quotes, escapes)."""
    if b'"' not in line and b"'" not in line:
        return line.split()
    args: list[bytes] = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i : i + 1].isspace():
            i += 1
        if i >= n:
            return args
        cur = bytearray()
        inq = insq = False
        while True:
            if inq:
                if i >= n:
                    raise RespProtocolError("Protocol error: unbalanced quotes in request")
                c = line[i : i + 1]
                if c == b"\\" and i + 3 < n and line[i + 1 : i + 2] == b"x" and _ishex(line[i + 2 : i + 4]):
                    cur.append(int(line[i + 2 : i + 4], 16))
                    i += 3
                elif c == b"\\" and i + 1 < n:
                    e = line[i + 1 : i + 2]
                    cur += {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"a": b"\a"}.get(e, e)
                    i += 1
                elif c == b'"':
                    if i + 1 < n and not line[i + 1 : i + 2].isspace():
                        raise RespProtocolError("Protocol error: unbalanced quotes in request")
                    i += 1
                    break
                else:
                    cur += c
            elif insq:
                if i >= n:
                    raise RespProtocolError("Protocol error: unbalanced quotes in request")
                c = line[i : i + 1]
                if c == b"\\" and i + 1 < n and line[i + 1 : i + 2] == b"'":
                    cur += b"'"
                    i += 1
                elif c == b"'":
                    if i + 1 < n and not line[i + 1 : i + 2].isspace():
                        raise RespProtocolError("Protocol error: unbalanced quotes in request")
                    i += 1
                    break
                else:
                    cur += c
            else:
                if i >= n:
                    break
                c = line[i : i + 1]
                if c.isspace():
                    break
                if c == b'"':
                    inq = True
                elif c == b"'":
                    insq = True
                else:
                    cur += c
            i += 1
        args.append(bytes(cur))


def _ishex(b: bytes) -> bool:
    return len(b) == 2 and all(ch in b"0123456789abcdefABCDEF" for ch in b)


# --------------------------------------------------------------------------- encoding
@dataclass(frozen=True, slots=True)
class Simple:
    """A simple string reply (`+OK`)."""

    text: str


@dataclass(frozen=True, slots=True)
class Error:
    """An error reply; `text` includes the code prefix (`ERR ...`, `WRONGTYPE ...`)."""

    text: str


@dataclass(frozen=True, slots=True)
class Map:
    """RESP3 map (flat array of pairs in RESP2); `items` is a list of (key, value)."""

    items: list[tuple[Any, Any]]


@dataclass(frozen=True, slots=True)
class Set:
    """RESP3 set (array in RESP2)."""

    items: list[Any]


@dataclass(frozen=True, slots=True)
class Push:
    """RESP3 push (array in RESP2): pub/sub messages and (un)subscribe confirmations."""

    items: list[Any]


@dataclass(frozen=True, slots=True)
class Verbatim:
    """RESP3 verbatim string (`=<len>\\r\\ntxt:...`); bulk string in RESP2."""

    text: bytes
    fmt: str = "txt"


@dataclass(frozen=True, slots=True)
class Double:
    """RESP3 double; bulk string in RESP2."""

    value: float


@dataclass(frozen=True, slots=True)
class BigNumber:
    value: int


class Raw(bytes):
    """Bytes that are already an encoded reply (a handler's fast path)."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Deferred:
    """A reply known now but sent only once `done` (an awaitable with `.done()`, the
    write it reports) completes: the connection goes on running the commands pipelined
    after it and holds the replies, in order, until then."""

    done: Any
    reply: Any


class _NullArray:
    """RESP2 `*-1` (null array, e.g. XREAD timeout); `_` in RESP3."""

    __slots__ = ()


NULL_ARRAY = _NullArray()
OK = Simple("OK")
_OK_BYTES = b"+OK\r\n"


def _fmt_double(v: float) -> bytes:
    if math.isnan(v):
        return b"nan"
    if v in (float("inf"), float("-inf")):
        return b"inf" if v > 0 else b"-inf"
    if v == int(v) and abs(v) < 1e17:
        return str(int(v)).encode()
    return repr(v).encode()


def encode(value: Any, resp3: bool = False) -> bytes:
    """Encode one reply value; see module docstring for the type mapping."""
    out: list[bytes] = []
    _enc(value, resp3, out)
    return b"".join(out)


def _enc(v: Any, r3: bool, out: list[bytes]) -> None:
    t = type(v)
    if t is bytes:
        out.append(b"$%d\r\n%s\r\n" % (len(v), v))
    elif t is int:
        out.append(b":%d\r\n" % v)
    elif t is list or t is tuple:
        out.append(b"*%d\r\n" % len(v))
        for item in v:
            _enc(item, r3, out)
    elif v is None:
        out.append(b"_\r\n" if r3 else b"$-1\r\n")
    elif t is str:
        b = v.encode("utf-8", "surrogateescape")
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    elif t is Simple:
        out.append(b"+%s\r\n" % v.text.encode("utf-8", "surrogateescape"))
    elif t is Error:
        # arguments echoed in errors may hold any bytes (decoded with surrogateescape)
        out.append(b"-%s\r\n" % v.text.replace("\r", " ").replace("\n", " ").encode("utf-8", "surrogateescape"))
    elif t is Map:
        out.append((b"%%%d\r\n" if r3 else b"*%d\r\n") % (len(v.items) if r3 else 2 * len(v.items)))
        for k, item in v.items:
            _enc(k, r3, out)
            _enc(item, r3, out)
    elif t is Set:
        out.append((b"~%d\r\n" if r3 else b"*%d\r\n") % len(v.items))
        for item in v.items:
            _enc(item, r3, out)
    elif t is Push:
        out.append((b">%d\r\n" if r3 else b"*%d\r\n") % len(v.items))
        for item in v.items:
            _enc(item, r3, out)
    elif t is bool:
        out.append((b"#t\r\n" if v else b"#f\r\n") if r3 else (b":1\r\n" if v else b":0\r\n"))
    elif t is float or t is Double:
        f = v if t is float else v.value
        s = _fmt_double(f)
        out.append(b",%s\r\n" % s if r3 else b"$%d\r\n%s\r\n" % (len(s), s))
    elif t is Verbatim:
        if r3:
            body = v.fmt.encode() + b":" + v.text
            out.append(b"=%d\r\n%s\r\n" % (len(body), body))
        else:
            out.append(b"$%d\r\n%s\r\n" % (len(v.text), v.text))
    elif t is BigNumber:
        out.append(b"(%d\r\n" % v.value if r3 else b"$%d\r\n%d\r\n" % (len(str(v.value)), v.value))
    elif t is Raw:
        out.append(v)
    elif t is _NullArray:
        out.append(b"_\r\n" if r3 else b"*-1\r\n")
    elif isinstance(v, (bytearray, memoryview)):
        b = bytes(v)
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    else:
        raise TypeError(f"cannot encode {t.__name__} as RESP")
