"""ShareGroupHeartbeat (KIP-932): membership of Kafka share groups, and share sessions.

Apache Kafka `GroupMetadataManager.shareGroupHeartbeat`, `ShareSessionCache`:
- MemberEpoch 0 joins with the member id the client made (an empty id or no
  subscription on join is INVALID_REQUEST); -1 leaves (its leases are released); any
  other epoch needs a known member (UNKNOWN_MEMBER_ID) at its epoch (FENCED_MEMBER_EPOCH);
- every member is assigned every partition of the topics it subscribes to: records, not
  partitions, are what members split (core `share_groups`: leases);
- a member without a heartbeat for `kafka_consumer_session_timeout_ms` is removed and
  its leases released;
- share sessions (ShareFetch / ShareAcknowledge `ShareSessionEpoch`): 0 opens one, -1
  closes it (releasing the member's leases), any other epoch must be the session's next
  (INVALID_SHARE_SESSION_EPOCH), and needs an open session (SHARE_SESSION_NOT_FOUND).
Membership and sessions live in memory (clients re-join after a restart); the records'
state is core's. Concurrency: the server's event loop; nothing here awaits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mqlite.core.share_groups import share_state
from mqlite.protocols.kafka.codec import Request
from mqlite.protocols.kafka.errors import ErrorCode
from mqlite.protocols.kafka.handlers.topics import find_topic, permitted

FENCED_MEMBER_EPOCH = 110
INVALID_RECORD_STATE = 121
SHARE_SESSION_NOT_FOUND = 122
INVALID_SHARE_SESSION_EPOCH = 123


@dataclass
class ShareMember:
    epoch: int
    topics: list[str]
    seen: float
    client: tuple[str, str] = ("", "")  # client id, client host (ShareGroupDescribe)
    session: int | None = None  # the next ShareSessionEpoch expected; None: no session
    fetching: set[tuple[str, int]] = field(default_factory=set)  # (topic id, partition) in the session


@dataclass
class ShareGroup:
    epoch: int = 0
    members: dict[str, ShareMember] = field(default_factory=dict)


class ShareGroups:
    """Share-group membership and share sessions of one Kafka front-end."""

    def __init__(self, fe: Any) -> None:
        self.fe = fe
        self.groups: dict[str, ShareGroup] = {}
        self.state = share_state(fe.core, fe.settings.kafka_share_auto_offset_reset == "earliest")
        self.session_s = fe.settings.kafka_consumer_session_timeout_ms / 1000.0
        self.lock_s = fe.settings.kafka_share_record_lock_duration_ms / 1000.0
        self.max_count = fe.settings.kafka_share_delivery_count_limit

    def now(self) -> float:
        return float(self.fe.core.clock.monotonic())

    def release(self, group: str, member: str) -> None:
        """Give back every record `member` holds in `group`'s partitions."""
        for sid, p, sp in self.state.of_group(group):
            if sp.expire(0.0, self.max_count, member):
                self._save(group, sid, p)

    def _save(self, group: str, stream_id: str, p: int) -> None:
        stream = next((s for n in self.fe.core.list_streams() if (s := find_topic(self.fe.core, n)) and str(s.id) == stream_id), None)
        if stream is not None:
            self.state.save(group, stream, p)

    def _expire_members(self, name: str, g: ShareGroup) -> None:
        now = self.now()
        for mid in [m for m, x in g.members.items() if now - x.seen > self.session_s]:
            del g.members[mid]
            g.epoch += 1
            self.release(name, mid)

    def _assignment(self, m: ShareMember) -> dict[str, Any]:
        parts = []
        for topic in sorted(set(m.topics)):
            stream = find_topic(self.fe.core, topic)
            if stream is not None:
                parts.append({"TopicId": stream.id, "Partitions": list(range(stream.partition_count))})
        return {"TopicPartitions": parts}

    def heartbeat(self, req: Request, host: str = "") -> dict[str, Any]:
        body = req.body
        name, mid, epoch = body["GroupId"], body["MemberId"] or "", body["MemberEpoch"]
        topics = body.get("SubscribedTopicNames")
        if not name:
            return _error(ErrorCode.INVALID_REQUEST, "GroupId can't be empty.")
        if not mid:
            return _error(ErrorCode.INVALID_REQUEST, "MemberId can't be empty.")
        g = self.groups.setdefault(name, ShareGroup())
        self._expire_members(name, g)
        m = g.members.get(mid)
        if epoch == -1:
            if m is not None:
                del g.members[mid]
                g.epoch += 1
                self.release(name, mid)
            return {**_error(ErrorCode.NONE, None), "MemberId": mid, "MemberEpoch": -1}
        if epoch == 0:
            if not topics:
                return _error(ErrorCode.INVALID_REQUEST, "SubscribedTopicNames must be set in first request.")
            g.epoch += 1
            m = g.members[mid] = ShareMember(g.epoch, list(topics), self.now(), (req.client_id or "", "/" + host))
        elif m is None:
            return _error(ErrorCode.UNKNOWN_MEMBER_ID, f"Member {mid} is not a member of group {name}.")
        elif epoch != m.epoch:
            return _error(FENCED_MEMBER_EPOCH, f"The share group member has a smaller member epoch ({epoch}) than the one known by the group coordinator ({m.epoch}).")
        m.seen = self.now()
        if topics is not None and list(topics) != m.topics:
            m.topics = list(topics)
            g.epoch += 1
        m.epoch = g.epoch
        return {"ThrottleTimeMs": 0, "ErrorCode": 0, "ErrorMessage": None, "MemberId": mid, "MemberEpoch": m.epoch,
                "HeartbeatIntervalMs": self.fe.settings.kafka_consumer_heartbeat_interval_ms,
                "Assignment": self._assignment(m)}

    def session(self, name: str | None, mid: str | None, epoch: int, final_ok: bool = True) -> tuple[int, str | None, ShareMember | None]:
        """Check (and advance) the share session of a ShareFetch/ShareAcknowledge:
        (error code, message, member)."""
        g = self.groups.get(name or "")
        m = g.members.get(mid or "") if g is not None else None
        if m is None:
            return ErrorCode.UNKNOWN_MEMBER_ID, f"Member {mid} is not a member of share group {name}.", None
        m.seen = self.now()
        if epoch == 0:
            m.session, m.fetching = 1, set()
            return ErrorCode.NONE, None, m
        if m.session is None:
            return SHARE_SESSION_NOT_FOUND, "The share session was not found.", None
        if epoch == -1:
            m.session = None
            return ErrorCode.NONE, None, m
        if epoch != m.session:
            return INVALID_SHARE_SESSION_EPOCH, "The share session epoch is invalid.", None
        m.session = 1 if epoch == 0x7FFFFFFF else epoch + 1
        return ErrorCode.NONE, None, m


