"""Authorization overhead (issue #23, "Measured"): Kafka produce, SQS send, AMQP publish
with authentication on, without and with authorization rules. Not a test: prints figures.

Each round starts `mqlite serve --memory` twice as a child process with the same user
(`bench`, not an admin, so every request is checked): once with no rules (authorization
off) and once with 22 `--acl` rules (20 that do not match, then the ones that do), and
measures, with real clients:

  kafka   confluent-kafka over SASL PLAIN, N x 100-byte messages, acks=1, linger.ms 5
  sqs     SendMessageBatch (10 x 100 bytes) over aiohttp, SigV4-signed as user bench,
          C concurrent requests, R requests in all
  amqp    pika publishing M x 128-byte messages to the default exchange, then waiting
          until the queue holds them all

and the server process's CPU seconds per message (from /proc), which on a shared
machine is steadier than wall-clock rates. Rounds alternate off/on; the best of each is
reported, with the ratio on/off.

Usage: python benchmarks/authz_bench.py [--rounds 3] [--kafka 500000] [--sqs 3000]
       [--amqp 50000]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import platform
import sys
import time
from typing import Any

import orjson
import pika
from confluent_kafka import Producer

sys.path.insert(0, os.path.dirname(__file__))
from aws_servers import cpu_seconds  # noqa: E402

from mqlite.testing import spawn_server  # noqa: E402

USER, SECRET = "bench", "benchpw"
DECOYS = [f"{USER}:*:{kind}:decoy-{i}-*" for i, kind in enumerate(["stream", "queue", "router"] * 7)][:20]
# 20 decoys, one rule matching every entity of the benchmark, and AMQP's default exchange
RULES = DECOYS + [f"{USER}:*:*:bench*", f"{USER}:write:router:amq.default"]


def kafka_produce(port: int, n: int) -> float:
    producer = Producer({"bootstrap.servers": f"127.0.0.1:{port}", "security.protocol": "SASL_PLAINTEXT",
                         "sasl.mechanisms": "PLAIN", "sasl.username": USER, "sasl.password": SECRET,
                         "linger.ms": 5, "batch.size": 1 << 20, "acks": 1,
                         "queue.buffering.max.messages": n + 10})  # room for all: no BufferError
    producer.produce("bench-topic", b"warm")
    producer.flush(30)
    value = b"x" * 100
    t0 = time.perf_counter()
    for i in range(n):
        producer.produce("bench-topic", value)
        if i % 10_000 == 0:
            producer.poll(0)  # serve delivery reports as we go
    producer.flush(60)
    return time.perf_counter() - t0


def sqs_send(port: int, requests: int, conc: int = 16) -> float:
    import aiohttp
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    endpoint = f"http://127.0.0.1:{port}"

    def signed(target: str, body: bytes) -> dict[str, str]:
        req = AWSRequest(method="POST", url=endpoint + "/", data=body, headers={
            "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": f"AmazonSQS.{target}"})
        SigV4Auth(Credentials(USER, SECRET), "sqs", "us-east-1").add_auth(req)
        return {k: v for k, v in req.headers.items() if k.lower() != "content-length"}

    async def main() -> float:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=conc)) as session:
            body = orjson.dumps({"QueueName": "bench-queue"})
            async with session.post(endpoint + "/", data=body, headers=signed("CreateQueue", body)) as r:
                url = orjson.loads(await r.read())["QueueUrl"]
            send = orjson.dumps({"QueueUrl": url, "Entries": [{"Id": str(i), "MessageBody": "x" * 100}
                                                              for i in range(10)]})
            headers = signed("SendMessageBatch", send)
            left = requests

            async def worker() -> None:
                nonlocal left
                while left > 0:
                    left -= 1
                    async with session.post(endpoint + "/", data=send, headers=headers) as r:
                        if r.status != 200:
                            raise RuntimeError(await r.read())
                        await r.read()

            t0 = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(conc)))
            return time.perf_counter() - t0

    return asyncio.run(main())


def amqp_publish(port: int, n: int) -> float:
    """Publish n messages, then wait until the queue holds them all (so the server's
    work is inside the timing)."""
    conn = pika.BlockingConnection(pika.ConnectionParameters(
        "127.0.0.1", port, credentials=pika.PlainCredentials(USER, SECRET)))
    try:
        ch = conn.channel()
        ch.queue_declare("bench-q")
        publish = functools.partial(ch.basic_publish, "", "bench-q", b"x" * 128)
        t0 = time.perf_counter()
        for _ in range(n):
            publish()
        while ch.queue_declare("bench-q", passive=True).method.message_count < n:
            time.sleep(0.005)
        return time.perf_counter() - t0
    finally:
        conn.close()


def one_run(rules: bool, args: argparse.Namespace) -> dict[str, tuple[float, float]]:
    flags = ["--user", f"{USER}:{SECRET}"]
    for rule in RULES if rules else []:
        flags += ["--acl", rule]
    server = spawn_server(None, "--redis-port", "off", *flags)
    pid = server.process.pid
    out: dict[str, tuple[float, float]] = {}
    try:
        for name, fn, port, count in (("kafka", kafka_produce, server.ports["kafka"], args.kafka),
                                      ("sqs", sqs_send, server.ports["http"], args.sqs),
                                      ("amqp", amqp_publish, server.ports["amqp"], args.amqp)):
            cpu0 = cpu_seconds(pid)
            elapsed = fn(port, count)
            messages = count * (10 if name == "sqs" else 1)
            out[name] = (messages / elapsed, (cpu_seconds(pid) - cpu0) / messages * 1e6)
    finally:
        server.process.terminate()
        server.process.wait(30)
    return out


def check_cost() -> tuple[float, float]:
    """ns per `Authorizer.check` in this process (decision memoized), and per
    `Authorizer.allowed` with the memo cleared each time (the rule scan), 21 rules."""
    from mqlite.security.authz import Authorizer, parse_rule
    from mqlite.security.users import User, Users

    authz = Authorizer(Users([User(USER, SECRET)]), [parse_rule(r) for r in RULES])
    n = 200_000
    t0 = time.perf_counter()
    for _ in range(n):
        authz.check(USER, "write", "stream", "bench-topic")
    cached = (time.perf_counter() - t0) / n * 1e9
    t0 = time.perf_counter()
    for _ in range(n // 10):
        authz._cache.clear()
        authz.allowed(USER, "write", "stream", "bench-topic")
    scan = (time.perf_counter() - t0) / (n // 10) * 1e9
    return cached, scan


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--kafka", type=int, default=500_000)
    ap.add_argument("--sqs", type=int, default=3_000, help="SendMessageBatch requests (10 messages each)")
    ap.add_argument("--amqp", type=int, default=50_000)
    args = ap.parse_args()
    print(f"# {platform.platform()}, {os.cpu_count()} cpus, python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.2f} at start")
    best: dict[tuple[bool, str], tuple[float, float]] = {}
    for _ in range(args.rounds):
        for rules in (False, True):
            for name, (rate, cpu) in one_run(rules, args).items():
                old = best.get((rules, name))
                best[(rules, name)] = (max(rate, old[0]), min(cpu, old[1])) if old else (rate, cpu)
    print(f"# load average {os.getloadavg()[0]:.2f} at end; best of {args.rounds} rounds")
    cached, scan = check_cost()
    print(f"# one check: {cached:.0f} ns memoized, {scan:.0f} ns scanning 22 rules (first use of a name)")
    print("| benchmark | rules off: msg/s | rules on (22): msg/s | rate ratio | server CPU µs/msg off | on | CPU ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name in ("kafka", "sqs", "amqp"):
        (r0, c0), (r1, c1) = best[(False, name)], best[(True, name)]
        print(f"| {name} | {r0:,.0f} | {r1:,.0f} | {r1 / r0:.3f} | {c0:.2f} | {c1:.2f} | {c1 / c0:.3f} |")


if __name__ == "__main__":
    main()
