"""Core queue benchmark (issue #3 §6): send -> receive -> delete in batches of 10, and
memory with a large backlog.

    python benchmarks/core_queue_bench.py [--seconds 5] [--backlog 2000000] [--fsync 1000]
                                          [--backlog-only]

Measurements (each printed as it goes):
(each throughput figure is the best of three runs of --seconds/3; the machine is shared)
1. core API on one event loop (`Queue.send_batch` of 10 -> `receive(10)` ->
   `delete_batch`), data directory, fsync interval: end-to-end messages/s;
2. the blocking embedded API (`mqlite.Broker(path).queue(...)`: `send_batch` of 10,
   `receive(10)`, `delete_batch` of 10; then with 10 x `delete`), called from the main
   thread: end-to-end messages/s;
3. backlog: RSS while `--backlog` messages are appended (batches of 1,000), then while
   10,000 are received and deleted from the head: per-message RAM must stay ~0.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from mqlite.core.broker import BrokerCore
from mqlite.core.config import CoreConfig
from mqlite.core.message import Envelope

BODY = b"x" * 100


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


async def core_e2e(seconds: float, fsync: str) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as d:
        core = await BrokerCore.open(Path(d), CoreConfig(fsync=fsync, maintenance_interval=0))
        q = core.create_queue("bench")
        batch = [Envelope(BODY) for _ in range(10)]
        n = 0
        start = time.perf_counter()
        cpu = time.process_time()
        while time.perf_counter() - start < seconds:
            for _ in range(100):
                await q.send_batch(batch)
                got = await q.receive(10)
                await q.delete_batch([m.receipt for m in got])
                n += len(got)
        rate = n / (time.perf_counter() - start)
        cpu_rate = n / (time.process_time() - cpu)
        assert q.counts().total == 0
        await core.close()
        return rate, cpu_rate


async def split_costs(fsync: str, cycles: int = 3000) -> tuple[float, float, float]:
    """CPU microseconds per message spent in send, receive and delete (batches of 10)."""
    with tempfile.TemporaryDirectory() as d:
        core = await BrokerCore.open(Path(d), CoreConfig(fsync=fsync, maintenance_interval=0))
        q = core.create_queue("split")
        batch = [Envelope(BODY) for _ in range(10)]
        ts = tr = td = 0.0
        pt = time.process_time
        for _ in range(cycles):
            a = pt()
            await q.send_batch(batch)
            b = pt()
            got = await q.receive(10)
            c = pt()
            await q.delete_batch([m.receipt for m in got])
            e = pt()
            ts, tr, td = ts + b - a, tr + c - b, td + e - c
        await core.close()
        n = cycles * 10 / 1e6
        return ts / n, tr / n, td / n


def embedded_e2e(seconds: float, fsync: str, single_deletes: bool = False) -> tuple[float, float]:
    import mqlite

    with tempfile.TemporaryDirectory() as d, mqlite.Broker(d, fsync=fsync) as broker:
        q = broker.queue("bench")
        bodies = [BODY] * 10
        n = 0
        start = time.perf_counter()
        cpu = time.process_time()
        while time.perf_counter() - start < seconds:
            for _ in range(20):
                q.send_batch(bodies)
                got = q.receive(10)
                if single_deletes:
                    for m in got:
                        q.delete(m.receipt)
                else:
                    q.delete_batch([m.receipt for m in got])
                n += len(got)
        return n / (time.perf_counter() - start), n / (time.process_time() - cpu)


async def backlog(total: int, fsync: str) -> list[tuple[int, float]]:
    points: list[tuple[int, float]] = []
    with tempfile.TemporaryDirectory() as d:
        core = await BrokerCore.open(Path(d), CoreConfig(fsync=fsync, maintenance_interval=0))
        q = core.create_queue("backlog")
        batch = [Envelope(BODY) for _ in range(1000)]
        points.append((0, rss_mib()))
        step = max(total // 8, 1000)
        sent = 0
        t0 = time.perf_counter()
        while sent < total:
            await q.send_batch(batch)
            sent += 1000
            if sent % step == 0:
                points.append((sent, rss_mib()))
                print(f"  backlog {sent:>10,}: RSS {points[-1][1]:.1f} MiB "
                      f"({sent / (time.perf_counter() - t0):,.0f} msg/s appended)", flush=True)
        for _ in range(1000):
            got = await q.receive(10)
            await q.delete_batch([m.receipt for m in got])
        c = q.counts()
        points.append((-1, rss_mib()))
        print(f"  after receiving+deleting 10,000 from the head: RSS {points[-1][1]:.1f} MiB, "
              f"counts {c}", flush=True)
        await core.close()
        t0 = time.perf_counter()
        core = await BrokerCore.open(Path(d), CoreConfig(fsync=fsync, maintenance_interval=0))
        q = core.get_queue("backlog")
        opened = time.perf_counter() - t0
        got = await q.receive(10)
        print(f"  restart with the backlog: open {opened * 1000:.0f} ms, first receive "
              f"{[m.body[:3] for m in got[:1]]}, counts {q.counts()}, RSS {rss_mib():.1f} MiB",
              flush=True)
        await core.close()
    return points


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--backlog", type=int, default=2_000_000)
    ap.add_argument("--fsync", default="1000")
    ap.add_argument("--backlog-only", action="store_true")
    args = ap.parse_args()
    print(f"python {sys.version.split()[0]}, fsync={args.fsync}", flush=True)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)
    if not args.backlog_only:
        runs = [asyncio.run(core_e2e(args.seconds / 3, args.fsync)) for _ in range(3)]
        r, c = max(x[0] for x in runs), max(x[1] for x in runs)
        print(f"core API, send->receive->delete in 10s (best of 3): {r:,.0f} msg/s end to end (wall); "
              f"{c:,.0f} msg per CPU-second of the process", flush=True)
        sends, recvs, dels = asyncio.run(split_costs(args.fsync))
        print(f"CPU per message: send {sends:.1f} us, receive {recvs:.1f} us, "
              f"delete {dels:.1f} us", flush=True)
        for single in (False, True):
            runs = [embedded_e2e(args.seconds / 3, args.fsync, single) for _ in range(3)]
            r2, c2 = max(x[0] for x in runs), max(x[1] for x in runs)
            how = "10 x delete" if single else "delete_batch(10)"
            print(f"embedded mqlite.Broker API, send_batch(10)/receive(10)/{how}: "
                  f"{r2:,.0f} msg/s (wall); {c2:,.0f} msg per CPU-second", flush=True)
    points = asyncio.run(backlog(args.backlog, args.fsync))
    base = points[1][1] if len(points) > 1 else points[0][1]
    last = points[-2][1]
    per_msg = (last - base) * 2**20 / max(1, points[-2][0] - points[1][0])
    print(f"backlog RSS growth {points[1][0]:,} -> {points[-2][0]:,} messages: "
          f"{last - base:+.1f} MiB ({per_msg:.2f} bytes/message); "
          f"maxrss {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB", flush=True)


if __name__ == "__main__":
    main()
