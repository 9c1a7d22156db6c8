"""Kafka group membership: members, leader, state and rebalance/assignment state per group.

The Kafka front-end's coordinator owns this (classic JoinGroup/SyncGroup/Heartbeat and
KIP-848's ConsumerGroupHeartbeat); core's `ConsumerGroup` keeps only what is durable
(committed offsets; generation, protocol type and protocol). A `KafkaGroup` joins the
two: membership fields here, the durable metadata read through to core's group.
`Memberships` is the registry, and the typed `core.groups.Membership` views read
(admin API, metrics). None of this is persisted: members rejoin after a restart.
Concurrency: the server's event loop.
"""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass, field
from typing import Any

from mqlite.core.api import ConsumerGroup, GroupStore, MemberSummary

TP = tuple[str, int]


class GroupState(enum.Enum):
    """Kafka's classic group states (values are Kafka's DescribeGroups strings)."""

    EMPTY = "Empty"
    PREPARING_REBALANCE = "PreparingRebalance"
    COMPLETING_REBALANCE = "CompletingRebalance"
    STABLE = "Stable"
    DEAD = "Dead"


@dataclass(slots=True)
class Reconciling:
    """A KIP-848 member's assignment state (`CurrentAssignmentBuilder`)."""

    topics: list[str] = field(default_factory=list)  # subscribed topic names
    assigned: set[TP] = field(default_factory=set)  # what the member may own now
    owned: set[TP] | None = None  # what its last heartbeat reported owning
    epoch: int = 0  # the member epoch
    sent: set[TP] | None = None  # the assignment last sent to it


@dataclass(slots=True)
class Member:
    """One group member, as the coordinator tracks it (mutable state holder)."""

    member_id: str
    client_id: str = ""
    client_host: str = ""
    group_instance_id: str | None = None
    session_timeout_ms: int = 45_000
    rebalance_timeout_ms: int = 300_000
    protocol_type: str = ""
    protocols: list[tuple[str, bytes]] = field(default_factory=list)
    assignment: bytes = b""
    last_heartbeat: float = 0.0  # clock.monotonic()
    kip848: Reconciling = field(default_factory=Reconciling)  # used by KIP-848 groups only


class KafkaGroup:
    """One group's live membership, over core's durable `ConsumerGroup` (`durable`)."""

    def __init__(self, durable: ConsumerGroup) -> None:
        self.durable = durable
        self.name = durable.name
        self.members: dict[str, Member] = {}
        self.leader: str | None = None
        self.state = GroupState.EMPTY
        # classic rebalance state
        self.joins: dict[str, asyncio.Future[dict[str, Any]]] = {}  # JoinGroups waiting
        self.syncs: dict[str, asyncio.Future[dict[str, Any]]] = {}  # followers' SyncGroups waiting
        self.pending: dict[str, float] = {}  # KIP-394 member ids handed out -> expiry
        self.instances: dict[str, str] = {}  # static group.instance.id -> member id
        self.deadline: float | None = None  # rebalance timeout
        self.initial_until: float | None = None  # group.initial.rebalance.delay.ms
        # KIP-848 state
        self.consumer_protocol = False  # the group uses KIP-848's protocol
        self.target: dict[str, set[TP]] | None = None  # member id -> target assignment

    # -- durable metadata, core's -----------------------------------------------------------
    @property
    def generation(self) -> int:
        return self.durable.generation

    @generation.setter
    def generation(self, value: int) -> None:
        self.durable.generation = value

    @property
    def protocol_type(self) -> str | None:
        return self.durable.protocol_type

    @protocol_type.setter
    def protocol_type(self, value: str | None) -> None:
        self.durable.protocol_type = value

    @property
    def protocol(self) -> str | None:
        return self.durable.protocol

    def next_generation(self, protocol_type: str | None, protocol: str | None) -> int:
        return self.durable.next_generation(protocol_type, protocol)

    # -- members ---------------------------------------------------------------------------
    def add_member(self, member: Member) -> Member:
        self.members[member.member_id] = member
        if self.leader is None:
            self.leader = member.member_id
        return member

    def remove_member(self, member_id: str) -> Member | None:
        member = self.members.pop(member_id, None)
        if self.leader == member_id:
            self.leader = next(iter(self.members), None)
        if not self.members and self.state is not GroupState.DEAD:
            self.state = GroupState.EMPTY
        return member


class Memberships:
    """Every group's `KafkaGroup`; implements core's `Membership` for views."""

    def __init__(self, store: GroupStore) -> None:
        self.store = store
        self._groups: dict[str, KafkaGroup] = {}

    def _wrap(self, durable: ConsumerGroup) -> KafkaGroup:
        group = self._groups.get(durable.name)
        if group is None or group.durable is not durable:
            group = self._groups[durable.name] = KafkaGroup(durable)
        return group

    def get(self, name: str) -> KafkaGroup:
        """The group, created (in memory) when new."""
        return self._wrap(self.store.get(name))

    def find(self, name: str) -> KafkaGroup | None:
        """The group if it exists (members, offsets or durable metadata)."""
        durable = self.store.find(name)
        return self._wrap(durable) if durable is not None else None

    def peek(self, name: str) -> KafkaGroup | None:
        """The group's membership if it has any (no lookup in core)."""
        return self._groups.get(name)

    # -- core's Membership ------------------------------------------------------------------
    def has_members(self, group: str) -> bool:
        g = self._groups.get(group)
        return bool(g is not None and g.members)

    def members(self, group: str) -> list[MemberSummary]:
        g = self._groups.get(group)
        return [MemberSummary(m.member_id, m.client_id, m.client_host)
                for m in (g.members.values() if g is not None else ())]

    def state(self, group: str) -> str:
        g = self._groups.get(group)
        return g.state.value if g is not None else GroupState.EMPTY.value

    def forget(self, group: str) -> None:
        g = self._groups.pop(group, None)
        if g is not None:
            g.state = GroupState.DEAD
            g.members.clear()
