"""Start-up to ready, idle RSS and stop-to-exit of `mqlite serve`, with redis-server as
the peer in the same run.

    python benchmarks/startup_bench.py [--runs 5] [--python PATH]

- cold: the first start with no bytecode for mqlite or its dependencies (a fresh
  `PYTHONPYCACHEPREFIX`) and, when run as root, the page cache dropped first;
- warm: bytecode cached (written by the cold run), page cache warm.
Ready = the "mqlite ready" log line, which is written only once every listener accepts
and recovery is done (checked by tests/test_startup.py). RSS is read from /proc one
second after ready, all four front-ends on, empty in-memory broker. Prints progress
to stderr and a table to stdout.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SERVE = ["-m", "mqlite.cli", "serve", "--memory", "--http-port", "0", "--kafka-port", "0",
         "--amqp-port", "0", "--redis-port", "0", "--mqtt-port", "0", "--stomp-port", "0"]


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def drop_page_cache() -> bool:
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def start_mqlite(python: str, env: dict[str, str]) -> dict[str, float]:
    began = time.monotonic()
    proc = subprocess.Popen([python, *SERVE], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env)
    assert proc.stdout is not None
    for line in proc.stdout:
        if "mqlite ready" in line:
            break
    else:
        raise RuntimeError("mqlite did not start")
    ready = time.monotonic() - began
    time.sleep(1.0)
    rss = rss_mib(proc.pid)
    proc.send_signal(signal.SIGTERM)
    stopped_at = None
    for line in proc.stdout:
        if "mqlite stopped" in line:
            stopped_at = time.monotonic()
            break
    proc.wait(timeout=30)
    exit_ms = (time.monotonic() - stopped_at) * 1000 if stopped_at else float("nan")
    return {"ready_s": ready, "rss_mib": rss, "exit_ms": exit_ms}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis() -> dict[str, float] | None:
    binary = shutil.which("redis-server")
    if binary is None:
        return None
    port = free_port()
    with tempfile.TemporaryDirectory() as work:
        began = time.monotonic()
        proc = subprocess.Popen([binary, "--port", str(port), "--save", "", "--appendonly", "no", "--dir", work],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                time.sleep(0.002)
        ready = time.monotonic() - began
        time.sleep(1.0)
        rss = rss_mib(proc.pid)
        proc.terminate()
        proc.wait(timeout=10)
    return {"ready_s": ready, "rss_mib": rss, "exit_ms": float("nan")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--python", default=sys.executable, help="interpreter with mqlite installed")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MQLITE_") and k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory() as cache:
        env["PYTHONPYCACHEPREFIX"] = cache
        dropped = drop_page_cache()
        print(f"cold start (page cache dropped: {dropped}) ...", file=sys.stderr)
        cold = start_mqlite(args.python, env)
        warm = []
        for i in range(args.runs):
            print(f"warm start {i + 1}/{args.runs} ...", file=sys.stderr)
            warm.append(start_mqlite(args.python, env))
    peers = []
    for i in range(args.runs):
        print(f"redis-server start {i + 1}/{args.runs} ...", file=sys.stderr)
        peer = start_redis()
        if peer is not None:
            peers.append(peer)
    load = os.getloadavg()[0]
    print(f"load average at end: {load:.2f}; {os.cpu_count()} cores")
    print("| server | start | ready (s) min / median / max | idle RSS (MiB) | stopped -> exit (ms) |")
    print("|---|---|---|---|---|")
    print(f"| mqlite | cold | {cold['ready_s']:.3f} | {cold['rss_mib']:.1f} | {cold['exit_ms']:.0f} |")
    for name, rows in (("mqlite", warm), ("redis-server", peers)):
        if not rows:
            continue
        ready = sorted(r["ready_s"] for r in rows)
        rss = statistics.median(r["rss_mib"] for r in rows)
        exits = [r["exit_ms"] for r in rows if r["exit_ms"] == r["exit_ms"]]
        exit_text = f"{max(exits):.0f} (max)" if exits else "—"
        print(f"| {name} | warm | {ready[0]:.3f} / {statistics.median(ready):.3f} / {ready[-1]:.3f} | "
              f"{rss:.1f} | {exit_text} |")


if __name__ == "__main__":
    main()
