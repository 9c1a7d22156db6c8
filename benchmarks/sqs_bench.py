"""SQS API capacity: mqlite vs moto's server, same workload, same run (issue #5, section 6).

Workload (10 x 100-byte messages per request, AWS json protocol, SigV4-signed headers):
  send      SendMessageBatch for DURATION seconds from PROCS processes x CONC coroutines
  recv+del  ReceiveMessage(MaxNumberOfMessages=10) + DeleteMessageBatch until drained or
            DURATION seconds
  wake-up   one receiver long-polls (WaitTimeSeconds=20); a sender sends one message;
            latency = send start -> receive response (N samples; p50/p99)
The load generator is lean: aiohttp, pre-serialized JSON bodies, headers signed once per
body with botocore's SigV4Auth (servers without keys do not verify them).

    python benchmarks/sqs_bench.py [--duration 8] [--procs 3] [--conc 16] [--rounds 1]
                                   [--samples 200] [--skip-moto]
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

BODY = "x" * 100
ACCOUNT = "000000000000"


def signed_headers(endpoint: str, target: str, body: bytes) -> dict[str, str]:
    return sigv4_headers(endpoint, "sqs", body, {"Content-Type": "application/x-amz-json-1.0",
                                                 "X-Amz-Target": f"AmazonSQS.{target}"})


async def call(session: Any, endpoint: str, target: str, payload: dict[str, Any],
               headers: dict[str, str] | None = None) -> dict[str, Any]:
    body = orjson.dumps(payload)
    h = headers or signed_headers(endpoint, target, body)
    async with session.post(endpoint + "/", data=body, headers=h) as resp:
        raw = await resp.read()
        if resp.status != 200:
            raise RuntimeError(f"{target}: {resp.status} {raw[:200]!r}")
        return orjson.loads(raw) if raw else {}


# -- worker processes ---------------------------------------------------------------------
def _worker(kind: str, endpoint: str, url: str, duration: float, conc: int, out: Any) -> None:
    import aiohttp

    async def main() -> tuple[int, float]:
        conn = aiohttp.TCPConnector(limit=conc)
        async with aiohttp.ClientSession(connector=conn) as session:
            entries = [{"Id": str(i), "MessageBody": BODY} for i in range(10)]
            send_body = orjson.dumps({"QueueUrl": url, "Entries": entries})
            send_h = signed_headers(endpoint, "SendMessageBatch", send_body)
            recv_body = orjson.dumps({"QueueUrl": url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 1})
            recv_h = signed_headers(endpoint, "ReceiveMessage", recv_body)
            deadline = time.monotonic() + duration
            count = 0
            last = time.time()

            async def sender() -> None:
                nonlocal count, last
                while time.monotonic() < deadline:
                    async with session.post(endpoint + "/", data=send_body, headers=send_h) as r:
                        data = orjson.loads(await r.read())
                        count += len(data.get("Successful", []))
                        last = time.time()

            async def receiver() -> None:
                nonlocal count, last
                while time.monotonic() < deadline:
                    async with session.post(endpoint + "/", data=recv_body, headers=recv_h) as r:
                        msgs = orjson.loads(await r.read()).get("Messages", [])
                    if not msgs:
                        continue
                    dele = {"QueueUrl": url, "Entries": [
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs)]}
                    body = orjson.dumps(dele)
                    h = {"Content-Type": "application/x-amz-json-1.0",
                         "X-Amz-Target": "AmazonSQS.DeleteMessageBatch",
                         "Authorization": send_h["Authorization"], "X-Amz-Date": send_h["X-Amz-Date"]}
                    async with session.post(endpoint + "/", data=body, headers=h) as r:
                        count += len(orjson.loads(await r.read()).get("Successful", []))
                        last = time.time()

            fn = sender if kind == "send" else receiver
            await asyncio.gather(*(fn() for _ in range(conc)))
            return count, last

    out.put(asyncio.run(main()))


def run_phase(kind: str, endpoint: str, url: str, duration: float, procs: int, conc: int) -> tuple[int, float]:
    q: Any = mp.Queue()
    ps = [mp.Process(target=_worker, args=(kind, endpoint, url, duration, conc, q)) for _ in range(procs)]
    t0 = time.time()
    for p in ps:
        p.start()
    results = [q.get() for _ in ps]
    for p in ps:
        p.join()
    # elapsed = start .. last successful request (a drained queue ends the receive phase)
    return sum(r[0] for r in results), max(r[1] for r in results) - t0


async def wakeup(endpoint: str, url: str, samples: int) -> list[float]:
    import aiohttp

    lat: list[float] = []
    async with aiohttp.ClientSession() as session:
        for _ in range(samples):
            recv = asyncio.create_task(call(session, endpoint, "ReceiveMessage",
                                            {"QueueUrl": url, "WaitTimeSeconds": 20}))
            await asyncio.sleep(0.02)  # let the receiver park
            t0 = time.perf_counter()
            await call(session, endpoint, "SendMessage", {"QueueUrl": url, "MessageBody": BODY})
            got = await recv
            lat.append((time.perf_counter() - t0) * 1000)
            msgs = got.get("Messages", [])
            if msgs:
                await call(session, endpoint, "DeleteMessage",
                           {"QueueUrl": url, "ReceiptHandle": msgs[0]["ReceiptHandle"]})
    return lat


def bench_target(name: str, endpoint: str, args: argparse.Namespace, rounds: int, pid: int) -> dict[str, Any]:
    import aiohttp

    async def setup(qname: str) -> str:
        async with aiohttp.ClientSession() as s:
            return str((await call(s, endpoint, "CreateQueue", {"QueueName": qname}))["QueueUrl"])

    send_rate = recv_rate = send_cpu = recv_cpu = 0.0
    for r in range(rounds):
        url = asyncio.run(setup(f"bench{r}"))
        print(f"[{name}] round {r + 1}/{rounds} send: {args.procs} procs x {args.conc} conc, "
              f"{args.duration}s ...", flush=True)
        c0 = cpu_seconds(pid)
        sent, dt = run_phase("send", endpoint, url, args.duration, args.procs, args.conc)
        cpu = max(cpu_seconds(pid) - c0, 1e-9)
        print(f"[{name}]   sent {sent} msgs in {dt:.1f}s = {sent / dt:,.0f} msg/s "
              f"({sent / cpu:,.0f} msg per server CPU-second)", flush=True)
        send_rate = max(send_rate, sent / dt)
        send_cpu = max(send_cpu, sent / cpu)
        print(f"[{name}] receive+delete ...", flush=True)
        c0 = cpu_seconds(pid)
        got, dt = run_phase("recv", endpoint, url, args.duration, args.procs, args.conc)
        cpu = max(cpu_seconds(pid) - c0, 1e-9)
        print(f"[{name}]   received+deleted {got} msgs in {dt:.1f}s = {got / dt:,.0f} msg/s "
              f"({got / cpu:,.0f} msg per server CPU-second, incl. idle polls after draining)", flush=True)
        recv_rate = max(recv_rate, got / dt)
        recv_cpu = max(recv_cpu, got / cpu)
    wurl = asyncio.run(setup("wake"))
    lat = asyncio.run(wakeup(endpoint, wurl, args.samples))
    lat.sort()
    p50 = statistics.median(lat)
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    print(f"[{name}] long-poll wake-up (send start -> receive returns): p50 {p50:.2f} ms, p99 {p99:.2f} ms", flush=True)
    return {"send": send_rate, "recv": recv_rate, "p50": p50, "p99": p99,
            "send_cpu": send_cpu, "recv_cpu": recv_cpu}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=8.0)
    ap.add_argument("--procs", type=int, default=3)
    ap.add_argument("--conc", type=int, default=16)
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--skip-moto", action="store_true")
    ap.add_argument("--fsync", default="1000")
    ap.add_argument("--rounds", type=int, default=1, help="best of N rounds (mqlite only)")
    args = ap.parse_args()
    print(f"machine: {platform.platform()}, {os.cpu_count()} cpus, python {platform.python_version()}")
    results: dict[str, dict[str, Any]] = {}
    with mqlite_server(args.fsync) as (endpoint, pid):
        results["mqlite"] = bench_target("mqlite", endpoint, args, args.rounds, pid)
    if not args.skip_moto:
        with moto_server() as (endpoint, pid):
            results["moto"] = bench_target("moto", endpoint, args, 1, pid)
    print("\n| server | SendMessageBatch msg/s | Receive+DeleteBatch msg/s | send msg/CPU-s "
          "| recv+del msg/CPU-s | wake-up p50 ms | p99 ms |")
    print("|---|---|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['send']:,.0f} | {r['recv']:,.0f} | {r['send_cpu']:,.0f} | "
              f"{r['recv_cpu']:,.0f} | {r['p50']:.2f} | {r['p99']:.2f} |")
    if "moto" in results:
        m, q = results["mqlite"], results["moto"]
        print(f"\nratio mqlite/moto: send {m['send'] / max(q['send'], 1e-9):.1f}x, "
              f"receive+delete {m['recv'] / max(q['recv'], 1e-9):.1f}x")


if __name__ == "__main__":
    main()
