"""Kinesis API capacity: mqlite vs moto's server, same workload, same run (issue #10 §4).

Workload (AWS json protocol, `Kinesis_20131202.*`, SigV4-shaped headers):
  put   PutRecords of 500 x 100-byte records (random partition keys) for DURATION seconds
        from PROCS processes x CONC coroutines
  get   GetRecords(Limit=10000) from TRIM_HORIZON on every shard (shards spread over the
        processes) until caught up; records/s over the whole read
The load generator is lean: aiohttp, pre-serialized PutRecords bodies, orjson parsing of
GetRecords answers (what a tuned SDK client costs, not boto3's per-record datetime
parsing). Servers without keys do not verify signatures, so headers are signed once.

    python benchmarks/kinesis_bench.py [--duration 6] [--procs 2] [--conc 8] [--shards 4]
                                       [--skip-moto]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import multiprocessing as mp
import os
import platform
import random
import sys
import time
from typing import Any

import orjson

sys.path.insert(0, os.path.dirname(__file__))
from aws_servers import cpu_seconds, moto_server, mqlite_server, sigv4_headers

TARGET = "Kinesis_20131202"


def headers_for(endpoint: str, op: str, body: bytes) -> dict[str, str]:
    return sigv4_headers(endpoint, "kinesis", body, {"Content-Type": "application/x-amz-json-1.1",
                                                     "X-Amz-Target": f"{TARGET}.{op}"})


async def call(session: Any, endpoint: str, op: str, payload: dict[str, Any] | bytes,
               headers: dict[str, str] | None = None) -> dict[str, Any]:
    body = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    hdrs = headers or headers_for(endpoint, op, body)
    async with session.post(endpoint + "/", data=body, headers=hdrs) as resp:
        data = await resp.read()
        if resp.status != 200:
            raise RuntimeError(f"{op}: HTTP {resp.status} {data[:300]!r}")
        return orjson.loads(data) if data else {}


# -- put phase --------------------------------------------------------------------------
def put_bodies(stream: str, n: int = 8) -> list[bytes]:
    data = base64.b64encode(b"x" * 100).decode()
    rng = random.Random(7)
    return [orjson.dumps({"StreamName": stream, "Records": [
        {"Data": data, "PartitionKey": f"pk-{rng.randrange(1 << 30)}"} for _ in range(500)]})
        for _ in range(n)]


def put_worker(endpoint: str, stream: str, conc: int, duration: float, out: Any) -> None:
    import aiohttp

    async def main() -> int:
        bodies = put_bodies(stream)
        hdrs = [headers_for(endpoint, "PutRecords", b) for b in bodies]
        done = 0
        deadline = time.monotonic() + duration
        conn = aiohttp.TCPConnector(limit=conc)
        async with aiohttp.ClientSession(connector=conn) as session:
            async def loop(i: int) -> None:
                nonlocal done
                k = i
                while time.monotonic() < deadline:
                    r = await call(session, endpoint, "PutRecords", bodies[k % len(bodies)], hdrs[k % len(bodies)])
                    done += 500 - int(r.get("FailedRecordCount", 0))
                    k += 1
            await asyncio.gather(*(loop(i) for i in range(conc)))
        return done

    out.put(asyncio.run(main()))


# -- get phase --------------------------------------------------------------------------
def get_worker(endpoint: str, stream: str, shards: list[str], out: Any) -> None:
    import aiohttp

    async def main() -> int:
        total = 0
        async with aiohttp.ClientSession() as session:
            async def read(shard: str) -> int:
                n = 0
                r = await call(session, endpoint, "GetShardIterator", {
                    "StreamName": stream, "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON"})
                it = r["ShardIterator"]
                while it:
                    page = await call(session, endpoint, "GetRecords", {"ShardIterator": it, "Limit": 10000})
                    got = len(page["Records"])
                    n += got
                    it = page.get("NextShardIterator")
                    if got == 0 and page.get("MillisBehindLatest", 0) == 0:
                        break
                return n
            for n in await asyncio.gather(*(read(s) for s in shards)):
                total += n
        return total

    out.put(asyncio.run(main()))


def run_phase(target: Any, args_list: list[tuple[Any, ...]]) -> tuple[int, float]:
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    procs = [ctx.Process(target=target, args=(*a, q)) for a in args_list]
    t0 = time.perf_counter()
    for p in procs:
        p.start()
    results = [q.get() for _ in procs]
    elapsed = time.perf_counter() - t0
    for p in procs:
        p.join()
    return sum(results), elapsed


async def setup_stream(endpoint: str, stream: str, shards: int) -> list[str]:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        await call(session, endpoint, "CreateStream", {"StreamName": stream, "ShardCount": shards})
        for _ in range(200):
            d = await call(session, endpoint, "DescribeStream", {"StreamName": stream})
            if d["StreamDescription"]["StreamStatus"] == "ACTIVE":
                return [s["ShardId"] for s in d["StreamDescription"]["Shards"]]
            await asyncio.sleep(0.1)
    raise TimeoutError("stream never became ACTIVE")


def bench(name: str, endpoint: str, pid: int, args: argparse.Namespace, duration: float) -> dict[str, float]:
    stream = f"bench{random.randrange(1 << 20)}"
    shards = asyncio.run(setup_stream(endpoint, stream, args.shards))
    print(f"[{name}] put: {args.procs} procs x {args.conc} conc, {duration}s ...", flush=True)
    c0 = cpu_seconds(pid)
    n_in, t_in = run_phase(put_worker, [(endpoint, stream, args.conc, duration)] * args.procs)
    c1 = cpu_seconds(pid)
    print(f"[{name}]   {n_in} records in {t_in:.2f}s = {n_in / t_in:,.0f} rec/s "
          f"({n_in / max(c1 - c0, 1e-9):,.0f} per server CPU-s)", flush=True)
    groups = [shards[i::args.procs] for i in range(args.procs)]
    print(f"[{name}] get: GetRecords Limit 10000 over {len(shards)} shards ...", flush=True)
    n_out, t_out = run_phase(get_worker, [(endpoint, stream, g) for g in groups if g])
    c2 = cpu_seconds(pid)
    print(f"[{name}]   {n_out} records in {t_out:.2f}s = {n_out / t_out:,.0f} rec/s "
          f"({n_out / max(c2 - c1, 1e-9):,.0f} per server CPU-s)", flush=True)
    return {"in": n_in / t_in, "in_cpu": n_in / max(c1 - c0, 1e-9),
            "out": n_out / t_out, "out_cpu": n_out / max(c2 - c1, 1e-9), "n_in": n_in, "n_out": n_out}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=6)
    ap.add_argument("--moto-duration", type=float, default=4)
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--conc", type=int, default=8)
    ap.add_argument("--shards", type=int, default=4)
    ap.add_argument("--skip-moto", action="store_true")
    args = ap.parse_args()
    print(f"machine: {platform.machine()} {os.cpu_count()} cpus, {platform.python_implementation()} "
          f"{platform.python_version()}, load {os.getloadavg()[0]:.1f}", flush=True)
    results: dict[str, dict[str, float]] = {}
    with mqlite_server("1000") as (url, pid):
        results["mqlite"] = bench("mqlite", url, pid, args, args.duration)
    if not args.skip_moto:
        with moto_server() as (murl, mpid):
            results["moto"] = bench("moto", murl, mpid, args, args.moto_duration)
    print("\n| measurement | " + " | ".join(results) + (" | ratio |" if len(results) == 2 else " |"))
    print("|---" * (len(results) + 2) + "|")
    for key, label in (("in", "PutRecords 500 x 100 B, records/s"), ("in_cpu", "  per server CPU-second"),
                       ("out", "GetRecords Limit 10000, records/s"), ("out_cpu", "  per server CPU-second")):
        vals = [results[k][key] for k in results]
        ratio = f" | {vals[0] / max(vals[1], 1e-9):,.0f}x" if len(vals) == 2 else ""
        print(f"| {label} | " + " | ".join(f"{v:,.0f}" for v in vals) + ratio + " |")


if __name__ == "__main__":
    main()
