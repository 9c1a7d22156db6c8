"""Data transformation through a Lambda-shaped local endpoint (ProcessingConfiguration).

When a destination's ProcessingConfiguration is Enabled with a `Lambda` processor,
each flushed buffer is POSTed to `<settings.lambda_endpoint>/2015-03-31/functions/
<function name>/invocations` (the Lambda Invoke API, as the SNS and EventBridge
front-ends call it; `X-Amz-Invocation-Type: RequestResponse`) with Firehose's event:
`{"invocationId", "deliveryStreamArn", "region", "records": [{"recordId",
"approximateArrivalTimestamp", "data": base64}]}`. The answer's `records` carry `result`
Ok (the new `data` is delivered), Dropped (left out) or ProcessingFailed (to the error
prefix `processing-failed/`). An endpoint failure or a missing endpoint fails the whole
buffer to `processing-failed/` (Firehose's behaviour after its retries).
Concurrency: awaited from the delivery task.
"""

from __future__ import annotations

import base64
import time
import uuid
from typing import Any
from urllib.parse import quote

import aiohttp
import orjson


def lambda_arn(dest: dict[str, Any]) -> str | None:
    proc = dest.get("ProcessingConfiguration") or {}
    if not proc.get("Enabled"):
        return None
    for p in proc.get("Processors") or []:
        if p.get("Type") == "Lambda":
            for param in p.get("Parameters") or []:
                if param.get("ParameterName") == "LambdaArn":
                    return str(param.get("ParameterValue"))
    return None


def _function(arn: str) -> str:
    parts = arn.split(":")
    return parts[6] if len(parts) >= 7 and parts[2] == "lambda" else arn


async def run(session: aiohttp.ClientSession, endpoint: str | None, arn: str, stream_arn: str,
              region: str, records: list[tuple[int, bytes]]
              ) -> tuple[list[tuple[int, bytes]], list[tuple[int, bytes]], str]:
    """(transformed records, failed records as JSON lines, error) for one buffer."""
    ids = [f"{i:08d}{uuid.uuid4().hex[:24]}" for i in range(len(records))]
    event = {
        "invocationId": str(uuid.uuid4()), "deliveryStreamArn": stream_arn, "region": region,
        "records": [{"recordId": rid, "approximateArrivalTimestamp": ts,
                     "data": base64.b64encode(d).decode()} for rid, (ts, d) in zip(ids, records, strict=True)],
    }
    error = ""
    answer: dict[str, Any] | None = None
    if not endpoint:
        error = "No Lambda endpoint is configured (lambda_endpoint)."
    else:
        url = f"{endpoint.rstrip('/')}/2015-03-31/functions/{quote(_function(arn), safe='')}/invocations"
        try:
            async with session.post(url, data=orjson.dumps(event),
                                    headers={"X-Amz-Invocation-Type": "RequestResponse",
                                             "Content-Type": "application/json"},
                                    timeout=aiohttp.ClientTimeout(total=60)) as resp:
                text = await resp.read()
                if resp.status != 200:
                    error = f"Lambda.InvokeFailed: HTTP {resp.status}"
                else:
                    answer = orjson.loads(text)
        except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
            error = f"Lambda.InvokeFailed: {exc or type(exc).__name__}"
    ok: list[tuple[int, bytes]] = []
    failed: list[tuple[int, bytes]] = []
    by_id = {}
    if answer is not None:
        by_id = {r.get("recordId"): r for r in answer.get("records") or [] if isinstance(r, dict)}
    now = int(time.time() * 1000)
    for rid, (ts, d) in zip(ids, records, strict=True):
        r = by_id.get(rid)
        result = r.get("result") if r else None
        if result == "Ok":
            try:
                ok.append((ts, base64.b64decode(r.get("data") or "")))  # type: ignore[union-attr]
                continue
            except ValueError:
                result = "ProcessingFailed"
        if result == "Dropped":
            continue
        failed.append((ts, orjson.dumps({
            "attemptsMade": 1, "arrivalTimestamp": ts,
            "errorCode": "Lambda.ProcessingFailed" if answer is not None else "Lambda.InvokeFailed",
            "errorMessage": error or "The record was marked ProcessingFailed or was missing.",
            "attemptEndingTimestamp": now, "rawData": base64.b64encode(d).decode(),
            "lambdaArn": arn,
        }) + b"\n"))
    return ok, failed, error
