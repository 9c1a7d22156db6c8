"""SNS fan-out capacity: mqlite vs moto's server, same workload, same run (issue #6, section 5).

Workload: one standard topic with 4 SQS subscriptions, each with a filter policy that
the published messages match (exact, prefix, numeric, anything-but), so every publish is
delivered into 4 queues (the JSON envelope, signed). 100-byte messages with 2 attributes.
  publish   Publish (query protocol, form bodies, SigV4 headers signed once per body)
            for DURATION seconds from PROCS processes x CONC keep-alive connections
  batch     the same with PublishBatch of 10 entries
  latency   one long-poll ReceiveMessage parked on a subscribed queue; Publish; latency
            = publish start -> the receive returns the message (N samples; p50/p99);
            also the Publish request's own latency
The load processes send pre-built requests with lean_http.py (~5 µs of client CPU per
request, against ~120 µs for aiohttp's client, which ran on the server's cores) and start
their clocks together once all are connected. mqlite is measured at PROCS x CONC and at
1 x 64, moto at 1 x 1, 1 x 4 and PROCS x CONC (it degrades under many connections); each
server's best level is reported. "per server CPU-second" counts the server process and
its children (mqlite's SNS signing workers).
With --raw the subscriptions use RawMessageDelivery (no JSON envelope, so no RSA
signature per message: the signature is ~250 µs of CPU at 2048 bits on this machine).
Each throughput figure is the best of --rounds runs (the machine is shared), after a
warm-up of 20 Publish + 20 PublishBatch calls on each server. Delivered counts are
checked from the queues afterwards (ApproximateNumberOfMessages).

    python benchmarks/sns_bench.py [--duration 5] [--procs 2] [--conc 16] [--samples 200]
                                   [--rounds 2] [--skip-moto] [--raw]
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
import urllib.parse
from typing import Any

import orjson

sys.path.insert(0, os.path.dirname(__file__))
from aws_servers import cpu_seconds, moto_server, mqlite_server, sigv4_headers

BODY = "x" * 100
POLICIES = [
    {"kind": ["order"]},
    {"kind": [{"prefix": "ord"}]},
    {"price": [{"numeric": [">", 0]}]},
    {"kind": [{"anything-but": "refund"}]},
]


def sign(endpoint: str, service: str, body: bytes, headers: dict[str, str]) -> dict[str, str]:
    return sigv4_headers(endpoint, service, body, headers)


def sns_request(endpoint: str, params: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    body = urllib.parse.urlencode({"Version": "2010-03-31", **params}).encode()
    return body, sign(endpoint, "sns", body, {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})


def publish_params(topic: str, i: int) -> dict[str, str]:
    return {"Action": "Publish", "TopicArn": topic, "Message": f"{i:08d}" + BODY[8:],
            "MessageAttributes.entry.1.Name": "kind",
            "MessageAttributes.entry.1.Value.DataType": "String",
            "MessageAttributes.entry.1.Value.StringValue": "order",
            "MessageAttributes.entry.2.Name": "price",
            "MessageAttributes.entry.2.Value.DataType": "Number",
            "MessageAttributes.entry.2.Value.StringValue": "10"}


def batch_params(topic: str, i: int) -> dict[str, str]:
    p = {"Action": "PublishBatch", "TopicArn": topic}
    for e in range(1, 11):
        pre = f"PublishBatchRequestEntries.member.{e}."
        p.update({pre + "Id": f"e{e}", pre + "Message": f"{i:08d}" + BODY[8:],
                  pre + "MessageAttributes.entry.1.Name": "kind",
                  pre + "MessageAttributes.entry.1.Value.DataType": "String",
                  pre + "MessageAttributes.entry.1.Value.StringValue": "order",
                  pre + "MessageAttributes.entry.2.Name": "price",
                  pre + "MessageAttributes.entry.2.Value.DataType": "Number",
                  pre + "MessageAttributes.entry.2.Value.StringValue": "10"})
    return p


async def sqs_call(session: Any, endpoint: str, target: str, payload: dict[str, Any]) -> dict[str, Any]:
    body = orjson.dumps(payload)
    h = sign(endpoint, "sqs", body, {"Content-Type": "application/x-amz-json-1.0",
                                     "X-Amz-Target": f"AmazonSQS.{target}"})
    async with session.post(endpoint + "/", data=body, headers=h) as resp:
        raw = await resp.read()
        if resp.status != 200:
            raise RuntimeError(f"{target}: {resp.status} {raw[:300]!r}")
        return orjson.loads(raw) if raw else {}


async def sns_call(session: Any, endpoint: str, params: dict[str, str]) -> str:
    body, h = sns_request(endpoint, params)
    async with session.post(endpoint + "/", data=body, headers=h) as resp:
        raw = (await resp.read()).decode()
        if resp.status != 200:
            raise RuntimeError(f"{params['Action']}: {resp.status} {raw[:300]}")
        return raw


def xml_value(xml: str, tag: str) -> str:
    return xml.split(f"<{tag}>", 1)[1].split(f"</{tag}>", 1)[0]


# -- worker processes ---------------------------------------------------------------------
def _worker(kind: str, endpoint: str, topic: str, duration: float, conc: int, out: Any,
            start: Any) -> None:
    import uvloop
    from lean_http import LeanConnection, prepare

    host, port = urllib.parse.urlsplit(endpoint).hostname or "", urllib.parse.urlsplit(endpoint).port or 80
    make = publish_params if kind == "publish" else batch_params
    per = 1 if kind == "publish" else 10
    prepared = [prepare(host, port, *sns_request(endpoint, make(topic, i))) for i in range(64)]
    start.wait()  # every process is ready: the clock starts now, in all of them

    async def main() -> tuple[int, float]:
        deadline = time.monotonic() + duration
        count = 0
        last = time.time()

        async def publisher(k: int) -> None:
            nonlocal count, last
            conn = LeanConnection(host, port)
            i = k
            while time.monotonic() < deadline:
                status, body = await conn.request(prepared[i % len(prepared)])
                i += 1
                if status != 200:
                    raise RuntimeError(f"publish: {status} {body[:300]!r}")
                count += per
                last = time.time()
            conn.close()

        await asyncio.gather(*(publisher(k) for k in range(conc)))
        return count, last

    out.put(uvloop.run(main()))


def run_phase(kind: str, endpoint: str, topic: str, duration: float, procs: int, conc: int) -> tuple[int, float]:
    """Messages published and seconds taken by `procs` load processes of `conc`
    connections each; the clock starts when all of them are ready to send."""
    q: Any = mp.Queue()
    start = mp.Barrier(procs + 1)
    ps = [mp.Process(target=_worker, args=(kind, endpoint, topic, duration, conc, q, start)) for _ in range(procs)]
    for p in ps:
        p.start()
    start.wait(timeout=120)
    t0 = time.time()
    results = [q.get(timeout=duration + 60) for _ in ps]  # a worker that died raises Empty
    for p in ps:
        p.join()
    return sum(r[0] for r in results), max(r[1] for r in results) - t0


RAW = False  # --raw: subscriptions with RawMessageDelivery (no envelope, no signature)


async def setup(endpoint: str, tag: str) -> tuple[str, list[str]]:
    """A topic with 4 filtered SQS subscriptions; (topic ARN, queue URLs)."""
    import aiohttp

    async with aiohttp.ClientSession() as s:
        topic = xml_value(await sns_call(s, endpoint, {"Action": "CreateTopic", "Name": f"bench-{tag}"}),
                          "TopicArn")
        urls = []
        for i, policy in enumerate(POLICIES):
            url = (await sqs_call(s, endpoint, "CreateQueue", {"QueueName": f"bench-{tag}-{i}"}))["QueueUrl"]
            arn = (await sqs_call(s, endpoint, "GetQueueAttributes", {
                "QueueUrl": url, "AttributeNames": ["QueueArn"]}))["Attributes"]["QueueArn"]
            await sns_call(s, endpoint, {
                "Action": "Subscribe", "TopicArn": topic, "Protocol": "sqs", "Endpoint": arn,
                "Attributes.entry.1.key": "FilterPolicy",
                "Attributes.entry.1.value": orjson.dumps(policy).decode(),
                **({"Attributes.entry.2.key": "RawMessageDelivery", "Attributes.entry.2.value": "true"}
                   if RAW else {})})
            urls.append(url)
        return topic, urls


async def queued(endpoint: str, urls: list[str]) -> list[int]:
    import aiohttp

    async with aiohttp.ClientSession() as s:
        out = []
        for url in urls:
            attrs = (await sqs_call(s, endpoint, "GetQueueAttributes", {
                "QueueUrl": url, "AttributeNames": ["ApproximateNumberOfMessages"]}))["Attributes"]
            out.append(int(attrs["ApproximateNumberOfMessages"]))
        return out


async def latency(endpoint: str, topic: str, url: str, samples: int) -> tuple[list[float], list[float]]:
    import aiohttp

    e2e: list[float] = []
    pub: list[float] = []
    async with aiohttp.ClientSession() as session:
        for i in range(samples):
            recv = asyncio.create_task(sqs_call(session, endpoint, "ReceiveMessage",
                                                {"QueueUrl": url, "WaitTimeSeconds": 20}))
            await asyncio.sleep(0.02)  # let the receiver park
            body, h = sns_request(endpoint, publish_params(topic, i))
            t0 = time.perf_counter()
            async with session.post(endpoint + "/", data=body, headers=h) as r:
                await r.read()
            pub.append((time.perf_counter() - t0) * 1000)
            got = await recv
            e2e.append((time.perf_counter() - t0) * 1000)
            msgs = got.get("Messages", [])
            if not msgs:
                raise RuntimeError("long poll returned nothing")
            await sqs_call(session, endpoint, "DeleteMessage",
                           {"QueueUrl": url, "ReceiptHandle": msgs[0]["ReceiptHandle"]})
    return e2e, pub


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))]


async def warm_up(endpoint: str) -> None:
    """A few publishes first, so neither server is measured while loading code paths."""
    import aiohttp

    topic, _urls = await setup(endpoint, "warm")
    async with aiohttp.ClientSession() as s:
        for i in range(20):
            await sns_call(s, endpoint, publish_params(topic, i))
            await sns_call(s, endpoint, batch_params(topic, i))


def bench_target(name: str, endpoint: str, args: argparse.Namespace, pid: int,
                 levels: list[tuple[int, int]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    asyncio.run(warm_up(endpoint))
    runs = [(procs, conc, r) for procs, conc in levels for r in range(args.rounds)]
    for kind in ("publish", "batch"):
        for procs, conc, r in runs:
            topic, urls = asyncio.run(setup(endpoint, f"{kind}{procs}x{conc}r{r}"))
            print(f"[{name}] {kind} round {r + 1}/{args.rounds}: {procs} procs x {conc} conc,"
                  f" {args.duration}s ...", flush=True)
            c0 = cpu_seconds(pid)
            sent, dt = run_phase(kind, endpoint, topic, args.duration, procs, conc)
            cpu = max(cpu_seconds(pid) - c0, 1e-9)
            counts = asyncio.run(queued(endpoint, urls))
            print(f"[{name}]   published {sent} msgs in {dt:.1f}s = {sent / dt:,.0f} msg/s "
                  f"({sent / cpu:,.0f} per server CPU-second); in the 4 queues: {counts}", flush=True)
            if any(c != sent for c in counts):
                print(f"[{name}]   WARNING: queue counts differ from messages published", flush=True)
            out[kind] = max(out.get(kind, 0.0), sent / dt)
            out[kind + "_cpu"] = max(out.get(kind + "_cpu", 0.0), sent / cpu)
    topic, urls = asyncio.run(setup(endpoint, "lat"))
    e2e, pub = asyncio.run(latency(endpoint, topic, urls[0], args.samples))
    out.update(p50=statistics.median(e2e), p99=pct(e2e, 0.99),
               pub50=statistics.median(pub), pub99=pct(pub, 0.99))
    print(f"[{name}] publish -> visible in queue: p50 {out['p50']:.2f} ms, p99 {out['p99']:.2f} ms; "
          f"Publish request: p50 {out['pub50']:.2f} ms, p99 {out['pub99']:.2f} ms", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--conc", type=int, default=16)
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=2, help="best of N rounds (both servers)")
    ap.add_argument("--fsync", default="1000")
    ap.add_argument("--skip-moto", action="store_true")
    ap.add_argument("--raw", action="store_true", help="RawMessageDelivery subscriptions")
    args = ap.parse_args()
    global RAW
    RAW = args.raw
    print(f"machine: {platform.platform()}, {os.cpu_count()} cpus, python {platform.python_version()}")
    results: dict[str, dict[str, Any]] = {}
    with mqlite_server(args.fsync) as (endpoint, pid):
        # Like moto below, mqlite is measured at two load shapes and its best counts: the
        # default 2 x 16 connections, and 1 x 64 (one client process fewer on the 2 cores,
        # more requests per server loop iteration).
        results["mqlite"] = bench_target("mqlite", endpoint, args, pid, [(args.procs, args.conc), (1, 64)])
    if not args.skip_moto:
        with moto_server() as (endpoint, pid):
            # moto's threaded server slows down badly under many concurrent requests: it
            # is measured at 1 and 4 concurrent requests too, and its best level counts.
            results["moto"] = bench_target("moto", endpoint, args, pid, [(1, 1), (1, 4), (args.procs, args.conc)])
    print("\n| server | Publish msg/s (x4 deliveries) | PublishBatch msg/s | Publish msg/CPU-s "
          "| PublishBatch msg/CPU-s | publish->visible p50 ms | p99 ms | Publish request p99 ms |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['publish']:,.0f} | {r['batch']:,.0f} | {r['publish_cpu']:,.0f} | "
              f"{r['batch_cpu']:,.0f} | {r['p50']:.2f} | {r['p99']:.2f} | {r['pub99']:.2f} |")
    if "moto" in results:
        m, q = results["mqlite"], results["moto"]
        print(f"\nratio mqlite/moto: Publish {m['publish'] / max(q['publish'], 1e-9):.1f}x, "
              f"PublishBatch {m['batch'] / max(q['batch'], 1e-9):.1f}x")


if __name__ == "__main__":
    main()
