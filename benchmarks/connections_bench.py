"""Connections at scale (#25 item 3): 10,000 idle connections over the four front-ends,
then 1,000 active ones; redis-server with 10,000 idle connections as the peer.

    python benchmarks/connections_bench.py [--idle 10000] [--active 1000] [--seconds 10]

- idle: `--idle` TCP connections spread evenly over mqlite's HTTP, Kafka, AMQP and
  Redis ports (AMQP ones send the protocol header and wait in the handshake, the others
  send nothing), from 16 loopback source addresses (127.0.0.2...; one address may hold
  `max_connections_per_address` connections per listener); the server's RSS before and
  after gives the memory per idle connection. While they open, a fresh Redis connection
  times connect + PING every 500 connections: the worst is the accept stall.
- active: `--active` more connections (a third each on Redis `PING`, HTTP
  `GET /_mqlite/health` keep-alive, Kafka `ApiVersions` v0) each sending its next request
  as soon as the previous answer arrives, for `--seconds`, while the idle ones stay
  open: requests/s, the round-trip p50/p99, and fairness = the fewest requests one
  connection completed over the median (1.0 = perfectly even; 0 = one starved).
- peer: redis-server (`--maxclients` raised) with the same number of idle connections,
  its RSS per connection.

The client is one process with a selector (no threads); its own descriptor limit is
raised to the hard limit first. Everything runs on ports the OS picks; servers are
stopped at the end.
"""

from __future__ import annotations

import argparse
import os
import resource
import selectors
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))
from compare import rss_mib
from compare_peers import free_block, start_mqlite, wait_port
from hostile_memory import (
    _alive as still_open,  # open: nothing or data to read, not EOF
)

SOURCES = [f"127.0.0.{i}" for i in range(2, 18)]
AMQP_HEADER = b"AMQP\x00\x00\x09\x01"
KAFKA_API_VERSIONS = struct.pack(">ihhih", 0, 18, 0, 0, 6) + b"mqlite"  # size patched below
KAFKA_API_VERSIONS = struct.pack(">i", len(KAFKA_API_VERSIONS) - 4) + KAFKA_API_VERSIONS[4:]


def rss_kib(pid: int) -> int:
    return round((rss_mib(pid) or 0.0) * 1024)


def connect(port: int, source: str) -> socket.socket:
    s = socket.socket()
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    return s


def ping_time(port: int) -> float:
    """Seconds for a fresh connection to connect and get PONG (an accept stall shows here)."""
    t = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(b"PING\r\n")
        s.recv(16)
    return time.perf_counter() - t


