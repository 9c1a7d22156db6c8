# ruff: noqa: F401, F811, I001  (fixtures imported from kafka_support, which must come before kafka)
"""Share groups (KIP-932) on the wire: ShareGroupHeartbeat, ShareFetch, ShareAcknowledge.

Rules checked (Apache Kafka `GroupMetadataManager.shareGroupHeartbeat`, `SharePartition`,
`ShareSessionCache`): every member is assigned every partition; records are leased to one
member at a time and come back with their delivery count; errors: UNKNOWN_MEMBER_ID and
FENCED_MEMBER_EPOCH on heartbeats, SHARE_SESSION_NOT_FOUND and INVALID_SHARE_SESSION_EPOCH
on fetches, INVALID_RECORD_STATE when acknowledging records the member has not acquired;
the share-partition state survives a restart. The Java KafkaShareConsumer is driven in
test_kafka_share_java.py.
"""

from __future__ import annotations

from typing import Any

from confluent_kafka.admin import AdminClient, NewTopic
from kafka_raw import RawClient
from kafka_support import kafka_factory, produce_partitioned
from mqlite.protocols.kafka.errors import ErrorCode

HEARTBEAT, SHARE_FETCH, SHARE_ACK = 76, 78, 79
FENCED_MEMBER_EPOCH, INVALID_RECORD_STATE, SHARE_SESSION_NOT_FOUND, INVALID_SHARE_SESSION_EPOCH = 110, 121, 122, 123
ACCEPT, RELEASE, REJECT = 1, 2, 3


def _hb(c: RawClient, member: str, epoch: int, topics: list[str] | None = None) -> dict[str, Any]:
    return c.request(HEARTBEAT, 1, {"GroupId": "sg", "MemberId": member, "MemberEpoch": epoch, "RackId": None,
                                    "SubscribedTopicNames": topics})


def _fetch(c: RawClient, member: str, epoch: int, topic_id: Any, acks: list[tuple[int, int, int]] = (),
           max_records: int = 500) -> dict[str, Any]:
    batches = [{"FirstOffset": f, "LastOffset": la, "AcknowledgeTypes": [t]} for f, la, t in acks]
    return c.request(SHARE_FETCH, 1, {
        "GroupId": "sg", "MemberId": member, "ShareSessionEpoch": epoch, "MaxWaitMs": 0, "MinBytes": 1,
        "MaxBytes": 1 << 20, "MaxRecords": max_records, "BatchSize": max_records,
        "Topics": [{"TopicId": topic_id, "Partitions": [{"PartitionIndex": 0, "AcknowledgementBatches": batches}]}],
        "ForgottenTopicsData": []})


def _ack(c: RawClient, member: str, epoch: int, topic_id: Any, acks: list[tuple[int, int, int]]) -> dict[str, Any]:
    return c.request(SHARE_ACK, 1, {
        "GroupId": "sg", "MemberId": member, "ShareSessionEpoch": epoch,
        "Topics": [{"TopicId": topic_id, "Partitions": [{"PartitionIndex": 0, "AcknowledgementBatches": [
            {"FirstOffset": f, "LastOffset": la, "AcknowledgeTypes": [t]} for f, la, t in acks]}]}]})


def _acquired(resp: dict[str, Any]) -> list[tuple[int, int, int]]:
    return [(r["FirstOffset"], r["LastOffset"], r["DeliveryCount"])
            for t in resp["Responses"] for p in t["Partitions"] for r in p["AcquiredRecords"]]


def _part(resp: dict[str, Any]) -> dict[str, Any]:
    return resp["Responses"][0]["Partitions"][0]


def _server(kafka_factory: Any, **extra: Any) -> tuple[Any, Any]:
    server = kafka_factory(kafka_share_auto_offset_reset="earliest", **extra)
    admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{server.kafka_port}"})
    for f in admin.create_topics([NewTopic("st", 1)]).values():
        f.result(10)
    produce_partitioned(f"127.0.0.1:{server.kafka_port}", "st", [b"r%d" % i for i in range(6)])
    return server, server.core.get_stream("st").id


