"""mqlite against Apache Kafka 4.x in the same run (issue #21, item 5). Not a test: prints figures.

Starts a real single-node Apache Kafka (KRaft, broker + controller in one JVM, the
flags of Kafka's `kafka-server-start.sh`: -Xmx1G -Xms1G, G1) from the jars that
`scripts/install-test-deps.sh` fetched (MQLITE_KAFKA_JARS), on ports 45011/45012 by
default (`--kafka-port`), and `mqlite serve` (Kafka port only, default fsync interval
1000 ms; Kafka's default is no fsync at all: both acknowledge from the page cache),
then runs the same loads against each, one server at a time:

  produce    confluent-kafka, N x 100-byte records, acks=all, batch.size 1 MiB, linger.ms 5
  consume    confluent-kafka reading them back (fetch.queue.backoff.ms 10)
  perf-test  Kafka's own kafka-producer-perf-test (100-byte records, acks=all, N records)
  e2e        end-to-end latency at a fixed rate (10,000 msg/s for S seconds): the
             produce time stamped in the value, a consumer in another thread reading
  server CPU the server process's CPU seconds during each run (/proc), per message
  idle RSS   each server's resident memory after start-up and one topic, before load

Usage: python benchmarks/kafka_peer_bench.py [--messages 500000] [--rate 10000]
       [--seconds 5] [--kafka-port 45011]
The Kafka process is stopped (by its pid) at the end, also on errors.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition

sys.path.insert(0, str(Path(__file__).parent))
from kafka_bench import MIB, VALUE, cpu_seconds, create, say

from mqlite.testing import spawn_server

JARS = Path(os.environ.get("MQLITE_KAFKA_JARS") or Path.home() / ".cache" / "mqlite" / "kafka-jars")
KAFKA_JVM = ["-Xmx1G", "-Xms1G", "-server", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
             "-XX:InitiatingHeapOccupancyPercent=35", "-XX:+ExplicitGCInvokesConcurrent",
             "-Djava.awt.headless=true"]


def rss_mib(pid: int) -> float:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", text).group(1)) / 1024  # type: ignore[union-attr]


def start_kafka(work: Path, port: int) -> subprocess.Popen[bytes]:
    """Format a KRaft log dir and start broker+controller; returns once it answers."""
    cp = f"{JARS}/*"
    props = work / "server.properties"
    props.write_text("\n".join([
        "process.roles=broker,controller", "node.id=1",
        f"controller.quorum.voters=1@127.0.0.1:{port + 1}",
        f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{port + 1}",
        f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
        "controller.listener.names=CONTROLLER", "inter.broker.listener.name=PLAINTEXT",
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        f"log.dirs={work / 'logs'}", "num.partitions=1",
        "offsets.topic.replication.factor=1", "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1", "share.coordinator.state.topic.replication.factor=1",
        "share.coordinator.state.topic.min.isr=1", "group.initial.rebalance.delay.ms=0", ""]))
    subprocess.run(["java", "-cp", cp, "kafka.tools.StorageTool", "format", "-t", str(uuid.uuid4()),
                    "-c", str(props)], check=True, capture_output=True)
    log = (work / "kafka.log").open("wb")
    proc = subprocess.Popen(["java", *KAFKA_JVM, "-cp", cp, "kafka.Kafka", str(props)], stdout=log,
                            stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while True:
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise SystemExit(f"Apache Kafka did not start; see {work / 'kafka.log'}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.5)
    from confluent_kafka.admin import AdminClient

    AdminClient({"bootstrap.servers": f"127.0.0.1:{port}"}).list_topics(timeout=30)
    return proc


def produce(bootstrap: str, topic: str, n: int) -> float:
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "batch.size": MIB, "linger.ms": 5,
                  "queue.buffering.max.messages": 2_000_000, "queue.buffering.max.kbytes": 2 * 1024 * 1024,
                  "enable.idempotence": False})
    t = time.perf_counter()
    for _ in range(n):
        try:
            p.produce(topic, VALUE)
        except BufferError:
            p.poll(0.001)
            p.produce(topic, VALUE)
    assert p.flush(120) == 0
    return time.perf_counter() - t


def consume(bootstrap: str, topic: str, n: int) -> float:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"peer-{topic}", "enable.auto.commit": False,
                  "fetch.queue.backoff.ms": 10, "queued.min.messages": 1_000_000})
    c.assign([TopicPartition(topic, 0, 0)])
    t = time.perf_counter()
    got = 0
    while got < n:
        got += len(c.consume(num_messages=10_000, timeout=1.0))
    elapsed = time.perf_counter() - t
    c.close()
    return elapsed


def perf_test(bootstrap: str, topic: str, n: int) -> float:
    """kafka-producer-perf-test's own records/sec figure."""
    out = subprocess.run(["java", "-Xmx512m", "-cp", f"{JARS}/*", "org.apache.kafka.tools.ProducerPerformance",
                          "--topic", topic, "--num-records", str(n), "--record-size", "100", "--throughput", "-1",
                          "--bootstrap-server", bootstrap, "--command-property", "acks=all"],
                         capture_output=True, text=True, check=True).stdout
    last = [line for line in out.splitlines() if "records sent" in line][-1]
    return float(re.search(r"records sent, ([\d.]+) records/sec", last).group(1))  # type: ignore[union-attr]


