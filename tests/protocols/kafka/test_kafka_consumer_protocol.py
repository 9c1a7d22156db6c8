# ruff: noqa: F401, F811, I001  (fixtures imported from kafka_support, which must come before kafka)
"""KIP-848's consumer group protocol (ConsumerGroupHeartbeat) on the wire.

Rules checked (Apache Kafka `GroupMetadataManager.consumerGroupHeartbeat`,
`CurrentAssignmentBuilder`): the broker assigns partitions; a partition moves to a new
member only after its owner has revoked it (its heartbeat no longer reports it), the
owner keeping its epoch until then; errors: INVALID_REQUEST (no member id in v1, no
subscription or rebalance timeout on join), UNKNOWN_MEMBER_ID, FENCED_MEMBER_EPOCH,
UNSUPPORTED_ASSIGNOR, INCONSISTENT_GROUP_PROTOCOL between the two protocols;
OffsetCommit checks the member epoch (STALE_MEMBER_EPOCH); leaving reassigns.
The Java consumer itself is driven in test_kafka_java.py.
"""

from __future__ import annotations

from typing import Any

from confluent_kafka.admin import AdminClient, NewTopic
from kafka_raw import RawClient
from kafka_support import bootstrap, kafka, kafka_factory
from mqlite.protocols.kafka.errors import ErrorCode

HEARTBEAT, OFFSET_COMMIT, JOIN_GROUP = 68, 8, 11
FENCED_MEMBER_EPOCH, UNSUPPORTED_ASSIGNOR, STALE_MEMBER_EPOCH = 110, 112, 113


def _hb(c: RawClient, member: str, epoch: int, topics: list[str] | None = None, owned: Any = None,
        group: str = "g", assignor: str | None = None, rebalance_ms: int = 30000) -> dict[str, Any]:
    return c.request(HEARTBEAT, 1, {
        "GroupId": group, "MemberId": member, "MemberEpoch": epoch, "InstanceId": None, "RackId": None,
        "RebalanceTimeoutMs": rebalance_ms if epoch == 0 else -1, "SubscribedTopicNames": topics,
        "SubscribedTopicRegex": None, "ServerAssignor": assignor, "TopicPartitions": owned})


def _parts(resp: dict[str, Any]) -> list[int] | None:
    a = resp["Assignment"]
    return None if a is None else sorted(p for t in a["TopicPartitions"] for p in t["Partitions"])


def test_partitions_move_only_after_their_owner_revokes_them(kafka: Any, bootstrap: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic("kt", 2)]).values():
        f.result(10)
    topic_id = kafka.core.get_stream("kt").id
    c = RawClient("127.0.0.1", kafka.kafka_port)
    try:
        a = _hb(c, "a", 0, ["kt"], [])
        assert (a["ErrorCode"], a["MemberEpoch"], _parts(a), a["HeartbeatIntervalMs"]) == (0, 1, [0, 1], 500)
        b = _hb(c, "b", 0, ["kt"], [])
        assert (b["MemberEpoch"], _parts(b)) == (2, [])  # partition 1 is still a's
        a = _hb(c, "a", 1, owned=[{"TopicId": topic_id, "Partitions": [0, 1]}])
        assert (a["MemberEpoch"], _parts(a)) == (1, [0])  # a must revoke 1 first, keeping epoch 1
        assert _parts(_hb(c, "b", 2)) is None  # not released yet: no new assignment
        a = _hb(c, "a", 1, owned=[{"TopicId": topic_id, "Partitions": [0]}])
        assert a["MemberEpoch"] == 2  # revoked: a reaches the group epoch
        b = _hb(c, "b", 2)
        assert (b["MemberEpoch"], _parts(b)) == (2, [1])
        # OffsetCommit from a member checks its epoch
        commit = {"GroupId": "g", "GenerationIdOrMemberEpoch": 1, "MemberId": "b", "GroupInstanceId": None,
                  "RetentionTimeMs": -1, "Topics": [{"Name": "kt", "Partitions": [
                      {"PartitionIndex": 1, "CommittedOffset": 0, "CommittedLeaderEpoch": -1,
                       "CommittedMetadata": ""}]}]}
        code = c.request(OFFSET_COMMIT, 7, commit)["Topics"][0]["Partitions"][0]["ErrorCode"]
        assert code == STALE_MEMBER_EPOCH
        commit["GenerationIdOrMemberEpoch"] = 2
        assert c.request(OFFSET_COMMIT, 7, commit)["Topics"][0]["Partitions"][0]["ErrorCode"] == 0
        # a classic member cannot join while KIP-848 members hold the group
        join = c.request(JOIN_GROUP, 5, {"GroupId": "g", "SessionTimeoutMs": 10000, "RebalanceTimeoutMs": 10000,
                                         "MemberId": "", "GroupInstanceId": None, "ProtocolType": "consumer",
                                         "Protocols": [{"Name": "range", "Metadata": b""}]})
        assert join["ErrorCode"] == ErrorCode.INCONSISTENT_GROUP_PROTOCOL
        # a leaves: b gets everything, at a new epoch
        assert _hb(c, "a", -1)["MemberEpoch"] == -1
        b = _hb(c, "b", 2, owned=[{"TopicId": topic_id, "Partitions": [1]}])
        assert (b["MemberEpoch"], _parts(b)) == (3, [0, 1])
    finally:
        c.close()


def test_heartbeat_errors(kafka: Any, bootstrap: str) -> None:
    c = RawClient("127.0.0.1", kafka.kafka_port)
    try:
        assert _hb(c, "", 0, ["t"])["ErrorCode"] == ErrorCode.INVALID_REQUEST  # v1: the client names itself
        assert _hb(c, "m", 0, None)["ErrorCode"] == ErrorCode.INVALID_REQUEST  # no subscription
        assert _hb(c, "m", 0, ["t"], rebalance_ms=-1)["ErrorCode"] == ErrorCode.INVALID_REQUEST
        assert _hb(c, "m", 0, ["t"], assignor="sticky")["ErrorCode"] == UNSUPPORTED_ASSIGNOR
        assert _hb(c, "ghost", 3)["ErrorCode"] == ErrorCode.UNKNOWN_MEMBER_ID
        joined = _hb(c, "m", 0, ["t"])
        assert joined["ErrorCode"] == 0
        assert _hb(c, "m", joined["MemberEpoch"] + 5)["ErrorCode"] == FENCED_MEMBER_EPOCH
        assert _hb(c, "m", joined["MemberEpoch"])["ErrorCode"] == 0  # the connection still serves
    finally:
        c.close()
