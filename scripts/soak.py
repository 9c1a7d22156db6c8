#!/usr/bin/env python3
"""Soak and fault run: mixed load on all four front-ends under kills, a full disk and
connection floods; then every acknowledged message is checked (issue 26, item 11).

    PYTHONPATH=src python3 scripts/soak.py                 # 10 minutes
    PYTHONPATH=src python3 scripts/soak.py --duration 30   # what CI runs (tests/test_soak.py)
    PYTHONPATH=src python3 scripts/soak.py --fuzz-cases 5000

One `mqlite serve` child (`--fsync always`) on a data directory: a size-limited tmpfs
when this runs as root (so the disk can really fill), a temporary directory otherwise.
Four load threads write with real clients and remember what was acknowledged: SQS
SendMessage (boto3), Kafka produce with acks=all (kafka-python), Redis XADD (redis-py),
AMQP persistent publishes with confirms (pika); on any error they reconnect and go on.
A chaos thread, every few seconds, picks one of: SIGKILL and restart on the same ports;
fill the disk to the last byte for a few seconds (tmpfs only); open a flood of idle
Kafka connections beyond the descriptor limit (the child runs with 1,024). The server's
RSS and descriptor count are sampled every second. At the end the server is killed once
more and restarted, and every acknowledged message must be found: the report (JSON on
stdout, one line per check) says what was acked, found and missing; the exit code is 1
when anything acknowledged is missing. `--fuzz-cases N` then runs the protocol fuzzers
(tests/fuzz) with N cases each against a fresh server.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from mqlite.testing import ServerProcess, spawn_server

MiB = 1024 * 1024
NOFILE = (1024, 1024)


class Soak:
    def __init__(self, data_dir: Path, tmpfs: bool, fsync: str) -> None:
        self.data_dir = data_dir
        self.tmpfs = tmpfs
        self.fsync = fsync
        self.server: ServerProcess = spawn_server(data_dir, "--fsync", fsync, rlimit_nofile=NOFILE)
        self.spawned = [self.server]  # every server started, so none outlives the run
        self.ports = dict(self.server.ports)
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.acked: dict[str, set[str]] = {"sqs": set(), "kafka": set(), "redis": set(), "amqp": set()}
        self.errors: dict[str, int] = {k: 0 for k in self.acked}
        self.events: list[str] = []
        self.samples: list[tuple[float, int, int]] = []  # (time, rss, fds)
        self.up = threading.Event()
        self.up.set()

    # -- the server ----------------------------------------------------------------------
    def restart(self, kill: bool = True) -> None:
        self.up.clear()
        if kill:
            self.server.kill()
        else:
            self.server.stop()
        flags = [f"--{name}-port={port}" for name, port in self.ports.items()]
        for attempt in range(50):
            try:
                self.server = spawn_server(self.data_dir, "--fsync", self.fsync, *flags, rlimit_nofile=NOFILE)
                self.spawned.append(self.server)
                break
            except RuntimeError:  # a port still held by the old process: try again
                time.sleep(0.2 * (attempt + 1))
        self.up.set()

    def sample(self) -> None:
        pid = self.server.process.pid
        try:
            with open(f"/proc/{pid}/status") as f:
                rss = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:"))
            fds = len(os.listdir(f"/proc/{pid}/fd"))
        except (OSError, StopIteration):
            return
        self.samples.append((time.monotonic(), rss, fds))

    # -- load ------------------------------------------------------------------------------
    def _loop(self, name: str, connect: Any, write: Any) -> None:
        n = 0
        client = None
        while not self.stop.is_set():
            self.up.wait()
            try:
                if client is None:
                    client = connect()
                key = f"{name}-{n}"
                write(client, key)
                with self.lock:
                    self.acked[name].add(key)
                n += 1
            except Exception:  # noqa: BLE001 - refused, killed, full: count, reconnect, go on
                self.errors[name] += 1
                with contextlib.suppress(Exception):
                    if client is not None and hasattr(client, "close"):
                        client.close()
                client = None
                time.sleep(0.2)

    def sqs(self) -> None:
        import boto3
        from botocore.config import Config

        def connect() -> Any:
            c = boto3.client("sqs", endpoint_url=f"http://127.0.0.1:{self.ports['http']}", region_name="us-east-1",
                             aws_access_key_id="k", aws_secret_access_key="s",
                             config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=10))
            c.url = c.create_queue(QueueName="soak-sqs")["QueueUrl"]
            return c

        self._loop("sqs", connect, lambda c, key: c.send_message(QueueUrl=c.url, MessageBody=key))

    def kafka(self) -> None:
        from kafka import KafkaProducer

        def connect() -> Any:
            return KafkaProducer(bootstrap_servers=f"127.0.0.1:{self.ports['kafka']}", acks="all", retries=0,
                                 max_block_ms=10_000, request_timeout_ms=10_000)

        self._loop("kafka", connect, lambda p, key: p.send("soak-kafka", key.encode()).get(timeout=15))

    def redis(self) -> None:
        import redis

        self._loop("redis", lambda: redis.Redis(port=self.ports["redis"], socket_timeout=10),
                   lambda r, key: r.xadd("soak-redis", {"k": key}))

    def amqp(self) -> None:
        import pika

        def connect() -> Any:
            conn = pika.BlockingConnection(pika.ConnectionParameters(
                host="127.0.0.1", port=self.ports["amqp"], blocked_connection_timeout=30, socket_timeout=10))
            ch = conn.channel()
            ch.queue_declare("soak-amqp", durable=True)
            ch.confirm_delivery()
            conn.ch = ch
            return conn

        self._loop("amqp", connect, lambda c, key: c.ch.basic_publish(
            "", "soak-amqp", key.encode(), pika.BasicProperties(delivery_mode=2), mandatory=True))

    # -- chaos -----------------------------------------------------------------------------
    def chaos(self, rng: random.Random) -> None:
        actions = ["kill", "flood"] + (["fill"] if self.tmpfs else [])
        while not self.stop.wait(rng.uniform(4, 9)):
            action = rng.choice(actions)
            self.events.append(f"{time.strftime('%H:%M:%S')} {action}")
            if action == "kill":
                self.restart(kill=True)
            elif action == "flood":
                socks = []
                for _ in range(1200):
                    try:
                        socks.append(socket.create_connection(("127.0.0.1", self.ports["kafka"]), timeout=2))
                    except OSError:
                        break
                self.stop.wait(3)
                for s in socks:
                    s.close()
            else:
                filler = self.data_dir.parent / "filler"
                with contextlib.suppress(OSError), open(filler, "wb") as f:
                    while True:
                        f.write(b"\0" * MiB)
                self.stop.wait(3)
                filler.unlink(missing_ok=True)

    # -- the end ---------------------------------------------------------------------------
    def collect(self) -> dict[str, set[str]]:
        import boto3
        import pika
        import redis
        from kafka import KafkaConsumer

        found: dict[str, set[str]] = {k: set() for k in self.acked}
        sqs = boto3.client("sqs", endpoint_url=f"http://127.0.0.1:{self.ports['http']}", region_name="us-east-1",
                           aws_access_key_id="k", aws_secret_access_key="s")
        url = sqs.create_queue(QueueName="soak-sqs")["QueueUrl"]
        while True:
            msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=600).get("Messages", [])
            if not msgs:
                break
            found["sqs"].update(m["Body"] for m in msgs)
        consumer = KafkaConsumer("soak-kafka", bootstrap_servers=f"127.0.0.1:{self.ports['kafka']}",
                                 auto_offset_reset="earliest", consumer_timeout_ms=8000)
        found["kafka"].update(m.value.decode() for m in consumer)
        consumer.close()
        r = redis.Redis(port=self.ports["redis"])
        last = "-"
        while True:
            page = r.xrange("soak-redis", min=last, count=1000)
            if last != "-":
                page = page[1:]
            if not page:
                break
            found["redis"].update(fields[b"k"].decode() for _id, fields in page)
            last = page[-1][0].decode()
        conn = pika.BlockingConnection(pika.ConnectionParameters(host="127.0.0.1", port=self.ports["amqp"]))
        ch = conn.channel()
        while True:
            method, _props, body = ch.basic_get("soak-amqp", auto_ack=False)
            if method is None:
                break
            found["amqp"].add(body.decode())
        conn.close()
        return found


def run(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="mqlite-soak-"))
    tmpfs = False
    if os.geteuid() == 0 and not args.no_tmpfs:
        mnt = workdir / "disk"
        mnt.mkdir()
        tmpfs = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={args.disk_mib}m", "tmpfs", str(mnt)],
                               capture_output=True).returncode == 0
    data_dir = (workdir / "disk" / "data") if tmpfs else (workdir / "data")
    try:
        return _soak(args, data_dir, tmpfs)
    finally:
        if tmpfs:
            subprocess.run(["umount", "-l", str(workdir / "disk")], check=False)


def _soak(args: argparse.Namespace, data_dir: Path, tmpfs: bool) -> int:
    soak = Soak(data_dir, tmpfs, args.fsync)
    try:
        return _run_soak(args, soak, tmpfs)
    finally:
        for server in soak.spawned:
            if server.process.poll() is None:
                server.kill()


def _run_soak(args: argparse.Namespace, soak: Soak, tmpfs: bool) -> int:
    started = time.monotonic()
    threads = [threading.Thread(target=fn, daemon=True) for fn in (soak.sqs, soak.kafka, soak.redis, soak.amqp)]
    threads.append(threading.Thread(target=soak.chaos, args=(random.Random(args.seed),), daemon=True))
    for t in threads:
        t.start()
    try:
        while time.monotonic() - started < args.duration:
            soak.sample()
            time.sleep(1)
    finally:
        soak.stop.set()
        for t in threads:
            t.join(timeout=None if t is threads[-1] else 60)  # the chaos thread may be restarting
    baseline_fds = soak.samples[0][2] if soak.samples else 0
    time.sleep(2)
    soak.sample()
    settled_fds = soak.samples[-1][2] if soak.samples else 0
    soak.restart(kill=True)  # what was acknowledged must survive one more SIGKILL
    found = soak.collect()
    report: dict[str, Any] = {
        "duration_s": round(time.monotonic() - started, 1),
        "data_dir": "tmpfs" if tmpfs else "directory",
        "fsync": args.fsync,
        "chaos": soak.events,
        "max_rss_mib": round(max((s[1] for s in soak.samples), default=0) / MiB, 1),
        "max_fds": max((s[2] for s in soak.samples), default=0),
        "fds_at_start": baseline_fds,
        "fds_after_load": settled_fds,
        "protocols": {},
    }
    lost = 0
    for name, acked in soak.acked.items():
        missing = acked - found[name]
        lost += len(missing)
        report["protocols"][name] = {"acked": len(acked), "found": len(found[name]), "missing": len(missing),
                                     "client_errors": soak.errors[name], "missing_sample": sorted(missing)[:5]}
    soak.server.stop()
    print(json.dumps(report, indent=2))
    for name, r in report["protocols"].items():
        print(f"{name:6s} acked {r['acked']:7d}  found {r['found']:7d}  missing {r['missing']}  "
              f"(client errors {r['client_errors']})", file=sys.stderr)
    print(f"max RSS {report['max_rss_mib']} MiB, max fds {report['max_fds']} "
          f"(start {baseline_fds}, after load {settled_fds})", file=sys.stderr)
    if args.fuzz_cases:
        env = dict(os.environ, MQLITE_FUZZ_CASES=str(args.fuzz_cases), MQLITE_FUZZ_SEED=str(args.seed))
        root = Path(__file__).resolve().parent.parent
        fuzz = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(root / "tests" / "fuzz")],
                              env=env)
        if fuzz.returncode:
            return 1
    return 1 if lost else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=600, help="seconds of load and chaos (default 600)")
    parser.add_argument("--fsync", default="always", help="the server's fsync policy (default always)")
    parser.add_argument("--seed", type=int, default=26, help="chaos and fuzz seed")
    parser.add_argument("--disk-mib", type=int, default=4096,
                        help="tmpfs size when running as root (the load alone writes ~1 GiB in 10 minutes)")
    parser.add_argument("--no-tmpfs", action="store_true", help="never mount a tmpfs (no disk-full faults)")
    parser.add_argument("--fuzz-cases", type=int, default=0, help="then run tests/fuzz with this many cases each")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(2))
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
