"""JoinGroup, SyncGroup, Heartbeat, LeaveGroup: Kafka's classic group membership APIs.

Thin handlers over `coordinator.Coordinator` (the rebalance protocol, generations,
static membership, session and rebalance timeouts; see that module). JoinGroup and a
follower's SyncGroup wait until the rebalance or the leader's assignment completes.
Concurrency: the server's event loop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mqlite.protocols.kafka.codec import Request
from mqlite.protocols.kafka.errors import ErrorCode
from mqlite.protocols.kafka.handlers.topics import permitted

if TYPE_CHECKING:  # pragma: no cover
    from mqlite.protocols.kafka.frontend import KafkaFrontEnd, Session


async def join_group(fe: KafkaFrontEnd, session: Session, req: Request) -> dict[str, Any]:
    """JoinGroup: join (or rejoin) a group; answered when the rebalance completes."""
    if not permitted(fe, session, "read", "group", req.body["GroupId"]):
        return {"ThrottleTimeMs": 0, "ErrorCode": ErrorCode.GROUP_AUTHORIZATION_FAILED, "GenerationId": -1,
                "ProtocolType": None, "ProtocolName": None, "Leader": "", "SkipAssignment": False,
                "MemberId": "", "Members": []}
    result: dict[str, Any] = await fe.coordinator.join(session, req)
    return result


async def sync_group(fe: KafkaFrontEnd, session: Session, req: Request) -> dict[str, Any]:
    """SyncGroup: the leader hands out assignments; every member receives its own."""
    result: dict[str, Any] = await fe.coordinator.sync(session, req)
    return result


async def heartbeat(fe: KafkaFrontEnd, session: Session, req: Request) -> dict[str, Any]:
    """Heartbeat: keep a member's session; learn of a rebalance."""
    return {"ThrottleTimeMs": 0, "ErrorCode": fe.coordinator.heartbeat(req)}


async def leave_group(fe: KafkaFrontEnd, session: Session, req: Request) -> dict[str, Any]:
    """LeaveGroup: remove members (v3+: a batch, by member or instance id)."""
    b = req.body
    if req.api_version >= 3:
        members = [(m["MemberId"], m["GroupInstanceId"]) for m in b["Members"]]
    else:
        members = [(b["MemberId"], None)]
    code, results = fe.coordinator.leave(b["GroupId"], members)
    if req.api_version >= 3:
        code = 0 if b["GroupId"] and fe.core.groups.find(b["GroupId"]) is not None else code
    return {"ThrottleTimeMs": 0, "ErrorCode": code, "Members": results}


APIS = {
    11: (0, 7, join_group),
    14: (0, 5, sync_group),
    12: (0, 4, heartbeat),
    13: (0, 4, leave_group),
}
