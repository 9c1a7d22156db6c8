"""EventBridge routing: mqlite vs moto's server, same workload, same run (issue #11, section 4).

Workload: 100 rules on the default bus, each with a content filter
(`source`, `detail-type`, `detail.customer` exact, `detail.total` numeric range), each
targeting one of 10 SQS queues. Every event matches exactly one rule.
  throughput  PutEvents of 10 entries for DURATION seconds from PROCS processes x CONC
              coroutines; events/s accepted, then the target queues are counted to check
              every event was matched and delivered (and the server's CPU-seconds taken)
  latency     one client: PutEvents (1 entry) then ReceiveMessage on the target queue
              until the event is there; PutEvents start -> event received (p50/p99)
The load generator is lean: aiohttp, pre-serialized JSON bodies signed once with SigV4.

    python benchmarks/events_bench.py [--duration 6] [--procs 2] [--conc 8] [--samples 300]
                                      [--moto-samples 40] [--skip-moto]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import platform
import statistics
import sys
import time
from typing import Any

import orjson

sys.path.insert(0, os.path.dirname(__file__))
from aws_servers import cpu_seconds, moto_server, mqlite_server, sigv4_headers

RULES = 100
QUEUES = 10


def signed(endpoint: str, target: str, body: bytes) -> dict[str, str]:
    service, ctype = ("events", "1.1") if target.startswith("AWSEvents") else ("sqs", "1.0")
    return sigv4_headers(endpoint, service, body, {"Content-Type": f"application/x-amz-json-{ctype}",
                                                   "X-Amz-Target": target})


async def call(session: Any, endpoint: str, target: str, payload: dict[str, Any]) -> dict[str, Any]:
    body = orjson.dumps(payload)
    async with session.post(endpoint + "/", data=body, headers=signed(endpoint, target, body)) as resp:
        raw = await resp.read()
        if resp.status != 200:
            raise RuntimeError(f"{target}: {resp.status} {raw[:300]!r}")
        return orjson.loads(raw) if raw else {}


def entry(customer: int, seq: int) -> dict[str, Any]:
    return {"Source": "bench.shop", "DetailType": "order",
            "Detail": orjson.dumps({"customer": f"c{customer}", "total": 10 + seq % 90, "seq": seq}).decode()}


async def setup(endpoint: str) -> list[str]:
    import aiohttp

    async with aiohttp.ClientSession() as s:
        urls, arns = [], []
        for q in range(QUEUES):
            url = (await call(s, endpoint, "AmazonSQS.CreateQueue", {"QueueName": f"bench-{q}"}))["QueueUrl"]
            attrs = await call(s, endpoint, "AmazonSQS.GetQueueAttributes",
                               {"QueueUrl": url, "AttributeNames": ["QueueArn"]})
            urls.append(url)
            arns.append(attrs["Attributes"]["QueueArn"])
        for i in range(RULES):
            pattern = {"source": ["bench.shop"], "detail-type": ["order"],
                       "detail": {"customer": [f"c{i}"], "total": [{"numeric": [">=", 0, "<", 1000]}]}}
            await call(s, endpoint, "AWSEvents.PutRule", {"Name": f"rule-{i}", "EventPattern": orjson.dumps(pattern).decode()})
            await call(s, endpoint, "AWSEvents.PutTargets", {"Rule": f"rule-{i}", "Targets": [
                {"Id": "q", "Arn": arns[i % QUEUES]}]})
        return urls


def _worker(endpoint: str, duration: float, conc: int, seed: int, out: Any) -> None:
    import aiohttp

    async def main() -> int:
        bodies = []
        for b in range(50):
            payload = {"Entries": [entry((seed * 7 + b * 10 + k) % RULES, b * 10 + k) for k in range(10)]}
            body = orjson.dumps(payload)
            bodies.append((body, signed(endpoint, "AWSEvents.PutEvents", body)))
        sent = 0
        deadline = time.monotonic() + duration
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=conc)) as session:
            async def one(n: int) -> None:
                nonlocal sent
                i = n
                while time.monotonic() < deadline:
                    body, headers = bodies[i % len(bodies)]
                    i += conc
                    async with session.post(endpoint + "/", data=body, headers=headers) as resp:
                        raw = await resp.read()
                        if resp.status != 200:
                            raise RuntimeError(raw[:200])
                        sent += 10 - orjson.loads(raw)["FailedEntryCount"]

            await asyncio.gather(*(one(n) for n in range(conc)))
        return sent

    out.put(asyncio.run(main()))


async def count(endpoint: str, urls: list[str]) -> int:
    import aiohttp

    total = 0
    async with aiohttp.ClientSession() as s:
        for url in urls:
            attrs = await call(s, endpoint, "AmazonSQS.GetQueueAttributes",
                               {"QueueUrl": url, "AttributeNames": ["ApproximateNumberOfMessages"]})
            total += int(attrs["Attributes"]["ApproximateNumberOfMessages"])
            await call(s, endpoint, "AmazonSQS.PurgeQueue", {"QueueUrl": url})
    return total


async def latency(endpoint: str, urls: list[str], samples: int) -> list[float]:
    import aiohttp

    out = []
    async with aiohttp.ClientSession() as s:
        for n in range(samples):
            customer = n % RULES
            url = urls[customer % QUEUES]
            t0 = time.perf_counter()
            await call(s, endpoint, "AWSEvents.PutEvents", {"Entries": [entry(customer, n)]})
            for _ in range(1000):
                got = await call(s, endpoint, "AmazonSQS.ReceiveMessage", {"QueueUrl": url, "MaxNumberOfMessages": 1})
                if got.get("Messages"):
                    break
            else:
                raise RuntimeError("event never became visible")
            out.append((time.perf_counter() - t0) * 1000)
            await call(s, endpoint, "AmazonSQS.DeleteMessage",
                       {"QueueUrl": url, "ReceiptHandle": got["Messages"][0]["ReceiptHandle"]})
    return out


def bench(name: str, endpoint: str, args: argparse.Namespace, pid: int) -> dict[str, Any]:
    print(f"[{name}] setting up {RULES} rules -> {QUEUES} queues", flush=True)
    urls = asyncio.run(setup(endpoint))
    print(f"[{name}] throughput: {args.procs} procs x {args.conc} conc for {args.duration}s", flush=True)
    q: Any = mp.Queue()
    cpu0 = cpu_seconds(pid)
    t0 = time.perf_counter()
    procs = [mp.Process(target=_worker, args=(endpoint, args.duration, args.conc, i, q)) for i in range(args.procs)]
    for p in procs:
        p.start()
    sent = sum(q.get() for _ in procs)
    for p in procs:
        p.join()
    wall = time.perf_counter() - t0
    cpu = cpu_seconds(pid) - cpu0
    delivered = asyncio.run(count(endpoint, urls))
    print(f"[{name}] {sent} events accepted in {wall:.1f}s, {delivered} delivered to queues", flush=True)
    print(f"[{name}] latency: {args.samples} samples", flush=True)
    lat = asyncio.run(latency(endpoint, urls, args.samples))
    lat.sort()
    r = {"rate": sent / wall, "delivered": delivered, "sent": sent, "per_cpu": sent / cpu if cpu else 0.0,
         "p50": statistics.median(lat), "p99": lat[min(len(lat) - 1, int(len(lat) * 0.99))]}
    print(f"[{name}] {r['rate']:.0f} events/s ({r['per_cpu']:.0f}/server CPU-s), "
          f"p50 {r['p50']:.2f} ms, p99 {r['p99']:.2f} ms", flush=True)
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=6.0)
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--conc", type=int, default=8)
    ap.add_argument("--samples", type=int, default=300)
    ap.add_argument("--moto-samples", type=int, default=40, help="moto answers in ~0.4 s each")
    ap.add_argument("--skip-moto", action="store_true")
    ap.add_argument("--fsync", default="1000")
    args = ap.parse_args()
    print(f"machine: {platform.platform()}, {os.cpu_count()} cpus, python {platform.python_version()}")
    results: dict[str, dict[str, Any]] = {}
    with mqlite_server(args.fsync) as (endpoint, pid):
        results["mqlite"] = bench("mqlite", endpoint, args, pid)
    if not args.skip_moto:
        with moto_server() as (endpoint, pid):
            results["moto"] = bench("moto", endpoint, argparse.Namespace(**{**vars(args), "samples": args.moto_samples}),
                                    pid)
    print("\n| server | PutEvents events/s (matched + delivered) | events/server CPU-s | delivered/accepted "
          "| PutEvents -> visible p50 ms | p99 ms |")
    print("|---|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['rate']:,.0f} | {r['per_cpu']:,.0f} | {r['delivered']}/{r['sent']} "
              f"| {r['p50']:.2f} | {r['p99']:.2f} |")
    if "moto" in results:
        m, o = results["mqlite"], results["moto"]
        print(f"\nratio mqlite/moto: throughput {m['rate'] / max(o['rate'], 1e-9):.1f}x, "
              f"p99 latency {o['p99'] / max(m['p99'], 1e-9):.1f}x lower")


if __name__ == "__main__":
    main()
