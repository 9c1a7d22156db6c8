"""Redis front-end benchmark: mqlite vs Debian's redis-server, same machine, same run.

Measures (issue #8):
1. PUBLISH throughput with redis-benchmark, without and with pipelining (-P 16);
2. pub/sub delivered messages/s and p99 latency, 1 publisher and 10 subscribers, at a
   paced 10,000 messages/s and flat out (raw sockets, subscribers in a child process so
   the publisher is not slowed by parsing; all 10 are read, latency is taken on one of
   them with hiredis, the others are counted, so the measuring client stays cheaper
   than the server it measures);
3. XADD pipelined throughput (redis-benchmark -P 16), with `appendfsync everysec` on
   redis-server and `--fsync 1000` on mqlite (fsync interval 1 s);
4. XREADGROUP + XACK throughput (redis-py, COUNT 100, acks pipelined).

Usage: python benchmarks/resp_bench.py [--quick]   (prints progress and a markdown table)
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import hiredis
import redis


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"port {port} never opened")


def start_mqlite(tmp: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mqlite.cli", "serve", "--data-dir", str(tmp / "mqlite"), "--fsync", "1000",
         "--http-port", "off", "--kafka-port", "off", "--amqp-port", "off", "--mqtt-port", "off", "--stomp-port", "off", "--redis-port", str(port),
         "--log-level", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    wait_port(port)
    return proc, port


def start_redis(tmp: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    d = tmp / "redis"
    d.mkdir()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
         "--appendfsync", "everysec", "--dir", str(d)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    wait_port(port)
    return proc, port


def rbench(port: int, n: int, pipeline: int, *cmd: str, clients: int = 50) -> float:
    out = subprocess.run(
        ["redis-benchmark", "-p", str(port), "-n", str(n), "-c", str(clients), "-P", str(pipeline), "-q", *cmd],
        capture_output=True, text=True, timeout=300, check=False,
    ).stdout
    m = re.findall(r"([\d.]+) requests per second", out)
    if not m:
        raise RuntimeError(f"redis-benchmark output not understood: {out!r}")
    return float(m[-1])


# -- pub/sub latency ----------------------------------------------------------------------
def _subscribers(port: int, n_subs: int, expect: int, ready: Any, out: Any) -> None:
    import selectors

    sel = selectors.DefaultSelector()
    socks = []
    for _ in range(n_subs):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"*2\r\n$9\r\nSUBSCRIBE\r\n$5\r\nbench\r\n")
        rd = hiredis.Reader()
        while True:
            rd.feed(s.recv(4096))
            if rd.gets() is not False:
                break
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, rd)
        socks.append(s)
    ready.set()
    latencies: list[int] = []
    got = 0
    total = expect * n_subs
    first = last = 0.0
    deadline = time.time() + 120
    probe = socks[0]  # latency is measured on one subscriber; the others are counted
    marker = b"$7\r\nmessage\r\n"
    carry: dict[int, bytes] = {}
    while got < total and time.time() < deadline:
        for key, _ in sel.select(timeout=1.0):
            data = key.fileobj.recv(1 << 20)  # type: ignore[union-attr]
            if not data:
                sel.unregister(key.fileobj)
                continue
            now = time.time_ns()
            if not first:
                first = time.perf_counter()
            if key.fileobj is probe:
                rd = key.data
                rd.feed(data)
                while True:
                    msg = rd.gets()
                    if msg is False:
                        break
                    got += 1
                    latencies.append(now - int(msg[2][:19]))
            else:  # count markers, including one split across two reads
                tail = carry.get(key.fd, b"")
                got += (tail + data).count(marker)
                carry[key.fd] = data[-(len(marker) - 1) :]
            last = time.perf_counter()
    out.put((got, last - first, latencies))


def pubsub_run(port: int, n_msgs: int, rate: float | None) -> dict[str, float]:
    ctx = mp.get_context("fork")
    ready = ctx.Event()
    q = ctx.Queue()
    proc = ctx.Process(target=_subscribers, args=(port, 10, n_msgs, ready, q))
    proc.start()
    ready.wait(30)
    time.sleep(0.2)
    pub = socket.create_connection(("127.0.0.1", port))
    pub.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    rd = hiredis.Reader()
    pad = b"x" * 40
    start = time.perf_counter()
    sent = 0
    batch = 10
    while sent < n_msgs:
        k = min(batch, n_msgs - sent)
        chunk = []
        for _ in range(k):
            payload = b"%019d" % time.time_ns() + pad
            chunk.append(b"*3\r\n$7\r\nPUBLISH\r\n$5\r\nbench\r\n$%d\r\n%s\r\n" % (len(payload), payload))
        pub.sendall(b"".join(chunk))
        replies = 0
        while replies < k:
            rd.feed(pub.recv(65536))
            while rd.gets() is not False:
                replies += 1
        sent += k
        if rate:
            target = start + sent / rate
            while time.perf_counter() < target:
                pass
    got, span, lat = q.get(timeout=180)
    proc.join(10)
    pub.close()
    lat.sort()
    p = lambda f: lat[min(len(lat) - 1, int(f * len(lat)))] / 1e6 if lat else float("nan")
    return {"delivered": got, "delivered_per_s": got / span if span else 0.0, "p50_ms": p(0.5), "p99_ms": p(0.99)}


# -- XREADGROUP + XACK --------------------------------------------------------------------
def group_run(port: int, n: int) -> float:
    r = redis.Redis(port=port)
    r.delete("gbench")
    pipe = r.pipeline(transaction=False)
    for i in range(n):
        pipe.xadd("gbench", {"f": "v"})
        if i % 1000 == 999:
            pipe.execute()
    pipe.execute()
    r.xgroup_create("gbench", "g", id="0")
    done = 0
    start = time.perf_counter()
    while done < n:
        reply = r.xreadgroup("g", "c", {"gbench": ">"}, count=100)
        if not reply:
            break
        entries = reply[0][1]
        r.xack("gbench", "g", *[e[0] for e in entries])
        done += len(entries)
    elapsed = time.perf_counter() - start
    r.close()
    return done / elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    if not shutil.which("redis-server") or not shutil.which("redis-benchmark"):
        sys.exit("needs redis-server and redis-benchmark (Debian redis-server, redis-tools)")
    scale = 1 if args.quick else 2
    tmp = Path(tempfile.mkdtemp(prefix="resp-bench-"))
    results: dict[str, dict[str, Any]] = {"mqlite": {}, "redis-server": {}}
    procs = []
    try:
        mq, mq_port = start_mqlite(tmp)
        rs, rs_port = start_redis(tmp)
        procs = [mq, rs]
        for name, port in (("redis-server", rs_port), ("mqlite", mq_port)):
            res = results[name]
            print(f"[{name}] PUBLISH, no pipelining ...", flush=True)
            res["publish"] = rbench(port, 50_000 * scale, 1, "PUBLISH", "ch", "hello")
            print(f"[{name}] PUBLISH -P 16 ...", flush=True)
            res["publish_p16"] = rbench(port, 200_000 * scale, 16, "PUBLISH", "ch", "hello")
            print(f"[{name}] XADD -P 16 ...", flush=True)
            res["xadd_p16"] = rbench(port, 200_000 * scale, 16, "XADD", "bench", "*", "f", "v")
            print(f"[{name}] pub/sub 10 subscribers at 10,000 msg/s ...", flush=True)
            res["pubsub_10k"] = pubsub_run(port, 20_000 * scale // 2 * 2, 10_000)
            print(f"[{name}] pub/sub 10 subscribers flat out ...", flush=True)
            res["pubsub_max"] = pubsub_run(port, 20_000 * scale, None)
            print(f"[{name}] XREADGROUP+XACK ...", flush=True)
            res["group"] = group_run(port, 50_000 * scale)
            print(f"[{name}] {res}", flush=True)
    finally:
        for p in procs:
            p.terminate()
            p.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)
    m, r = results["mqlite"], results["redis-server"]
    rows = [
        ("PUBLISH req/s (-c 50, no pipelining)", m["publish"], r["publish"]),
        ("PUBLISH req/s (-c 50, -P 16)", m["publish_p16"], r["publish_p16"]),
        ("XADD req/s (-c 50, -P 16; fsync 1 s / appendfsync everysec)", m["xadd_p16"], r["xadd_p16"]),
        ("pub/sub delivered msg/s, 1 pub -> 10 subs, flat out", m["pubsub_max"]["delivered_per_s"], r["pubsub_max"]["delivered_per_s"]),
        ("pub/sub p50 latency ms at 10,000 msg/s x 10 subs", m["pubsub_10k"]["p50_ms"], r["pubsub_10k"]["p50_ms"]),
        ("pub/sub p99 latency ms at 10,000 msg/s x 10 subs", m["pubsub_10k"]["p99_ms"], r["pubsub_10k"]["p99_ms"]),
        ("XREADGROUP(COUNT 100)+XACK entries/s, redis-py", m["group"], r["group"]),
    ]
    print("\n| measure | mqlite | redis-server | ratio |\n|---|---:|---:|---:|")
    for label, a, b in rows:
        print(f"| {label} | {a:,.2f} | {b:,.2f} | {a / b if b else 0:.2f} |")
    print(f"\nmachine: {os.cpu_count()} CPUs, {os.uname().sysname} {os.uname().release}, Python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
