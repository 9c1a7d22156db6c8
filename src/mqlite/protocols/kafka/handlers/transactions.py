"""AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit, EndTxn: thin handlers over
core's transaction coordinator (`core/transactions.py`, where the rules are).

Rules here are the wire's (Apache Kafka `KafkaApis`): the coordinator's refusals map to
Kafka's codes (`CODES`); PRODUCER_FENCED is INVALID_PRODUCER_EPOCH for the versions
that predate it (AddPartitions/AddOffsets/EndTxn < 2, InitProducerId < 4);
AddPartitionsToTxn with an unknown topic or partition answers UNKNOWN_TOPIC_OR_PARTITION
for it and OPERATION_NOT_ATTEMPTED for the rest, adding none; TxnOffsetCommit v3+ from
a group member checks its member id and generation as OffsetCommit does (KIP-447).
Concurrency: the server's event loop; EndTxn awaits the markers' appends.
"""

from __future__ import annotations

from typing import Any

from mqlite.core.api import TransactionError
from mqlite.protocols.kafka.codec import Request
from mqlite.protocols.kafka.errors import ErrorCode
from mqlite.protocols.kafka.handlers.topics import DENIED, permitted, topic_for

CODES = {
    "invalid_timeout": ErrorCode.INVALID_TRANSACTION_TIMEOUT,
    "unknown_producer": ErrorCode.INVALID_PRODUCER_ID_MAPPING,
    "fenced": ErrorCode.PRODUCER_FENCED,
    "invalid_epoch": ErrorCode.INVALID_PRODUCER_EPOCH,
    "invalid_state": ErrorCode.INVALID_TXN_STATE,
    "concurrent": ErrorCode.CONCURRENT_TRANSACTIONS,
    "not_found": ErrorCode.TRANSACTIONAL_ID_NOT_FOUND,
}


def txn_code(exc: TransactionError, version: int, fenced_since: int = 2) -> ErrorCode:
    """Kafka's code for a coordinator refusal, as the request's version knows it."""
    code = CODES[exc.reason]
    if code is ErrorCode.PRODUCER_FENCED and version < fenced_since:
        return ErrorCode.INVALID_PRODUCER_EPOCH
    return code


async def add_partitions(fe: Any, session: Any, req: Request) -> dict[str, Any]:
    """AddPartitionsToTxn (v0-3, a producer's): partitions join its ongoing transaction."""
    b = req.body
    wanted: list[tuple[str, int, Any]] = []
    for t in b["V3AndBelowTopics"]:
        stream = topic_for(fe, session, t["Name"], "write")
        wanted += [(t["Name"], p, stream) for p in t["Partitions"]]
    codes: dict[tuple[str, int], int] = {}
    for name, p, stream in wanted:
        if stream is DENIED:
            codes[(name, p)] = ErrorCode.TOPIC_AUTHORIZATION_FAILED
        elif stream is None or not 0 <= p < stream.partition_count:
            codes[(name, p)] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    if codes:
        for name, p, _ in wanted:
            codes.setdefault((name, p), ErrorCode.OPERATION_NOT_ATTEMPTED)
    else:
        code: int
        try:
            fe.core.transactions.add_partitions(b["V3AndBelowTransactionalId"], b["V3AndBelowProducerId"],
                                                b["V3AndBelowProducerEpoch"], [(s, p) for _, p, s in wanted])
            code = ErrorCode.NONE
        except TransactionError as exc:
            code = txn_code(exc, req.api_version)
        codes = {(name, p): code for name, p, _ in wanted}
    by_topic: dict[str, list[dict[str, Any]]] = {}
    for (name, p), code in codes.items():
        by_topic.setdefault(name, []).append({"PartitionIndex": p, "PartitionErrorCode": code})
    return {"ThrottleTimeMs": 0, "ErrorCode": 0, "ResultsByTransaction": [],
            "ResultsByTopicV3AndBelow": [{"Name": n, "ResultsByPartition": ps} for n, ps in by_topic.items()]}


async def add_offsets(fe: Any, session: Any, req: Request) -> dict[str, Any]:
    """AddOffsetsToTxn: the group's offsets will be committed with the transaction."""
    b = req.body
    if not permitted(fe, session, "read", "group", b["GroupId"]):
        return {"ThrottleTimeMs": 0, "ErrorCode": ErrorCode.GROUP_AUTHORIZATION_FAILED}
    try:
        fe.core.transactions.add_group(b["TransactionalId"], b["ProducerId"], b["ProducerEpoch"], b["GroupId"])
        code = ErrorCode.NONE
    except TransactionError as exc:
        code = txn_code(exc, req.api_version)
    return {"ThrottleTimeMs": 0, "ErrorCode": code}


async def txn_offset_commit(fe: Any, session: Any, req: Request) -> dict[str, Any]:
    """TxnOffsetCommit: offsets that take effect when the transaction commits."""
    b = req.body
    group = b["GroupId"]
    code: int = ErrorCode.NONE
    if not permitted(fe, session, "read", "group", group):
        code = ErrorCode.GROUP_AUTHORIZATION_FAILED
    elif req.api_version >= 3 and (b["MemberId"] or b["GenerationId"] >= 0):
        code = fe.coordinator.check_commit(group, b["GenerationId"], b["MemberId"], b["GroupInstanceId"])
    offsets: dict[tuple[str, int], tuple[int, str, int]] = {}
    codes: dict[tuple[str, int], int] = {}
    for t in b["Topics"]:
        stream = topic_for(fe, session, t["Name"], "read")
        for p in t["Partitions"]:
            key = (t["Name"], p["PartitionIndex"])
            if code:
                codes[key] = code
            elif stream is DENIED:
                codes[key] = ErrorCode.TOPIC_AUTHORIZATION_FAILED
            elif stream is None or not 0 <= key[1] < stream.partition_count:
                codes[key] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            else:
                offsets[key] = (p["CommittedOffset"], p["CommittedMetadata"] or "", p.get("CommittedLeaderEpoch", -1))
                codes[key] = ErrorCode.NONE
    if offsets:
        try:
            fe.core.transactions.commit_offsets(b["TransactionalId"], group, b["ProducerId"], b["ProducerEpoch"],
                                                offsets)
        except TransactionError as exc:
            failed = txn_code(exc, req.api_version, fenced_since=99)
            codes.update({key: failed for key in offsets})
    by_topic: dict[str, list[dict[str, Any]]] = {}
    for (name, p), c in codes.items():
        by_topic.setdefault(name, []).append({"PartitionIndex": p, "ErrorCode": c})
    return {"ThrottleTimeMs": 0, "Topics": [{"Name": n, "Partitions": ps} for n, ps in by_topic.items()]}


async def end_txn(fe: Any, session: Any, req: Request) -> dict[str, Any]:
    """EndTxn: commit or abort; answered once every marker is written."""
    b = req.body
    try:
        await fe.core.transactions.end(b["TransactionalId"], b["ProducerId"], b["ProducerEpoch"], b["Committed"])
        code = ErrorCode.NONE
    except TransactionError as exc:
        code = txn_code(exc, req.api_version)
    return {"ThrottleTimeMs": 0, "ErrorCode": code, "ProducerId": -1, "ProducerEpoch": -1}


APIS = {
    24: (0, 3, add_partitions),
    25: (0, 3, add_offsets),
    26: (0, 4, end_txn),
    28: (0, 3, txn_offset_commit),
}
