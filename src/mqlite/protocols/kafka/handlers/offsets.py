"""ListOffsets, OffsetCommit and OffsetFetch: positions in a topic and a group's commits.

Rules (Kafka protocol guide; KIP-79; `GroupCoordinator.handleCommitOffsets`):
- ListOffsets timestamp -1 is the latest offset (the high watermark; the last stable
  offset for IsolationLevel 1, read_committed), -2 the earliest;
  any other timestamp is the first offset whose record timestamp is >= it, with that
  record's timestamp, or offset -1 / timestamp -1 when there is none;
- OffsetCommit from a member checks the member and generation with the coordinator
  (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS); generation -1 with no
  member id is a simple commit, allowed when the group has no members; metadata over
  4096 bytes is OFFSET_METADATA_TOO_LARGE; the offset is stored as sent, negative too
  (Kafka 4.x `OffsetMetadataManager.commitOffset`: kafkajs's resetOffsets commits -2/-1);
  commits are durable (core GroupStore) and their metadata is returned by OffsetFetch;
- OffsetFetch returns -1 and empty metadata for partitions without a commit; a null
  topic list (v2+) returns every commit of the group.
Concurrency: the server's event loop; nothing here awaits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mqlite.core.api import ConsumerGroup, Stream, TransactionCoordinator
from mqlite.errors import MqliteError
from mqlite.protocols.kafka.codec import Request
from mqlite.protocols.kafka.errors import ErrorCode, code_for
from mqlite.protocols.kafka.handlers.topics import DENIED, permitted, topic_for

if TYPE_CHECKING:  # pragma: no cover
    from mqlite.protocols.kafka.frontend import KafkaFrontEnd, Session

OFFSET_METADATA_TOO_LARGE = 12
METADATA_MAX_BYTES = 4096
LATEST = -1
EARLIEST = -2
MAX_TIMESTAMP = -3


def _list_partition(stream: Stream, p: dict[str, Any], txns: TransactionCoordinator | None = None) -> dict[str, Any]:
    index = p["PartitionIndex"]
    out = {"PartitionIndex": index, "ErrorCode": 0, "Timestamp": -1, "Offset": -1, "LeaderEpoch": 0,
           "OldStyleOffsets": []}
    if stream is DENIED:
        out["ErrorCode"] = ErrorCode.TOPIC_AUTHORIZATION_FAILED
        out["LeaderEpoch"] = -1
        return out
    if stream is None or not 0 <= index < stream.partition_count:
        out["ErrorCode"] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        out["LeaderEpoch"] = -1
        return out
    ts = p["Timestamp"]
    try:
        if ts == LATEST:  # read_committed (txns given): the last stable offset
            out["Offset"] = txns.last_stable(stream, index) if txns is not None else stream.latest(index)
        elif ts == EARLIEST:
            out["Offset"] = stream.earliest(index)
        else:
            offset = stream.offset_for_time(index, ts)
            if offset is not None and offset < stream.latest(index):
                records = stream.read(index, offset, 1)
                out["Offset"] = offset
                out["Timestamp"] = records[0].timestamp if records else ts
    except MqliteError as exc:
        out["ErrorCode"] = code_for(exc)
    out["OldStyleOffsets"] = [out["Offset"]] if out["Offset"] >= 0 else []
    return out


async def list_offsets(fe: KafkaFrontEnd, session: Session, req: Request) -> dict[str, Any]:
    """ListOffsets: earliest, latest or by-timestamp offsets per partition."""
    topics = []
    txns = fe.core.transactions if req.body.get("IsolationLevel", 0) == 1 else None
    for t in req.body["Topics"]:
        stream = topic_for(fe, session, t["Name"], "read")
        topics.append({"Name": t["Name"], "Partitions": [_list_partition(stream, p, txns) for p in t["Partitions"]]})
    return {"ThrottleTimeMs": 0, "Topics": topics}


async def offset_commit(fe: KafkaFrontEnd, session: Session, req: Request) -> dict[str, Any]:
    """OffsetCommit: durably store a group's positions (after member/generation checks)."""
    body = req.body
    group_id = body["GroupId"]
    code = fe.coordinator.check_commit(group_id, body["GenerationIdOrMemberEpoch"], body["MemberId"],
                                       body.get("GroupInstanceId"))
    if not permitted(fe, session, "read", "group", group_id):
        code = ErrorCode.GROUP_AUTHORIZATION_FAILED
    topics_out = []
    to_commit: dict[tuple[str, int], tuple[int, str, int]] = {}
    results: dict[tuple[str, int], int] = {}
    for t in body["Topics"]:
        name = t["Name"]
        stream = topic_for(fe, session, name, "read")
        for p in t["Partitions"]:
            index = p["PartitionIndex"]
            metadata = p["CommittedMetadata"] or ""
            if code:
                results[(name, index)] = code
            elif stream is DENIED:
                results[(name, index)] = ErrorCode.TOPIC_AUTHORIZATION_FAILED
            elif stream is None or not 0 <= index < stream.partition_count:
                results[(name, index)] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            elif len(metadata.encode()) > METADATA_MAX_BYTES:
                results[(name, index)] = OFFSET_METADATA_TOO_LARGE
            else:
                to_commit[(name, index)] = (p["CommittedOffset"], metadata, p["CommittedLeaderEpoch"])
                results[(name, index)] = 0
    if to_commit:
        try:
            fe.core.groups.get(group_id).commit_many(to_commit)
        except MqliteError as exc:
            failed = code_for(exc)
            for key in to_commit:
                results[key] = failed
    for t in body["Topics"]:
        topics_out.append({
            "Name": t["Name"],
            "Partitions": [
                {"PartitionIndex": p["PartitionIndex"], "ErrorCode": results[(t["Name"], p["PartitionIndex"])]}
                for p in t["Partitions"]
            ],
        })
    return {"ThrottleTimeMs": 0, "Topics": topics_out}


def _fetch_partition(group: ConsumerGroup | None, name: str, index: int) -> dict[str, Any]:
    c = group.committed(name, index) if group is not None else None
    return {
        "PartitionIndex": index,
        "CommittedOffset": c.offset if c else -1,
        "CommittedLeaderEpoch": c.leader_epoch if c else -1,
        "Metadata": c.metadata if c else "",
        "ErrorCode": 0,
    }


async def offset_fetch(fe: KafkaFrontEnd, session: Session, req: Request) -> dict[str, Any]:
    """OffsetFetch: a group's committed offsets (and their metadata)."""
    body = req.body
    if not permitted(fe, session, "read", "group", body["GroupId"]):
        return {"ThrottleTimeMs": 0, "Topics": [], "ErrorCode": ErrorCode.GROUP_AUTHORIZATION_FAILED}
    group = fe.core.groups.find(body["GroupId"])
    topics = body["Topics"]
    out = []
    if topics is None:
        by_topic: dict[str, list[dict[str, Any]]] = {}
        if group is not None:
            for name, index in group.offsets():
                by_topic.setdefault(name, []).append(_fetch_partition(group, name, index))
        out = [{"Name": n, "Partitions": ps} for n, ps in by_topic.items()]
    else:
        for t in topics:
            out.append({
                "Name": t["Name"],
                "Partitions": [_fetch_partition(group, t["Name"], i) for i in t["PartitionIndexes"]],
            })
    return {"ThrottleTimeMs": 0, "Topics": out, "ErrorCode": 0}


APIS = {
    2: (1, 5, list_offsets),
    8: (2, 7, offset_commit),
    9: (1, 7, offset_fetch),
}
