"""Consumer groups: durable committed offsets and group metadata; live membership by interface.

Owns catalog entities of kind 'group' (config: {'generation', 'protocol_type',
'protocol'}) and one kv namespace per group, `offsets/<group>`, whose keys are
`<stream>\\x1f<partition>` and values `{'o': offset, 'm': metadata, 't': commit ms,
'e': leader epoch}`.

Invariants: `committed()` returns exactly what the last successful `commit()` for that
(stream, partition) stored, also after a restart (the catalog write is durable when
`commit()` returns); `commit_many()` is atomic. The group's durable metadata
(generation, protocol type, protocol; as Kafka's `__consumer_offsets` keeps it) is
stored here, written only by the Kafka group coordinator. Live membership (members,
leader, state, assignments) is not core's: the protocol that runs it (the Kafka
front-end's coordinator) keeps it and lends views a read-only `Membership`
(`GroupStore.membership`); members rejoin after a restart. Lag is latest offset minus committed offset (or minus the
earliest offset when nothing was committed).

A committed offset is stored as given, negative ones too, as Apache Kafka's group
coordinator does (`OffsetMetadataManager.commitOffset` validates the member, not the
value): kafkajs's `admin.resetOffsets` commits -2 (earliest) or -1 (latest) and its
consumers resolve them when they next join; `CommittedOffset.position` reads them so.

Concurrency: core's single event loop; no locks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from mqlite.core.catalog import Catalog
from mqlite.core.clock import Clock
from mqlite.core.errors import InvalidValue, NotFound

_SEP = "\x1f"
GROUP_KIND = "group"
LATEST = -1  # Kafka's special offsets, as clients commit them
EARLIEST = -2
_INT64 = 1 << 63


def _ns(group: str) -> str:
    return f"offsets/{group}"


@dataclass(frozen=True, slots=True)
class CommittedOffset:
    """A committed position: the next offset the group will consume."""

    offset: int
    metadata: str = ""
    commit_timestamp: int = 0  # ms
    leader_epoch: int = -1

    def position(self, earliest: int, latest: int) -> int:
        """The offset this commit stands for: -1 is the end (Kafka's LATEST), any other
        negative value the start (-2 is Kafka's EARLIEST)."""
        if self.offset >= 0:
            return max(self.offset, earliest)
        return latest if self.offset == LATEST else earliest


@dataclass(frozen=True, slots=True)
class MemberSummary:
    """What a view (admin API, metrics) may know of one live group member."""

    member_id: str
    client_id: str = ""
    client_host: str = ""


class Membership(Protocol):
    """Live membership of groups, kept by the protocol that runs them (read-only here)."""

    def has_members(self, group: str) -> bool: ...

    def members(self, group: str) -> list[MemberSummary]: ...

    def state(self, group: str) -> str: ...

    def forget(self, group: str) -> None:
        """The group was deleted: drop its live state."""


class NoMembership:
    """The `Membership` of a broker no group protocol runs on: nobody is a member."""

    def has_members(self, group: str) -> bool:
        return False

    def members(self, group: str) -> list[MemberSummary]:
        return []

    def state(self, group: str) -> str:
        return "Empty"

    def forget(self, group: str) -> None:
        return None


class ConsumerGroup:
    """One group: committed offsets and group metadata, both durable."""

    def __init__(self, store: GroupStore, name: str, saved: Mapping[str, Any] | None) -> None:
        self._store = store
        self.name = name
        self._persisted = saved is not None
        saved = saved or {}
        self.generation: int = int(saved.get("generation", 0))
        self.protocol_type: str | None = saved.get("protocol_type")
        self.protocol: str | None = saved.get("protocol")
        self._offsets: dict[tuple[str, int], CommittedOffset] = {}
        self._load_offsets()

    # -- offsets ----------------------------------------------------------------------
    def _load_offsets(self) -> None:
        for key, value in self._store.catalog.kv_items(_ns(self.name)):
            stream, _, part = key.rpartition(_SEP)
            self._offsets[(stream, int(part))] = CommittedOffset(
                int(value["o"]), value.get("m", ""), int(value.get("t", 0)), int(value.get("e", -1))
            )

    def _ensure_persisted(self) -> None:
        if not self._persisted:
            self._save_meta()

    def _save_meta(self) -> None:
        self._store.catalog.put_entity(
            GROUP_KIND,
            self.name,
            {"generation": self.generation, "protocol_type": self.protocol_type,
             "protocol": self.protocol},
        )
        self._persisted = True

    def commit(
        self, stream: str, partition: int, offset: int, metadata: str = "", leader_epoch: int = -1
    ) -> CommittedOffset:
        """Durably record `offset` (the next to consume) for (stream, partition)."""
        return self.commit_many({(stream, partition): (offset, metadata, leader_epoch)})[
            (stream, partition)
        ]

    def commit_many(
        self, offsets: Mapping[tuple[str, int], int | tuple[int, str] | tuple[int, str, int]]
    ) -> dict[tuple[str, int], CommittedOffset]:
        """Atomically commit several positions: {(stream, partition): offset | (offset,
        metadata) | (offset, metadata, leader_epoch)}."""
        now = self._store.clock.now_ms()
        done: dict[tuple[str, int], CommittedOffset] = {}
        for (stream, partition), spec in offsets.items():
            if isinstance(spec, tuple):
                offset, metadata, *rest = spec
                epoch = rest[0] if rest else -1
            else:
                offset, metadata, epoch = spec, "", -1
            if not isinstance(offset, int) or isinstance(offset, bool) or not -_INT64 <= offset < _INT64:
                raise InvalidValue("offset", f"committed offset must be a 64-bit integer, got {offset!r}")
            if not isinstance(partition, int) or partition < 0:
                raise InvalidValue("partition", f"partition must be >= 0, got {partition!r}")
            done[(stream, partition)] = CommittedOffset(offset, metadata or "", now, epoch)
        catalog = self._store.catalog
        with catalog.transaction():
            self._ensure_persisted()
            for (stream, partition), c in done.items():
                catalog.kv_put(
                    _ns(self.name),
                    f"{stream}{_SEP}{partition}",
                    {"o": c.offset, "m": c.metadata, "t": c.commit_timestamp, "e": c.leader_epoch},
                )
        self._offsets.update(done)
        return done

    def committed(self, stream: str, partition: int) -> CommittedOffset | None:
        return self._offsets.get((stream, partition))

    def offsets(self, stream: str | None = None) -> dict[tuple[str, int], CommittedOffset]:
        """Every committed position (of one stream when given), sorted."""
        return {
            k: v for k, v in sorted(self._offsets.items()) if stream is None or k[0] == stream
        }

    def streams(self) -> list[str]:
        return sorted({s for s, _ in self._offsets})

    def delete_offsets(self, stream: str, partitions: Iterable[int] | None = None) -> int:
        """Forget committed offsets of a stream (all partitions, or those given)."""
        keys = [
            k for k in self._offsets
            if k[0] == stream and (partitions is None or k[1] in set(partitions))
        ]
        catalog = self._store.catalog
        with catalog.transaction():
            for s, p in keys:
                catalog.kv_delete(_ns(self.name), f"{s}{_SEP}{p}")
        for k in keys:
            del self._offsets[k]
        return len(keys)

    def lag(self, stream: str) -> dict[int, int]:
        """Per partition of `stream`: records between the committed position and the end."""
        s = self._store.stream_lookup(stream)
        out: dict[int, int] = {}
        for p in range(s.partition_count):
            earliest, latest = s.earliest(p), s.latest(p)
            c = self._offsets.get((stream, p))
            base = c.position(earliest, latest) if c is not None else earliest
            out[p] = max(0, latest - base)
        return out

    # -- group metadata (written by the Kafka coordinator) ------------------------------
    def next_generation(self, protocol_type: str | None = None, protocol: str | None = None) -> int:
        """Start a new generation (after a rebalance); persisted with the protocol."""
        self.generation += 1
        if protocol_type is not None:
            self.protocol_type = protocol_type
        self.protocol = protocol
        self._save_meta()
        return self.generation

    @property
    def is_empty(self) -> bool:
        """No committed offsets and no live members."""
        return not self._offsets and not self._store.membership.has_members(self.name)

    def delete(self) -> None:
        """Delete the group: its offsets and metadata (Kafka DeleteGroups)."""
        self._store.delete(self.name)


class GroupStore:
    """All consumer groups; `get(name)` creates one (in memory until first written)."""

    def __init__(
        self, catalog: Catalog, clock: Clock, stream_lookup: Callable[[str], Any]
    ) -> None:
        self.catalog = catalog
        self.clock = clock
        self.stream_lookup = stream_lookup
        #: Live membership, set by the group protocol's front-end when it starts.
        self.membership: Membership = NoMembership()
        self._groups: dict[str, ConsumerGroup] = {}
        for name, saved in catalog.list_entities(GROUP_KIND):
            self._groups[name] = ConsumerGroup(self, name, saved or {"generation": 0})

    def get(self, name: str) -> ConsumerGroup:
        if not isinstance(name, str) or not name:
            raise InvalidValue("group", "group name must be a non-empty string", rule="group-id")
        group = self._groups.get(name)
        if group is None:
            group = self._groups[name] = ConsumerGroup(self, name, None)
        return group

    def find(self, name: str) -> ConsumerGroup | None:
        """The group if it has state (members, offsets or a persisted generation)."""
        group = self._groups.get(name)
        if group is None or (group.is_empty and not group._persisted):
            return None
        return group

    def require(self, name: str) -> ConsumerGroup:
        group = self.find(name)
        if group is None:
            raise NotFound("group", name)
        return group

    def list(self) -> list[str]:
        return sorted(n for n in self._groups if self.find(n) is not None)

    def delete(self, name: str) -> bool:
        group = self._groups.pop(name, None)
        with self.catalog.transaction():
            self.catalog.kv_delete(_ns(name))
            existed = self.catalog.delete_entity(GROUP_KIND, name)
        self.membership.forget(name)
        return existed or group is not None

    def forget_stream(self, stream: str) -> None:
        """Drop every group's offsets of a deleted stream."""
        for group in list(self._groups.values()):
            if any(s == stream for s, _ in group._offsets):
                group.delete_offsets(stream)
