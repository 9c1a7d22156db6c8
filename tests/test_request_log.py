"""Request logs: `--log-requests` (text or `--log-format json`) writes one line per
request of every protocol; slow requests are logged at info without the flag."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import boto3
import confluent_kafka
import pika
import pytest
import redis

from mqlite.testing import ServerProcess, spawn_server

CREDS = {"aws_access_key_id": "test", "aws_secret_access_key": "test", "region_name": "us-east-1"}


def traffic(server: ServerProcess) -> None:
    """One request or more of each protocol, one of them an error."""
    sqs = boto3.client("sqs", endpoint_url=f"http://127.0.0.1:{server.ports['http']}", **CREDS)
    url = sqs.create_queue(QueueName="logged-q")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="hello")
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.get_queue_url(QueueName="no-such-queue")
    producer = confluent_kafka.Producer({"bootstrap.servers": f"127.0.0.1:{server.ports['kafka']}"})
    producer.produce("logged-topic", b"v")
    assert producer.flush(10) == 0
    conn = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", server.ports["amqp"]))
    conn.channel().queue_declare("logged-amqp")
    conn.close()
    r = redis.Redis(port=server.ports["redis"])
    r.xadd("logged-stream", {"k": "v"})
    r.close()


def lines_until(server: ServerProcess, needle: str) -> list[str]:
    """The server's output once a line containing `needle` is there (the log is written
    by the server process; the client's reply can arrive before the line is flushed)."""
    for _ in range(200):
        out = server.log_text().splitlines()
        if any(needle in line for line in out):
            return out
        time.sleep(0.05)
    return server.log_text().splitlines()


def log_of_traffic(data_dir: Path, needle: str | None, *flags: str) -> list[str]:
    """The server's log after `traffic()`: once a line contains `needle` (None: at once)."""
    server = spawn_server(data_dir, *flags)
    try:
        traffic(server)
        return lines_until(server, needle) if needle is not None else server.log_text().splitlines()
    finally:
        server.stop()


def test_json_request_lines_for_every_protocol(tmp_path: Path) -> None:
    out = log_of_traffic(tmp_path / "data", '"XADD"', "--log-requests", "--log-format", "json")
    records = [json.loads(line) for line in out if line.startswith("{")]
    assert records and len(records) == len([line for line in out if line.strip()])  # every line is JSON
    requests = [r for r in records if r.get("logger") == "mqlite.requests"]
    by_action = {(r["protocol"], r["action"]): r for r in requests}
    send = by_action[("sqs", "SendMessage")]
    assert send["entity"] == "logged-q" and send["status"] == "ok" and send["duration_ms"] >= 0
    assert send["client"].startswith("127.0.0.1")
    assert by_action[("sqs", "GetQueueUrl")]["status"] == "QueueDoesNotExist"
    assert by_action[("kafka", "Produce")]["entity"] == "logged-topic"
    assert by_action[("amqp", "queue.declare")]["entity"] == "logged-amqp"
    assert by_action[("redis", "XADD")]["entity"] == "logged-stream"


def test_text_request_lines(tmp_path: Path) -> None:
    out = log_of_traffic(tmp_path / "data", " XADD ", "--log-requests")
    send = next(line for line in out if "mqlite.requests" in line and " SendMessage " in line)
    assert " INFO mqlite.requests: sqs 127.0.0.1:" in send and " logged-q ok " in send and send.endswith("ms")


def test_no_request_lines_by_default_but_slow_ones(tmp_path: Path) -> None:
    quiet = log_of_traffic(tmp_path / "quiet", None)
    assert any("mqlite ready" in line for line in quiet)
    assert not [line for line in quiet if "mqlite.requests" in line]
    # every request is "slow" over a 1 ns threshold (0 turns it off)
    flagged = [line for line in log_of_traffic(tmp_path / "slow", "XADD", "--slow-request-ms", "0.000001")
               if "slow request: " in line]
    assert any(" SendMessage logged-q ok " in line for line in flagged)
    assert any(" XADD " in line for line in flagged)


def test_debug_level_logs_requests(tmp_path: Path) -> None:
    out = log_of_traffic(tmp_path / "data", " XADD ", "--log-level", "debug")
    assert any("DEBUG mqlite.requests: redis" in line and " XADD " in line for line in out)
