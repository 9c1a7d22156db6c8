"""AMQP benchmark: mqlite vs RabbitMQ with pika, in the same run (issue #9).

Workloads, per broker, with 1 and 2 client processes (each on its own queue):
  persistent: publish delivery_mode=2 with 100 publisher confirms in flight
              (pika SelectConnection), then consume with manual ack, prefetch 100;
  transient:  publish delivery_mode=1 without confirms (BlockingConnection), then
              consume with manual ack, prefetch 100.
Reported: msg/s (all processes together) and the server's CPU time per message
(/proc/<pid>/stat utime+stime over the phase). Also mqlite's startup time (spawn to
AMQP port open) and idle RSS.

RabbitMQ must already run (Debian's rabbitmq-server on another port, e.g. 25672):
    python benchmarks/amqp_bench.py --messages 20000 --rabbit-port 25672
mqlite is started here (`mqlite serve --fsync always`: confirms after fsync, as
RabbitMQ confirms persistent messages after they are written to disk).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import Any

import pika

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def pid_listening(port: int) -> int:
    out = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True, check=False).stdout
    for part in out.split("pid=")[1:]:
        return int(part.split(",")[0])
    raise RuntimeError(f"nothing listens on {port}")


# -- client side (runs in worker processes) ------------------------------------------
def publish_confirmed(port: int, queue: str, n: int, body: bytes, window: int = 100) -> None:
    params = pika.ConnectionParameters("127.0.0.1", port)
    props = pika.BasicProperties(delivery_mode=2)
    st: dict[str, Any] = {"sent": 0, "done": 0, "pending": deque(), "ch": None}

    def pump() -> None:
        ch = st["ch"]
        while st["sent"] < n and len(st["pending"]) < window:
            ch.basic_publish("", queue, body, props)
            st["sent"] += 1
            st["pending"].append(st["sent"])
        if st["done"] >= n:
            ch.connection.close()

    def on_confirm(frame: Any) -> None:
        m = frame.method
        pending = st["pending"]
        if m.multiple:
            while pending and pending[0] <= m.delivery_tag:
                pending.popleft()
                st["done"] += 1
        else:
            try:
                pending.remove(m.delivery_tag)
                st["done"] += 1
            except ValueError:
                pass
        pump()

    def on_channel(ch: Any) -> None:
        st["ch"] = ch
        ch.confirm_delivery(on_confirm, callback=lambda _: pump())

    conn = pika.SelectConnection(params, on_open_callback=lambda c: c.channel(on_open_callback=on_channel),
                                 on_close_callback=lambda c, r: c.ioloop.stop())
    conn.ioloop.start()


def publish_transient(port: int, queue: str, n: int, body: bytes) -> None:
    conn = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", port))
    ch = conn.channel()
    props = pika.BasicProperties(delivery_mode=1)
    for _ in range(n):
        ch.basic_publish("", queue, body, props)
    conn.process_data_events(0)
    conn.close()


def consume(port: int, queue: str, n: int) -> None:
    conn = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", port))
    ch = conn.channel()
    ch.basic_qos(prefetch_count=100)
    count = [0]

    def on_message(c: Any, m: Any, p: Any, b: bytes) -> None:
        c.basic_ack(m.delivery_tag)
        count[0] += 1
        if count[0] >= n:
            c.stop_consuming()

    ch.basic_consume(queue, on_message)
    ch.start_consuming()
    conn.close()


def worker(port: int, index: int, n: int, size: int, barrier: Any) -> None:
    body = os.urandom(size)
    queue = f"bench-{index}"
    conn = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", port))
    ch = conn.channel()
    ch.queue_declare(queue, durable=True)
    ch.queue_purge(queue)
    conn.close()
    for phase in ("persistent-publish", "persistent-consume", "transient-publish", "transient-consume"):
        barrier.wait()
        if phase == "persistent-publish":
            publish_confirmed(port, queue, n, body)
        elif phase == "transient-publish":
            publish_transient(port, queue, n, body)
        else:
            consume(port, queue, n)
        barrier.wait()


def run_broker(name: str, port: int, pid: int, procs: int, n: int, size: int) -> dict[str, tuple[float, float]]:
    """Run the four phases with `procs` client processes; {phase: (msg/s, cpu µs/msg)}."""
    barrier = mp.Barrier(procs + 1)
    workers = [mp.Process(target=worker, args=(port, i, n, size, barrier)) for i in range(procs)]
    for w in workers:
        w.start()
    results: dict[str, tuple[float, float]] = {}
    for phase in ("persistent-publish", "persistent-consume", "transient-publish", "transient-consume"):
        barrier.wait()
        t0, c0 = time.perf_counter(), cpu_seconds(pid)
        barrier.wait()
        dt, dc = time.perf_counter() - t0, cpu_seconds(pid) - c0
        total = n * procs
        results[phase] = (total / dt, dc / total * 1e6)
        print(f"  {name:8} procs={procs} {phase:20} {total / dt:10,.0f} msg/s  "
              f"{dc / total * 1e6:7.1f} µs CPU/msg", flush=True)
    for w in workers:
        w.join()
    return results


def start_mqlite(data_dir: Path) -> tuple[subprocess.Popen[str], int, float]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = [sys.executable, "-m", "mqlite.cli", "serve", "--host", "127.0.0.1", "--data-dir", str(data_dir),
            "--fsync", "always", "--amqp-port", str(port), "--http-port", "off", "--kafka-port", "off",
            "--redis-port", "off", "--mqtt-port", "off", "--stomp-port", "off", "--log-level", "warning"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.05).close()
            break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("mqlite exited") from None
            time.sleep(0.005)
    return proc, port, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=20000, help="messages per client process per phase")
    ap.add_argument("--size", type=int, default=128, help="body bytes")
    ap.add_argument("--rabbit-port", type=int, default=0, help="port of a running RabbitMQ (0: skip)")
    ap.add_argument("--procs", default="1,2")
    opts = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        proc, port, startup = start_mqlite(Path(tmp) / "data")
        time.sleep(1.0)
        print(f"mqlite: startup {startup:.3f} s, idle RSS {rss_mib(proc.pid):.1f} MiB", flush=True)
        table: dict[tuple[str, int], dict[str, tuple[float, float]]] = {}
        try:
            for procs in [int(p) for p in opts.procs.split(",")]:
                table[("mqlite", procs)] = run_broker("mqlite", port, proc.pid, procs, opts.messages, opts.size)
                if opts.rabbit_port:
                    rpid = pid_listening(opts.rabbit_port)
                    table[("rabbitmq", procs)] = run_broker("rabbitmq", opts.rabbit_port, rpid, procs,
                                                            opts.messages, opts.size)
        finally:
            proc.terminate()
            proc.wait(20)
    print("\n| workload | clients | mqlite msg/s | RabbitMQ msg/s | ratio | mqlite CPU µs/msg | RabbitMQ CPU µs/msg |")
    print("|---|---|---|---|---|---|---|")
    for (name, procs), res in table.items():
        if name != "mqlite":
            continue
        peer = table.get(("rabbitmq", procs), {})
        for phase, (rate, cpu) in res.items():
            prate, pcpu = peer.get(phase, (0.0, 0.0))
            ratio = f"{rate / prate:.2f}" if prate else "-"
            print(f"| {phase} | {procs} | {rate:,.0f} | {prate:,.0f} | {ratio} | {cpu:.1f} | {pcpu:.1f} |")


if __name__ == "__main__":
    main()
