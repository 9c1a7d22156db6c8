"""HttpEndpointDestinationConfiguration: POST buffers as Firehose's HTTP endpoint requests.

Request (Firehose "HTTP endpoint delivery request and response specifications"):
`POST <Url>`, `Content-Type: application/json`, headers `X-Amz-Firehose-Protocol-Version:
1.0`, `X-Amz-Firehose-Request-Id`, `X-Amz-Firehose-Source-Arn`, `X-Amz-Firehose-Access-Key`
(when AccessKey is set), `X-Amz-Firehose-Common-Attributes` (RequestConfiguration's
CommonAttributes as `{"commonAttributes": {...}}`), `Content-Encoding: gzip` when
ContentEncoding is GZIP; body `{"requestId", "timestamp" (ms), "records": [{"data":
base64}]}`. Success is a 200 whose JSON `requestId` matches (a missing body is
accepted). Anything else is retried with capped exponential backoff for
RetryOptions.DurationInSeconds (default 300 s; 0 = one attempt). Records that still fail
are written to the S3 configuration under ErrorOutputPrefix (default
`http-endpoint-failed/`) as JSON lines in Firehose's failed-record shape.
Concurrency: awaited from the delivery task; one request in flight per delivery stream.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import time
import uuid
from typing import Any

import aiohttp
import orjson

DEFAULT_RETRY_S = 300


async def post_once(session: aiohttp.ClientSession, dest: dict[str, Any], source_arn: str,
                    records: list[tuple[int, bytes]]) -> tuple[bool, str, str]:
    """One attempt: (ok, error code, error message)."""
    endpoint = dest["EndpointConfiguration"]
    request_id = str(uuid.uuid4())
    body = orjson.dumps({
        "requestId": request_id,
        "timestamp": int(time.time() * 1000),
        "records": [{"data": base64.b64encode(d).decode()} for _, d in records],
    })
    req = dest.get("RequestConfiguration") or {}
    headers = {
        "Content-Type": "application/json",
        "X-Amz-Firehose-Protocol-Version": "1.0",
        "X-Amz-Firehose-Request-Id": request_id,
        "X-Amz-Firehose-Source-Arn": source_arn,
    }
    if endpoint.get("AccessKey"):
        headers["X-Amz-Firehose-Access-Key"] = endpoint["AccessKey"]
    attrs = {a["AttributeName"]: a["AttributeValue"] for a in req.get("CommonAttributes") or []}
    if attrs:
        headers["X-Amz-Firehose-Common-Attributes"] = orjson.dumps({"commonAttributes": attrs}).decode()
    if req.get("ContentEncoding") == "GZIP":
        headers["Content-Encoding"] = "gzip"
        body = gzip.compress(body)
    try:
        async with session.post(endpoint["Url"], data=body, headers=headers,
                                timeout=aiohttp.ClientTimeout(total=30)) as resp:
            text = await resp.read()
            if resp.status != 200:
                return False, f"HttpEndpoint.ResponseCode{resp.status}", text[:512].decode("utf-8", "replace")
            if text.strip():
                try:
                    answer = orjson.loads(text)
                except orjson.JSONDecodeError:
                    return False, "HttpEndpoint.InvalidResponseFromDestination", "response is not JSON"
                if isinstance(answer, dict) and answer.get("requestId") not in (None, request_id):
                    return False, "HttpEndpoint.InvalidResponseFromDestination", "requestId mismatch"
            return True, "", ""
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        return False, "HttpEndpoint.RequestTimeout" if isinstance(exc, asyncio.TimeoutError) \
            else "HttpEndpoint.DestinationException", str(exc) or type(exc).__name__


async def deliver(session: aiohttp.ClientSession, dest: dict[str, Any], source_arn: str,
                  records: list[tuple[int, bytes]], *, backoff: float = 0.5) -> tuple[bool, int, str, str]:
    """POST with retries: (ok, attempts, last error code, last error message)."""
    duration = (dest.get("RetryOptions") or {}).get("DurationInSeconds", DEFAULT_RETRY_S)
    deadline = time.monotonic() + duration
    attempts = 0
    delay = backoff
    while True:
        attempts += 1
        ok, code, message = await post_once(session, dest, source_arn, records)
        if ok:
            return True, attempts, "", ""
        if time.monotonic() + delay > deadline:
            return False, attempts, code, message
        await asyncio.sleep(delay)
        delay = min(delay * 2, 30.0)


def failed_lines(records: list[tuple[int, bytes]], attempts: int, code: str, message: str,
                 url: str) -> list[tuple[int, bytes]]:
    """Firehose's failed-record documents (one JSON line each) for the error prefix."""
    now = int(time.time() * 1000)
    return [(ts, orjson.dumps({
        "attemptsMade": attempts, "arrivalTimestamp": ts, "errorCode": code,
        "errorMessage": message, "attemptEndingTimestamp": now,
        "rawData": base64.b64encode(d).decode(), "EndpointUrl": url,
    }) + b"\n") for ts, d in records]
