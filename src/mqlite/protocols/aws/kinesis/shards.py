"""Kinesis shards over mqlite partitions: hash-key ranges, lineage and resharding.

Mapping (documented in docs via this docstring): a Kinesis stream IS an mqlite stream;
shard `shardId-<n>` IS partition n. A stream created by Kinesis with N shards has
partitions 0..N-1 with the hash-key ranges Kinesis assigns (`uniform_ranges`).
Resharding never moves data: SplitShard, MergeShards and UpdateShardCount append new
partitions for the child shards (`Stream.add_partitions`) and *close* the parents at
their current end offset. A closed shard takes no more Kinesis writes, stays readable
until retention trims it, and a GetRecords at its end returns no NextShardIterator but
its ChildShards - the contract Kinesis consumers (KCL) follow to keep per-key order.
A stream created by Kafka (no Kinesis metadata yet) gets uniform ranges over its
partitions on first Kinesis use; partitions Kafka adds later become open shards
with empty hash ranges (readable, never chosen by PutRecord) unless the stream was
never resharded, in which case the ranges are recomputed uniformly.

`ShardInfo` is one shard's metadata (kept in the catalog as a dict with hash keys
as decimal strings; 128-bit ints do not fit JSON numbers). `ShardMap` routes a hash key
to its open shard (bisect over sorted starts).
Pure data and functions; the caller (state.py) persists and applies the changes.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any

from mqlite.protocols.aws.kinesis.sequence import encode_seq, shard_id


@dataclass(slots=True)
class ShardInfo:
    partition: int
    start: int  # first hash key (inclusive)
    end: int  # last hash key (inclusive); end < start = empty range
    parent: int | None = None
    adjacent: int | None = None
    first_offset: int = 0  # offset of the shard's first record
    closed_at: int | None = None  # end offset (exclusive) once closed
    closed_ms: int | None = None

    @property
    def open(self) -> bool:
        return self.closed_at is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "p": self.partition, "s": str(self.start), "e": str(self.end),
            "parent": self.parent, "adj": self.adjacent, "first": self.first_offset,
            "closed": self.closed_at, "closed_ms": self.closed_ms,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ShardInfo:
        return cls(int(d["p"]), int(d["s"]), int(d["e"]), d.get("parent"), d.get("adj"),
                   int(d.get("first") or 0), d.get("closed"), d.get("closed_ms"))

    def describe(self) -> dict[str, Any]:
        """The `Shard` shape of DescribeStream/ListShards."""
        out: dict[str, Any] = {
            "ShardId": shard_id(self.partition),
            "HashKeyRange": {"StartingHashKey": str(self.start), "EndingHashKey": str(self.end)},
            "SequenceNumberRange": {"StartingSequenceNumber": encode_seq(self.partition, self.first_offset)},
        }
        if self.parent is not None:
            out["ParentShardId"] = shard_id(self.parent)
        if self.adjacent is not None:
            out["AdjacentParentShardId"] = shard_id(self.adjacent)
        if self.closed_at is not None:
            last = max(self.closed_at - 1, self.first_offset)
            out["SequenceNumberRange"]["EndingSequenceNumber"] = encode_seq(self.partition, last)
        return out


class ShardMap:
    """Open shards sorted by starting hash key; `route(h)` -> partition."""

    __slots__ = ("_ends", "_parts", "_starts")

    def __init__(self, shards: list[ShardInfo]) -> None:
        live = sorted((s for s in shards if s.open and s.end >= s.start), key=lambda s: s.start)
        self._starts = [s.start for s in live]
        self._ends = [s.end for s in live]
        self._parts = [s.partition for s in live]

    def route(self, h: int) -> int | None:
        i = bisect.bisect_right(self._starts, h) - 1
        if i < 0 or h > self._ends[i]:
            return None
        return self._parts[i]


def child_of(shards: list[ShardInfo], partition: int) -> list[ShardInfo]:
    """The shards whose parent or adjacent parent is `partition` (ChildShards)."""
    return [s for s in shards if s.parent == partition or s.adjacent == partition]


def child_shards_shape(shards: list[ShardInfo], partition: int) -> list[dict[str, Any]]:
    out = []
    for child in child_of(shards, partition):
        parents = [shard_id(child.parent)] if child.parent is not None else []
        if child.adjacent is not None:
            parents.append(shard_id(child.adjacent))
        out.append({
            "ShardId": shard_id(child.partition),
            "ParentShards": parents,
            "HashKeyRange": {"StartingHashKey": str(child.start), "EndingHashKey": str(child.end)},
        })
    return out


def covering(shards: list[ShardInfo], h: int) -> ShardInfo | None:
    for s in shards:
        if s.open and s.start <= h <= s.end:
            return s
    return None

