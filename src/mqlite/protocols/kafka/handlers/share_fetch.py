"""ShareFetch and ShareAcknowledge (KIP-932): lease records to share-group members.

Apache Kafka `SharePartition.acquire/acknowledge`, `KafkaApis.handleShareFetchRequest`:
- the share session is checked first (`share_groups.ShareGroups.session`); an error
  there is the top-level ErrorCode;
- piggy-backed acknowledgements are applied before fetching; one that names a record
  the member has not acquired is INVALID_RECORD_STATE for its partition (ShareFetch:
  AcknowledgeErrorCode), and nothing of that batch is applied;
- a fetch reads whole stored batches from the lowest free offset, then acquires (up to
  MaxRecords) the free records those batches hold; the response carries the batches and
  the acquired ranges with their delivery counts (the client hands out only those);
- with nothing to acquire the fetch waits up to MaxWaitMs for new records or an expired
  lease; ShareSessionEpoch -1 closes the session and releases the member's leases.
The records' state is core's (`core.share_groups`); this module only maps the wire.
Concurrency: the server's event loop; the long poll awaits the streams' wait API.
"""

from __future__ import annotations

import asyncio
from typing import Any

from mqlite.core.api import Stream
from mqlite.core.share_groups import InvalidRecordState
from mqlite.protocols.kafka.codec import Request
from mqlite.protocols.kafka.errors import ErrorCode
from mqlite.protocols.kafka.handlers.metadata import NODE_ID
from mqlite.protocols.kafka.handlers.share_groups import (
    INVALID_RECORD_STATE,
    ShareGroups,
    share_groups,
)
from mqlite.protocols.kafka.handlers.topics import find_topic, permitted

UNKNOWN_TOPIC_ID = 100
LEADER = {"LeaderId": NODE_ID, "LeaderEpoch": 0}


def _streams(fe: Any) -> dict[Any, Any]:
    return {s.id: s for n in fe.core.list_streams() if (s := find_topic(fe.core, n)) is not None}


def _acknowledge(sg: ShareGroups, group: str, member: str, stream: Stream, p: int, batches: list[dict[str, Any]]) -> int:
    sp = sg.state.partition(group, stream, p)
    code: int = ErrorCode.NONE
    for b in batches:
        try:
            sp.acknowledge(member, b["FirstOffset"], b["LastOffset"], list(b["AcknowledgeTypes"]), sg.max_count)
        except InvalidRecordState:
            code = INVALID_RECORD_STATE
    sg.state.save(group, stream, p)
    return code


def _check_partition(fe: Any, session: Any, streams: dict[Any, Any], topic_id: Any, p: int) -> tuple[int, Any]:
    stream = streams.get(topic_id)
    if stream is None or stream.deleted:
        return UNKNOWN_TOPIC_ID, None
    if not permitted(fe, session, "read", "stream", stream.name):
        return ErrorCode.TOPIC_AUTHORIZATION_FAILED, None
    if not 0 <= p < stream.partition_count:
        return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, None
    return ErrorCode.NONE, stream


def _end_of(batch: bytes) -> int:
    """The offset after a stored RecordBatch's last record (base offset + lastOffsetDelta + 1)."""
    return int.from_bytes(batch[:8], "big") + int.from_bytes(batch[23:27], "big", signed=True) + 1


def _acquire(sg: ShareGroups, group: str, member: str, stream: Stream, p: int, max_bytes: int,
             max_records: int) -> tuple[list[bytes], list[tuple[int, int, int]]]:
    sp = sg.state.partition(group, stream, p)
    now = sg.now()
    if sp.expire(now, sg.max_count):
        sg.state.save(group, stream, p)
    hw = stream.latest(p)
    first = sp.first_free(stream.earliest(p), hw)
    if first is None or max_records <= 0:
        return [], []
    batches = stream.read_batches(p, first, max(max_bytes, 1))
    if not batches:
        return [], []
    kept, size = [], 0
    for b in batches:
        if size and size + len(b) > max_bytes:
            break
        kept.append(b)
        size += len(b)
    end = min(hw, _end_of(kept[-1]))
    ranges = sp.acquire(member, first, end, max_records, now + sg.lock_s)
    sg.state.save(group, stream, p)
    return (kept if ranges else []), ranges


def _fetch_all(fe: Any, session: Any, sg: ShareGroups, group: str, member: Any, mid: str,
               acks: dict[tuple[Any, int], int], body: dict[str, Any]) -> tuple[dict[Any, list[dict[str, Any]]], bool]:
    streams = _streams(fe)
    out: dict[Any, list[dict[str, Any]]] = {}
    budget = body["MaxBytes"]
    records_left = body.get("MaxRecords", 500)
    got = False
    for topic_id, p in sorted(member.fetching | set(acks), key=lambda k: (str(k[0]), k[1])):
        code, stream = _check_partition(fe, session, streams, topic_id, p)
        batches: list[bytes] = []
        ranges: list[tuple[int, int, int]] = []
        if stream is not None and (topic_id, p) in member.fetching and budget > 0 and records_left > 0:
            batches, ranges = _acquire(sg, group, mid, stream, p, budget, records_left)
            budget -= sum(len(b) for b in batches)
            records_left -= sum(last - first + 1 for first, last, _ in ranges)
            got = got or bool(ranges)
        out.setdefault(topic_id, []).append({
            "PartitionIndex": p, "ErrorCode": code, "ErrorMessage": None,
            "AcknowledgeErrorCode": acks.get((topic_id, p), 0), "AcknowledgeErrorMessage": None,
            "CurrentLeader": LEADER, "Records": batches,
            "AcquiredRecords": [{"FirstOffset": f, "LastOffset": la, "DeliveryCount": c} for f, la, c in ranges]})
    return out, got


