"""Differential check: the same command script against Debian's redis-server and mqlite
must give identical replies (byte-level RESP2, parsed by hiredis). Where the installed
redis-server (7.0) predates the behaviour mqlite implements (Redis 7.2/7.4: CLIENT
SETINFO, XREAD `+`, XINFO CONSUMERS `inactive`), the command is left out."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hiredis
import pytest

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server not installed")

SCRIPT: list[tuple[str, ...]] = [
    ("XADD", "s", "1-1", "a", "1"), ("XADD", "s", "1-*", "a", "2"), ("XADD", "s", "2", "a", "3"),
    ("XADD", "s", "1-5", "x", "y"), ("XADD", "s", "0-0", "x", "y"), ("XADD", "t", "0-0", "x", "y"),
    ("XADD", "s", "abc", "x", "y"), ("XADD", "s", "*", "x"), ("XADD", "s", "MAXLEN", "=", "2", "LIMIT", "1", "*", "x", "y"),
    ("XADD", "s", "NOMKSTREAM", "9-0", "x", "y"), ("XADD", "nokey", "NOMKSTREAM", "9-0", "x", "y"),
    ("XLEN", "s"), ("XRANGE", "s", "-", "+"), ("XRANGE", "s", "(1-1", "+"), ("XRANGE", "s", "-", "(2-0"),
    ("XRANGE", "s", "(0-0", "+", "COUNT", "1"), ("XRANGE", "s", "-", "(0-0"), ("XREVRANGE", "s", "+", "-", "COUNT", "2"),
    ("XRANGE", "s", "x", "+"), ("XRANGE", "s", "-", "+", "COUNT"), ("XRANGE", "s", "-", "+", "COUNT", "-1"),
    ("XREAD", "STREAMS", "s", "0"), ("XREAD", "COUNT", "1", "STREAMS", "s", "nokey", "0", "0"),
    ("XREAD", "STREAMS", "s"), ("XREAD", "BLOCK", "-1", "STREAMS", "s", "0"), ("XREAD", "STREAMS", "s", "$"),
    ("XGROUP", "CREATE", "s", "g", "0"), ("XGROUP", "CREATE", "s", "g", "0"), ("XGROUP", "CREATE", "nokey", "g", "0"),
    ("XGROUP", "CREATE", "nokey2", "g", "$", "MKSTREAM"), ("XINFO", "GROUPS", "s"),
    ("XREADGROUP", "GROUP", "g", "c1", "COUNT", "2", "STREAMS", "s", ">"), ("XINFO", "GROUPS", "s"),
    ("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s", "0"), ("XREADGROUP", "GROUP", "nog", "c1", "STREAMS", "s", ">"),
    ("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "nokey", ">"), ("XPENDING", "s", "g"), ("XPENDING", "s", "nog"),
    ("XACK", "s", "g", "1-1", "9-9"), ("XACK", "s", "g", "bad"), ("XACK", "nokey", "g", "1-1"), ("XDEL", "s", "1-2"),
    ("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s", "0"), ("XCLAIM", "s", "g", "c2", "0", "1-2"), ("XPENDING", "s", "g"),
    ("XGROUP", "CREATECONSUMER", "s", "g", "c3"), ("XGROUP", "DELCONSUMER", "s", "g", "c3"),
    ("XGROUP", "SETID", "s", "g", "0"), ("XGROUP", "SETID", "s", "nog", "0"), ("XGROUP", "DESTROY", "s", "g"),
    ("XGROUP", "DESTROY", "s", "g"), ("XGROUP", "FOO"), ("XGROUP", "CREATE", "s"),
    ("XTRIM", "s", "MAXLEN", "1"), ("XTRIM", "s", "MINID", "~", "0"), ("XTRIM", "s", "FOO", "1"), ("XTRIM", "s", "MAXLEN", "-1"),
    ("XSETID", "s", "1-0"), ("XSETID", "s", "99-0", "ENTRIESADDED", "1"), ("XSETID", "nokey", "1-0"),
    ("XINFO", "STREAM", "nokey"), ("XINFO", "FOO"), ("TYPE", "s"), ("TYPE", "nokey"), ("EXISTS", "s", "s", "nokey"),
    ("DEL", "nokey"), ("PING",), ("PING", "x"), ("PING", "x", "y"), ("ECHO",), ("FOOCMD", "a"),
    ("CLIENT", "SETNAME", "a b"), ("CLIENT", "FOO"), ("CLIENT", "GETNAME"), ("PUBLISH", "ch", "m"),
    ("PUBSUB", "NUMSUB", "ch"), ("PUBSUB", "NUMPAT"), ("PUBSUB", "CHANNELS"), ("PUBSUB", "FOO"),
    ("HELLO", "4"), ("HELLO", "x"), ("AUTH", "x"), ("MULTI",), ("MULTI",), ("XLEN", "s"), ("EXEC",), ("EXEC",), ("DISCARD",),
    ("GET", "s"), ("LLEN", "s"), ("GET", "nokey"), ("FLUSHALL",),
    ("XADD", "q", "1-0", "a", "1"), ("XADD", "q", "2-0", "a", "2"), ("XADD", "q", "3-0", "a", "3"), ("XADD", "q", "4-0", "a", "4"),
    ("XGROUP", "CREATE", "q", "g", "0"), ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "q", ">"), ("XDEL", "q", "2-0"),
    ("XINFO", "GROUPS", "q"), ("XADD", "q", "5-0", "a", "5"), ("XINFO", "GROUPS", "q"),
    ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "q", ">"), ("XINFO", "GROUPS", "q"),
    ("XAUTOCLAIM", "q", "g", "d", "0", "0-0", "COUNT", "2"), ("XAUTOCLAIM", "q", "g", "d", "0", "0-0", "JUSTID"),
    ("XPENDING", "q", "g", "-", "+", "0"), ("XCLAIM", "q", "g", "e", "0", "3-0", "JUSTID", "RETRYCOUNT", "5"),
    ("XCLAIM", "q", "g", "e", "0", "9-0", "FORCE"), ("XCLAIM", "q", "g", "e", "x", "3-0"),
    ("XCLAIM", "q", "g", "e", "0", "3-0", "BOGUS"), ("XGROUP", "CREATE", "q", "g2", "$"),
    ("XGROUP", "CREATE", "q", "g3", "2-0", "ENTRIESREAD", "1"), ("XGROUP", "SETID", "q", "g3", "$", "ENTRIESREAD", "5"),
    ("XTRIM", "q", "MAXLEN", "~", "1"), ("XTRIM", "q", "MINID", "4"), ("XLEN", "q"),
    ("XADD", "q", "MINID", "5", "6-0", "a", "6"), ("XRANGE", "q", "-", "+"),
    ("XADD", "q", "MAXLEN", "~", "1", "LIMIT", "0", "7-0", "a", "7"), ("XLEN", "q"),
    ("XSETID", "q", "10-0", "ENTRIESADDED", "20", "MAXDELETEDID", "9-0"), ("XSETID", "q", "5-0"),
    ("XSETID", "q", "10-0", "ENTRIESADDED", "1"), ("XSETID", "q", "10-0", "MAXDELETEDID", "11-0"),
    ("XADD", "q", "10-*", "a", "b"), ("XADD", "q", "9-*", "a", "b"),
    ("XREADGROUP", "GROUP", "g", "c", "NOACK", "STREAMS", "q", ">"), ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "q"),
    ("XREADGROUP", "GROUP", "g", "STREAMS", "q", ">"), ("XREADGROUP", "STREAMS", "q", ">"),
    ("XREAD", "BLOCK", "10", "STREAMS", "q", "$"), ("XREAD", "BLOCK", "x", "STREAMS", "q", "$"),
    ("XREADGROUP", "GROUP", "g", "c", "BLOCK", "10", "STREAMS", "q", ">"), ("XPENDING", "q", "g", "IDLE", "x", "-", "+", "10"),
    ("XPENDING", "q", "g", "-", "+"), ("XACK", "q", "g"), ("XDEL", "q"), ("PUBSUB", "NUMSUB"), ("PUBSUB", "SHARDCHANNELS"),
    ("SPUBLISH", "x", "y"), ("UNSUBSCRIBE",), ("DBSIZE",), ("SCAN", "x"), ("KEYS", "q*"), ("CONFIG", "FOO"),
    ("EXISTS",), ("XLEN",),
]


class Client:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.reader = hiredis.Reader(replyError=lambda m: ("error", m))

    def call(self, *args: str) -> Any:
        enc = [a.encode() for a in args]
        self.sock.sendall(b"*%d\r\n" % len(enc) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in enc))
        while True:
            reply = self.reader.gets()
            if reply is not False:
                return reply
            self.reader.feed(self.sock.recv(65536))


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


def test_replies_match_redis_server_command_for_command(resp_server: Any, redis_server: int) -> None:
    """Every reply, error text included, equals redis-server's for the same script."""
    ours, theirs = Client(resp_server.redis_port), Client(redis_server)
    diffs = []
    for cmd in SCRIPT:
        a, b = theirs.call(*cmd), ours.call(*cmd)
        if a != b:
            diffs.append((cmd, a, b))
    assert diffs == []