def test_records_are_leased_to_one_member_and_released_with_a_higher_count(kafka_factory: Any) -> None:
    server, tid = _server(kafka_factory)
    c = RawClient("127.0.0.1", server.kafka_port)
    try:
        a = _hb(c, "a", 0, ["st"])
        assert (a["ErrorCode"], a["MemberEpoch"]) == (0, 1)
        assert a["Assignment"]["TopicPartitions"] == [{"TopicId": tid, "Partitions": [0]}]
        b = _hb(c, "b", 0, ["st"])
        assert b["Assignment"]["TopicPartitions"] == [{"TopicId": tid, "Partitions": [0]}]  # shared, not split
        fa = _fetch(c, "a", 0, tid, max_records=2)
        assert (fa["ErrorCode"], _acquired(fa)) == (0, [(0, 1, 1)])
        fb = _fetch(c, "b", 0, tid)
        assert _acquired(fb) == [(2, 5, 1)]  # b gets what a does not hold
        # a releases 0, accepts 1: 0 comes back to b with delivery count 2
        fa = _fetch(c, "a", 1, tid, acks=[(0, 0, RELEASE), (1, 1, ACCEPT)], max_records=0)
        assert (_part(fa)["AcknowledgeErrorCode"], _acquired(fa)) == (0, [])
        fb = _fetch(c, "b", 1, tid, acks=[(2, 5, REJECT)])
        assert _acquired(fb) == [(0, 0, 2)]
        # b closes its session (epoch -1): its lease on 0 is released
        assert _fetch(c, "b", -1, tid)["ErrorCode"] == 0
        fa = _fetch(c, "a", 2, tid)
        assert _acquired(fa) == [(0, 0, 3)]
        ack = _ack(c, "a", 3, tid, [(0, 0, ACCEPT)])
        assert (ack["ErrorCode"], _part(ack)["ErrorCode"]) == (0, 0)
        # rejected and accepted records are done: nothing more to acquire
        assert _acquired(_fetch(c, "a", 4, tid)) == []
    finally:
        c.close()


def test_delivery_count_limit_archives(kafka_factory: Any) -> None:
    server, tid = _server(kafka_factory, kafka_share_delivery_count_limit=2)
    c = RawClient("127.0.0.1", server.kafka_port)
    try:
        _hb(c, "a", 0, ["st"])
        assert _acquired(_fetch(c, "a", 0, tid, max_records=1)) == [(0, 0, 1)]
        assert _acquired(_fetch(c, "a", 1, tid, acks=[(0, 0, RELEASE)], max_records=1)) == [(0, 0, 2)]
        # released at the limit: archived, so the next fetch starts at offset 1
        assert _acquired(_fetch(c, "a", 2, tid, acks=[(0, 0, RELEASE)], max_records=1)) == [(1, 1, 1)]
    finally:
        c.close()


def test_errors(kafka_factory: Any) -> None:
    server, tid = _server(kafka_factory)
    c = RawClient("127.0.0.1", server.kafka_port)
    try:
        assert _hb(c, "ghost", 3)["ErrorCode"] == ErrorCode.UNKNOWN_MEMBER_ID
        assert _hb(c, "", 0, ["st"])["ErrorCode"] == ErrorCode.INVALID_REQUEST
        assert _hb(c, "a", 0)["ErrorCode"] == ErrorCode.INVALID_REQUEST  # no subscription on join
        assert _hb(c, "a", 0, ["st"])["MemberEpoch"] == 1
        assert _hb(c, "a", 7)["ErrorCode"] == FENCED_MEMBER_EPOCH
        assert _fetch(c, "ghost", 0, tid)["ErrorCode"] == ErrorCode.UNKNOWN_MEMBER_ID
        assert _fetch(c, "a", 1, tid)["ErrorCode"] == SHARE_SESSION_NOT_FOUND
        assert _acquired(_fetch(c, "a", 0, tid, max_records=2)) == [(0, 1, 1)]
        assert _fetch(c, "a", 5, tid)["ErrorCode"] == INVALID_SHARE_SESSION_EPOCH
        # acknowledging records a has not acquired: INVALID_RECORD_STATE, nothing applied
        ack = _ack(c, "a", 1, tid, [(1, 3, ACCEPT)])
        assert (ack["ErrorCode"], _part(ack)["ErrorCode"]) == (0, INVALID_RECORD_STATE)
        fetched = _fetch(c, "a", 2, tid, acks=[(4, 4, ACCEPT)], max_records=0)
        assert _part(fetched)["AcknowledgeErrorCode"] == INVALID_RECORD_STATE
        assert _ack(c, "a", 0, tid, [(0, 1, ACCEPT)])["ErrorCode"] == ErrorCode.INVALID_REQUEST
        ack = _ack(c, "a", 3, tid, [(0, 1, ACCEPT)])  # a's own records: accepted
        assert _part(ack)["ErrorCode"] == 0
        assert _hb(c, "a", 1, ["st"])["ErrorCode"] == 0  # the server still serves
    finally:
        c.close()


