"""What the AWS-API benchmarks share: the servers they start, SigV4 headers, CPU seconds.

    with mqlite_server(fsync="1000") as (endpoint, pid): ...   # mqlite serve, HTTP only
    with moto_server() as (endpoint, pid): ...                 # moto's server, the peer
    headers = sigv4_headers(endpoint, "sqs", body, {"Content-Type": ..., "X-Amz-Target": ...})
    cpu_seconds(pid)    # the server process and its children (mqlite's SNS signers)

Both servers run as child processes on ephemeral ports with their output discarded,
and are stopped (and mqlite's data directory removed) when the block ends.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 30) -> None:
    """Until `url` answers at all (an HTTP error status counts as up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except Exception as exc:  # noqa: BLE001 - not up yet
            if getattr(exc, "code", None):
                return
            time.sleep(0.1)
    raise TimeoutError(url)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its live child processes (Linux
    /proc), for rates that do not depend on what else the machine ran."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry) == pid or int(fields[1]) == pid:  # fields[1]: the parent pid
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def sigv4_headers(endpoint: str, service: str, body: bytes, headers: Mapping[str, str]) -> dict[str, str]:
    """`headers` plus SigV4 (botocore's signer) for a POST of `body` to `endpoint`/."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    req = AWSRequest(method="POST", url=endpoint + "/", data=body, headers=dict(headers))
    SigV4Auth(Credentials("AKIDBENCH", "secret"), service, "us-east-1").add_auth(req)
    return {k: v for k, v in req.headers.items() if k.lower() != "content-length"}


@contextmanager
def _child_server(cmd: list[str], port: int, ready_path: str) -> Iterator[tuple[str, int]]:
    """Run `cmd` (a server on `port`) until the block ends; (endpoint, pid) once
    `ready_path` answers."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        endpoint = f"http://127.0.0.1:{port}"
        wait_http(endpoint + ready_path)
        yield endpoint, proc.pid
    finally:
        proc.terminate()
        proc.wait(20)


@contextmanager
def mqlite_server(fsync: str = "1000") -> Iterator[tuple[str, int]]:
    """`mqlite serve` with only its HTTP port, on a fresh data directory."""
    data = tempfile.mkdtemp(prefix="mqlite-bench-")
    port = free_port()
    cmd = [sys.executable, "-m", "mqlite.cli", "serve", "--data-dir", data, "--fsync", fsync,
           "--http-port", str(port), "--kafka-port", "off", "--amqp-port", "off", "--redis-port", "off", "--mqtt-port", "off", "--stomp-port", "off",
           "--log-level", "warning"]
    try:
        with _child_server(cmd, port, "/_mqlite/health") as served:
            yield served
    finally:
        shutil.rmtree(data, ignore_errors=True)


@contextmanager
def moto_server() -> Iterator[tuple[str, int]]:
    """moto's server (`python -m moto.server`), the peer every AWS benchmark compares with."""
    port = free_port()
    with _child_server([sys.executable, "-m", "moto.server", "-p", str(port)], port, "/moto-api/") as served:
        yield served
