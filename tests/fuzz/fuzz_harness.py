"""Seeded mutation fuzzing of the front-ends (issue 26, item 9): a recorder and mutators.

`Recorder` is a TCP proxy in front of a real server: real client libraries talk
through it and it keeps what each client connection sent, split into messages by the
protocol's framing (`split_kafka`, `split_amqp`, `split_resp`). `Mutator(seed)` turns
those valid messages into hostile ones (bit flips, truncation, extreme integers,
inserted, repeated or deleted bytes) and fixes the framing up again so the mutation
reaches the parser behind it. The same seed gives the same cases; the number of cases
comes from `MQLITE_FUZZ_CASES` (a few hundred in CI, thousands from scripts/soak.py).
"""

from __future__ import annotations

import logging
import os
import random
import re
import socket
import struct
import threading
from collections.abc import Callable

import pytest

CASES = int(os.environ.get("MQLITE_FUZZ_CASES", "300"))
SEED = int(os.environ.get("MQLITE_FUZZ_SEED", "26"))
_EXTREMES = (0, 1, -1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)


class Recorder:
    """A forwarding proxy on a free port that records what each client connection sent."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream = upstream_port
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.streams: list[bytearray] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.upstream))
            sent = bytearray()
            with self._lock:
                self.streams.append(sent)
            threading.Thread(target=self._pump, args=(client, server, sent), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, None), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket, record: bytearray | None) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if record is not None:
                    record += data
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.sock.close()


# -- framing ----------------------------------------------------------------------------
def split_kafka(stream: bytes) -> list[bytes]:
    """int32 size + payload frames -> payloads."""
    out, pos = [], 0
    while pos + 4 <= len(stream):
        size = struct.unpack_from(">i", stream, pos)[0]
        out.append(bytes(stream[pos + 4 : pos + 4 + size]))
        pos += 4 + size
    return out


def join_kafka(frames: list[bytes]) -> bytes:
    return b"".join(struct.pack(">i", len(f)) + f for f in frames)


def split_amqp(stream: bytes) -> tuple[bytes, list[bytes]]:
    """(protocol header, frames without their end octet)."""
    head, pos, out = stream[:8], 8, []
    while pos + 7 <= len(stream):
        size = struct.unpack_from(">I", stream, pos + 3)[0]
        out.append(bytes(stream[pos : pos + 7 + size]))
        pos += 8 + size
    return head, out


def join_amqp(head: bytes, frames: list[bytes]) -> bytes:
    fixed = [f[:3] + struct.pack(">I", max(0, len(f) - 7)) + f[7:] + b"\xce" if len(f) >= 7 else f for f in frames]
    return head + b"".join(fixed)


def split_resp(stream: bytes) -> list[list[bytes]]:
    """Multibulk requests -> argv lists (what redis-py sends)."""
    import hiredis

    reader = hiredis.Reader()
    reader.feed(stream)
    out = []
    while True:
        cmd = reader.gets()
        if cmd is False:
            return out
        out.append(cmd)


def join_resp(cmds: list[list[bytes]]) -> bytes:
    return b"".join(
        b"*%d\r\n" % len(c) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in c) for c in cmds
    )


# -- mutation ---------------------------------------------------------------------------
class Mutator:
    """Seeded byte- and structure-level mutations of valid messages."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def bytes_(self, data: bytes, keep: int = 0) -> bytes:
        """One to three mutations of `data`, leaving its first `keep` bytes alone."""
        rng = self.rng
        b = bytearray(data)
        for _ in range(rng.randint(1, 3)):
            if len(b) <= keep:
                b += bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 8)))
                continue
            i = rng.randrange(keep, len(b))
            op = rng.randrange(7)
            if op == 0:
                b[i] ^= 1 << rng.randrange(8)
            elif op == 1:
                b[i] = rng.getrandbits(8)
            elif op == 2:  # an extreme integer where one was
                width = rng.choice((1, 2, 4, 8))
                value = rng.choice(_EXTREMES) & ((1 << (8 * width)) - 1)
                b[i : i + width] = value.to_bytes(width, "big")
            elif op == 3:
                del b[i : i + rng.randint(1, 16)]
            elif op == 4:
                b[i:i] = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 16)))
            elif op == 5:
                del b[i:]  # truncated
            else:
                j = rng.randrange(keep, len(b))
                b[i:i] = b[min(i, j) : max(i, j)][:64]  # a repeated slice
        return bytes(b)

    def value(self) -> bytes:
        rng = self.rng
        return rng.choice((
            b"", b"0", b"-1", b"1", b"9223372036854775808", b"-9223372036854775809", b"1.5", b"nan",
            b"*", b"$", b"+", b"-", b"0-0", b"0-1", b"18446744073709551615-0", b"$ 0", b"\x00\xff",
            b"MAXLEN", b"~", b"=", b"COUNT", b"BLOCK", b"STREAMS", b"GROUP", b"ID", b"NOMKSTREAM",
            b"MKSTREAM", b"LIMIT", b"JUSTID", b"FORCE", b"IDLE", b"TIME", b"RETRYCOUNT", b"x" * rng.randint(1, 300),
            bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 12))),
        ))

    def argv(self, argv: list[bytes]) -> list[bytes]:
        """A command with arguments dropped, repeated, replaced or added."""
        rng = self.rng
        a = list(argv)
        for _ in range(rng.randint(1, 3)):
            op = rng.randrange(5)
            if op == 0 and len(a) > 1:
                del a[rng.randrange(1, len(a))]
            elif op == 1 and len(a) > 1:
                a[rng.randrange(1, len(a))] = self.value()
            elif op == 2:
                a.insert(rng.randrange(1, len(a) + 1), self.value())
            elif op == 3 and len(a) > 1:
                i = rng.randrange(1, len(a))
                a.insert(i, a[i])
            else:
                a.append(self.value())
        return a

    def pick(self, items: list[bytes] | list[list[bytes]]) -> int:
        return self.rng.randrange(len(items))


def exchange(port: int, data: bytes, quiet: float = 2.0) -> bytes:
    """Send `data`, half-close, and read until the server closes (or `quiet` passes)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=quiet)
    got = bytearray()
    try:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            got += chunk
    except OSError:
        pass
    finally:
        sock.close()
    return bytes(got)


def run_cases(make_case: Callable[[Mutator, int], bytes], port: int, check: Callable[[bytes, bytes], None],
              cases: int = CASES, seed: int = SEED) -> None:
    mutator = Mutator(seed)
    for n in range(cases):
        data = make_case(mutator, n)
        check(data, exchange(port, data))


def unhandled(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Server log records that mean an input got no proper answer: an exception logged
    with its traceback, or an error from a front-end's catch-all."""
    bad = []
    for rec in caplog.records:
        if not rec.name.startswith("mqlite"):
            continue
        if rec.exc_info or rec.levelno >= logging.ERROR:
            text = rec.getMessage()
            if rec.exc_info and rec.exc_info[1] is not None:
                tb = rec.exc_info[2]
                while tb is not None and tb.tb_next is not None:
                    tb = tb.tb_next
                where = f" at {tb.tb_frame.f_code.co_filename.rsplit('/src/', 1)[-1]}:{tb.tb_lineno}" if tb else ""
                text += f" [{type(rec.exc_info[1]).__name__}: {rec.exc_info[1]}{where}]"
            bad.append(re.sub(r"\('127\.0\.0\.1', \d+\)|\b\d{4,}\b", "N", f"{rec.name}: {text}"))
    return sorted(set(bad))  # one line per distinct failure
