"""Stream-queue consume throughput: mqlite vs RabbitMQ with pika, in the same run (issue #22).

Per broker: declare a stream queue (`x-queue-type: stream`), publish N messages with
publisher confirms (not timed), then time one consumer reading them all from
`x-stream-offset: first` with Basic.Qos prefetch P, acking every 50th message with
`multiple` (acks only return credit on a stream). Reported: msg/s and the broker's CPU
time per message over the consume (utime+stime from /proc), plus the load average.

RabbitMQ must already run (Debian's rabbitmq-server; stream queues are in its core
since 3.9), e.g. `scripts/rabbitmq-peer.sh start /tmp/rmq 47672`:
    python benchmarks/amqp_stream_bench.py --messages 50000 --rabbit-port 47672
mqlite is started here.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pika

sys.path.insert(0, str(Path(__file__).parent))
from amqp_bench import cpu_seconds, pid_listening, start_mqlite  # noqa: E402

STREAM = {"x-queue-type": "stream"}


def fill(port: int, queue: str, n: int, size: int) -> None:
    conn = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", port))
    ch = conn.channel()
    ch.queue_declare(queue, durable=True, arguments=STREAM)
    ch.confirm_delivery()
    body = b"x" * size
    for _ in range(n):
        ch.basic_publish("", queue, body)
    conn.close()


def consume(port: int, queue: str, n: int, prefetch: int) -> float:
    """Seconds to read `n` messages from the start of the stream."""
    conn = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", port))
    ch = conn.channel()
    ch.basic_qos(prefetch_count=prefetch)
    seen = 0

    def on_message(c: Any, m: Any, p: Any, b: bytes) -> None:
        nonlocal seen
        seen += 1
        if seen % 50 == 0 or seen == n:
            c.basic_ack(m.delivery_tag, multiple=True)
        if seen >= n:
            c.stop_consuming()

    t0 = time.perf_counter()
    ch.basic_consume(queue, on_message, arguments={"x-stream-offset": "first"})
    ch.start_consuming()
    elapsed = time.perf_counter() - t0
    conn.close()
    return elapsed


def measure(name: str, port: int, pid: int, n: int, size: int, prefetch: int) -> tuple[float, float]:
    queue = f"bench-stream-{os.getpid()}-{int(time.time())}"
    fill(port, queue, n, size)
    time.sleep(1.0)  # let the broker settle after the publish burst
    cpu0 = cpu_seconds(pid)
    secs = consume(port, queue, n, prefetch)
    cpu = cpu_seconds(pid) - cpu0
    conn = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", port))
    conn.channel().queue_delete(queue)
    conn.close()
    rate, us = n / secs, cpu / n * 1e6
    print(f"{name:8} consume {rate:10,.0f} msg/s  broker CPU {us:6.1f} µs/msg", flush=True)
    return rate, us


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=50_000)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--prefetch", type=int, default=500)
    ap.add_argument("--rabbit-port", type=int, required=True)
    ap.add_argument("--rounds", type=int, default=2)
    a = ap.parse_args()
    print(f"load average at start: {os.getloadavg()}")
    rabbit_pid = pid_listening(a.rabbit_port)
    with tempfile.TemporaryDirectory() as tmp:
        proc, port, _ = start_mqlite(Path(tmp))
        try:
            for r in range(a.rounds):
                m = measure("mqlite", port, proc.pid, a.messages, a.size, a.prefetch)
                q = measure("rabbitmq", a.rabbit_port, rabbit_pid, a.messages, a.size, a.prefetch)
                print(f"round {r + 1}: mqlite/RabbitMQ = {m[0] / q[0]:.2f} (msg/s), "
                      f"{m[1] / q[1]:.2f} (CPU per msg)", flush=True)
        finally:
            proc.terminate()
            proc.wait()
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
