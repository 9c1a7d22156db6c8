"""Operate benchmarks (issue #16): reset latency, admin list/describe at 10,000 entities,
CLI tail throughput; each against a peer in the same run.

    python benchmarks/admin_bench.py                 # everything (about 3 minutes)
    python benchmarks/admin_bench.py --skip-rabbit   # without the RabbitMQ peer

1. Reset: `POST /_mqlite/reset` with 10, 100 and 1,000 entities (40% SQS queues and 40%
   streams holding one message each, 20% SNS topics each subscribed by a queue),
   `mqlite serve --memory` and on disk (`--fsync 1000`); each sample re-creates the
   entities (one topology import, not timed) and times the reset request from the
   client. Peer: moto's `POST /moto-api/reset` holding the same number of SQS queues.
2. Admin API with 5,000 queues + 5,000 streams (memory): `GET /_mqlite/api/entities`
   (every row), `GET .../queues/NAME`, `GET .../streams/NAME`. Peer: RabbitMQ's
   management API (`GET /api/queues` with 5,000 queues, `GET /api/queues/%2F/NAME`),
   started here on ports 42672-42675 (Debian's rabbitmq-server + rabbitmq_management).
3. CLI tail: `mqlite tail STREAM --limit N > /dev/null` over a 100,000-message stream.
   Peer: `kcat -C -e` reading the same stream from mqlite's Kafka port.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from aws_servers import free_port, moto_server, wait_http  # noqa: E402


def pct(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def http(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(req, timeout=300) as resp:
        raw = resp.read()
    return json.loads(raw) if raw and raw[:1] in b"[{" else raw


def timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


@contextmanager
def mqlite(memory: bool, *, kafka: bool = False) -> Iterator[dict[str, int]]:
    data = tempfile.mkdtemp(prefix="mqlite-admin-bench-")
    ports = {"http": free_port(), "kafka": free_port() if kafka else None}
    cmd = [sys.executable, "-m", "mqlite.cli", "serve", "--http-port", str(ports["http"]),
           "--kafka-port", str(ports["kafka"]) if kafka else "off", "--amqp-port", "off",
           "--redis-port", "off", "--mqtt-port", "off", "--stomp-port", "off", "--log-level", "warning"]
    cmd += ["--memory"] if memory else ["--data-dir", data, "--fsync", "1000"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{ports['http']}/_mqlite/health")
        yield {k: v for k, v in ports.items() if v}
    finally:
        proc.terminate()
        proc.wait(30)
        shutil.rmtree(data, ignore_errors=True)


def topology(n: int) -> dict[str, Any]:
    queues = [{"name": f"q{i}"} for i in range(n * 4 // 10)]
    streams = [{"name": f"s{i}"} for i in range(n * 4 // 10)]
    topics = [{"name": f"t{i}", "subscriptions": [{"protocol": "sqs", "endpoint": f"q{i}"}]}
              for i in range(n - len(queues) - len(streams))]
    return {"queues": queues, "streams": streams, "topics": topics}


def fill(base: str, n: int) -> None:
    http("POST", f"{base}/_mqlite/api/topology", topology(n))
    for kind, count in (("queues", n * 4 // 10), ("streams", n * 4 // 10)):
        prefix = kind[0]
        for i in range(count):
            http("POST", f"{base}/_mqlite/api/{kind}/{prefix}{i}/messages", {"body": "x"})


def bench_reset(sizes: list[int], samples: int) -> list[tuple[str, int, float, float, int]]:
    rows = []
    for memory in (True, False):
        with mqlite(memory) as ports:
            base = f"http://127.0.0.1:{ports['http']}"
            for n in sizes:
                times = []
                deleted = 0
                for _ in range(samples if n < 1000 else max(5, samples // 3)):
                    fill(base, n)
                    reply: dict[str, Any] = {}
                    times.append(timed(lambda: reply.update(http("POST", f"{base}/_mqlite/reset"))))
                    deleted = sum(reply["deleted"].values())
                rows.append(("memory" if memory else "disk", n, statistics.median(times), pct(times, 0.99), deleted))
                print(f"  reset {'memory' if memory else 'disk'} n={n}: p50 {rows[-1][2]:.2f} ms, "
                      f"p99 {rows[-1][3]:.2f} ms ({len(times)} samples, {deleted} deleted)", flush=True)
    return rows


def bench_moto_reset(sizes: list[int], samples: int) -> list[tuple[int, float, float]]:
    import boto3

    rows = []
    with moto_server() as (endpoint, _):
        sqs = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1",
                           aws_access_key_id="x", aws_secret_access_key="x")
        for n in sizes:
            times = []
            for _ in range(samples if n < 1000 else max(5, samples // 3)):
                for i in range(n):
                    sqs.create_queue(QueueName=f"q{i}")
                times.append(timed(lambda: http("POST", f"{endpoint}/moto-api/reset")))
            rows.append((n, statistics.median(times), pct(times, 0.99)))
            print(f"  moto reset n={n} queues: p50 {rows[-1][1]:.2f} ms, p99 {rows[-1][2]:.2f} ms", flush=True)
    return rows


def bench_admin(count: int, samples: int) -> dict[str, tuple[float, float]]:
    out = {}
    with mqlite(memory=True) as ports:
        base = f"http://127.0.0.1:{ports['http']}"
        half = count // 2
        http("POST", f"{base}/_mqlite/api/topology",
             {"queues": [{"name": f"q{i}"} for i in range(half)],
              "streams": [{"name": f"s{i}"} for i in range(half)]})
        listing = http("GET", f"{base}/_mqlite/api/entities")
        assert sum(i["kind"] in ("queue", "stream") for i in listing["items"]) == count
        for label, path, n in (("list every entity", "/_mqlite/api/entities", max(5, samples // 10)),
                               ("describe a queue", f"/_mqlite/api/queues/q{half // 2}", samples),
                               ("describe a stream", f"/_mqlite/api/streams/s{half // 2}", samples)):
            times = [timed(lambda p=path: http("GET", base + p)) for _ in range(n)]
            out[label] = (statistics.median(times), pct(times, 0.99))
            print(f"  mqlite {label} ({count} entities): p50 {out[label][0]:.2f} ms, p99 {out[label][1]:.2f} ms",
                  flush=True)
    return out


@contextmanager
def rabbitmq() -> Iterator[tuple[int, int]]:
    """Debian's rabbitmq-server with the management plugin on 42672 (AMQP), 42673
    (management), 42674 (distribution), its own epmd on 42675 (stopped after); its files
    in a temporary directory."""
    base = Path(tempfile.mkdtemp(prefix="rabbit-admin-bench-"))
    (base / "enabled_plugins").write_text("[rabbitmq_management].\n")
    (base / "rabbitmq.conf").write_text("listeners.tcp.default = 42672\nmanagement.tcp.port = 42673\n"
                                        "loopback_users = none\n")
    env = {**os.environ, "RABBITMQ_NODENAME": "operate-bench@localhost", "RABBITMQ_NODE_PORT": "42672",
           "RABBITMQ_DIST_PORT": "42674", "ERL_EPMD_PORT": "42675", "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
           "RABBITMQ_LOG_BASE": str(base / "log"), "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
           "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq"), "HOME": str(base)}
    # Debian's /usr/sbin wrapper switches to the rabbitmq user, who cannot read our
    # temporary directory: run the real script as ourselves
    bin_dir = "/usr/lib/rabbitmq/bin"
    proc = subprocess.Popen([f"{bin_dir}/rabbitmq-server"], env=env, cwd=base, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_http("http://127.0.0.1:42673/api/overview", timeout=300)
        yield 42672, 42673
    finally:
        subprocess.run([f"{bin_dir}/rabbitmqctl", "-n", "operate-bench@localhost", "stop"], env=env,
                       capture_output=True, timeout=120)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
        subprocess.run(["epmd", "-kill"], env=env, capture_output=True, timeout=30)  # ours, on 42675
        shutil.rmtree(base, ignore_errors=True)


def bench_rabbit_admin(count: int, samples: int) -> dict[str, tuple[float, float]]:
    import base64

    import pika

    out = {}
    auth = {"Authorization": "Basic " + base64.b64encode(b"guest:guest").decode()}
    with rabbitmq() as (amqp_port, mgmt_port):
        conn = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", amqp_port))
        ch = conn.channel()
        for i in range(count):
            ch.queue_declare(f"q{i}", durable=True)
        conn.close()
        base = f"http://127.0.0.1:{mgmt_port}"
        # the management plugin's view lags declarations by its stats interval
        deadline = time.monotonic() + 120
        while len(http("GET", f"{base}/api/queues?columns=name", headers=auth)) < count:
            if time.monotonic() > deadline:
                raise TimeoutError("management API never listed every queue")
            time.sleep(1)
        for label, path, n in (("list every entity", "/api/queues", max(5, samples // 10)),
                               ("describe a queue", f"/api/queues/%2F/q{count // 2}", samples)):
            times = [timed(lambda p=path: http("GET", base + p, headers=auth)) for _ in range(n)]
            out[label] = (statistics.median(times), pct(times, 0.99))
            print(f"  rabbitmq {label} ({count} queues): p50 {out[label][0]:.2f} ms, p99 {out[label][1]:.2f} ms",
                  flush=True)
    return out


def bench_tail(messages: int) -> dict[str, float]:
    out = {}
    with mqlite(memory=True, kafka=True) as ports:
        base = f"http://127.0.0.1:{ports['http']}"
        http("POST", f"{base}/_mqlite/api/streams", {"name": "tailme"})
        batch = [{"body": f"message number {i:08d} with some payload"} for i in range(500)]
        for _ in range(messages // 500):
            http("POST", f"{base}/_mqlite/api/streams/tailme/messages", {"messages": batch})
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        for label, cmd in (
            ("mqlite tail", [sys.executable, "-m", "mqlite.cli", "tail", "tailme", "--limit", str(messages),
                             "--url", base]),
            ("mqlite tail --json", [sys.executable, "-m", "mqlite.cli", "tail", "tailme", "--limit", str(messages),
                                    "--json", "--url", base]),
            ("kcat -C (Kafka port)", ["kcat", "-C", "-b", f"127.0.0.1:{ports['kafka']}", "-t", "tailme",
                                      "-o", "beginning", "-e", "-q"]),
        ):
            start = time.perf_counter()
            proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=600)
            took = time.perf_counter() - start
            lines = proc.stdout.count(b"\n")
            assert lines == messages, (label, lines)
            out[label] = messages / took
            print(f"  {label}: {out[label]:,.0f} msg/s ({messages} in {took:.2f} s, process start included)",
                  flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--entities", type=int, default=10_000)
    parser.add_argument("--tail-messages", type=int, default=100_000)
    parser.add_argument("--skip-rabbit", action="store_true")
    parser.add_argument("--skip-moto", action="store_true")
    parser.add_argument("--only", choices=("reset", "admin", "tail"), help="run one part")
    opts = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.2f}", flush=True)
    if opts.only in (None, "reset"):
        print("reset:", flush=True)
        bench_reset([10, 100, 1000], opts.samples)
        if not opts.skip_moto:
            bench_moto_reset([10, 100, 1000], opts.samples)
    if opts.only in (None, "admin"):
        print("admin API:", flush=True)
        bench_admin(opts.entities, opts.samples * 3)
        if not opts.skip_rabbit:
            bench_rabbit_admin(opts.entities // 2, opts.samples * 3)
    if opts.only in (None, "tail"):
        print("CLI tail:", flush=True)
        bench_tail(opts.tail_messages)
    print(f"load average at end: {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
