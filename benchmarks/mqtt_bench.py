"""MQTT benchmark: mqlite vs mosquitto, in the same run (issue #27).

Workloads, per broker (one client process; a minimal pipelined asyncio MQTT 3.1.1
client written here, since paho's per-message Python cost would be the bottleneck):
  qos0-1pub / qos1-1pub:     1 publisher, 1 subscriber on the same topic;
  qos0-100pub / qos1-100pub: 100 publishers, 1 subscriber;
  fanout-qos0 / fanout-qos1: 1 publisher, 100 subscribers (deliveries counted);
  idle:                      10,000 connected idle clients, server RSS growth / client.
A QoS 1 publisher keeps `--window` PUBLISHes unacknowledged; a QoS 1 subscriber acks
each delivery. Reported: messages (or deliveries) per second end to end (the last
delivery received), and the server's CPU seconds per 1,000 messages (/proc stat).

mosquitto is started here on --peer-port (Debian's /usr/sbin/mosquitto, persistence
off: it keeps QoS 1 messages in memory), mqlite on --mqlite-port (`--fsync never`
by default, `--fsync` to change; --memory). Both on 127.0.0.1.

    python3 benchmarks/mqtt_bench.py --messages 20000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TICK = os.sysconf("SC_CLK_TCK")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
from mqlite.protocols.mqtt.codec import fixed_header, varint  # noqa: E402 - framing only


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def connect_packet(cid: str) -> bytes:
    body = b"\x00\x04MQTT\x04\x02\x00\x00" + len(cid).to_bytes(2, "big") + cid.encode()
    return b"\x10" + varint(len(body)) + body


class Conn:
    """One raw MQTT 3.1.1 connection: counts PUBLISH/PUBACK, acks QoS 1 deliveries."""

    def __init__(self) -> None:
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.received = 0
        self.acked = 0
        self.ack_event = asyncio.Event()
        self.done_at = 0.0
        self.expect = 0
        self.all_in = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def open(self, port: int, cid: str) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
        self.writer.write(connect_packet(cid))
        head = await self.reader.readexactly(4)
        assert head[0] == 0x20 and head[3] == 0, head

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self.read_loop())

    async def read_loop(self) -> None:
        r, w = self.reader, self.writer
        assert r is not None and w is not None
        buf = b""
        try:
            while True:
                chunk = await r.read(1 << 16)
                if not chunk:
                    return
                buf += chunk
                pos, n, acks = 0, len(buf), []
                while n - pos >= 2:
                    head = fixed_header(buf, pos)
                    if head is None or n - head[0] < head[1]:
                        break
                    i, length = head
                    kind = buf[pos] >> 4
                    if kind == 3:
                        self.received += 1
                        if (buf[pos] >> 1) & 3:
                            tlen = int.from_bytes(buf[i:i + 2], "big")
                            acks.append(b"\x40\x02" + buf[i + 2 + tlen:i + 4 + tlen])
                        if self.received == self.expect:
                            self.done_at = time.perf_counter()
                            self.all_in.set()
                    elif kind == 4:
                        self.acked += 1
                        self.ack_event.set()
                    pos = i + length
                buf = buf[pos:]
                if acks:
                    w.write(b"".join(acks))
        except (ConnectionError, asyncio.CancelledError):
            return

    async def subscribe(self, topic: str, qos: int) -> None:
        assert self.writer is not None
        body = b"\x00\x01" + len(topic).to_bytes(2, "big") + topic.encode() + bytes((qos,))
        self.writer.write(b"\x82" + varint(len(body)) + body)
        assert self.reader is not None
        ack = await self.reader.readexactly(5)
        assert ack[0] == 0x90 and ack[4] == qos, ack

    async def publish(self, topic: str, count: int, qos: int, window: int, payload: bytes) -> None:
        w = self.writer
        assert w is not None
        t = len(topic).to_bytes(2, "big") + topic.encode()
        sent = 0
        pid = 0
        batch = []
        while sent < count:
            if qos:
                while sent - self.acked >= window:
                    self.ack_event.clear()
                    await self.ack_event.wait()
                pid = pid % 65535 + 1
                body = t + pid.to_bytes(2, "big") + payload
                batch.append(b"\x32" + varint(len(body)) + body)
            else:
                body = t + payload
                batch.append(b"\x30" + varint(len(body)) + body)
            sent += 1
            if len(batch) >= 64 or sent == count:
                w.write(b"".join(batch))
                batch = []
                await w.drain()
        if qos:
            while self.acked < count:
                self.ack_event.clear()
                await self.ack_event.wait()

    def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
        if self.writer is not None:
            self.writer.close()


async def run_flow(port: int, pid: int, name: str, publishers: int, subscribers: int, qos: int, messages: int,
                   window: int, payload: bytes) -> dict[str, Any]:
    topic = f"bench/{name}/t"
    subs = []
    for i in range(subscribers):
        c = Conn()
        await c.open(port, f"{name}-s{i}")
        await c.subscribe(topic, qos)
        c.expect = messages
        c.start()
        subs.append(c)
    pubs = []
    for i in range(publishers):
        c = Conn()
        await c.open(port, f"{name}-p{i}")
        c.start()
        pubs.append(c)
    per = messages // publishers
    cpu0 = cpu_seconds(pid)
    t0 = time.perf_counter()
    await asyncio.gather(*(c.publish(topic, per, qos, window, payload) for c in pubs))
    try:
        await asyncio.wait_for(asyncio.gather(*(c.all_in.wait() for c in subs)), 120)
    except TimeoutError:
        pass
    end = max((c.done_at for c in subs if c.done_at), default=time.perf_counter())
    elapsed = end - t0
    cpu = cpu_seconds(pid) - cpu0
    got = sum(c.received for c in subs)
    for c in subs + pubs:
        c.close()
    return {"workload": name, "rate": got / elapsed if elapsed else 0.0, "delivered": got,
            "expected": per * publishers * subscribers, "cpu_ms_per_1k": 1e6 * cpu / max(got, 1)}


async def idle(port: int, pid: int, clients: int) -> dict[str, Any]:
    base = rss_kib(pid)
    conns = []
    for i in range(clients):
        c = Conn()
        await c.open(port, f"idle-{i}")
        conns.append(c)
    await asyncio.sleep(1.0)
    grown = rss_kib(pid) - base
    for c in conns:
        c.close()
    return {"workload": f"idle-{clients}", "kib_per_connection": grown / clients, "rss_growth_mib": grown / 1024}


def start_mosquitto(port: int, work: Path) -> subprocess.Popen[bytes]:
    conf = work / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                    "max_queued_messages 0\nmax_inflight_messages 0\n")
    return subprocess.Popen(["/usr/sbin/mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def start_mqlite(port: int, fsync: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.Popen(
        [sys.executable, "-m", "mqlite", "serve", "--memory", "--host", "127.0.0.1", "--mqtt-port", str(port),
         "--http-port", "off", "--kafka-port", "off", "--amqp-port", "off", "--redis-port", "off", "--stomp-port", "off", "--fsync", fsync,
         "--max-connections-per-listener", "20000", "--max-connections-per-address", "20000"],
        env=env, stdout=subprocess.DEVNULL, stderr=open(os.path.join(tempfile.gettempdir(), "mqtt_bench_mqlite.log"), "w"))  # noqa: SIM115


async def wait_port(port: int) -> None:
    """Wait until something LISTENs on `port` (read from /proc/net/tcp, not by connecting:
    the port is in the ephemeral range, and repeated connects before the server binds walk
    the source ports until one connects to itself and takes the port)."""
    want = f":{port:04X}"
    for _ in range(600):
        with open("/proc/net/tcp") as f:
            if any(line.split()[1].endswith(want) and line.split()[3] == "0A" for line in list(f)[1:]):
                return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"nothing listening on {port}")


async def bench(port: int, pid: int, args: argparse.Namespace) -> list[dict[str, Any]]:
    await wait_port(port)
    payload = b"x" * args.size
    n = args.messages
    out = []
    # first: later phases leave freed memory in the heap (--idle 0 skips it)
    idle_result = await idle(port, pid, args.idle) if args.idle else None
    for name, pubs, subs, qos, count in (
            ("qos0-1pub", 1, 1, 0, n), ("qos1-1pub", 1, 1, 1, n),
            ("qos0-100pub", 100, 1, 0, n), ("qos1-100pub", 100, 1, 1, n),
            ("fanout-qos0", 1, 100, 0, n // 100), ("fanout-qos1", 1, 100, 1, n // 100)):
        r = await run_flow(port, pid, name, pubs, subs, qos, count, args.window, payload)
        if name.startswith("fanout"):
            r["workload"] += " (deliveries/s)"
        out.append(r)
    if idle_result is not None:
        out.append(idle_result)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=20000)
    ap.add_argument("--size", type=int, default=64, help="payload bytes")
    ap.add_argument("--window", type=int, default=100, help="QoS 1 PUBLISHes in flight per publisher")
    ap.add_argument("--idle", type=int, default=10000, help="idle connections")
    ap.add_argument("--peer-port", type=int, default=46883)
    ap.add_argument("--mqlite-port", type=int, default=46884)
    ap.add_argument("--fsync", default="never")
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    results: dict[str, list[dict[str, Any]]] = {}
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        # both listen before any client connects: 10,000 client sockets take ephemeral
        # ports, which could otherwise take the second broker's port
        procs = {"mosquitto": start_mosquitto(args.peer_port, Path(tmp)),
                 "mqlite": start_mqlite(args.mqlite_port, args.fsync)}
        try:
            asyncio.run(wait_port(args.peer_port))
            asyncio.run(wait_port(args.mqlite_port))
            for broker, proc in procs.items():
                port = args.peer_port if broker == "mosquitto" else args.mqlite_port
                results[broker] = asyncio.run(bench(port, proc.pid, args))
        finally:
            for proc in procs.values():
                proc.terminate()
                proc.wait(30)
    print(f"load average before: {load}, after: {os.getloadavg()}")
    print(f"{'workload':32} {'mosquitto':>12} {'mqlite':>12} {'ratio':>7}   cpu ms/1k msgs (mosq / mqlite)")
    for peer, mine in zip(results["mosquitto"], results["mqlite"], strict=True):
        if "rate" in peer:
            ratio = mine["rate"] / peer["rate"] if peer["rate"] else 0.0
            lost = "" if mine["delivered"] == mine["expected"] else f"  (mqlite {mine['delivered']}/{mine['expected']})"
            lost += "" if peer["delivered"] == peer["expected"] else f"  (mosquitto {peer['delivered']}/{peer['expected']})"
            print(f"{peer['workload']:32} {peer['rate']:12,.0f} {mine['rate']:12,.0f} {ratio:6.2f}x   "
                  f"{peer['cpu_ms_per_1k']:.1f} / {mine['cpu_ms_per_1k']:.1f}{lost}")
        else:
            print(f"{peer['workload']:32} {peer['kib_per_connection']:9.2f} KiB {mine['kib_per_connection']:9.2f} KiB"
                  f"   per idle connection (RSS growth {peer['rss_growth_mib']:.1f} / {mine['rss_growth_mib']:.1f} MiB)")


if __name__ == "__main__":
    main()
