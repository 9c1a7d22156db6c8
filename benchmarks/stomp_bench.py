"""STOMP benchmark: mqlite vs RabbitMQ's STOMP plugin, in the same run (issue #27).

Workloads, per broker, over one raw-socket STOMP 1.2 connection (the client does no
more than write pre-built frames and scan for NULs, so the broker is what is measured):
  send:      N SENDs (transient, 100-byte body) to a fresh `/queue/`, pipelined; the
             last carries a receipt, the clock stops at its RECEIPT (stored).
  subscribe: SUBSCRIBE `ack:client-individual`, `prefetch-count:P` to that queue of N
             messages; every MESSAGE is ACKed as it arrives; the clock stops when the
             last MESSAGE has arrived and the RECEIPT of a final ACK is back.
Reported: msg/s and the server's CPU time per message (/proc utime+stime).

scripts/conformance-stomp.sh runs it against both brokers; alone:
    python benchmarks/stomp_bench.py --port 61613 --pid PID --name mqlite --messages 20000
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import time
import uuid

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    if not pid:
        return 0.0
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


class Raw:
    """A minimal STOMP 1.2 client: write frames, read whole frames."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.pos = 0  # frames are read by offset: slicing per frame is quadratic in a big read
        self.sock.sendall(b"CONNECT\naccept-version:1.2\nlogin:guest\npasscode:guest\nhost:/\n\n\x00")
        assert self.frame().startswith(b"CONNECTED")

    def frame(self) -> bytes:
        while True:
            buf, pos = self.buf, self.pos
            while pos < len(buf) and buf[pos] in (10, 13):  # heart-beat EOLs
                pos += 1
            end = buf.find(b"\x00", pos)
            if end != -1:
                # a MESSAGE body here never contains NUL, so the first NUL ends the frame
                self.pos = end + 1
                return buf[pos:end]
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("closed")
            self.buf, self.pos = buf[pos:] + chunk, 0

    def buffered(self) -> bool:
        """Whether a whole frame is already read (more to process before acking)."""
        return self.buf.find(b"\x00", self.pos) != -1

    def close(self) -> None:
        self.sock.sendall(b"DISCONNECT\nreceipt:bye\n\n\x00")
        try:
            while not self.frame().startswith(b"RECEIPT"):
                pass
        except ConnectionError:
            pass
        self.sock.close()


def send_phase(port: int, queue: str, n: int) -> float:
    c = Raw(port)
    body = b"x" * 100
    frame = f"SEND\ndestination:/queue/{queue}\ncontent-length:100\n\n".encode() + body + b"\x00"
    last = f"SEND\ndestination:/queue/{queue}\nreceipt:done\ncontent-length:100\n\n".encode() + body + b"\x00"
    start = time.perf_counter()
    chunk = frame * 500
    sent = 0
    while sent + 500 < n:
        c.sock.sendall(chunk)
        sent += 500
    c.sock.sendall(frame * (n - sent - 1) + last)
    while True:
        f = c.frame()
        if f.startswith(b"RECEIPT"):
            break
        if f.startswith(b"ERROR"):
            raise RuntimeError(f.decode())
    elapsed = time.perf_counter() - start
    c.close()
    return elapsed


def subscribe_phase(port: int, queue: str, n: int, prefetch: int) -> float:
    c = Raw(port)
    start = time.perf_counter()
    c.sock.sendall(f"SUBSCRIBE\nid:b\ndestination:/queue/{queue}\nack:client-individual\n"
                   f"prefetch-count:{prefetch}\n\n\x00".encode())
    got = 0
    acks: list[bytes] = []
    while got < n:
        f = c.frame()
        if not f.startswith(b"MESSAGE"):
            raise RuntimeError(f.decode())
        i = f.index(b"\nack:") + 5
        ack_id = f[i:f.index(b"\n", i)]
        got += 1
        acks.append(b"ACK\nid:" + ack_id + (b"\nreceipt:done" if got == n else b"") + b"\n\n\x00")
        if len(acks) >= 32 or got == n or not c.buffered():
            c.sock.sendall(b"".join(acks))
            acks.clear()
    while not c.frame().startswith(b"RECEIPT"):
        pass
    elapsed = time.perf_counter() - start
    c.close()
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, default=0, help="the broker's pid, for its CPU time")
    ap.add_argument("--name", default="broker")
    ap.add_argument("--messages", type=int, default=20000)
    ap.add_argument("--prefetch", type=int, default=100)
    args = ap.parse_args()
    queue = "bench-" + uuid.uuid4().hex[:8]
    n = args.messages
    out = {"broker": args.name, "messages": n, "prefetch": args.prefetch}
    cpu0 = cpu_seconds(args.pid)
    t = send_phase(args.port, queue, n)
    cpu1 = cpu_seconds(args.pid)
    out["send_msg_s"] = round(n / t)
    out["send_cpu_us_per_msg"] = round((cpu1 - cpu0) / n * 1e6, 1)
    t = subscribe_phase(args.port, queue, n, args.prefetch)
    cpu2 = cpu_seconds(args.pid)
    out["subscribe_ack_msg_s"] = round(n / t)
    out["subscribe_cpu_us_per_msg"] = round((cpu2 - cpu1) / n * 1e6, 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
