"""Kafka front-end benchmark (issue 7, section 5). Not a test: prints figures.

Starts `mqlite serve` as a child process (Kafka port only, default fsync policy: an
interval of 1000 ms) on a temporary data directory, then measures with real clients:

  produce   confluent-kafka, N x 100-byte messages to a 1-partition topic,
            batch.size 1 MiB, linger.ms 5; acks=1 and acks=all; no compression and lz4
  consume   confluent-kafka reading the uncompressed and the lz4 topics back in
            consume() batches of 10,000, twice: with librdkafka's default consumer
            settings, and tuned (fetch.queue.backoff.ms 10, queued.min.messages 1M)
  kafka-py  kafka-python's producer (acks=1, batch_size 1 MiB, linger_ms 5)
  latency   confluent-kafka acks=1, linger.ms 0, a fixed rate of R messages/s for S
            seconds: p50/p99/max of librdkafka's Message.latency() (produce() to ack)
  server CPU  the server process's CPU seconds during each run (from /proc), to show
            which side of the socket bounds the figure
  ceiling   the storage engine's own append ceiling in this process: FileLog.append_batch
            of pre-encoded 1 MiB batches of 100-byte records (as the foundation
            benchmark measures it), fsync policy interval 1000 ms

Usage: python benchmarks/kafka_bench.py [--messages 1000000] [--kp-messages 200000]
       [--rate 10000] [--seconds 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from mqlite.storage import FileLog, GroupCommitter, LogConfig, encode_batch
from mqlite.testing import spawn_server

VALUE = b"x" * 100
MIB = 1024 * 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def say(text: str) -> None:
    print(text, flush=True)


def create(bootstrap: str, names: list[str]) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic(n, 1, 1) for n in names]).values():
        f.result()


def produce_confluent(bootstrap: str, topic: str, n: int, acks: str, compression: str) -> float:
    producer = Producer({
        "bootstrap.servers": bootstrap, "acks": acks, "batch.size": MIB, "linger.ms": 5,
        "compression.type": compression, "queue.buffering.max.messages": 2_000_000,
        "queue.buffering.max.kbytes": 2 * 1024 * 1024, "message.max.bytes": 2 * MIB,
        "enable.idempotence": False,
    })
    produce = producer.produce
    t = time.perf_counter()
    for _ in range(n):
        try:
            produce(topic, VALUE)
        except BufferError:
            producer.poll(0.001)
            produce(topic, VALUE)
    remaining = producer.flush(120)
    elapsed = time.perf_counter() - t
    assert remaining == 0, f"{remaining} messages not delivered"
    return elapsed


# Consumer settings compared by the consume run. librdkafka (>= 2.4) stops fetching a
# partition once queued.min.messages are queued and then waits fetch.queue.backoff.ms
# (default 1000 ms) before it looks again, so with the defaults a fast reader idles most
# of each second; librdkafka's CONFIGURATION.md says to lower it in that case.
CONSUMER_PROFILES = {
    "defaults": {},
    "tuned": {"fetch.queue.backoff.ms": 10, "queued.min.messages": 1_000_000},
}


def consume_confluent(bootstrap: str, topic: str, n: int, profile: str) -> float:
    """Read n messages from partition 0 of topic by assign() (no group join), in
    consume() batches of 10,000; the clock includes connecting and the first fetch."""
    consumer = Consumer({
        "bootstrap.servers": bootstrap, "group.id": f"bench-{topic}-{profile}",
        "enable.auto.commit": False, **CONSUMER_PROFILES[profile],
    })
    consumer.assign([TopicPartition(topic, 0, 0)])
    t = time.perf_counter()
    got = 0
    while got < n:
        batch = consumer.consume(num_messages=10_000, timeout=1.0)
        got += len(batch)
    elapsed = time.perf_counter() - t
    consumer.close()
    return elapsed


def produce_kafka_python(bootstrap: str, topic: str, n: int) -> float:
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks=1, batch_size=MIB, linger_ms=5,
                             max_request_size=2 * MIB)
    send = producer.send
    t = time.perf_counter()
    for _ in range(n):
        send(topic, VALUE)
    producer.flush()
    elapsed = time.perf_counter() - t
    producer.close()
    return elapsed


def latency(bootstrap: str, topic: str, rate: int, seconds: float) -> list[float]:
    """Produce at a fixed rate (a tick of 1 ms: rate/1000 messages, then sleep to the
    next tick), acks=1, linger.ms=0. The latency of a message is librdkafka's own
    measure, `Message.latency()`: from produce() to the broker's acknowledgement being
    processed, so the Python callback's scheduling does not count."""
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "1", "linger.ms": 0,
                         "enable.idempotence": False})
    lat: list[float] = []

    def done(err, msg):  # type: ignore[no-untyped-def]
        if err is None:
            lat.append(msg.latency())

    for _ in range(200):  # warm the connection
        producer.produce(topic, VALUE)
    producer.flush(10)
    clock = time.perf_counter
    total = int(rate * seconds)
    per_tick = max(1, rate // 1000)
    start = clock()
    sent = 0
    while sent < total:
        for _ in range(per_tick):
            producer.produce(topic, VALUE, on_delivery=done)
        sent += per_tick
        producer.poll(0)
        delay = start + sent / rate - clock()
        if delay > 0:
            time.sleep(delay)
    producer.flush(30)
    return sorted(lat)


def storage_ceiling(directory: Path, mib: int) -> tuple[float, int]:
    n = MIB // 110
    batch = encode_batch([(None, VALUE)] * n, now_ms=1_700_000_000_000)
    while len(batch) > MIB:
        n -= 50
        batch = encode_batch([(None, VALUE)] * n, now_ms=1_700_000_000_000)
    d = directory / "ceiling"
    with GroupCommitter("1000") as committer:
        log = FileLog(d, LogConfig(segment_bytes=512 * MIB, max_batch_bytes=2 * MIB), committer)
        t = time.perf_counter()
        last = None
        for _ in range(mib):
            last = log.append_batch(batch)
        assert last is not None
        last.durable.result()
        elapsed = time.perf_counter() - t
        log.close()
    shutil.rmtree(d)
    return elapsed, n * mib


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--kp-messages", type=int, default=200_000)
    ap.add_argument("--rate", type=int, default=10_000)
    ap.add_argument("--seconds", type=float, default=5.0)
    args = ap.parse_args()
    n = args.messages
    say(f"machine: {platform.platform()}, {os.cpu_count()} cpus, python {platform.python_version()}")
    tmp = Path(tempfile.mkdtemp(prefix="kafka-bench-"))
    server = spawn_server(tmp / "data", "--http-port", "off", "--amqp-port", "off", "--redis-port", "off")
    bootstrap = f"127.0.0.1:{server.ports['kafka']}"
    say(f"mqlite serve at {bootstrap}, data in {tmp}, fsync interval 1000 ms")
    rows: list[tuple[str, int, float, float]] = []
    pid = server.process.pid
    try:
        configs = [("1", "none"), ("all", "none"), ("1", "lz4"), ("all", "lz4")]
        create(bootstrap, [f"p-{a}-{c}" for a, c in configs] + ["kp", "lat"])
        for acks, comp in configs:
            say(f"producing {n:,} x 100 B with confluent-kafka, acks={acks}, compression={comp} ...")
            cpu = cpu_seconds(pid)
            el = produce_confluent(bootstrap, f"p-{acks}-{comp}", n, acks, comp)
            rows.append((f"confluent produce acks={acks} {comp}", n, el, cpu_seconds(pid) - cpu))
            say(f"  {n / el:,.0f} msg/s, {n * 100 / el / 1e6:,.1f} MB/s")
        for profile in CONSUMER_PROFILES:
            for comp in ("none", "lz4"):
                say(f"consuming {n:,} with confluent-kafka ({comp}, {profile} consumer settings) ...")
                cpu = cpu_seconds(pid)
                el = consume_confluent(bootstrap, f"p-1-{comp}", n, profile)
                rows.append((f"confluent consume {comp}, {profile}", n, el, cpu_seconds(pid) - cpu))
                say(f"  {n / el:,.0f} msg/s, {n * 100 / el / 1e6:,.1f} MB/s")
        kp = args.kp_messages
        say(f"producing {kp:,} x 100 B with kafka-python, acks=1 ...")
        cpu = cpu_seconds(pid)
        el = produce_kafka_python(bootstrap, "kp", kp)
        rows.append(("kafka-python produce acks=1 none", kp, el, cpu_seconds(pid) - cpu))
        say(f"  {kp / el:,.0f} msg/s, {kp * 100 / el / 1e6:,.1f} MB/s")
        say(f"latency: {args.rate:,} msg/s for {args.seconds:g} s, acks=1, linger.ms=0 ...")
        cpu = cpu_seconds(pid)
        lat = latency(bootstrap, "lat", args.rate, args.seconds)
        say(f"  server CPU during the latency run: {cpu_seconds(pid) - cpu:.2f} s")
        if lat:
            p50, p99 = lat[len(lat) // 2], lat[int(len(lat) * 0.99)]
            say(f"  {len(lat):,} delivered; p50 {p50 * 1e3:.2f} ms, p99 {p99 * 1e3:.2f} ms, max {lat[-1] * 1e3:.2f} ms")
    finally:
        server.stop()
    say("storage ceiling: FileLog.append_batch of 1 MiB batches, 256 MiB ...")
    el, count = storage_ceiling(tmp, 256)
    say(f"  {count / el:,.0f} msg/s, {256 * MIB / el / 1e6:,.0f} MB/s")
    shutil.rmtree(tmp, ignore_errors=True)
    say("\n| run | messages | msg/s | MB/s (payload) | seconds | server CPU s |\n|---|---:|---:|---:|---:|---:|")
    for name, count_, secs, cpu_used in rows:
        say(f"| {name} | {count_:,} | {count_ / secs:,.0f} | {count_ * 100 / secs / 1e6:,.1f} | {secs:.2f} | {cpu_used:.2f} |")


if __name__ == "__main__":
    main()
