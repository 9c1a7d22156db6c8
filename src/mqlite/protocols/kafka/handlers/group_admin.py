"""DescribeGroups, ListGroups, DeleteGroups, OffsetDelete: inspecting and deleting groups.

Rules (Kafka protocol guide, `GroupCoordinator.handleDescribeGroup`/`handleDeleteGroups`):
- DescribeGroups of an unknown group answers state "Dead" with no error (v0-5);
  members carry their metadata and assignment only when the group is Stable;
- ListGroups lists every group with state (v4 `StatesFilter`, case-insensitive);
- DeleteGroups refuses a group with members (NON_EMPTY_GROUP) and an unknown one
  (GROUP_ID_NOT_FOUND); otherwise it deletes the group and its committed offsets;
- OffsetDelete (KIP-496) of an unknown group is GROUP_ID_NOT_FOUND; a group with
  members that is not a consumer group is NON_EMPTY_GROUP; a partition of a topic a
  member subscribes to is GROUP_SUBSCRIBED_TO_TOPIC; other offsets are forgotten
  (a partition without one answers no error, as Kafka's coordinator does).
Concurrency: the server's event loop; nothing here awaits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mqlite.protocols.kafka.codec import Request
from mqlite.protocols.kafka.errors import ErrorCode
from mqlite.protocols.kafka.handlers.membership import GroupState, KafkaGroup
from mqlite.protocols.kafka.handlers.share_groups import share_group_rows
from mqlite.protocols.kafka.handlers.topics import permitted

if TYPE_CHECKING:  # pragma: no cover
    from mqlite.protocols.kafka.frontend import KafkaFrontEnd, Session


def _describe(group: KafkaGroup | None, name: str) -> dict[str, Any]:
    if group is None:
        return {"ErrorCode": 0, "GroupId": name, "GroupState": GroupState.DEAD.value, "ProtocolType": "",
                "ProtocolData": "", "Members": [], "AuthorizedOperations": -2147483648}
    stable = group.state is GroupState.STABLE
    members = [
        {
            "MemberId": m.member_id,
            "GroupInstanceId": m.group_instance_id,
            "ClientId": m.client_id,
            "ClientHost": "/" + m.client_host if m.client_host else "",
            "MemberMetadata": dict(m.protocols).get(group.protocol or "", b"") if stable else b"",
            "MemberAssignment": m.assignment if stable else b"",
        }
        for m in group.members.values()
    ]
    return {
        "ErrorCode": 0,
        "GroupId": name,
        "GroupState": group.state.value,
        "ProtocolType": group.protocol_type or "",
        "ProtocolData": (group.protocol or "") if stable else "",
        "Members": members,
        "AuthorizedOperations": -2147483648,
    }


async def describe_groups(fe: KafkaFrontEnd, session: Session, req: Request) -> dict[str, Any]:
    """DescribeGroups: state, protocol and members of groups."""
    groups = fe.coordinator.groups
    return {"ThrottleTimeMs": 0, "Groups": [_describe(groups.find(n), n) for n in req.body["Groups"]]}


async def list_groups(fe: KafkaFrontEnd, session: Session, req: Request) -> dict[str, Any]:
    """ListGroups: every group the coordinator knows (optionally filtered by state)."""
    wanted = {s.lower() for s in (req.body.get("StatesFilter") or [])}
    out = []
    for name in fe.core.groups.list():
        group = fe.coordinator.groups.find(name)
        if group is None:
            continue
        if wanted and group.state.value.lower() not in wanted:
            continue
        out.append({"GroupId": name, "ProtocolType": group.protocol_type or "consumer",
                    "GroupState": group.state.value,
                    "GroupType": "consumer" if group.consumer_protocol else "classic"})
    out += share_group_rows(fe, wanted)
    types = {s.lower() for s in (req.body.get("TypesFilter") or [])}  # v5 (KIP-848)
    return {"ThrottleTimeMs": 0, "ErrorCode": 0, "Groups": [g for g in out if not types or g["GroupType"] in types]}


async def delete_groups(fe: KafkaFrontEnd, session: Session, req: Request) -> dict[str, Any]:
    """DeleteGroups: delete empty groups and their committed offsets."""
    results = []
    for name in req.body["GroupsNames"]:
        group = fe.coordinator.groups.find(name)
        if group is None:
            code = ErrorCode.GROUP_ID_NOT_FOUND
        elif group.members:
            code = ErrorCode.NON_EMPTY_GROUP
        else:
            fe.core.groups.delete(name)
            fe.coordinator.active.discard(name)
            code = ErrorCode.NONE
        results.append({"GroupId": name, "ErrorCode": code})
    return {"ThrottleTimeMs": 0, "Results": results}


GROUP_SUBSCRIBED_TO_TOPIC = 86


def _subscribed(group: KafkaGroup) -> set[str]:
    """Topics the members subscribe to (ConsumerProtocolSubscription: version, topics...)."""
    topics: set[str] = set()
    for member in group.members.values():
        for _name, meta in member.protocols[:1]:
            try:
                count = int.from_bytes(meta[2:6], "big", signed=True)
                pos = 6
                for _ in range(max(count, 0)):
                    size = int.from_bytes(meta[pos:pos + 2], "big")
                    topics.add(meta[pos + 2:pos + 2 + size].decode())
                    pos += 2 + size
            except (UnicodeDecodeError, IndexError):
                continue
    return topics


async def offset_delete(fe: Any, session: Any, req: Request) -> dict[str, Any]:
    """OffsetDelete: forget a group's committed offsets for partitions it does not consume."""
    body = req.body
    name = body["GroupId"]
    group = fe.coordinator.groups.find(name)
    top = ErrorCode.NONE
    if not permitted(fe, session, "read", "group", name):
        top = ErrorCode.GROUP_AUTHORIZATION_FAILED
    elif group is None:
        top = ErrorCode.GROUP_ID_NOT_FOUND
    elif group.members and (group.protocol_type or "consumer") != "consumer":
        top = ErrorCode.NON_EMPTY_GROUP
    if top:
        return {"ErrorCode": top, "ThrottleTimeMs": 0, "Topics": []}
    subscribed = _subscribed(group) if group.members else set()
    topics = []
    for t in body["Topics"]:
        parts = []
        for p in t["Partitions"]:
            index = p["PartitionIndex"]
            if t["Name"] in subscribed:
                code = GROUP_SUBSCRIBED_TO_TOPIC
            else:
                group.durable.delete_offsets(t["Name"], [index])
                code = ErrorCode.NONE
            parts.append({"PartitionIndex": index, "ErrorCode": code})
        topics.append({"Name": t["Name"], "Partitions": parts})
    return {"ErrorCode": 0, "ThrottleTimeMs": 0, "Topics": topics}


APIS = {
    47: (0, 0, offset_delete),
    15: (0, 5, describe_groups),
    16: (0, 5, list_groups),
    42: (0, 2, delete_groups),
}
