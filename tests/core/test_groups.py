"""Consumer groups: durable committed offsets, membership state, lag (issue #3 section 2)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mqlite.core.broker import BrokerCore
from mqlite.core.catalog import Catalog
from mqlite.core.clock import ManualClock
from mqlite.core.config import CoreConfig
from mqlite.core.errors import InvalidValue, NotFound
from mqlite.core.groups import CommittedOffset, GroupStore, MemberSummary

CONFIG = CoreConfig(fsync="never", maintenance_interval=0)


def _store(catalog: Catalog | None = None, clock: ManualClock | None = None) -> GroupStore:
    def no_streams(name: str) -> None:
        raise NotFound("stream", name)

    return GroupStore(catalog or Catalog(None), clock or ManualClock(), no_streams)


def test_commit_then_committed_returns_offset_metadata_and_time() -> None:
    """Rule (Kafka OffsetCommit/OffsetFetch): a committed offset is returned with its
    metadata and commit timestamp; uncommitted partitions have none."""
    clock = ManualClock(start_ms=5_000)
    g = _store(clock=clock).get("g")
    assert g.committed("t", 0) is None
    g.commit("t", 0, 42, "m")
    assert g.committed("t", 0) == CommittedOffset(42, "m", 5_000, -1)
    assert g.committed("t", 1) is None


def test_a_later_commit_replaces_the_earlier_even_when_lower() -> None:
    """Rule (Kafka): a commit stores what the client sends; rewinding is allowed."""
    g = _store().get("g")
    g.commit("t", 0, 10)
    g.commit("t", 0, 3)
    assert g.committed("t", 0).offset == 3  # type: ignore[union-attr]


@pytest.mark.parametrize("offset", [1.5, "3", True, 1 << 63])
def test_invalid_offsets_are_refused_and_nothing_changes(offset: object) -> None:
    """Rule: a committed offset is a 64-bit integer (Kafka's INT64 field)."""
    g = _store().get("g")
    g.commit("t", 0, 1)
    with pytest.raises(InvalidValue):
        g.commit("t", 0, offset)  # type: ignore[arg-type]
    assert g.committed("t", 0).offset == 1  # type: ignore[union-attr]


@pytest.mark.parametrize("special", [-2, -1, -7])
def test_negative_offsets_are_stored_as_given(special: int) -> None:
    """Rule (Apache Kafka's OffsetMetadataManager.commitOffset): the coordinator stores
    the committed value as sent and OffsetFetch returns it; kafkajs's resetOffsets
    commits -2 (earliest) and -1 (latest)."""
    g = _store().get("g")
    g.commit("t", 0, special, "reset")
    assert (g.committed("t", 0).offset, g.committed("t", 0).metadata) == (special, "reset")  # type: ignore[union-attr]


def test_special_offsets_count_lag_from_where_they_point() -> None:
    """Rule: lag after a commit of -2 (earliest) is the whole partition, after -1
    (latest) nothing; other negative values count as earliest."""

    async def main() -> None:
        core = await BrokerCore.open(None, CONFIG)
        s = core.create_stream("t", partitions=3)
        for p in range(3):
            for _ in range(4):
                await s.append(b"x", partition=p)
        g = core.groups.get("g")
        g.commit_many({("t", 0): -2, ("t", 1): -1, ("t", 2): -5})
        assert g.lag("t") == {0: 4, 1: 0, 2: 4}
        await core.close()

    asyncio.run(main())


def test_commit_many_is_atomic() -> None:
    """Rule: an OffsetCommit request is applied whole or not at all."""
    g = _store().get("g")
    with pytest.raises(InvalidValue):
        g.commit_many({("t", 0): 5, ("t", 1): 2.5})  # type: ignore[dict-item]
    assert g.offsets() == {}
    g.commit_many({("t", 0): 5, ("t", 1): (6, "x"), ("u", 0): (7, "y", 3)})
    assert {k: v.offset for k, v in g.offsets().items()} == {("t", 0): 5, ("t", 1): 6, ("u", 0): 7}
    assert g.committed("u", 0).leader_epoch == 3  # type: ignore[union-attr]
    assert g.streams() == ["t", "u"]


def test_groups_with_no_state_are_not_listed_and_delete_forgets_everything() -> None:
    """Rule (Kafka ListGroups/DeleteGroups): groups with state are listed; delete drops it."""
    store = _store()
    store.get("idle")
    store.get("busy").commit("t", 0, 1)
    assert store.list() == ["busy"]
    with pytest.raises(NotFound):
        store.require("idle")
    assert store.delete("busy") is True
    assert store.list() == [] and store.get("busy").committed("t", 0) is None


class _Live:
    """A group protocol's membership, as a front-end lends it to core (one live group)."""

    def __init__(self) -> None:
        self.live: dict[str, list[MemberSummary]] = {}

    def has_members(self, group: str) -> bool:
        return bool(self.live.get(group))

    def members(self, group: str) -> list[MemberSummary]:
        return list(self.live.get(group, []))

    def state(self, group: str) -> str:
        return "Stable" if self.live.get(group) else "Empty"

    def forget(self, group: str) -> None:
        self.live.pop(group, None)


def test_live_members_make_a_group_exist_and_generation_is_durable_metadata() -> None:
    """Rule: core keeps the generation (persisted with the protocol); whether a group
    has live members comes from the protocol's `Membership`, and deleting the group
    tells it to forget them."""
    store = _store()
    assert store.membership.members("g") == [] and store.membership.state("g") == "Empty"
    live = store.membership = _Live()
    g = store.get("g")
    assert store.find("g") is None and g.generation == 0
    live.live["g"] = [MemberSummary("m1", "c1")]
    assert store.find("g") is g and store.list() == ["g"] and not g.is_empty
    assert g.next_generation("consumer", "range") == 1
    live.live["g"] = []
    assert store.list() == ["g"]  # a generation was persisted
    live.live["g"] = [MemberSummary("m2")]
    assert store.delete("g") is True
    assert "g" not in live.live and store.list() == []


def test_offsets_and_generation_survive_a_new_store_on_the_same_catalog(tmp_path: Path) -> None:
    """Rule (issue #3): committed offsets are durable; the generation too (as Kafka's
    __consumer_offsets keeps group metadata); members are not (they rejoin)."""
    catalog = Catalog(tmp_path / "c.sqlite3")
    g = _store(catalog).get("g")
    g.commit("t", 3, 99, "meta")
    g.next_generation("consumer", "roundrobin")
    catalog.close()
    catalog = Catalog(tmp_path / "c.sqlite3")
    again = _store(catalog).get("g")
    assert again.committed("t", 3) is not None and again.committed("t", 3).offset == 99  # type: ignore[union-attr]
    assert (again.generation, again.protocol_type, again.protocol) == (1, "consumer", "roundrobin")
    assert again.is_empty is False and again._store.membership.members("g") == []
    catalog.close()


def test_a_group_written_by_an_older_release_loads_unchanged(tmp_path: Path) -> None:
    """Rule (issue #24 item 3: no on-disk change): a group row and offsets as releases
    that kept membership on core's group wrote them (entity config {'generation',
    'protocol_type', 'protocol'}, kv `offsets/<group>`) load as before, and a new
    generation is written in the same format."""
    catalog = Catalog(tmp_path / "c.sqlite3")
    catalog.put_entity("group", "old", {"generation": 7, "protocol_type": "consumer", "protocol": "range"})
    catalog.kv_put("offsets/old", "t\x1f2", {"o": 41, "m": "m", "t": 5, "e": 3})
    store = _store(catalog)
    g = store.require("old")
    assert (g.generation, g.protocol_type, g.protocol) == (7, "consumer", "range")
    assert g.committed("t", 2) == CommittedOffset(41, "m", 5, 3)
    g.next_generation("consumer", "roundrobin")
    assert dict(catalog.list_entities("group"))["old"] == {
        "generation": 8, "protocol_type": "consumer", "protocol": "roundrobin"}
    catalog.close()


def test_lag_is_latest_minus_committed_per_partition() -> None:
    """Rule (Kafka consumer lag): log end offset minus committed offset; without a
    commit, minus the earliest offset."""

    async def main() -> None:
        core = await BrokerCore.open(None, CONFIG)
        s = core.create_stream("t", partitions=2)
        for i in range(5):
            await s.append(b"x", partition=0)
        await s.append(b"y", partition=1)
        g = core.groups.get("g")
        g.commit("t", 0, 2)
        assert g.lag("t") == {0: 3, 1: 1}
        await core.close()

    asyncio.run(main())


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "b.c", "d-e"]), st.integers(0, 3), st.integers(0, 10**12)),
        max_size=30,
    )
)
def test_committed_is_always_the_last_commit_also_after_reload(
    commits: list[tuple[str, int, int]]
) -> None:
    """Property: for any sequence of commits, committed() returns the last value written
    for each (stream, partition), before and after reloading from the catalog."""
    catalog = Catalog(None)
    g = _store(catalog).get("g")
    expected: dict[tuple[str, int], int] = {}
    for stream, partition, offset in commits:
        g.commit(stream, partition, offset)
        expected[(stream, partition)] = offset
    reloaded = _store(catalog).get("g")
    for group in (g, reloaded):
        assert {k: v.offset for k, v in group.offsets().items()} == expected
    catalog.close()