def end_to_end(bootstrap: str, topic: str, rate: int, seconds: float) -> list[float]:
    """ms from produce() to the consumer's poll() returning the record, at `rate` msg/s."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"e2e-{topic}", "enable.auto.commit": False,
                  "fetch.wait.max.ms": 100, "fetch.queue.backoff.ms": 1})
    c.assign([TopicPartition(topic, 0, 0)])
    total = int(rate * seconds)
    lat: list[float] = []
    done = threading.Event()

    def reader() -> None:  # poll(): returns as soon as one record is there (consume(n) waits for n)
        while len(lat) < total and not done.is_set():
            m = c.poll(0.2)
            if m is not None and m.error() is None:
                lat.append((time.perf_counter_ns() - int(m.value())) / 1e6)

    thread = threading.Thread(target=reader)
    thread.start()
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 0, "enable.idempotence": False})
    per_tick = max(1, rate // 1000)
    start = time.perf_counter()
    sent = 0
    while sent < total:
        for _ in range(per_tick):
            p.produce(topic, str(time.perf_counter_ns()).encode())
        sent += per_tick
        p.poll(0)
        delay = start + sent / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
    p.flush(30)
    thread.join(30)
    done.set()
    c.close()
    return sorted(lat)


def pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def measure(name: str, bootstrap: str, pid: int, args: Any) -> dict[str, Any]:
    n = args.messages
    create(bootstrap, ["peer-p", "peer-perf", "peer-e2e"])
    time.sleep(1)
    row: dict[str, Any] = {"idle_rss": rss_mib(pid)}
    for key, fn in (("produce", lambda: produce(bootstrap, "peer-p", n)),
                    ("consume", lambda: consume(bootstrap, "peer-p", n))):
        cpu = cpu_seconds(pid)
        elapsed = fn()
        row[key] = (n / elapsed, (cpu_seconds(pid) - cpu) / n * 1e6)
        say(f"{name} {key}: {row[key][0]:,.0f} msg/s, server {row[key][1]:.2f} CPU-µs/msg")
    cpu = cpu_seconds(pid)
    rate = perf_test(bootstrap, "peer-perf", n)
    row["perf"] = (rate, (cpu_seconds(pid) - cpu) / n * 1e6)
    say(f"{name} kafka-producer-perf-test: {rate:,.0f} records/s, server {row['perf'][1]:.2f} CPU-µs/msg")
    cpu = cpu_seconds(pid)
    lat = end_to_end(bootstrap, "peer-e2e", args.rate, args.seconds)
    row["e2e"] = (pct(lat, 0.5), pct(lat, 0.99), (cpu_seconds(pid) - cpu) / max(1, len(lat)) * 1e6, len(lat))
    say(f"{name} end-to-end at {args.rate}/s: p50 {row['e2e'][0]:.2f} ms, p99 {row['e2e'][1]:.2f} ms "
        f"({len(lat)} records), server {row['e2e'][2]:.2f} CPU-µs/msg")
    row["rss_after"] = rss_mib(pid)
    return row


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=500_000)
    ap.add_argument("--rate", type=int, default=10_000)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--kafka-port", type=int, default=45011, help="Kafka's port (+1 for its controller)")
    args = ap.parse_args()
    if not (JARS / ".complete").is_file():
        raise SystemExit(f"no Kafka jars in {JARS}: run scripts/install-test-deps.sh")
    say(f"machine: {platform.platform()}, {os.cpu_count()} cpus, load {os.getloadavg()}, "
        f"python {platform.python_version()}")
    work = Path(tempfile.mkdtemp(prefix="kafka-peer-"))
    results: dict[str, dict[str, Any]] = {}
    server = spawn_server(work / "mqlite", "--http-port", "off", "--amqp-port", "off", "--redis-port", "off")
    try:
        results["mqlite"] = measure("mqlite", f"127.0.0.1:{server.ports['kafka']}", server.process.pid, args)
    finally:
        server.stop()
    kafka = start_kafka(work, args.kafka_port)
    try:
        results["kafka"] = measure("kafka", f"127.0.0.1:{args.kafka_port}", kafka.pid, args)
    finally:
        kafka.terminate()
        kafka.wait(60)
    m, k = results["mqlite"], results["kafka"]
    say(f"\nload average at the end: {os.getloadavg()}")
    say("| run | mqlite | Apache Kafka 4.4 | ratio mqlite/Kafka |")
    say("|---|---:|---:|---:|")
    for key, label in (("produce", "confluent-kafka produce, acks=all (msg/s)"),
                       ("consume", "confluent-kafka consume (msg/s)"),
                       ("perf", "kafka-producer-perf-test, 100 B, acks=all (records/s)")):
        say(f"| {label} | {m[key][0]:,.0f} | {k[key][0]:,.0f} | {m[key][0] / k[key][0]:.2f}x |")
        say(f"| ... server CPU per message (µs) | {m[key][1]:.2f} | {k[key][1]:.2f} | {m[key][1] / k[key][1]:.2f}x |")
    say(f"| end-to-end p50 at {args.rate}/s (ms) | {m['e2e'][0]:.2f} | {k['e2e'][0]:.2f} | |")
    say(f"| end-to-end p99 at {args.rate}/s (ms) | {m['e2e'][1]:.2f} | {k['e2e'][1]:.2f} | |")
    say(f"| idle RSS after start and 3 topics (MiB) | {m['idle_rss']:.0f} | {k['idle_rss']:.0f} | "
        f"{m['idle_rss'] / k['idle_rss']:.2f}x |")
    say(f"| RSS after the runs (MiB) | {m['rss_after']:.0f} | {k['rss_after']:.0f} | |")


if __name__ == "__main__":
    main()