def _top(code: int, message: str | None, sg: ShareGroups) -> dict[str, Any]:
    return {"ThrottleTimeMs": 0, "ErrorCode": code, "ErrorMessage": message,
            "AcquisitionLockTimeoutMs": int(sg.lock_s * 1000), "Responses": [], "NodeEndpoints": []}


def _apply_acks(fe: Any, session: Any, sg: ShareGroups, group: str, mid: str,
                topics: list[dict[str, Any]]) -> dict[tuple[Any, int], int]:
    streams = _streams(fe)
    acks: dict[tuple[Any, int], int] = {}
    for t in topics:
        for part in t["Partitions"]:
            batches = part.get("AcknowledgementBatches") or []
            if not batches:
                continue
            code, stream = _check_partition(fe, session, streams, t["TopicId"], part["PartitionIndex"])
            if stream is not None:
                code = _acknowledge(sg, group, mid, stream, part["PartitionIndex"], batches)
            acks[(t["TopicId"], part["PartitionIndex"])] = code
    return acks


def _begin(fe: Any, session: Any, body: dict[str, Any],
           may_open: bool) -> tuple[ShareGroups, Any, dict[tuple[Any, int], int], dict[str, Any] | None]:
    """The group check, the share-session check, then the acknowledgements every request
    carries (and, on a closing session, the release of the member's leases):
    (share groups, member, acknowledge error per partition, error response or None)."""
    sg = share_groups(fe)
    group, mid, epoch = body["GroupId"] or "", body["MemberId"] or "", body["ShareSessionEpoch"]
    if not permitted(fe, session, "read", "group", group):
        return sg, None, {}, _top(ErrorCode.GROUP_AUTHORIZATION_FAILED, None, sg)
    if epoch == 0 and not may_open:
        return sg, None, {}, _top(ErrorCode.INVALID_REQUEST, "ShareAcknowledge cannot open a share session.", sg)
    code, message, member = sg.session(group, mid, epoch)
    if member is None:
        return sg, None, {}, _top(code, message, sg)
    acks = _apply_acks(fe, session, sg, group, mid, body["Topics"])
    if epoch == -1:
        sg.release(group, mid)
    return sg, member, acks, None


async def share_fetch(fe: Any, session: Any, req: Request) -> dict[str, Any]:
    """ShareFetch: acknowledge, then lease records, long-polling up to MaxWaitMs."""
    body = req.body
    sg, member, acks, error = _begin(fe, session, body, True)
    if error is not None:
        return error
    group, mid = body["GroupId"], body["MemberId"]
    if body["ShareSessionEpoch"] == -1:
        out, _ = _fetch_all(fe, session, sg, group, member, mid, acks, {**body, "MaxBytes": 0})
    else:
        for f in body.get("ForgottenTopicsData") or []:
            member.fetching -= {(f["TopicId"], p) for p in f["Partitions"]}
        member.fetching |= {(t["TopicId"], part["PartitionIndex"]) for t in body["Topics"] for part in t["Partitions"]}
        out, got = _fetch_all(fe, session, sg, group, member, mid, acks, body)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + body["MaxWaitMs"] / 1000.0
        streams = _streams(fe)
        while not got and (remaining := deadline - loop.time()) > 0 and member.session is not None:
            watch = [(streams[t], p) for t, p in member.fetching if t in streams]
            if not watch:
                break
            # new records wake the wait; an expiring lease is found on the next pass
            await watch[0][0].wait_for_data({p: watch[0][0].latest(p) for s, p in watch if s is watch[0][0]},
                                            min(remaining, 0.2))
            out, got = _fetch_all(fe, session, sg, group, member, mid, acks, body)
    resp = _top(ErrorCode.NONE, None, sg)
    resp["Responses"] = [{"TopicId": t, "Partitions": parts} for t, parts in out.items()]
    return resp


async def share_acknowledge(fe: Any, session: Any, req: Request) -> dict[str, Any]:
    """ShareAcknowledge: accept, release or reject acquired records."""
    body = req.body
    sg, _member, acks, error = _begin(fe, session, body, False)
    if error is not None:
        return error
    by_topic: dict[Any, list[dict[str, Any]]] = {}
    for (t, p), c in acks.items():
        by_topic.setdefault(t, []).append({"PartitionIndex": p, "ErrorCode": c, "ErrorMessage": None,
                                           "CurrentLeader": LEADER})
    resp = _top(ErrorCode.NONE, None, sg)
    resp["Responses"] = [{"TopicId": t, "Partitions": parts} for t, parts in by_topic.items()]
    return resp


APIS = {78: (1, 1, share_fetch), 79: (1, 1, share_acknowledge)}
