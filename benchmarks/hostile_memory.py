"""RSS growth of a `mqlite serve` process under issue 26's memory attacks.

Each scenario starts a fresh server (`mqlite serve --memory`, every port free), opens
hostile connections that declare a large request and send most of it (non-blocking:
a paused read shows as bytes the kernel would not take), waits for the server to
settle, and reports the resident-set growth and the bytes the peers managed to send.
Scenarios (the issue's figures in brackets):
  kafka       4 connections, 99 MiB frames, 90 MiB sent each          [+359 MiB]
  resp        2 connections, a 400 MB bulk, 180 MiB sent each         [+720 MiB]
  resp-auth   1 unauthenticated connection, one partial AUTH argument [299 MiB pinned]
  amqp        1 connection, 40 channels x 8 MiB into 100 MiB bodies   [+320 MiB]
  amqp-3.13   the same with max_message_size 128 MiB (RabbitMQ 3.13's default)
  full-disk   --fsync always on a full 16 MiB tmpfs (root only): 400 refused
              200 KB Kafka produces                                     [+82 MiB]
Run with `PYTHONPATH=src python3 benchmarks/hostile_memory.py [scenario ...]`; set
PYTHONPATH to another tree to measure another version (for full-disk the "sent" column
is the number of refused produces).
"""

from __future__ import annotations

import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pamqp import commands
from pamqp import frame as pframe

from mqlite.testing import spawn_server

MiB = 1024 * 1024


def rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def pump(socks: list[socket.socket], payloads: list[bytes], quiet: float = 3.0) -> list[int]:
    """Send each payload on its socket without blocking until all are sent or no
    byte moved for `quiet` seconds; returns the bytes sent per socket."""
    sent = [0] * len(socks)
    for s in socks:
        s.setblocking(False)
    last = time.monotonic()
    while time.monotonic() - last < quiet and any(n < len(p) for n, p in zip(sent, payloads, strict=True)):
        moved = False
        for i, (s, p) in enumerate(zip(socks, payloads, strict=True)):
            if sent[i] >= len(p):
                continue
            try:
                n = s.send(memoryview(p)[sent[i] : sent[i] + 1024 * 1024])
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                sent[i] = len(p) + 1  # cut off by the server
                continue
            sent[i] += n
            moved = moved or n > 0
        if moved:
            last = time.monotonic()
        else:
            time.sleep(0.01)
    return sent


def kafka(ports: dict[str, int]) -> tuple[list[socket.socket], list[int]]:
    socks = [socket.create_connection(("127.0.0.1", ports["kafka"])) for _ in range(4)]
    payload = struct.pack(">i", 99 * MiB) + b"\x00" * (90 * MiB)
    return socks, pump(socks, [payload] * 4)


def resp(ports: dict[str, int]) -> tuple[list[socket.socket], list[int]]:
    socks = [socket.create_connection(("127.0.0.1", ports["redis"])) for _ in range(2)]
    payload = b"*3\r\n$7\r\nPUBLISH\r\n$1\r\nc\r\n$400000000\r\n" + b"x" * (180 * MiB)
    return socks, pump(socks, [payload] * 2)


def resp_auth(ports: dict[str, int]) -> tuple[list[socket.socket], list[int]]:
    socks = [socket.create_connection(("127.0.0.1", ports["redis"]))]
    payload = b"*2\r\n$4\r\nAUTH\r\n$400000000\r\n" + b"x" * (299 * MiB)
    return socks, pump(socks, [payload])


def _amqp_frame(channel: int, method: Any) -> bytes:
    return bytes(pframe.marshal(method, channel))


