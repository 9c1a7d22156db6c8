# ruff: noqa: F401, F811, I001  (fixtures imported from kafka_support, which must come before kafka)
"""Incremental fetch sessions (KIP-227) on the wire.

Rules checked (Apache Kafka `FetchSession.scala`): a full fetch with SessionEpoch 0
opens a session; an incremental fetch carries the session's next epoch and gets back
only partitions with records or changed offsets; ForgottenTopicsData drops
partitions; SessionEpoch -1 closes the session; an unknown session id is
FETCH_SESSION_ID_NOT_FOUND, a wrong epoch INVALID_FETCH_SESSION_EPOCH. The Java and
librdkafka consumers of the other tests fetch through sessions too.
"""

from __future__ import annotations

from typing import Any

from kafka_raw import RawClient
from kafka_support import bootstrap, kafka, kafka_factory, produce_partitioned
from kafka import KafkaAdminClient
from kafka.admin import NewTopic

FETCH = 1
FETCH_SESSION_ID_NOT_FOUND, INVALID_FETCH_SESSION_EPOCH = 70, 71


def _fetch(c: RawClient, sid: int, epoch: int, parts: dict[int, int], forgotten: list[int] | None = None) -> Any:
    return c.request(FETCH, 11, {
        "ReplicaId": -1, "MaxWaitMs": 0, "MinBytes": 1, "MaxBytes": 1 << 20, "IsolationLevel": 0,
        "SessionId": sid, "SessionEpoch": epoch,
        "Topics": [{"Topic": "fs", "Partitions": [
            {"Partition": p, "CurrentLeaderEpoch": -1, "FetchOffset": o, "LogStartOffset": -1,
             "PartitionMaxBytes": 1 << 20} for p, o in parts.items()]}] if parts else [],
        "ForgottenTopicsData": [{"Topic": "fs", "Partitions": forgotten}] if forgotten else [],
        "RackId": ""})


def _seen(resp: Any) -> dict[int, tuple[int, bool]]:
    """partition -> (high watermark, has records) in a response."""
    return {p["PartitionIndex"]: (p["HighWatermark"], bool(p["Records"]))
            for t in resp["Responses"] for p in t["Partitions"]}


def test_incremental_fetch_session(kafka: Any, bootstrap: str) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic("fs", 3, 1)])
    admin.close()
    produce_partitioned(bootstrap, "fs", [b"a", b"b"], partition=0)
    c = RawClient("127.0.0.1", kafka.kafka_port)
    try:
        full = _fetch(c, 0, 0, {0: 0, 1: 0, 2: 0})
        sid = full["SessionId"]
        assert full["ErrorCode"] == 0 and sid != 0
        assert _seen(full) == {0: (2, True), 1: (0, False), 2: (0, False)}
        assert _seen(_fetch(c, sid, 1, {0: 2})) == {}  # nothing new anywhere
        produce_partitioned(bootstrap, "fs", [b"c"], partition=1)
        assert _seen(_fetch(c, sid, 2, {})) == {1: (1, True)}  # only the partition with news
        produce_partitioned(bootstrap, "fs", [b"d"], partition=2)
        assert _seen(_fetch(c, sid, 3, {1: 1}, forgotten=[2])) == {}  # 2 forgotten, 1 caught up
        assert _fetch(c, sid, 3, {})["ErrorCode"] == INVALID_FETCH_SESSION_EPOCH  # epoch 3 was used
        assert _fetch(c, sid + 1 if sid < 0x7FFFFFFF else 1, 1, {})["ErrorCode"] == FETCH_SESSION_ID_NOT_FOUND
        assert _fetch(c, 0, 5, {0: 0})["ErrorCode"] == INVALID_FETCH_SESSION_EPOCH
        closed = _fetch(c, sid, -1, {2: 0})  # closes the session; a sessionless full fetch
        assert (closed["SessionId"], _seen(closed)) == (0, {2: (1, True)})
        assert _fetch(c, sid, 4, {})["ErrorCode"] == FETCH_SESSION_ID_NOT_FOUND
        assert _seen(_fetch(c, 0, -1, {0: 0, 1: 0})) == {0: (2, True), 1: (1, True)}
    finally:
        c.close()