def open_idle(ports: dict[str, int], n: int, probe: int | None) -> tuple[list[socket.socket], float]:
    socks: list[socket.socket] = []
    kinds = list(ports)
    worst = 0.0
    for i in range(n):
        kind = kinds[i % len(kinds)]
        s = connect(ports[kind], SOURCES[(i // len(kinds)) % len(SOURCES)])
        if kind == "amqp":
            s.sendall(AMQP_HEADER)
        socks.append(s)
        if probe is not None and i % 500 == 499:
            worst = max(worst, ping_time(probe))
        if i % 2000 == 1999:
            print(f"  {i + 1} idle connections open", flush=True)
    return socks, worst


class Active:
    """One request/response connection and its counters."""

    def __init__(self, kind: str, sock: socket.socket, request: bytes) -> None:
        self.kind, self.sock, self.request = kind, sock, request
        self.buf = b""
        self.done = 0
        self.sent_at = 0.0
        self.rtts: list[float] = []

    def send(self) -> None:
        self.sent_at = time.perf_counter()
        self.sock.sendall(self.request)

    def complete(self) -> bool:
        """Whether `buf` holds a whole answer (which is then consumed)."""
        b = self.buf
        if self.kind == "redis":
            at = b.find(b"\r\n")
            if at < 0:
                return False
            self.buf = b[at + 2:]
            return True
        if self.kind == "kafka":
            if len(b) < 4:
                return False
            size = struct.unpack_from(">i", b)[0]
            if len(b) < 4 + size:
                return False
            self.buf = b[4 + size:]
            return True
        head = b.find(b"\r\n\r\n")
        if head < 0:
            return False
        length = 0
        for line in b[:head].split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        if len(b) < head + 4 + length:
            return False
        self.buf = b[head + 4 + length:]
        return True


def run_active(ports: dict[str, int], n: int, seconds: float) -> dict[str, Any]:
    http = b"GET /_mqlite/health HTTP/1.1\r\nHost: bench\r\nConnection: keep-alive\r\n\r\n"
    plan = [("redis", b"PING\r\n"), ("http", http), ("kafka", KAFKA_API_VERSIONS)]
    sel = selectors.DefaultSelector()
    conns = []
    for i in range(n):
        kind, req = plan[i % len(plan)]
        c = Active(kind, connect(ports[kind], SOURCES[-1 - (i % 4)]), req)
        c.sock.setblocking(False)
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sel.register(c.sock, selectors.EVENT_READ, c)
        conns.append(c)
    for c in conns:
        c.send()
    start = time.perf_counter()
    end = start + seconds
    while time.perf_counter() < end:
        for key, _ in sel.select(timeout=0.5):
            c = key.data
            try:
                data = c.sock.recv(65536)
            except BlockingIOError:
                continue
            if not data:
                raise RuntimeError(f"a {c.kind} connection was closed by the server")
            c.buf += data
            while c.complete():
                now = time.perf_counter()
                c.rtts.append(now - c.sent_at)
                c.done += 1
                if now < end:
                    c.send()
    elapsed = time.perf_counter() - start
    rtts = sorted(r for c in conns for r in c.rtts)
    for c in conns:
        c.sock.close()
    out: dict[str, Any] = {"rps": sum(c.done for c in conns) / elapsed, "fairness": 1.0,
                             "p50_ms": rtts[len(rtts) // 2] * 1000, "p99_ms": rtts[int(len(rtts) * 0.99)] * 1000}
    for kind, _ in plan:  # fairness among connections making the same request
        counts = [c.done for c in conns if c.kind == kind]
        med = statistics.median(counts)
        out[kind] = f"{sum(counts) / elapsed:,.0f} req/s, per connection min/median/max {min(counts)}/{med:.0f}/{max(counts)}"
        out["fairness"] = min(out["fairness"], min(counts) / med if med else 0.0)
    return out


def peer_idle(n: int) -> tuple[float, float] | None:
    """redis-server with `n` idle connections: (KiB per connection, worst PING stall s)."""
    if not shutil.which("redis-server"):
        return None
    port = free_block(49400, 1)
    with tempfile.TemporaryDirectory() as d:
        proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                 "--appendonly", "no", "--dir", d, "--maxclients", str(n + 100)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_port(port, proc)
            time.sleep(0.5)
            before = rss_kib(proc.pid)
            socks, worst = open_idle({"redis": port}, n, port)
            time.sleep(1.0)
            per = (rss_kib(proc.pid) - before) / n
            for s in socks:
                s.close()
            return per, worst
        finally:
            proc.terminate()
            proc.wait(10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--idle", type=int, default=10_000)
    ap.add_argument("--active", type=int, default=1_000)
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = args.idle + args.active + 200
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(need, soft)), hard))
    work = Path(tempfile.mkdtemp(prefix="mqlite-conns-"))
    server = start_mqlite(work, free_block(49420, 4))
    try:
        time.sleep(1.0)
        before = rss_kib(server.pid)
        print(f"mqlite pid {server.pid}, idle RSS {before / 1024:.1f} MiB; opening {args.idle} idle connections",
              flush=True)
        t = time.perf_counter()
        socks, worst = open_idle(server.ports, args.idle, server.ports["redis"])
        opened = time.perf_counter() - t
        time.sleep(1.0)
        after = rss_kib(server.pid)
        per = (after - before) / args.idle
        print(f"idle: {args.idle} connections in {opened:.1f} s; RSS {after / 1024:.1f} MiB = {per:.1f} KiB per "
              f"connection; worst connect+PING while opening {worst * 1000:.1f} ms", flush=True)
        print(f"active: {args.active} connections for {args.seconds:.0f} s ...", flush=True)
        act = run_active(server.ports, args.active, args.seconds)
        stall = ping_time(server.ports["redis"])
        print(f"active: {act['rps']:,.0f} requests/s, round trip p50 {act['p50_ms']:.2f} ms p99 "
              f"{act['p99_ms']:.2f} ms; fairness (fewest / median completed, same request kind) "
              f"{act['fairness']:.2f}; a new connect+PING then {stall * 1000:.1f} ms; "
              f"RSS {rss_kib(server.pid) / 1024:.1f} MiB", flush=True)
        for kind in ("redis", "http", "kafka"):
            print(f"  {kind}: {act[kind]}", flush=True)
        alive = sum(1 for s in socks if still_open(s))
        print(f"idle connections still open after the active phase: {alive}/{len(socks)}", flush=True)
        for s in socks:
            s.close()
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    peer = peer_idle(args.idle)
    if peer is not None:
        print(f"peer redis-server: {args.idle} idle connections, {peer[0]:.1f} KiB per connection; worst "
              f"connect+PING while opening {peer[1] * 1000:.1f} ms", flush=True)


if __name__ == "__main__":
    main()
