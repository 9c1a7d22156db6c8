# ruff: noqa: F401, F811, I001  (fixtures imported from kafka_support, which must come before kafka)
"""The classic group coordinator at wire level (Kafka protocol guide; KIP-62/345/394).

Requests are sent with exact versions on real sockets; JoinGroup blocks until the
rebalance completes, so concurrent members run in threads.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from mqlite.protocols.kafka.errors import ErrorCode

from kafka_raw import RawClient
from kafka_support import bootstrap, kafka, kafka_factory

JOIN, HEARTBEAT, LEAVE, SYNC, DESCRIBE, LIST, DELETE, COMMIT, OFFSET_FETCH = 11, 12, 13, 14, 15, 16, 42, 8, 9


def _join(c: RawClient, group: str, member: str = "", instance: str | None = None, session_ms: int = 10000,
          version: int = 5) -> dict[str, Any]:
    return c.request(JOIN, version, {"GroupId": group, "SessionTimeoutMs": session_ms, "RebalanceTimeoutMs": 5000,
                                     "MemberId": member, "GroupInstanceId": instance, "ProtocolType": "consumer",
                                     "Protocols": [{"Name": "range", "Metadata": b"meta-" + member.encode()}]})


def _join_fully(c: RawClient, group: str, instance: str | None = None, session_ms: int = 10000) -> dict[str, Any]:
    first = _join(c, group, instance=instance, session_ms=session_ms)
    if first["ErrorCode"] == ErrorCode.MEMBER_ID_REQUIRED:
        return _join(c, group, first["MemberId"], instance, session_ms)
    return first


def _sync(c: RawClient, group: str, gen: int, member: str, assignments: dict[str, bytes] | None = None,
          instance: str | None = None) -> dict[str, Any]:
    return c.request(SYNC, 3, {"GroupId": group, "GenerationId": gen, "MemberId": member, "GroupInstanceId": instance,
                               "Assignments": [{"MemberId": m, "Assignment": a} for m, a in (assignments or {}).items()]})


def _heartbeat(c: RawClient, group: str, gen: int, member: str, instance: str | None = None) -> int:
    return c.request(HEARTBEAT, 3, {"GroupId": group, "GenerationId": gen, "MemberId": member,
                                    "GroupInstanceId": instance})["ErrorCode"]


def _describe(c: RawClient, group: str) -> dict[str, Any]:
    return c.request(DESCRIBE, 4, {"Groups": [group], "IncludeAuthorizedOperations": False})["Groups"][0]


def _client(server: Any) -> RawClient:
    return RawClient("127.0.0.1", server.kafka_port)


def test_join_requires_a_member_id_then_forms_a_generation(kafka: Any) -> None:
    """KIP-394: JoinGroup v4+ without a member id gets MEMBER_ID_REQUIRED and an id;
    the rejoin completes generation 1 with the sole member as leader; SyncGroup from
    the leader makes the group Stable."""
    c = _client(kafka)
    first = _join(c, "g")
    assert first["ErrorCode"] == ErrorCode.MEMBER_ID_REQUIRED and first["MemberId"]
    joined = _join(c, "g", first["MemberId"])
    assert joined["ErrorCode"] == 0 and joined["GenerationId"] == 1
    assert joined["Leader"] == joined["MemberId"] == first["MemberId"]
    assert joined["ProtocolName"] == "range"
    assert [m["MemberId"] for m in joined["Members"]] == [first["MemberId"]]
    synced = _sync(c, "g", 1, joined["MemberId"], {joined["MemberId"]: b"parts"})
    assert (synced["ErrorCode"], synced["Assignment"]) == (0, b"parts")
    described = _describe(c, "g")
    assert described["GroupState"] == "Stable" and described["ProtocolData"] == "range"
    assert described["Members"][0]["MemberAssignment"] == b"parts"
    c.close()


def test_unknown_member_and_stale_generation_are_refused(kafka: Any) -> None:
    """UNKNOWN_MEMBER_ID for an id the group does not know, ILLEGAL_GENERATION for a
    generation other than the current one (heartbeat, sync and offset commit)."""
    c = _client(kafka)
    joined = _join_fully(c, "strict")
    member = joined["MemberId"]
    assert _join(c, "strict", "nobody")["ErrorCode"] == ErrorCode.UNKNOWN_MEMBER_ID
    assert _heartbeat(c, "strict", 1, "nobody") == ErrorCode.UNKNOWN_MEMBER_ID
    assert _heartbeat(c, "strict", 0, member) == ErrorCode.ILLEGAL_GENERATION
    assert _sync(c, "strict", 7, member)["ErrorCode"] == ErrorCode.ILLEGAL_GENERATION
    commit = c.request(COMMIT, 3, {"GroupId": "strict", "GenerationIdOrMemberEpoch": 9, "MemberId": member,
                                   "RetentionTimeMs": -1, "Topics": []})
    assert commit["Topics"] == []
    c.request(3, 5, {"Topics": [{"Name": "gt"}], "AllowAutoTopicCreation": True})
    commit = c.request(COMMIT, 3, {"GroupId": "strict", "GenerationIdOrMemberEpoch": 9, "MemberId": member,
                                   "RetentionTimeMs": -1, "Topics": [{"Name": "gt", "Partitions": [
                                       {"PartitionIndex": 0, "CommittedOffset": 1, "CommittedMetadata": ""}]}]})
    assert commit["Topics"][0]["Partitions"][0]["ErrorCode"] == ErrorCode.ILLEGAL_GENERATION
    c.close()


def test_a_new_member_triggers_a_rebalance_seen_through_heartbeats(kafka: Any) -> None:
    """A join moves a Stable group to PreparingRebalance: the old member's heartbeat
    gets REBALANCE_IN_PROGRESS; once it rejoins, both get the next generation and
    only the leader receives the member list."""
    a, b = _client(kafka), _client(kafka)
    first = _join_fully(a, "pair")
    _sync(a, "pair", 1, first["MemberId"], {first["MemberId"]: b"all"})
    with ThreadPoolExecutor(1) as pool:
        second = pool.submit(_join_fully, b, "pair")
        deadline = time.monotonic() + 20
        while _heartbeat(a, "pair", 1, first["MemberId"]) != ErrorCode.REBALANCE_IN_PROGRESS:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert _sync(a, "pair", 1, first["MemberId"])["ErrorCode"] == ErrorCode.REBALANCE_IN_PROGRESS
        rejoined = _join(a, "pair", first["MemberId"])
        other = second.result(timeout=20)
    assert rejoined["GenerationId"] == other["GenerationId"] == 2
    assert rejoined["Leader"] == first["MemberId"]
    assert len(rejoined["Members"]) == 2 and other["Members"] == []
    with ThreadPoolExecutor(1) as pool:
        follower = pool.submit(_sync, b, "pair", 2, other["MemberId"])
        leader = _sync(a, "pair", 2, first["MemberId"], {first["MemberId"]: b"p0", other["MemberId"]: b"p1"})
        assert leader["Assignment"] == b"p0"
        assert follower.result(timeout=20)["Assignment"] == b"p1"
    # a follower rejoining with unchanged metadata keeps the generation (no rebalance)
    same = _join(b, "pair", other["MemberId"])
    assert (same["ErrorCode"], same["GenerationId"], same["Members"]) == (0, 2, [])
    assert _heartbeat(a, "pair", 2, first["MemberId"]) == 0
    a.close()
    b.close()


def test_leaving_member_and_session_timeout_shrink_the_group(kafka_factory: Any) -> None:
    """LeaveGroup removes a member at once; a member silent for its session timeout is
    removed by the coordinator; an emptied group is Empty with its next generation."""
    server = kafka_factory(kafka_group_min_session_timeout_ms=100)
    c = _client(server)
    joined = _join_fully(c, "quiet", session_ms=300)
    assert joined["GenerationId"] == 1
    deadline = time.monotonic() + 20
    while _describe(c, "quiet")["GroupState"] != "Empty":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert _heartbeat(c, "quiet", 1, joined["MemberId"]) == ErrorCode.UNKNOWN_MEMBER_ID
    again = _join_fully(c, "quiet", session_ms=10000)
    assert again["GenerationId"] == 3
    left = c.request(LEAVE, 3, {"GroupId": "quiet", "Members": [{"MemberId": again["MemberId"], "GroupInstanceId": None}]})
    assert left["ErrorCode"] == 0 and left["Members"][0]["ErrorCode"] == 0
    assert _describe(c, "quiet")["GroupState"] == "Empty"
    c.close()


def test_session_timeout_outside_the_broker_limits_is_invalid(kafka: Any) -> None:
    """group.min.session.timeout.ms (6000 by default) bounds SessionTimeoutMs."""
    c = _client(kafka)
    assert _join(c, "tight", session_ms=10)["ErrorCode"] == ErrorCode.INVALID_SESSION_TIMEOUT
    c.close()


def test_static_member_rejoining_keeps_the_generation_and_fences_its_old_id(kafka: Any) -> None:
    """KIP-345: a known group.instance.id rejoining without a member id replaces its
    old member without a rebalance (when not the leader); the old id is fenced."""
    a, b = _client(kafka), _client(kafka)
    with ThreadPoolExecutor(2) as pool:
        fa = pool.submit(_join_fully, a, "static", "i-a")
        time.sleep(0.05)
        fb = pool.submit(_join_fully, b, "static", "i-b")
        ja, jb = fa.result(timeout=20), fb.result(timeout=20)
    leader, follower = (ja, jb) if ja["Leader"] == ja["MemberId"] else (jb, ja)
    lc, fc = (a, b) if leader is ja else (b, a)
    finst = "i-b" if follower is jb else "i-a"
    gen = leader["GenerationId"]
    with ThreadPoolExecutor(1) as pool:
        fsync = pool.submit(_sync, fc, "static", gen, follower["MemberId"], None, finst)
        _sync(lc, "static", gen, leader["MemberId"], {leader["MemberId"]: b"L", follower["MemberId"]: b"F"},
              "i-a" if leader is ja else "i-b")
        assert fsync.result(timeout=20)["Assignment"] == b"F"
    rejoin = _join(fc, "static", "", finst)
    assert rejoin["ErrorCode"] == 0 and rejoin["GenerationId"] == gen
    assert rejoin["MemberId"] != follower["MemberId"]
    assert _sync(fc, "static", gen, rejoin["MemberId"], None, finst)["Assignment"] == b"F"
    assert _heartbeat(fc, "static", gen, follower["MemberId"], finst) in (ErrorCode.UNKNOWN_MEMBER_ID,
                                                                          ErrorCode.FENCED_INSTANCE_ID)
    assert _heartbeat(lc, "static", gen, leader["MemberId"]) == 0
    a.close()
    b.close()


def test_list_describe_and_delete_groups(kafka: Any) -> None:
    """ListGroups lists groups; DeleteGroups refuses a group with members
    (NON_EMPTY_GROUP) and an unknown one (GROUP_ID_NOT_FOUND), and deletes an empty
    group with its committed offsets."""
    c = _client(kafka)
    c.request(3, 5, {"Topics": [{"Name": "dg"}], "AllowAutoTopicCreation": True})
    joined = _join_fully(c, "busy")
    simple = c.request(COMMIT, 3, {"GroupId": "idle", "GenerationIdOrMemberEpoch": -1, "MemberId": "",
                                   "RetentionTimeMs": -1, "Topics": [{"Name": "dg", "Partitions": [
                                       {"PartitionIndex": 0, "CommittedOffset": 4, "CommittedMetadata": "m"}]}]})
    assert simple["Topics"][0]["Partitions"][0]["ErrorCode"] == 0
    listed = {g["GroupId"]: g["GroupState"] for g in c.request(LIST, 4, {"StatesFilter": []})["Groups"]}
    assert listed.get("busy") == "CompletingRebalance" and listed.get("idle") == "Empty"
    deleted = c.request(DELETE, 2, {"GroupsNames": ["busy", "idle", "ghost"]})["Results"]
    assert [(r["GroupId"], r["ErrorCode"]) for r in deleted] == [
        ("busy", ErrorCode.NON_EMPTY_GROUP), ("idle", 0), ("ghost", ErrorCode.GROUP_ID_NOT_FOUND)]
    fetched = c.request(OFFSET_FETCH, 3, {"GroupId": "idle", "Topics": None})
    assert fetched["Topics"] == []
    assert _describe(c, "ghost")["GroupState"] == "Dead"
    assert joined["MemberId"]
    c.close()


def test_members_that_miss_the_rebalance_timeout_are_dropped(kafka: Any) -> None:
    """A rebalance completes at the rebalance timeout without members that did not
    rejoin; they are removed and the rest form the next generation."""
    a, b = _client(kafka), _client(kafka)
    first = a.request(JOIN, 5, {"GroupId": "slow", "SessionTimeoutMs": 30000, "RebalanceTimeoutMs": 300,
                                "MemberId": "", "GroupInstanceId": None, "ProtocolType": "consumer",
                                "Protocols": [{"Name": "range", "Metadata": b""}]})
    joined = a.request(JOIN, 5, {"GroupId": "slow", "SessionTimeoutMs": 30000, "RebalanceTimeoutMs": 300,
                                 "MemberId": first["MemberId"], "GroupInstanceId": None, "ProtocolType": "consumer",
                                 "Protocols": [{"Name": "range", "Metadata": b""}]})
    _sync(a, "slow", joined["GenerationId"], joined["MemberId"], {joined["MemberId"]: b"x"})
    other = _join_fully(b, "slow")  # a never rejoins: the rebalance times out without it
    assert other["ErrorCode"] == 0 and other["GenerationId"] == joined["GenerationId"] + 1
    assert other["Leader"] == other["MemberId"] and len(other["Members"]) == 1
    assert _heartbeat(a, "slow", joined["GenerationId"], joined["MemberId"]) == ErrorCode.UNKNOWN_MEMBER_ID
    a.close()
    b.close()
