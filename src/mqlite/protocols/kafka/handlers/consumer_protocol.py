"""ConsumerGroupHeartbeat: KIP-848's consumer group protocol (`group.protocol=consumer`).

The broker assigns partitions; members reconcile through heartbeats (Apache Kafka
`GroupMetadataManager.consumerGroupHeartbeat`, `CurrentAssignmentBuilder`), over
the coordinator's `membership.KafkaGroup` (members, their `Reconciling` state, the
target assignment; the group epoch in core's `generation`, committed offsets in core):

- MemberEpoch 0 joins (v1: with the member id the client made; v0: an empty id gets
  one), -1 leaves, -2 leaves a static member; any other epoch must be the member's
  (else FENCED_MEMBER_EPOCH) and the member known (else UNKNOWN_MEMBER_ID); a join
  needs RebalanceTimeoutMs and a subscription (INVALID_REQUEST); regular-expression
  subscriptions are not served (INVALID_REQUEST); a ServerAssignor other than
  `uniform` / `range` is UNSUPPORTED_ASSIGNOR; a group the classic protocol uses with
  members is INCONSISTENT_GROUP_PROTOCOL;
- the target assignment gives each subscribed topic's partitions round-robin to its
  subscribers in member-id order; a change of members, subscriptions or partition
  counts bumps the group epoch;
- a member first gives up (revokes) what its target no longer holds, keeping its
  epoch until its heartbeat no longer reports those partitions; then it takes the
  group epoch and, of its target, the partitions no other member still holds or was
  given (the rest on a later heartbeat, once released);
- a member without a heartbeat for `kafka_consumer_session_timeout_ms` is removed.
OffsetCommit from a member checks its id and epoch (`check_commit`: STALE_MEMBER_EPOCH).
Concurrency: the server's event loop; nothing here awaits.
"""

from __future__ import annotations

import uuid
from typing import Any

from mqlite.protocols.kafka.codec import Request
from mqlite.protocols.kafka.errors import ErrorCode
from mqlite.protocols.kafka.handlers.membership import (
    GroupState,
    KafkaGroup,
    Member,
    Memberships,
)
from mqlite.protocols.kafka.handlers.topics import find_topic, permitted

INCONSISTENT_GROUP_PROTOCOL = 23
FENCED_MEMBER_EPOCH = 110
UNSUPPORTED_ASSIGNOR = 112
STALE_MEMBER_EPOCH = 113
ASSIGNORS = ("uniform", "range")

TP = tuple[str, int]


def is_consumer_group(group: KafkaGroup | None) -> bool:
    return bool(group is not None and group.consumer_protocol and group.members)


