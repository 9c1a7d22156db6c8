"""The cost of TLS: the same workloads against a plaintext and a `--tls auto` mqlite,
in the same run (issue 23, "Measured"). Not a test: prints figures.

Two `mqlite serve --memory` child processes (one plaintext, one with `--tls auto`), then,
for each, one after the other:
  kafka produce   confluent-kafka, N x 100-byte messages, acks=1, linger.ms 5,
                  security.protocol PLAINTEXT vs SSL
  sqs send        SendMessageBatch (10 x 100 bytes) from CONC aiohttp coroutines in one
                  process for SECONDS, http:// vs https:// (keep-alive connections)
  amqp publish    pika BlockingConnection, M x 128-byte basic.publish to a queue, then
                  a publisher confirm round trip to make sure all arrived
  handshakes      new connections per second to the Redis port from THREADS threads
                  for SECONDS: TCP connect + (TLS handshake) + PING + close
Each row gives the best of ROUNDS rates (plaintext and TLS alternate) and the server's
CPU microseconds per operation (from /proc) in that round. The TLS certificate is ECDSA P-256 (what `--tls auto` makes); TLS 1.3.

    python benchmarks/tls_bench.py [--messages 200000] [--amqp-messages 20000]
                                   [--seconds 5] [--conc 16] [--threads 4] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import pika
from confluent_kafka import Producer

sys.path.insert(0, os.path.dirname(__file__))
from aws_servers import cpu_seconds, sigv4_headers  # noqa: E402

from mqlite.testing import spawn_server  # noqa: E402


def kafka_produce(port: int, ca: str | None, n: int) -> tuple[int, float]:
    conf: dict[str, Any] = {"bootstrap.servers": f"127.0.0.1:{port}", "acks": 1, "linger.ms": 5,
                            "batch.size": 1 << 20, "queue.buffering.max.messages": 1_000_000}
    if ca:
        conf.update({"security.protocol": "SSL", "ssl.ca.location": ca})
    producer = Producer(conf)
    producer.produce("warm", b"x")
    producer.flush(30)
    value = b"x" * 100
    t0 = time.perf_counter()
    for _ in range(n):
        while True:
            try:
                producer.produce("tls-bench", value)
                break
            except BufferError:
                producer.poll(0.01)
    producer.flush(120)
    return n, time.perf_counter() - t0


def sqs_send(endpoint: str, ca: str | None, seconds: float, conc: int) -> tuple[int, float]:
    import aiohttp

    async def main() -> tuple[int, float]:
        context = ssl.create_default_context(cafile=ca) if ca else None
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=conc, ssl=context or False)) as s:
            create = orjson.dumps({"QueueName": "tls-bench"})
            h = sigv4_headers(endpoint, "sqs", create, {"Content-Type": "application/x-amz-json-1.0",
                                                          "X-Amz-Target": "AmazonSQS.CreateQueue"})
            async with s.post(endpoint + "/", data=create, headers=h) as r:
                url = orjson.loads(await r.read())["QueueUrl"]
            body = orjson.dumps({"QueueUrl": url, "Entries": [{"Id": str(i), "MessageBody": "x" * 100}
                                                              for i in range(10)]})
            h = sigv4_headers(endpoint, "sqs", body, {"Content-Type": "application/x-amz-json-1.0",
                                                        "X-Amz-Target": "AmazonSQS.SendMessageBatch"})
            count = 0
            deadline = time.monotonic() + seconds

            async def sender() -> None:
                nonlocal count
                while time.monotonic() < deadline:
                    async with s.post(endpoint + "/", data=body, headers=h) as r:
                        count += len(orjson.loads(await r.read()).get("Successful", []))

            t0 = time.perf_counter()
            await asyncio.gather(*(sender() for _ in range(conc)))
            return count, time.perf_counter() - t0

    return asyncio.run(main())


def amqp_publish(port: int, ca: str | None, n: int) -> tuple[int, float]:
    params = pika.ConnectionParameters("127.0.0.1", port, ssl_options=pika.SSLOptions(
        ssl.create_default_context(cafile=ca), "localhost") if ca else None)
    connection = pika.BlockingConnection(params)
    channel = connection.channel()
    channel.queue_declare("tls-bench-amqp")
    body = b"x" * 128
    t0 = time.perf_counter()
    for _ in range(n):
        channel.basic_publish("", "tls-bench-amqp", body)
    channel.confirm_delivery()  # one round trip after every publish: all have arrived
    channel.basic_publish("", "tls-bench-amqp", body)
    elapsed = time.perf_counter() - t0
    connection.close()
    return n + 1, elapsed


def handshakes(port: int, ca: str | None, seconds: float, threads: int) -> tuple[int, float]:
    context = ssl.create_default_context(cafile=ca) if ca else None
    counts = [0] * threads
    deadline = time.monotonic() + seconds

    def worker(i: int) -> None:
        while time.monotonic() < deadline:
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            conn = context.wrap_socket(sock, server_hostname="localhost") if context else sock
            conn.sendall(b"PING\r\n")
            conn.recv(64)
            conn.close()
            counts[i] += 1

    t0 = time.perf_counter()
    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(counts), time.perf_counter() - t0


def free_pair(port: int) -> int:
    """The first of `port`, `port + 2`, ... where it and the next port can be bound (a
    busy machine's outgoing connections in TIME_WAIT hold ports of the ephemeral range)."""
    for candidate in range(port, port + 100, 2):
        try:
            for p in (candidate, candidate + 1):
                with socket.socket() as s:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    s.bind(("127.0.0.1", p))
            return candidate
        except OSError:
            continue
    raise RuntimeError(f"no two free ports from {port}")


def start_peer(port: int, tls_dir: Path, ca: str) -> tuple[subprocess.Popen[bytes], int]:
    """redis-server on `port` (plaintext) and `port + 1` (TLS, the same certificate)."""
    port = free_pair(port)
    peer = subprocess.Popen(
        ["redis-server", "--port", str(port), "--tls-port", str(port + 1), "--tls-cert-file",
         str(tls_dir / "server.pem"), "--tls-key-file", str(tls_dir / "server-key.pem"), "--tls-ca-cert-file", ca,
         "--tls-auth-clients", "no", "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port + 1), timeout=1).close()
            return peer, port
        except OSError:
            time.sleep(0.05)
    peer.kill()
    raise RuntimeError(f"redis-server did not start on {port}/{port + 1}")


def peer_row(args: argparse.Namespace, peer: subprocess.Popen[bytes], port: int, ca: str) -> None:
    """New connections per second to redis-server, plaintext and TLS."""
    rates, cpus = {}, {}
    for label, p, cafile in (("plaintext", port, None), ("tls", port + 1, ca)):
        before = cpu_seconds(peer.pid)
        count, elapsed = handshakes(p, cafile, args.seconds, args.threads)
        rates[label], cpus[label] = count / elapsed, (cpu_seconds(peer.pid) - before) / count * 1e6
    version = subprocess.check_output(["redis-server", "--version"], text=True).split()[2]
    print(f"| peer redis-server {version}: new connections (conn/s) | {rates['plaintext']:,.0f} | "
          f"{rates['tls']:,.0f} | {rates['tls'] / rates['plaintext']:.2f} | "
          f"{cpus['plaintext']:.1f} / {cpus['tls']:.1f} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=200_000)
    ap.add_argument("--amqp-messages", type=int, default=20_000)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--conc", type=int, default=16)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--redis-peer-port", type=int, default=0,
                    help="start redis-server on PORT (plaintext) and PORT+1 (TLS), or the next free pair, "
                         "as the peer for new connections")
    args = ap.parse_args()
    print(f"machine: {platform.machine()} {os.cpu_count()} cpu, {platform.python_implementation()} "
          f"{platform.python_version()}, load {open('/proc/loadavg').read().split()[:3]}")
    tmp = Path(tempfile.mkdtemp(prefix="mqlite-tls-bench-"))
    plain = spawn_server(tmp / "plain")
    secure = spawn_server(tmp / "tls", "--tls", "auto")
    ca = str(tmp / "tls" / "tls" / "ca.pem")
    peer, peer_port = start_peer(args.redis_peer_port, tmp / "tls" / "tls", ca) if args.redis_peer_port else (None, 0)
    servers = {"plaintext": (plain, None, "http"), "tls": (secure, ca, "https")}
    phases = {
        "kafka produce (msg/s)": lambda s, c, scheme: kafka_produce(s.ports["kafka"], c, args.messages),
        "sqs SendMessageBatch (msg/s)": lambda s, c, scheme: sqs_send(
            f"{scheme}://127.0.0.1:{s.ports['http']}", c, args.seconds, args.conc),
        "amqp publish (msg/s)": lambda s, c, scheme: amqp_publish(s.ports["amqp"], c, args.amqp_messages),
        "new connections (conn/s)": lambda s, c, scheme: handshakes(s.ports["redis"], c, args.seconds, args.threads),
    }
    try:
        print(f"best of {args.rounds} rounds (plaintext and TLS alternate); server CPU per operation "
              "from /proc (less sensitive to other load than the rates)")
        print("| workload | plaintext | TLS | TLS / plaintext | server CPU µs/op plaintext / TLS |")
        print("|---|---|---|---|---|")
        for name, run in phases.items():
            best: dict[str, tuple[float, float]] = {}
            for _ in range(args.rounds):
                for label, (server, cafile, scheme) in servers.items():
                    before = cpu_seconds(server.process.pid)
                    count, elapsed = run(server, cafile, scheme)
                    cpu_us = (cpu_seconds(server.process.pid) - before) / count * 1e6
                    if label not in best or count / elapsed > best[label][0]:
                        best[label] = (count / elapsed, cpu_us)
            (plain_rate, plain_cpu), (tls_rate, tls_cpu) = best["plaintext"], best["tls"]
            print(f"| {name} | {plain_rate:,.0f} | {tls_rate:,.0f} | {tls_rate / plain_rate:.2f} | "
                  f"{plain_cpu:.1f} / {tls_cpu:.1f} |", flush=True)
        if peer is not None:
            peer_row(args, peer, peer_port, ca)
    finally:
        plain.stop()
        secure.stop()
        if peer is not None:
            peer.terminate()
            peer.wait(10)
    print(f"load after: {open('/proc/loadavg').read().split()[:3]}")


if __name__ == "__main__":
    main()
