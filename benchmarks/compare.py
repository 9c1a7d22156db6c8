"""One comparison run: mqlite against each peer, the same workloads, alternately (#25).

    python benchmarks/compare.py                  # the documented run (<= 15 min)
    python benchmarks/compare.py --quick          # a short run (one alternation, small sizes)
    python benchmarks/compare.py --only redis,amqp --rounds 3 --no-docs

Starts every server it needs (compare_peers.py: redis-server with AOF everysec,
rabbitmq-server, moto's server, Apache Kafka 4.x KRaft from Maven Central jars when
Java and the jars are there; mqlite with its default fsync, and with `--fsync always`
for AMQP persistent confirms), runs each family of workloads (compare_workloads.py, over
the per-protocol benchmarks) against the peer and against mqlite alternately, `--rounds`
times (peer first in odd rounds, mqlite first in even ones), and prints one table: per
workload the peer's and mqlite's msg/s as min/median/max, the ratio of the medians
(mqlite / peer), the servers' CPU µs per message (median), p50/p99 latency where the
load generator measures it, and each server's largest RSS seen after a run. Unless
`--no-docs`, the table goes into docs/benchmarks.md between the `compare.py` markers,
with the date, the machine and the load average before and after. Families:
redis, amqp, kafka, sqs, sns, kinesis, events, startup. Peers on ports from
`--port-base` (default 49100) up; every server is stopped at the end.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))
import compare_peers as peers
import compare_workloads as wl

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
BEGIN, END = "<!-- compare.py:begin -->", "<!-- compare.py:end -->"

# family -> (peer server key, mqlite server key, the workload function)
FAMILIES: dict[str, tuple[str, str, Any]] = {
    "redis": ("redis", "mqlite", wl.redis_family),
    "amqp": ("rabbitmq", "mqlite-fsync-always", wl.amqp_family),
    "kafka": ("kafka", "mqlite", wl.kafka_family),
    "sqs": ("moto", "mqlite", wl.sqs_family),
    "sns": ("moto", "mqlite", wl.sns_family),
    "kinesis": ("moto", "mqlite", wl.kinesis_family),
    "events": ("moto", "mqlite", wl.events_family),
    "startup": ("redis", "mqlite", None),  # each side starts its own server (startup_bench)
}


def say(text: str) -> None:
    print(f"[compare {time.strftime('%H:%M:%S')}] {text}", flush=True)


def rss_mib(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


class Servers:
    """Starts each server on first use; `stop_all` at the end."""

    def __init__(self, work: Path, base: int) -> None:
        self.work, self.base = work, base
        self.running: dict[str, peers.Server | None] = {}

    def get(self, key: str) -> peers.Server | None:
        if key not in self.running:
            say(f"starting {key} ...")
            # each server's own block of the range, moved up past ports held right now
            offset, count = {"mqlite": (0, 4), "mqlite-fsync-always": (10, 4), "redis": (20, 1),
                             "rabbitmq": (30, 3), "moto": (40, 1), "kafka": (50, 2)}[key]
            b = peers.free_block(self.base + offset, count)
            starters = {
                "mqlite": lambda: peers.start_mqlite(self.work, b, "mqlite"),
                "mqlite-fsync-always": lambda: peers.start_mqlite(self.work, b, "mqlite-fsync-always", "always"),
                "redis": lambda: peers.start_redis(self.work, b),
                "rabbitmq": lambda: peers.start_rabbitmq(self.work, b),
                "moto": lambda: peers.start_moto(b),
                "kafka": lambda: peers.start_kafka(self.work, b),
            }
            self.running[key] = starters[key]()
        return self.running[key]

    def stop_all(self) -> None:
        for key, server in self.running.items():
            if server is not None:
                say(f"stopping {key}")
                server.stop()


def run(args: argparse.Namespace) -> tuple[list[str], dict[str, Any]]:
    size = wl.QUICK if args.quick else wl.FULL
    rounds = args.rounds or (1 if args.quick else 3)
    only = [f.strip() for f in args.only.split(",")] if args.only else list(FAMILIES)
    unknown = [f for f in only if f not in FAMILIES]
    if unknown:
        sys.exit(f"compare: unknown workload family {', '.join(unknown)} (known: {', '.join(FAMILIES)})")
    work = Path(tempfile.mkdtemp(prefix="mqlite-compare-"))
    servers = Servers(work, args.port_base)
    # row -> side -> [Result]; row -> (peer name, family); side -> max RSS per family
    results: dict[str, dict[str, list[wl.Result]]] = {}
    meta: dict[str, tuple[str, str]] = {}
    rss: dict[tuple[str, str], float] = {}
    order: list[str] = []
    try:
        for family in only:
            peer_key, mq_key, fn = FAMILIES[family]
            for r in range(rounds):
                sides = [("peer", peer_key), ("mqlite", mq_key)]
                if r % 2:
                    sides.reverse()
                for side, key in sides:
                    if fn is None:  # start-up: a fresh server per measure
                        say(f"{family} round {r + 1}/{rounds}: {key} start-up ...")
                        rows = wl.startup_side(side == "peer")
                        name = "redis-server" if side == "peer" else "mqlite"
                    else:
                        server = servers.get(key)
                        if server is None:
                            continue
                        name = server.name
                        say(f"{family} round {r + 1}/{rounds}: {name} ...")
                        rows = fn(server.ports, server.pid, size, f"{side}{r}")
                        mem = rss_mib(server.pid)
                        if mem is not None:
                            rss[(family, side)] = max(rss.get((family, side), 0.0), mem)
                    for row, res in rows.items():
                        if row not in results:
                            results[row] = {"peer": [], "mqlite": []}
                            order.append(row)
                        results[row][side].append(res)
                        if side == "peer":
                            meta[row] = (name, family)
                        else:
                            meta.setdefault(row, ("-", family))
                        lat = f", p50 {res.p50:.2f} ms p99 {res.p99:.2f} ms" if res.p50 is not None else ""
                        cpu = f", {res.cpu_us:.1f} µs CPU/msg" if res.cpu_us is not None else ""
                        say(f"  {name}: {row}: {res.rate:,.2f}{cpu}{lat}")
    finally:
        servers.stop_all()
        shutil.rmtree(work, ignore_errors=True)
    lines = table(order, results, meta, rss)
    return lines, {"rounds": rounds, "quick": args.quick, "families": only}


def _spread(vals: list[float]) -> str:
    if not vals:
        return "-"
    fmt = (lambda v: f"{v:,.2f}") if max(vals) < 100 else (lambda v: f"{v:,.0f}")
    if len(vals) == 1:
        return fmt(vals[0])
    return f"{fmt(min(vals))} / **{fmt(statistics.median(vals))}** / {fmt(max(vals))}"


def _med(vals: list[float | None]) -> float | None:
    got = [v for v in vals if v is not None]
    return statistics.median(got) if got else None


def table(order: list[str], results: dict[str, dict[str, list[wl.Result]]],
          meta: dict[str, tuple[str, str]], rss: dict[tuple[str, str], float]) -> list[str]:
    out = [("| workload | peer | peer msg/s (min / **median** / max) | mqlite msg/s (min / **median** / max) "
           "| mqlite / peer | server CPU µs/msg, peer / mqlite | p50 / p99 ms, peer / mqlite "
           "| RSS MiB, peer / mqlite |"),
           "|---|---|---:|---:|---:|---:|---:|---:|"]
    for row in order:
        peer_r, mq_r = results[row]["peer"], results[row]["mqlite"]
        name, family = meta[row]
        pm = _med([r.rate for r in peer_r])
        mm = _med([r.rate for r in mq_r])
        ratio = f"{mm / pm:.2f}" if pm and mm is not None else "-"
        cpu = " / ".join(f"{v:.1f}" if v is not None else "-" for v in
                         (_med([r.cpu_us for r in peer_r]), _med([r.cpu_us for r in mq_r])))
        lat = []
        for rs in (peer_r, mq_r):
            p50, p99 = _med([r.p50 for r in rs]), _med([r.p99 for r in rs])
            lat.append(f"{p50:.2f} / {p99:.2f}" if p50 is not None and p99 is not None else "-")
        mem = " / ".join(f"{rss[(family, s)]:.0f}" if (family, s) in rss else "-" for s in ("peer", "mqlite"))
        out.append(f"| {row} | {name} | {_spread([r.rate for r in peer_r])} | {_spread([r.rate for r in mq_r])} "
                   f"| {ratio} | {cpu} | {' ; '.join(lat)} | {mem} |")
    return out


def machine() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{os.cpu_count()} CPUs ({model or platform.machine()}), {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}")


def write_doc(section: str) -> None:
    text = DOC.read_text()
    block = f"{BEGIN}\n{section}\n{END}"
    if BEGIN in text and END in text:
        text = text[: text.index(BEGIN)] + block + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n## Side by side: one comparison run (`benchmarks/compare.py`, #25)\n\n" + block + "\n"
    DOC.write_text(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="one alternation, small sizes (about 1.5 minutes)")
    ap.add_argument("--only", default="", help="comma-separated families: " + ", ".join(FAMILIES))
    ap.add_argument("--rounds", type=int, default=0, help="alternations (default 3; 1 with --quick)")
    ap.add_argument("--port-base", type=int, default=49100, help="first port of the servers' range")
    ap.add_argument("--no-docs", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = ap.parse_args()
    began = time.time()
    load0 = os.getloadavg()
    lines, info = run(args)
    load1 = os.getloadavg()
    cmd = "python benchmarks/compare.py " + " ".join(sys.argv[1:])
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    head = [(f"Measured {when} on {machine()}; load average {load0[0]:.2f} / {load0[1]:.2f} / {load0[2]:.2f} "
            f"before, {load1[0]:.2f} / {load1[1]:.2f} / {load1[2]:.2f} after; {info['rounds']} alternation(s)"
            f"{' (--quick sizes)' if info['quick'] else ''}, {time.time() - began:.0f} s in all. Command: "
            f"`{cmd.strip()}`."), ""]
    print("\n" + "\n".join(head + lines))
    if not args.no_docs:
        write_doc("\n".join(head + lines))
        say(f"table written to {DOC}")


if __name__ == "__main__":
    main()
