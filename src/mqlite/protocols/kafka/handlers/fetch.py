"""Fetch: serve stored RecordBatch bytes, unchanged, with long poll.

Rules (Kafka protocol guide; KIP-74; KIP-227; `ReplicaManager.fetchMessages`):
- per partition, whole stored batches from the one containing `FetchOffset` (so a
  fetch starting mid-batch returns that batch; the client skips the records below its
  offset), up to `PartitionMaxBytes`, and in total up to `MaxBytes`; the first batch of
  the first non-empty partition is returned even when larger than the limits;
- an offset below the log start or above the high watermark is OFFSET_OUT_OF_RANGE;
  an unknown topic or partition is UNKNOWN_TOPIC_OR_PARTITION;
- when fewer than `MinBytes` are available the response waits up to `MaxWaitMs` for
  more (answering at once if any partition has an error);
- no fetch sessions: the response's SessionId is 0, so clients keep sending full
  fetch requests (KIP-227); a request naming a session id gets
  FETCH_SESSION_ID_NOT_FOUND. No transactions: the last stable offset is the high
  watermark and there are no aborted transactions.
Concurrency: the server's event loop; the long poll awaits the streams' wait API.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from mqlite.errors import MqliteError
from mqlite.protocols.kafka.codec import Request
from mqlite.protocols.kafka.errors import ErrorCode, code_for
from mqlite.protocols.kafka.handlers.topics import DENIED, topic_for

if TYPE_CHECKING:  # pragma: no cover
    from mqlite.protocols.kafka.frontend import KafkaFrontEnd, Session

FETCH_SESSION_ID_NOT_FOUND = 70


def _partition(index: int, code: int, hw: int = -1, start: int = -1, records: Any = b"") -> dict[str, Any]:
    return {
        "PartitionIndex": index,
        "ErrorCode": code,
        "HighWatermark": hw,
        "LastStableOffset": hw,
        "LogStartOffset": start,
        "AbortedTransactions": None if code else [],
        "PreferredReadReplica": -1,
        "Records": records,
    }


def _build(fe: KafkaFrontEnd, topics: list[tuple[str, Any, list[dict[str, Any]]]], max_bytes: int) -> tuple[list[dict[str, Any]], int, bool]:
    """(response topics, bytes gathered, any partition error)."""
    out = []
    total = 0
    error = False
    for name, stream, parts in topics:
        presp = []
        for p in parts:
            index = p["Partition"]
            if stream is DENIED:
                presp.append(_partition(index, ErrorCode.TOPIC_AUTHORIZATION_FAILED))
                error = True
                continue
            if stream is None or stream.deleted or not 0 <= index < stream.partition_count:
                presp.append(_partition(index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION))
                error = True
                continue
            offset = p["FetchOffset"]
            hw = stream.latest(index)
            start = stream.earliest(index)
            if offset < start or offset > hw:
                presp.append(_partition(index, ErrorCode.OFFSET_OUT_OF_RANGE, hw, start))
                error = True
                continue
            records: list[bytes] = []
            budget = min(p["PartitionMaxBytes"], max_bytes - total)
            if offset < hw and (budget > 0 or total == 0):
                try:
                    batches = stream.read_batches(index, offset, max(budget, 1))
                except MqliteError as exc:
                    presp.append(_partition(index, code_for(exc), hw, start))
                    error = True
                    continue
                size = 0
                for b in batches:
                    if size + len(b) > budget and (size or total):
                        break
                    records.append(b)
                    size += len(b)
                total += size
            presp.append(_partition(index, ErrorCode.NONE, hw, start, records))
        out.append({"Topic": name, "Partitions": presp})
    return out, total, error


async def _wait(watch: list[tuple[Any, dict[int, int]]], min_bytes: int, timeout: float) -> None:
    if len(watch) == 1:
        stream, positions = watch[0]
        await stream.wait_for_bytes(positions, min_bytes, timeout)
        return
    tasks = [asyncio.ensure_future(s.wait_for_data(pos, timeout)) for s, pos in watch]
    try:
        await asyncio.wait(tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()


async def fetch(fe: KafkaFrontEnd, session: Session, req: Request) -> dict[str, Any]:
    """Fetch: read stored batches by offset, long-polling for MinBytes/MaxWaitMs."""
    body = req.body
    if body["SessionId"] != 0:
        return {"ThrottleTimeMs": 0, "ErrorCode": FETCH_SESSION_ID_NOT_FOUND, "SessionId": 0, "Responses": []}
    max_bytes = body["MaxBytes"] if req.api_version >= 3 else 0x7FFFFFFF
    topics = [(t["Topic"], topic_for(fe, session, t["Topic"], "read"), t["Partitions"]) for t in body["Topics"]]
    responses, total, error = _build(fe, topics, max_bytes)
    min_bytes = max(body["MinBytes"], 1)
    max_wait = body["MaxWaitMs"] / 1000.0
    if total < min_bytes and not error and max_wait > 0:
        watch = []
        for _name, stream, parts in topics:
            if stream is not None and stream is not DENIED:
                positions = {p["Partition"]: p["FetchOffset"] for p in parts}
                if positions:
                    watch.append((stream, positions))
        if watch:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + max_wait
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                await _wait(watch, min_bytes if len(watch) == 1 else 1, remaining)
                responses, total, error = _build(fe, topics, max_bytes)
                if total >= min_bytes or error or len(watch) == 1:
                    break
    return {"ThrottleTimeMs": 0, "ErrorCode": 0, "SessionId": 0, "Responses": responses}


APIS = {1: (4, 11, fetch)}