def amqp(ports: dict[str, int]) -> tuple[list[socket.socket], list[int]]:
    sock = socket.create_connection(("127.0.0.1", ports["amqp"]))
    sock.settimeout(10)
    sock.sendall(b"AMQP\x00\x00\x09\x01")
    sock.recv(65536)
    sock.sendall(_amqp_frame(0, commands.Connection.StartOk(
        client_properties={}, mechanism="PLAIN", response="\x00guest\x00guest", locale="en_US")))
    sock.recv(65536)
    sock.sendall(_amqp_frame(0, commands.Connection.TuneOk(channel_max=0, frame_max=131072, heartbeat=0)))
    sock.sendall(_amqp_frame(0, commands.Connection.Open(virtual_host="/")))
    time.sleep(0.2)
    head = b"".join(_amqp_frame(c, commands.Channel.Open()) for c in range(1, 41))
    for c in range(1, 41):
        head += _amqp_frame(c, commands.Basic.Publish(exchange="", routing_key="q"))
        head += struct.pack(">BHI", 2, c, 14) + struct.pack(">HHQH", 60, 0, 100 * MiB, 0) + b"\xce"
    chunk = b"\x00" * 131064
    body = b"".join(struct.pack(">BHI", 3, c, len(chunk)) + chunk + b"\xce" for _ in range(64) for c in range(1, 41))
    return [sock], pump([sock], [head + body])


def full_disk(ports: dict[str, int]) -> tuple[list[socket.socket], list[int]]:
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=f"127.0.0.1:{ports['kafka']}", acks=1, retries=0,
                             max_request_size=1 << 20)
    producer.send("full", b"x").get(timeout=30)
    mnt = Path(os.environ["MQLITE_BENCH_DISK"])
    with open(mnt / "filler", "wb") as f:
        try:
            while True:
                f.write(b"\0" * (1 << 20))
        except OSError:
            pass
    refused = 0
    futures = [producer.send("full", b"v" * 200_000) for _ in range(400)]
    for fut in futures:
        try:
            fut.get(timeout=60)
        except Exception:  # noqa: BLE001 - counted
            refused += 1
    producer.close()
    return [], [refused]


SCENARIOS = {"kafka": kafka, "resp": resp, "resp-auth": resp_auth, "amqp": amqp, "amqp-3.13": amqp,
             "full-disk": full_disk}


def run(name: str) -> None:
    flags = ["--redis-password", "pw"] if name == "resp-auth" else []
    data_dir = None
    if name == "amqp-3.13":
        os.environ["MQLITE_AMQP_MAX_MESSAGE_SIZE"] = str(128 * MiB)
    if name == "full-disk":
        mnt = Path(tempfile.mkdtemp(prefix="mqlite-bench-disk-"))
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mnt)], check=True)
        os.environ["MQLITE_BENCH_DISK"] = str(mnt)
        data_dir = mnt / "data"
        flags = ["--fsync", "always"]
    server = spawn_server(data_dir, *flags)
    os.environ.pop("MQLITE_AMQP_MAX_MESSAGE_SIZE", None)
    try:
        time.sleep(1.0)
        before = rss(server.process.pid)
        socks, sent = SCENARIOS[name](server.ports)
        time.sleep(2.0)
        after = rss(server.process.pid)
        alive = sum(1 for s in socks if _alive(s))
        print(f"{name:10s} rss {before / MiB:7.1f} -> {after / MiB:7.1f} MiB (+{(after - before) / MiB:6.1f}); "
              + (f"{sent[0]} produces refused; " if name == "full-disk" else
                 f"sent per connection {', '.join(f'{n / MiB:.1f}' for n in sent)} MiB; ")
              + f"{alive}/{len(socks)} connections open", flush=True)
        for s in socks:
            s.close()
    finally:
        server.stop()
        if data_dir is not None:
            subprocess.run(["umount", "-l", str(data_dir.parent)], check=False)
            data_dir.parent.rmdir()


def _alive(sock: socket.socket) -> bool:
    try:
        sock.setblocking(False)
        return sock.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


if __name__ == "__main__":
    print(f"python {sys.version.split()[0]}, load {os.getloadavg()[0]:.2f}, PYTHONPATH={os.environ.get('PYTHONPATH', '')}")
    for scenario in sys.argv[1:] or list(SCENARIOS):
        run(scenario)
