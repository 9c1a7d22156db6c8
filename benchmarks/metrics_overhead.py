"""Cost of counting (issue 17): the Kafka produce and SQS send benchmarks run against
two source trees in one session, alternating, so both see the same machine load.

  before  a source tree without the metrics/request hook (e.g. `git archive <base> src`)
  after   this tree (the current `src/`)

Each round: Kafka produce (confluent-kafka, N x 100 B, acks=1, linger.ms 5, the
`kafka_bench.py` producer) and SQS SendMessageBatch (`sqs_bench.py`'s send phase, P procs x
C coroutines for D seconds). Reports msg/s and msg per server CPU-second (the steadier
figure on a shared machine), best of R rounds per tree, and the 1-minute load average.

On a loaded machine identical rounds differ by more than the effect, so the script also
measures the hook itself in-process (`hook`): the time of one `Observer.done()` (what
every request pays: two clock reads, a histogram bisect, a dict lookup) against each
benchmark's server CPU time per request.

    git archive <base> src | tar -x -C /tmp/before
    python benchmarks/metrics_overhead.py --before /tmp/before/src [--rounds 3]
        [--messages 300000] [--duration 4] [--procs 2] [--conc 16]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))
import kafka_bench
import sqs_bench
from aws_servers import cpu_seconds, mqlite_server

HERE = Path(__file__).resolve().parents[1] / "src"


def kafka_round(n: int) -> tuple[float, float]:
    from mqlite.testing import spawn_server

    tmp = Path(tempfile.mkdtemp(prefix="metrics-bench-"))
    server = spawn_server(tmp / "data", "--http-port", "off", "--amqp-port", "off", "--redis-port", "off")
    try:
        bootstrap = f"127.0.0.1:{server.ports['kafka']}"
        kafka_bench.create(bootstrap, ["t"])
        c0 = cpu_seconds(server.process.pid)
        elapsed = kafka_bench.produce_confluent(bootstrap, "t", n, "1", "none")
        cpu = cpu_seconds(server.process.pid) - c0
    finally:
        server.stop()
    return n / elapsed, n / max(cpu, 1e-9)


def redis_round(n: int) -> tuple[float, float]:
    """redis-benchmark PUBLISH, 50 clients, pipelines of 16: the RESP fast path."""
    import shutil
    import subprocess

    from mqlite.testing import spawn_server

    if shutil.which("redis-benchmark") is None:
        return float("nan"), float("nan")
    server = spawn_server(None, "--http-port", "off", "--amqp-port", "off", "--kafka-port", "off")
    try:
        c0 = cpu_seconds(server.process.pid)
        out = subprocess.run(["redis-benchmark", "-p", str(server.ports["redis"]), "-c", "50", "-P", "16",
                              "-n", str(n), "-q", "PUBLISH", "ch", "hello"],
                             capture_output=True, text=True, check=True).stdout
        cpu = cpu_seconds(server.process.pid) - c0
    finally:
        server.stop()
    rate = float(out.replace("\r", "\n").strip().splitlines()[-1].split(":")[1].split()[0])
    return rate, n / max(cpu, 1e-9)


def sqs_round(args: argparse.Namespace) -> tuple[float, float]:
    with mqlite_server("1000") as (endpoint, pid):
        async def setup() -> str:
            import aiohttp

            async with aiohttp.ClientSession() as s:
                return str((await sqs_bench.call(s, endpoint, "CreateQueue", {"QueueName": "b"}))["QueueUrl"])

        url = asyncio.run(setup())
        c0 = cpu_seconds(pid)
        sent, dt = sqs_bench.run_phase("send", endpoint, url, args.duration, args.procs, args.conc)
        cpu = cpu_seconds(pid) - c0
    return sent / dt, sent / max(cpu, 1e-9)


def hook_seconds(calls: int = 200_000) -> float:
    """Seconds one request's hook costs (no log line: the default)."""
    import time

    from mqlite.core.telemetry import Telemetry
    from mqlite.protocols.observe import Observer

    class Core:
        telemetry = Telemetry()

    class Settings:
        log_requests = False
        slow_request_ms = 1000.0

    observer = Observer(Core(), Settings())
    done = observer.done
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(calls):
            started = time.perf_counter()
            done("sqs", "SendMessageBatch", None, ("127.0.0.1", 1), None, started)
        best = min(best, (time.perf_counter() - t) / calls)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", required=True, help="src/ directory of the tree without metrics")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--messages", type=int, default=300_000)
    ap.add_argument("--duration", type=float, default=4.0)
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--conc", type=int, default=16)
    ap.add_argument("--redis-requests", type=int, default=1_000_000)
    args = ap.parse_args()
    trees = {"before": str(Path(args.before).resolve()), "after": str(HERE)}
    best: dict[str, dict[str, tuple[float, float]]] = {t: {} for t in trees}
    print(f"load average at start: {os.getloadavg()[0]:.2f}", flush=True)
    for r in range(args.rounds):
        for tree, path in trees.items():
            os.environ["PYTHONPATH"] = path  # the child servers import mqlite from this tree
            results: dict[str, Any] = {"kafka": kafka_round(args.messages), "sqs": sqs_round(args),
                                       "redis": redis_round(args.redis_requests)}
            for bench, (rate, per_cpu) in results.items():
                old = best[tree].get(bench, (0.0, 0.0))
                best[tree][bench] = (max(old[0], rate), max(old[1], per_cpu))
                print(f"round {r + 1} {tree:6} {bench:5} {rate:12,.0f} msg/s {per_cpu:12,.0f} msg/CPU-s "
                      f"(load {os.getloadavg()[0]:.2f})", flush=True)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    hook = hook_seconds()
    print(f"\nhook: {hook * 1e6:.2f} us per request (Observer.done, no log line)")
    kafka_per_request = 1 / best["after"]["kafka"][1] * (1024 * 1024 / 170)  # ~1 MiB batches of 100 B records
    sqs_per_request = 1 / best["after"]["sqs"][1] * 10  # 10 messages per SendMessageBatch
    print(f"server CPU per request: Kafka Produce (1 MiB batch) {kafka_per_request * 1e6:,.0f} us "
          f"-> hook {hook / kafka_per_request * 100:.3f}%; SQS SendMessageBatch {sqs_per_request * 1e6:,.0f} us "
          f"-> hook {hook / sqs_per_request * 100:.2f}%")
    print("\n| benchmark | before msg/s | after msg/s | change | before msg/CPU-s | after msg/CPU-s | change |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for bench in ("kafka", "sqs", "redis"):
        b, a = best["before"][bench], best["after"][bench]
        print(f"| {bench} | {b[0]:,.0f} | {a[0]:,.0f} | {(a[0] / b[0] - 1) * 100:+.1f}% | "
              f"{b[1]:,.0f} | {a[1]:,.0f} | {(a[1] / b[1] - 1) * 100:+.1f}% |")


if __name__ == "__main__":
    main()