def _describe(fe: Any, sg: ShareGroups, name: str) -> dict[str, Any]:
    g = sg.groups.get(name)
    if g is None and name not in sg.state.groups():
        return {"ErrorCode": ErrorCode.GROUP_ID_NOT_FOUND, "ErrorMessage": f"Group {name} not found.",
                "GroupId": name, "GroupState": "Dead", "GroupEpoch": -1, "AssignmentEpoch": -1,
                "AssignorName": "", "Members": [], "AuthorizedOperations": -2147483648}
    g = g or ShareGroup()
    members = []
    for mid, m in sorted(g.members.items()):
        parts = sg._assignment(m)["TopicPartitions"]
        names = {s.id: s.name for t in m.topics if (s := find_topic(fe.core, t)) is not None}
        members.append({"MemberId": mid, "RackId": None, "MemberEpoch": m.epoch, "ClientId": m.client[0],
                        "ClientHost": m.client[1], "SubscribedTopicNames": m.topics,
                        "Assignment": {"TopicPartitions": [{**p, "TopicName": names[p["TopicId"]]} for p in parts]}})
    return {"ErrorCode": 0, "ErrorMessage": None, "GroupId": name, "GroupState": "Stable" if g.members else "Empty",
            "GroupEpoch": g.epoch, "AssignmentEpoch": g.epoch, "AssignorName": "simple", "Members": members,
            "AuthorizedOperations": -2147483648}


def share_group_rows(fe: Any, states: set[str]) -> list[dict[str, Any]]:
    """ListGroups rows of the share groups (GroupType `share`), filtered by lower-case state."""
    sg = share_groups(fe)
    rows = []
    for name in sorted(sg.state.groups() | set(sg.groups)):
        g = sg.groups.get(name)
        state = "Stable" if g is not None and g.members else "Empty"
        if not states or state.lower() in states:
            rows.append({"GroupId": name, "ProtocolType": "share", "GroupState": state, "GroupType": "share"})
    return rows


def _error(code: int, message: str | None) -> dict[str, Any]:
    return {"ThrottleTimeMs": 0, "ErrorCode": code, "ErrorMessage": message, "MemberId": None,
            "MemberEpoch": -1, "HeartbeatIntervalMs": 0, "Assignment": None}


def share_groups(fe: Any) -> ShareGroups:
    """The front-end's one `ShareGroups`, made on first use."""
    sg = getattr(fe, "share_groups", None)
    if sg is None:
        sg = fe.share_groups = ShareGroups(fe)
    return sg


async def share_group_heartbeat(fe: Any, session: Any, req: Request) -> dict[str, Any]:
    """ShareGroupHeartbeat: join, stay in or leave a share group."""
    if not permitted(fe, session, "read", "group", req.body["GroupId"]):
        return _error(ErrorCode.GROUP_AUTHORIZATION_FAILED, None)
    return share_groups(fe).heartbeat(req, session.peer_host)


async def share_group_describe(fe: Any, session: Any, req: Request) -> dict[str, Any]:
    """ShareGroupDescribe: state, epochs, members and assignments of share groups."""
    sg = share_groups(fe)
    out = []
    for name in req.body["GroupIds"]:
        if not permitted(fe, session, "read", "group", name):
            out.append({**_describe(fe, sg, ""), "GroupId": name, "ErrorCode": ErrorCode.GROUP_AUTHORIZATION_FAILED,
                        "ErrorMessage": None})
        else:
            out.append(_describe(fe, sg, name))
    return {"ThrottleTimeMs": 0, "Groups": out}


APIS = {76: (1, 1, share_group_heartbeat), 77: (1, 1, share_group_describe)}
