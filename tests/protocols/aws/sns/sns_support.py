"""Helpers for the SNS tests (imported by name: test basenames are unique).

`client(server, service)` makes a boto3 client for the test server; `make_queue`,
`drain`, `bodies` are SQS conveniences; `Receiver` is a real HTTP endpoint (aiohttp on an
ephemeral port in a background thread) that records each request and answers with the
next status of its script.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import boto3
from aiohttp import web
from botocore.config import Config

from mqlite.testing import HttpEndpoint

CREDS = {"aws_access_key_id": "AKIDEXAMPLE", "aws_secret_access_key": "secret"}
CONFIG = Config(retries={"max_attempts": 1}, read_timeout=30)


def client(server: Any, service: str) -> Any:
    return boto3.client(service, endpoint_url=server.endpoint_url, region_name="us-east-1",
                        config=CONFIG, **CREDS)


def make_queue(sqs: Any, name: str, **attrs: str) -> tuple[str, str]:
    """(queue URL, queue ARN) of a new queue."""
    url = sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def drain(sqs: Any, url: str, expect: int | None = None, wait: int = 0, **kw: Any) -> list[dict[str, Any]]:
    """Receive (and delete) until `expect` messages came, or the queue stays empty."""
    got: list[dict[str, Any]] = []
    while expect is None or len(got) < expect:
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait,
                                   MessageAttributeNames=["All"], AttributeNames=["All"], **kw
                                   ).get("Messages", [])
        if not msgs:
            break
        for m in msgs:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        got.extend(msgs)
    return got


def signing_workers_ready(server: Any, workers: int) -> Any:
    """Wait until the server's SNS sign pool has `workers` processes that answered their
    handshake (a signed publish must have started the pool); returns the SnsState."""
    from mqlite.protocols.aws.sns.common import state_for

    state = server.call(lambda: state_for(server.core, None))
    deadline = time.monotonic() + 30
    while not server.call(lambda: len(state.sign_pool.workers) == workers
                          and all(w.ready for w in state.sign_pool.workers)):
        assert time.monotonic() < deadline, "signing workers did not start"
        time.sleep(0.05)
    return state


def bodies(msgs: list[dict[str, Any]]) -> list[Any]:
    return [json.loads(m["Body"]) for m in msgs]


class Receiver:
    """A recording HTTP endpoint (see module docstring)."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        self.statuses = list(statuses or [])
        self._cond = threading.Condition()

        async def handle(request: web.Request) -> web.Response:
            body = await request.read()
            with self._cond:
                self.requests.append({"path": request.path_qs, "headers": dict(request.headers),
                                      "body": body})
                status = self.statuses.pop(0) if self.statuses else 200
                self._cond.notify_all()
            return web.Response(status=status)

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handle)
        self.endpoint = HttpEndpoint(app)
        self.url = self.endpoint.url

    def wait_for(self, n: int, timeout: float = 20) -> list[dict[str, Any]]:
        """Block until `n` requests arrived (a deadline only guards against hangs)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.requests) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"got {len(self.requests)} requests, wanted {n}")
                self._cond.wait(left)
            return list(self.requests)

    def close(self) -> None:
        self.endpoint.close()
