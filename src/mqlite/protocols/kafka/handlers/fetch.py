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
- fetch sessions (KIP-227, v7+; `fetch_sessions.py`): a full fetch with epoch 0 opens
  one, incremental fetches name only changed partitions and get back only partitions
  with news;
- transactions (KIP-98): every partition reports its last stable offset (core's
  transaction coordinator); `IsolationLevel` 1 (read_committed) returns only batches
  below it, with the aborted transactions (producer id, first offset) that overlap
  the returned range, so the client drops their records; read_uncommitted gets
  everything up to the high watermark and no aborted list.
Concurrency: the server's event loop; the long poll awaits the streams' wait API.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from mqlite.core.api import Stream
from mqlite.errors import MqliteError
from mqlite.protocols.kafka.codec import Request
from mqlite.protocols.kafka.errors import ErrorCode, code_for
from mqlite.protocols.kafka.handlers.topics import DENIED, topic_for

if TYPE_CHECKING:  # pragma: no cover
    from mqlite.protocols.kafka.frontend import KafkaFrontEnd, Session


def _partition(index: int, code: int, hw: int = -1, start: int = -1, records: Any = b"", lso: int | None = None,
               aborted: Any = ()) -> dict[str, Any]:
    return {
        "PartitionIndex": index,
        "ErrorCode": code,
        "HighWatermark": hw,
        "LastStableOffset": hw if lso is None else lso,
        "LogStartOffset": start,
        "AbortedTransactions": None if code else [{"ProducerId": p, "FirstOffset": f} for p, f in aborted],
        "PreferredReadReplica": -1,
        "Records": records,
    }


def _build(fe: KafkaFrontEnd, topics: list[tuple[str, Any, list[dict[str, Any]]]], max_bytes: int,
           committed: bool = False) -> tuple[list[dict[str, Any]], int, bool]:
    """(response topics, bytes gathered, any partition error); `committed`: read_committed."""
    txns = fe.core.transactions
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
            lso = txns.last_stable(stream, index)
            upto = lso if committed else hw
            if offset < upto and (budget > 0 or total == 0):
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
                    if committed and int.from_bytes(b[:8], "big") >= upto:
                        break  # an undecided transaction's batch: not for read_committed
                    records.append(b)
                    size += len(b)
                total += size
            aborted = txns.aborted(stream, index, offset, upto) if committed and records else ()
            presp.append(_partition(index, ErrorCode.NONE, hw, start, records, lso, aborted))
        out.append({"Topic": name, "Partitions": presp})
    return out, total, error


def _watch_from(fe: KafkaFrontEnd, stream: Stream, p: dict[str, Any], committed: bool) -> int:
    """Where a long poll waits for new data: read_committed waiting on an undecided
    transaction waits for the next append (its marker or more data), not for data that
    is already there but not yet readable."""
    offset = p["FetchOffset"]
    index = p["Partition"]
    if committed and 0 <= index < stream.partition_count and offset >= fe.core.transactions.last_stable(stream, index):
        return max(int(offset), stream.latest(index))
    return int(offset)


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
    sessions = fe.fetch_sessions
    code, fs = sessions.open(body) if req.api_version >= 7 else (0, None)
    if code:
        return {"ThrottleTimeMs": 0, "ErrorCode": code, "SessionId": 0, "Responses": []}
    incremental = fs is not None and body["SessionId"] != 0
    wanted = sessions.topics(fs) if fs is not None else [(t["Topic"], t["Partitions"]) for t in body["Topics"]]
    max_bytes = body["MaxBytes"] if req.api_version >= 3 else 0x7FFFFFFF
    topics = [(name, topic_for(fe, session, name, "read"), parts) for name, parts in wanted]
    committed = req.body.get("IsolationLevel", 0) == 1
    responses, total, error = _build(fe, topics, max_bytes, committed)
    min_bytes = max(body["MinBytes"], 1)
    max_wait = body["MaxWaitMs"] / 1000.0
    if total < min_bytes and not error and max_wait > 0:
        watch = []
        for _name, stream, parts in topics:
            if stream is not None and stream is not DENIED:
                positions = {p["Partition"]: _watch_from(fe, stream, p, committed) for p in parts}
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
                responses, total, error = _build(fe, topics, max_bytes, committed)
                if total >= min_bytes or error or len(watch) == 1:
                    break
    if fs is not None:  # an incremental response leaves out what the client already knows
        responses = [{"Topic": t["Topic"], "Partitions": kept} for t in responses
                     if (kept := [p for p in t["Partitions"] if sessions.note_sent(fs, t["Topic"], p, incremental)])]
    return {"ThrottleTimeMs": 0, "ErrorCode": 0, "SessionId": fs.session_id if fs is not None else 0,
            "Responses": responses}


APIS = {1: (4, 11, fetch)}