class ConsumerProtocol:
    """KIP-848 membership and assignment for the groups that use it; see module docstring."""

    def __init__(self, fe: Any, groups: Memberships) -> None:
        self.fe = fe
        self.groups = groups
        self.interval_ms = fe.settings.kafka_consumer_heartbeat_interval_ms
        self.session_s = fe.settings.kafka_consumer_session_timeout_ms / 1000.0
        self.names: set[str] = set()  # groups that used this protocol (for the session ticker)

    def _now(self) -> float:
        return float(self.fe.core.clock.monotonic())

    # -- assignment -------------------------------------------------------------------------
    def _target(self, group: KafkaGroup) -> dict[str, set[TP]]:
        members = sorted(group.members)
        subscribers: dict[str, list[str]] = {}
        for mid in members:
            for topic in group.members[mid].kip848.topics:
                subscribers.setdefault(topic, []).append(mid)
        target: dict[str, set[TP]] = {mid: set() for mid in members}
        for topic, subs in sorted(subscribers.items()):
            stream = find_topic(self.fe.core, topic)
            for p in range(stream.partition_count if stream is not None else 0):
                target[subs[p % len(subs)]].add((topic, p))
        return target

    def _retarget(self, group: KafkaGroup) -> None:
        target = self._target(group)
        if target != group.target:
            group.target = target
            group.generation += 1
        group.state = GroupState.STABLE if group.members else GroupState.EMPTY

    def _reconcile(self, group: KafkaGroup, m: Member) -> None:
        target = (group.target or {}).get(m.member_id, set())
        x = m.kip848
        revoke = x.assigned - target
        if revoke:  # give up first; the epoch moves once the client stops reporting them
            x.assigned -= revoke
            return
        if x.owned is not None and x.owned - target:
            return
        held = set()
        for other in group.members.values():
            if other is not m:
                held |= other.kip848.assigned | (other.kip848.owned or set())
        x.assigned = (x.assigned & target) | (target - held)
        x.epoch = group.generation

    # -- the API ------------------------------------------------------------------------------
    def heartbeat(self, session: Any, req: Request) -> dict[str, Any]:
        b = req.body
        gid, mid, epoch = b["GroupId"], b["MemberId"] or "", b["MemberEpoch"]
        if not gid:
            return _error(ErrorCode.INVALID_REQUEST, "GroupId can't be empty.")
        if not permitted(self.fe, session, "read", "group", gid):
            return _error(ErrorCode.GROUP_AUTHORIZATION_FAILED, None)
        if b.get("SubscribedTopicRegex"):
            return _error(ErrorCode.INVALID_REQUEST, "SubscribedTopicRegex is not supported by this broker.")
        if b["ServerAssignor"] is not None and b["ServerAssignor"] not in ASSIGNORS:
            return _error(UNSUPPORTED_ASSIGNOR, f"ServerAssignor {b['ServerAssignor']} is not supported. "
                          f"Supported assignors: {', '.join(ASSIGNORS)}.")
        groups = self.groups
        group = groups.find(gid)
        if group is not None and group.members and not group.consumer_protocol:
            return _error(INCONSISTENT_GROUP_PROTOCOL, f"Group {gid} is not a consumer group.")
        if epoch in (-1, -2):
            if group is not None and mid in group.members:
                group.remove_member(mid)
                self._retarget(group)
            return {**_error(ErrorCode.NONE, None), "MemberId": mid, "MemberEpoch": epoch}
        if epoch == 0:
            if req.api_version >= 1 and not mid:
                return _error(ErrorCode.INVALID_REQUEST, "MemberId can't be empty.")
            if (b["RebalanceTimeoutMs"] or -1) <= 0:
                return _error(ErrorCode.INVALID_REQUEST, "RebalanceTimeoutMs must be provided in first request.")
            if b["SubscribedTopicNames"] is None:
                return _error(ErrorCode.INVALID_REQUEST, "SubscribedTopicNames must be set in first request.")
            group = groups.get(gid)
            group.consumer_protocol = True
            self.names.add(gid)
            group.protocol_type = "consumer"
            mid = mid or str(uuid.uuid4())
            old = group.members.get(mid)
            m = Member(mid, client_id=req.client_id or "", client_host=session.peer_host,
                       group_instance_id=b["InstanceId"], protocol_type="consumer")
            if old is not None:  # a rejoin after an error keeps nothing it held
                group.remove_member(mid)
            group.add_member(m)
        else:
            found = group.members.get(mid) if group is not None else None
            if found is None or group is None:
                return _error(ErrorCode.UNKNOWN_MEMBER_ID, f"Member {mid} is not a member of group {gid}.")
            m = found
            if epoch != m.kip848.epoch:
                return _error(FENCED_MEMBER_EPOCH, f"The consumer group member has a smaller member epoch "
                              f"({epoch}) than the one known by the group coordinator ({m.kip848.epoch}).")
        m.last_heartbeat = self._now()
        if b["SubscribedTopicNames"] is not None:
            m.kip848.topics = sorted(set(b["SubscribedTopicNames"]))
        if b["TopicPartitions"] is not None:
            m.kip848.owned = self._names(b["TopicPartitions"])
        self._retarget(group)
        self._reconcile(group, m)
        out = {**_error(ErrorCode.NONE, None), "MemberId": mid, "MemberEpoch": m.kip848.epoch}
        assigned = m.kip848.assigned
        if assigned != m.kip848.sent or epoch == 0 or b["TopicPartitions"] is not None:
            m.kip848.sent = set(assigned)
            out["Assignment"] = {"TopicPartitions": self._ids(assigned)}
        return out

    def _names(self, rows: list[dict[str, Any]]) -> set[TP]:
        by_id = {s.id: s.name for s in (find_topic(self.fe.core, n) for n in self.fe.core.list_streams()) if s}
        return {(by_id[r["TopicId"]], p) for r in rows if r["TopicId"] in by_id for p in r["Partitions"]}

    def _ids(self, tps: set[TP]) -> list[dict[str, Any]]:
        by_topic: dict[str, list[int]] = {}
        for topic, p in sorted(tps):
            by_topic.setdefault(topic, []).append(p)
        out = []
        for topic, parts in by_topic.items():
            stream = find_topic(self.fe.core, topic)
            if stream is not None:
                out.append({"TopicId": stream.id, "Partitions": parts})
        return out

    def check_commit(self, group: KafkaGroup, epoch: int, member_id: str) -> int:
        m = group.members.get(member_id)
        if m is None:
            return ErrorCode.UNKNOWN_MEMBER_ID
        if epoch != m.kip848.epoch:
            return STALE_MEMBER_EPOCH
        m.last_heartbeat = self._now()
        return ErrorCode.NONE

    def tick(self) -> None:
        """Remove members whose session expired (called by the coordinator's ticker)."""
        now, groups = self._now(), self.groups
        for name in list(self.names):
            group = groups.find(name)
            if group is None or not group.consumer_protocol:
                self.names.discard(name)
                continue
            expired = [mid for mid, m in group.members.items() if now - m.last_heartbeat > self.session_s]
            for mid in expired:
                group.remove_member(mid)
            if expired:
                self._retarget(group)


def _error(code: int, message: str | None) -> dict[str, Any]:
    return {"ThrottleTimeMs": 0, "ErrorCode": code, "ErrorMessage": message, "MemberId": None,
            "MemberEpoch": -1, "HeartbeatIntervalMs": 0, "Assignment": None}


async def consumer_group_heartbeat(fe: Any, session: Any, req: Request) -> dict[str, Any]:
    """ConsumerGroupHeartbeat: join, stay, reconcile or leave a KIP-848 group."""
    out: dict[str, Any] = fe.coordinator.kip848.heartbeat(session, req)
    if out["ErrorCode"] == 0:
        out["HeartbeatIntervalMs"] = fe.coordinator.kip848.interval_ms
    return out


APIS = {68: (0, 1, consumer_group_heartbeat)}
