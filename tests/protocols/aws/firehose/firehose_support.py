"""Helpers for the Firehose tests: a boto3 client, waiting for objects, a local HTTP sink."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

CREDS = {"aws_access_key_id": "AKIDEXAMPLE", "aws_secret_access_key": "secret"}
CONFIG = Config(retries={"max_attempts": 1}, read_timeout=60)
ROLE = "arn:aws:iam::000000000000:role/firehose"


def firehose_client(server: Any) -> Any:
    return boto3.client("firehose", endpoint_url=server.endpoint_url, region_name="us-east-1",
                        config=CONFIG, **CREDS)


def s3_dest(bucket: str = "bkt", **kw: Any) -> dict[str, Any]:
    return {"RoleARN": ROLE, "BucketARN": f"arn:aws:s3:::{bucket}", **kw}


def objects(root: Path, timeout: float = 20.0, count: int = 1) -> list[Path]:
    """Wait until at least `count` objects exist under `root` (files, not temp files)."""
    deadline = time.monotonic() + timeout
    while True:
        found = sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


class Sink:
    """A local HTTP server recording POSTs; `respond(handler_body) -> (status, body)`."""

    def __init__(self, respond: Callable[[bytes, dict[str, str]], tuple[int, bytes]]) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                sink.requests.append((self.path, headers, body))
                status, out = respond(body, headers)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def echo_request_id(body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    doc = json.loads(body)
    return 200, json.dumps({"requestId": doc["requestId"], "timestamp": doc["timestamp"]}).encode()