def test_share_partition_state_survives_a_restart(kafka_factory: Any, tmp_path: Any) -> None:
    server, tid = _server(kafka_factory, data_dir=tmp_path)
    c = RawClient("127.0.0.1", server.kafka_port)
    _hb(c, "a", 0, ["st"])
    assert _acquired(_fetch(c, "a", 0, tid, max_records=3)) == [(0, 2, 1)]
    assert _part(_ack(c, "a", 1, tid, [(0, 0, ACCEPT), (1, 1, RELEASE)]))["ErrorCode"] == 0
    c.close()
    server.stop()
    again = kafka_factory(kafka_share_auto_offset_reset="earliest", data_dir=tmp_path)
    c = RawClient("127.0.0.1", again.kafka_port)
    try:
        _hb(c, "a", 0, ["st"])
        # 0 accepted; 1 released (count 1); 2 was leased when the server stopped: delivered again
        assert _acquired(_fetch(c, "a", 0, tid)) == [(1, 2, 2), (3, 5, 1)]
    finally:
        c.close()


def test_list_groups_reports_share_groups(kafka_factory: Any) -> None:
    server, _tid = _server(kafka_factory)
    c = RawClient("127.0.0.1", server.kafka_port)
    try:
        _hb(c, "a", 0, ["st"])
        listed = c.request(16, 5, {"StatesFilter": [], "TypesFilter": ["share"]})
        assert listed["Groups"] == [{"GroupId": "sg", "ProtocolType": "share", "GroupState": "Stable",
                                     "GroupType": "share"}]
        assert c.request(16, 5, {"StatesFilter": [], "TypesFilter": ["classic"]})["Groups"] == []
        _hb(c, "a", -1)
        listed = c.request(16, 5, {"StatesFilter": ["Empty"], "TypesFilter": []})
        assert [(g["GroupId"], g["GroupState"]) for g in listed["Groups"]] == [("sg", "Empty")]
    finally:
        c.close()


def test_share_group_describe(kafka_factory: Any) -> None:
    server, tid = _server(kafka_factory)
    c = RawClient("127.0.0.1", server.kafka_port)
    try:
        _hb(c, "a", 0, ["st"])
        got = c.request(77, 1, {"GroupIds": ["sg", "nope"], "IncludeAuthorizedOperations": False})["Groups"]
        assert (got[0]["ErrorCode"], got[0]["GroupState"], got[0]["GroupEpoch"]) == (0, "Stable", 1)
        assert [(m["MemberId"], m["SubscribedTopicNames"]) for m in got[0]["Members"]] == [("a", ["st"])]
        assert got[0]["Members"][0]["Assignment"]["TopicPartitions"] == [
            {"TopicId": tid, "TopicName": "st", "Partitions": [0]}]
        assert (got[1]["ErrorCode"], got[1]["GroupState"]) == (ErrorCode.GROUP_ID_NOT_FOUND, "Dead")
    finally:
        c.close()
