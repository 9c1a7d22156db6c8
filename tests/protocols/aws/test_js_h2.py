"""HTTP/2 on the AWS port (issue #20): the AWS SDK for JavaScript v3's default Kinesis,
Firehose and EventBridge clients (the Kinesis one speaks HTTP/2 for every call, its
SubscribeToShard included) against a real mqlite server, and a broken HTTP/2 client that
leaves the server serving everyone else.

Each scenario is `node js_h2/scenarios.mjs ENDPOINT NAME` on a fresh server; the
assertions are in the script. Installed (pinned by package-lock.json) by
scripts/install-test-deps.sh.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent / "js_h2"
NODE = shutil.which("node")
SCENARIOS = ("kinesis_default_client", "firehose_default_client", "eventbridge_default_client")
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    assert (HERE / "node_modules" / "@aws-sdk" / "client-kinesis").is_dir(), (
        "the JavaScript SDK is not installed: run scripts/install-test-deps.sh")
    return subprocess.run([NODE or "node", "scenarios.mjs", *args], cwd=HERE, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.skipif(NODE is None, reason="Node.js is not installed")
def test_every_scenario_is_run_here() -> None:
    listed = _run("-", "--list")
    assert listed.returncode == 0, listed.stderr
    assert tuple(listed.stdout.split()) == SCENARIOS


@pytest.mark.skipif(NODE is None, reason="Node.js is not installed")
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_js_sdk_default_client_over_http2(mqlite_server: Any, scenario: str) -> None:
    done = _run(mqlite_server.endpoint_url, scenario)
    assert done.returncode == 0, f"{scenario} failed:\n{done.stdout}\n{done.stderr}"
    assert done.stdout.strip().endswith(f"ok {scenario}")


def test_a_broken_http2_client_is_dropped_and_others_are_served(mqlite_server: Any) -> None:
    host, port = mqlite_server.endpoint_url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(PREFACE + b"\x00\x00\x04\x00\x00\x00\x00\x00\x00data")  # DATA on stream 0: a protocol error
        got = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break  # the server closed the connection
            got += chunk
        assert got[3:4] == b"\x04"  # the server's SETTINGS came first (an HTTP/2 answer)
    import boto3

    kinesis = boto3.client("kinesis", endpoint_url=mqlite_server.endpoint_url, region_name="us-east-1",
                           aws_access_key_id="a", aws_secret_access_key="b")
    assert kinesis.list_streams()["StreamNames"] == []  # HTTP/1.1 on the same port, still served
