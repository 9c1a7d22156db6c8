"""The classic group coordinator behind JoinGroup, SyncGroup, Heartbeat and LeaveGroup.

Implements the classic rebalance protocol (Kafka `GroupCoordinator`, KIP-62, KIP-345,
KIP-394). It owns the groups' live membership (`membership.KafkaGroup`: members, leader,
state, pending joins and syncs); the generation and protocol are durable in core's
`ConsumerGroup`, as are committed offsets:

- A join moves a group to PreparingRebalance; the rebalance completes when every
  known member has rejoined, or at the rebalance timeout (the largest of the members'),
  when members that did not rejoin are removed. An empty group's first rebalance waits
  `group.initial.rebalance.delay.ms` (3000, `settings.kafka_initial_rebalance_delay_ms`)
  for more members, each newcomer extending the
  wait by that delay, up to the rebalance timeout.
- Completion bumps the generation, picks the protocol every member supports (most
  first-choice votes), keeps or elects the leader; the leader's JoinGroup response
  lists the members and their metadata. State CompletingRebalance until the leader's
  SyncGroup brings the assignments; then Stable, and every SyncGroup gets its member's
  assignment.
- A known member rejoining with unchanged metadata gets the current generation back
  without a rebalance when the group is Stable (unless it is the leader) or
  CompletingRebalance (the leader then with the member list).
- JoinGroup v4+ without a member id answers MEMBER_ID_REQUIRED with a new id (KIP-394);
  an unknown member id is UNKNOWN_MEMBER_ID; a stale generation ILLEGAL_GENERATION;
  heartbeats and syncs during a rebalance get REBALANCE_IN_PROGRESS.
- Static membership (`group.instance.id`, KIP-345): a known instance rejoining with no
  member id takes over its old member's place (the old id is fenced:
  FENCED_INSTANCE_ID); in a Stable group whose selected protocol it still supports it
  resumes the current generation without a rebalance (also as the leader).
- A member without a heartbeat for its session timeout is removed and the group
  rebalances. Session timeouts must lie within [group.min.session.timeout.ms (6000),
  group.max.session.timeout.ms (1800000)] (`settings.kafka_group_*_session_timeout_ms`), else
  INVALID_SESSION_TIMEOUT.

Time comes from `core.clock.monotonic()` (injectable); a ticker checks deadlines.
Concurrency: the server's event loop; JoinGroup and a follower's SyncGroup await
futures completed by other members' requests or the ticker.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import TYPE_CHECKING, Any

from mqlite.protocols.kafka.codec import Request
from mqlite.protocols.kafka.errors import ErrorCode
from mqlite.protocols.kafka.handlers.consumer_protocol import (
    ConsumerProtocol,
    is_consumer_group,
)
from mqlite.protocols.kafka.handlers.membership import (
    GroupState,
    KafkaGroup,
    Member,
    Memberships,
)

if TYPE_CHECKING:  # pragma: no cover
    from mqlite.protocols.kafka.frontend import KafkaFrontEnd, Session

log = logging.getLogger("mqlite.kafka.groups")

TICK = 0.05


def _join_error(code: int, member_id: str = "") -> dict[str, Any]:
    return {"ThrottleTimeMs": 0, "ErrorCode": code, "GenerationId": -1, "ProtocolType": None,
            "ProtocolName": None, "Leader": "", "MemberId": member_id, "Members": []}


def _sync_result(code: int, assignment: bytes = b"", group: KafkaGroup | None = None) -> dict[str, Any]:
    return {"ThrottleTimeMs": 0, "ErrorCode": code,
            "ProtocolType": group.protocol_type if group is not None else None,
            "ProtocolName": group.protocol if group is not None else None, "Assignment": assignment}


class Coordinator:
    """The group coordinator of node 0; see module docstring."""

    def __init__(self, fe: KafkaFrontEnd) -> None:
        self.fe = fe
        settings = fe.settings
        self.initial_delay = settings.kafka_initial_rebalance_delay_ms / 1000.0
        self.min_session = settings.kafka_group_min_session_timeout_ms
        self.max_session = settings.kafka_group_max_session_timeout_ms
        self.groups = Memberships(fe.core.groups)  # every group's live membership
        fe.core.groups.membership = self.groups  # what views read
        self.active: set[str] = set()  # classic groups with members or pending work
        self.kip848 = ConsumerProtocol(fe, self.groups)  # groups on KIP-848's protocol
        self._task: asyncio.Task[None] | None = None

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._ticker())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for group in self._active():
            self._fail_waiters(group, ErrorCode.COORDINATOR_NOT_AVAILABLE)

    def connection_closed(self, session: Session) -> None:
        """Kafka keeps members across disconnects; their session timeout removes them."""

    def _now(self) -> float:
        return float(self.fe.core.clock.monotonic())

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(TICK)
            try:
                self.tick()
            except Exception:  # never let one bad group stop the coordinator
                log.exception("group coordinator tick failed")

    # -- state helpers ----------------------------------------------------------------------
    def _x(self, group: KafkaGroup) -> KafkaGroup:
        """The group, marked active (for the ticker)."""
        self.active.add(group.name)
        return group

    def _active(self) -> list[KafkaGroup]:
        self.active = {n for n in self.active if self.groups.peek(n) is not None}
        return [g for g in map(self.groups.peek, list(self.active)) if g is not None]

    def _fail_waiters(self, group: KafkaGroup, code: int) -> None:
        x = self._x(group)
        for mid, fut in list(x.joins.items()):
            if not fut.done():
                fut.set_result(_join_error(code, mid))
        x.joins.clear()
        for fut in list(x.syncs.values()):
            if not fut.done():
                fut.set_result(_sync_result(code))
        x.syncs.clear()

    def _prepare_rebalance(self, group: KafkaGroup) -> None:
        x = self._x(group)
        now = self._now()
        for fut in list(x.syncs.values()):
            if not fut.done():
                fut.set_result(_sync_result(ErrorCode.REBALANCE_IN_PROGRESS, b"", group))
        x.syncs.clear()
        timeout = max((m.rebalance_timeout_ms for m in group.members.values()), default=0) / 1000.0
        if group.state is GroupState.EMPTY and self.initial_delay > 0:
            x.initial_until = now + min(self.initial_delay, timeout or self.initial_delay)
        group.state = GroupState.PREPARING_REBALANCE
        x.deadline = now + timeout

    def _maybe_complete(self, group: KafkaGroup) -> None:
        if group.state is not GroupState.PREPARING_REBALANCE:
            return
        x = self._x(group)
        until = x.initial_until
        if until is not None and self._now() < until:
            return
        if all(mid in x.joins for mid in group.members):
            self._complete_join(group)

    def _remove(self, group: KafkaGroup, member_id: str) -> None:
        x = self._x(group)
        before = group.state
        member = group.remove_member(member_id)
        if not group.members:
            group.state = before  # remove_member marks it Empty; `_member_left` settles it as Kafka does
        instance = member.group_instance_id if member is not None else None
        if instance and x.instances.get(instance) == member_id:
            del x.instances[instance]
        fut = x.joins.pop(member_id, None)
        if fut is not None and not fut.done():
            fut.set_result(_join_error(ErrorCode.UNKNOWN_MEMBER_ID, member_id))
        fut = x.syncs.pop(member_id, None)
        if fut is not None and not fut.done():
            fut.set_result(_sync_result(ErrorCode.UNKNOWN_MEMBER_ID))

    def _member_left(self, group: KafkaGroup) -> None:
        """After removals: rebalance the rest, or settle an emptied group."""
        if group.members:
            if group.state in (GroupState.STABLE, GroupState.COMPLETING_REBALANCE):
                self._prepare_rebalance(group)
            self._maybe_complete(group)
        elif group.state is not GroupState.EMPTY:
            self._x(group).deadline = None
            group.leader = None
            group.next_generation(group.protocol_type, None)
            group.state = GroupState.EMPTY

    def _complete_join(self, group: KafkaGroup) -> None:
        x = self._x(group)
        x.deadline = None
        x.initial_until = None
        for mid in [m for m in group.members if m not in x.joins]:
            self._remove(group, mid)
        if not group.members:
            group.leader = None
            group.next_generation(group.protocol_type, None)
            group.state = GroupState.EMPTY
            return
        members = list(group.members.values())
        common = {name for name, _ in members[0].protocols}
        for m in members[1:]:
            common &= {name for name, _ in m.protocols}
        votes: dict[str, int] = {}
        for m in members:
            for name, _ in m.protocols:
                if name in common:
                    votes[name] = votes.get(name, 0) + 1
                    break
        order = [name for name, _ in members[0].protocols if name in common]
        protocol = max(order, key=lambda n: votes.get(n, 0)) if order else None
        if group.leader not in group.members:
            group.leader = members[0].member_id
        generation = group.next_generation(members[0].protocol_type, protocol)
        group.state = GroupState.COMPLETING_REBALANCE
        now = self._now()
        listing = [
            {"MemberId": m.member_id, "GroupInstanceId": m.group_instance_id,
             "Metadata": dict(m.protocols).get(protocol or "", b"")}
            for m in members
        ]
        joins, x.joins = x.joins, {}
        for m in members:
            m.assignment = b""
            m.last_heartbeat = now
            fut = joins.get(m.member_id)
            if fut is None or fut.done():
                continue
            fut.set_result({
                "ThrottleTimeMs": 0, "ErrorCode": 0, "GenerationId": generation,
                "ProtocolType": group.protocol_type, "ProtocolName": protocol, "Leader": group.leader,
                "SkipAssignment": False, "MemberId": m.member_id,
                "Members": listing if m.member_id == group.leader else [],
            })

    def tick(self) -> None:
        """Expire sessions and rebalance deadlines (called by the ticker)."""
        now = self._now()
        for group in self._active():
            x, name = group, group.name
            for pid, expires in list(x.pending.items()):
                if now >= expires:
                    del x.pending[pid]
            expired = [
                m.member_id for m in group.members.values()
                if m.member_id not in x.joins and m.member_id not in x.syncs
                and now - m.last_heartbeat > m.session_timeout_ms / 1000.0
            ]
            for mid in expired:
                log.info("group %s: member %s session expired", name, mid)
                self._remove(group, mid)
            if expired:
                self._member_left(group)
            if group.state is GroupState.PREPARING_REBALANCE:
                deadline = x.deadline
                until = x.initial_until
                if until is not None and now >= until:
                    x.initial_until = None
                    self._maybe_complete(group)
                if group.state is GroupState.PREPARING_REBALANCE and deadline is not None and now >= deadline:
                    self._complete_join(group)
            if not group.members and not x.pending and group.state is GroupState.EMPTY:
                self.active.discard(name)
        self.kip848.tick()

    # -- checks used by OffsetCommit --------------------------------------------------------
    def check_commit(self, group_id: str, generation: int, member_id: str, instance_id: str | None) -> int:
        if not group_id:
            return ErrorCode.INVALID_GROUP_ID
        group = self.groups.find(group_id)
        if group is not None and is_consumer_group(group):
            return self.kip848.check_commit(group, generation, member_id)
        if group is None or not group.members:
            if generation < 0 and not member_id:
                return 0
            return ErrorCode.UNKNOWN_MEMBER_ID if member_id or group is None else ErrorCode.ILLEGAL_GENERATION
        if member_id not in group.members:
            return ErrorCode.UNKNOWN_MEMBER_ID
        if generation != group.generation:
            return ErrorCode.ILLEGAL_GENERATION
        if group.state is GroupState.COMPLETING_REBALANCE:
            return ErrorCode.REBALANCE_IN_PROGRESS
        group.members[member_id].last_heartbeat = self._now()
        return 0

    # -- JoinGroup ----------------------------------------------------------------------------
    async def join(self, session: Session, req: Request) -> dict[str, Any]:
        b = req.body
        gid = b["GroupId"]
        if not gid:
            return _join_error(ErrorCode.INVALID_GROUP_ID)
        session_ms = b["SessionTimeoutMs"]
        rebalance_ms = b["RebalanceTimeoutMs"] if req.api_version >= 1 and b["RebalanceTimeoutMs"] > 0 else session_ms
        member_id = b["MemberId"] or ""
        if not self.min_session <= session_ms <= self.max_session:
            return _join_error(ErrorCode.INVALID_SESSION_TIMEOUT, member_id)
        protocols = [(p["Name"], p["Metadata"] or b"") for p in b["Protocols"]]
        ptype = b["ProtocolType"]
        if is_consumer_group(self.groups.find(gid)):  # KIP-848 members hold it
            return _join_error(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, member_id)
        group = self.groups.get(gid)
        x = self._x(group)
        if not protocols or not ptype:
            return _join_error(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, member_id)
        others = [m for mid, m in group.members.items() if mid != member_id]
        if others:
            names = {n for n, _ in protocols}
            for m in others:
                names &= {n for n, _ in m.protocols}
            if group.protocol_type not in (None, ptype) or not names:
                return _join_error(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, member_id)
        instance = b["GroupInstanceId"]
        now = self._now()
        client_id = req.client_id or ""
        if not member_id:
            new_id = f"{client_id or 'member'}-{uuid.uuid4()}"
            if instance:
                old_id = x.instances.get(instance)
                if old_id is not None and old_id in group.members:
                    return await self._static_rejoin(group, old_id, new_id, instance, protocols, session_ms,
                                                     rebalance_ms)
            elif req.api_version >= 4:
                x.pending[new_id] = now + session_ms / 1000.0
                return _join_error(ErrorCode.MEMBER_ID_REQUIRED, new_id)
            member_id = new_id
            member = group.add_member(Member(member_id, client_id, session.peer_host, instance))
            if instance:
                x.instances[instance] = member_id
        elif member_id in group.members:
            member = group.members[member_id]
            if instance and x.instances.get(instance) != member_id:
                return _join_error(ErrorCode.FENCED_INSTANCE_ID, member_id)
            unchanged = member.protocols == protocols and member.protocol_type == ptype
            is_leader = group.leader == member_id
            if unchanged and (
                group.state is GroupState.COMPLETING_REBALANCE
                or (group.state is GroupState.STABLE and not is_leader)
            ):
                # Kafka: a known member rejoining with the same metadata gets the current
                # generation back (the leader, during CompletingRebalance, with the list).
                member.last_heartbeat = now
                return self._current(group, member_id, with_members=is_leader)
        elif member_id in x.pending:
            del x.pending[member_id]
            member = group.add_member(Member(member_id, client_id, session.peer_host, instance))
            if instance:
                x.instances[instance] = member_id
        else:
            return _join_error(ErrorCode.UNKNOWN_MEMBER_ID, member_id)
        member.session_timeout_ms = session_ms
        member.rebalance_timeout_ms = rebalance_ms
        member.protocol_type = ptype
        member.protocols = protocols
        member.last_heartbeat = now
        if group.protocol_type is None or not others:
            group.protocol_type = ptype
        old = x.joins.pop(member_id, None)
        if old is not None and not old.done():
            old.set_result(_join_error(ErrorCode.UNKNOWN_MEMBER_ID, member_id))
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        x.joins[member_id] = fut
        if group.state is not GroupState.PREPARING_REBALANCE:
            self._prepare_rebalance(group)
        elif x.initial_until is not None:
            # Kafka's InitialDelayedJoin: each newcomer extends the initial delay, up to
            # the rebalance timeout.
            extended = now + self.initial_delay
            x.initial_until = min(extended, x.deadline) if x.deadline is not None else extended
        self._maybe_complete(group)
        return await fut

    def _current(self, group: KafkaGroup, member_id: str, with_members: bool) -> dict[str, Any]:
        """The JoinGroup answer for the current generation, without a rebalance."""
        listing = [
            {"MemberId": m.member_id, "GroupInstanceId": m.group_instance_id,
             "Metadata": dict(m.protocols).get(group.protocol or "", b"")}
            for m in group.members.values()
        ] if with_members else []
        return {"ThrottleTimeMs": 0, "ErrorCode": 0, "GenerationId": group.generation,
                "ProtocolType": group.protocol_type, "ProtocolName": group.protocol,
                "Leader": group.leader, "SkipAssignment": False, "MemberId": member_id, "Members": listing}

    async def _static_rejoin(self, group: KafkaGroup, old_id: str, new_id: str, instance: str,
                             protocols: list[tuple[str, bytes]], session_ms: int, rebalance_ms: int
                             ) -> dict[str, Any]:
        x = self._x(group)
        member = group.members.pop(old_id)
        for table in (x.joins, x.syncs):
            fut = table.pop(old_id, None)
            if fut is not None and not fut.done():
                fut.set_result(_join_error(ErrorCode.FENCED_INSTANCE_ID, old_id) if table is x.joins
                               else _sync_result(ErrorCode.FENCED_INSTANCE_ID))
        member.member_id = new_id
        group.members[new_id] = member
        x.instances[instance] = new_id
        if group.leader == old_id:
            group.leader = new_id
        member.protocols = protocols
        member.session_timeout_ms = session_ms
        member.rebalance_timeout_ms = rebalance_ms
        member.last_heartbeat = self._now()
        if group.state is GroupState.STABLE and group.protocol in {name for name, _ in protocols}:
            # Kafka (KIP-345): the selected protocol does not change, so no rebalance;
            # the member (even the leader) resumes the current generation and gets its
            # stored assignment from SyncGroup.
            return self._current(group, new_id, with_members=False)
        return await self._rejoin_wait(group, new_id)

    async def _rejoin_wait(self, group: KafkaGroup, member_id: str) -> dict[str, Any]:
        x = self._x(group)
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        x.joins[member_id] = fut
        if group.state is not GroupState.PREPARING_REBALANCE:
            self._prepare_rebalance(group)
        self._maybe_complete(group)
        return await fut

    # -- SyncGroup ------------------------------------------------------------------------------
    async def sync(self, session: Session, req: Request) -> dict[str, Any]:
        b = req.body
        group = self.groups.find(b["GroupId"]) if b["GroupId"] else None
        member_id = b["MemberId"]
        if group is None or member_id not in group.members:
            return _sync_result(ErrorCode.UNKNOWN_MEMBER_ID)
        x = self._x(group)
        instance = b["GroupInstanceId"]
        if instance and x.instances.get(instance) != member_id:
            return _sync_result(ErrorCode.FENCED_INSTANCE_ID)
        if b["GenerationId"] != group.generation:
            return _sync_result(ErrorCode.ILLEGAL_GENERATION)
        if (b["ProtocolType"] and b["ProtocolType"] != group.protocol_type) or (
            b["ProtocolName"] and b["ProtocolName"] != group.protocol
        ):
            return _sync_result(ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
        member = group.members[member_id]
        member.last_heartbeat = self._now()
        if group.state is GroupState.PREPARING_REBALANCE:
            return _sync_result(ErrorCode.REBALANCE_IN_PROGRESS, b"", group)
        if group.state is GroupState.STABLE:
            return _sync_result(0, member.assignment, group)
        if member_id == group.leader:
            given = {a["MemberId"]: a["Assignment"] or b"" for a in b["Assignments"]}
            for mid, m in group.members.items():
                m.assignment = given.get(mid, b"")
            group.state = GroupState.STABLE
            syncs, x.syncs = x.syncs, {}
            for mid, fut in syncs.items():
                if not fut.done() and mid in group.members:
                    fut.set_result(_sync_result(0, group.members[mid].assignment, group))
            return _sync_result(0, member.assignment, group)
        old = x.syncs.pop(member_id, None)
        if old is not None and not old.done():
            old.set_result(_sync_result(ErrorCode.REBALANCE_IN_PROGRESS))
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        x.syncs[member_id] = waiter
        return await waiter

    # -- Heartbeat / LeaveGroup --------------------------------------------------------------------
    def heartbeat(self, req: Request) -> int:
        b = req.body
        group = self.groups.find(b["GroupId"]) if b["GroupId"] else None
        member_id = b["MemberId"]
        if group is None or member_id not in group.members:
            return ErrorCode.UNKNOWN_MEMBER_ID
        x = self._x(group)
        instance = b["GroupInstanceId"]
        if instance and x.instances.get(instance) != member_id:
            return ErrorCode.FENCED_INSTANCE_ID
        if b["GenerationId"] != group.generation:
            return ErrorCode.ILLEGAL_GENERATION
        group.members[member_id].last_heartbeat = self._now()
        if group.state is GroupState.PREPARING_REBALANCE:
            return ErrorCode.REBALANCE_IN_PROGRESS
        return 0

    def leave(self, group_id: str, members: list[tuple[str, str | None]]) -> tuple[int, list[dict[str, Any]]]:
        group = self.groups.find(group_id) if group_id else None
        results = []
        if group is None:
            return ErrorCode.UNKNOWN_MEMBER_ID, [
                {"MemberId": mid, "GroupInstanceId": inst, "ErrorCode": ErrorCode.UNKNOWN_MEMBER_ID}
                for mid, inst in members
            ]
        x = self._x(group)
        removed = False
        top = 0
        for mid, inst in members:
            if not mid and inst:
                mid = x.instances.get(inst, "")
            if mid in group.members:
                if inst and x.instances.get(inst) not in (None, mid):
                    results.append({"MemberId": mid, "GroupInstanceId": inst, "ErrorCode": ErrorCode.FENCED_INSTANCE_ID})
                    continue
                self._remove(group, mid)
                removed = True
                results.append({"MemberId": mid, "GroupInstanceId": inst, "ErrorCode": 0})
            else:
                results.append({"MemberId": mid, "GroupInstanceId": inst, "ErrorCode": ErrorCode.UNKNOWN_MEMBER_ID})
                top = top or ErrorCode.UNKNOWN_MEMBER_ID
        if removed:
            self._member_left(group)
        return (top if len(members) == 1 else 0), results
