"""ListShards, SplitShard, MergeShards, UpdateShardCount (see shards.py for the mapping).

Each reshard appends the child partitions and closes the parents at their end offset,
so per-partition-key order holds for a reader that finishes a parent before its
children (what GetRecords' ChildShards tell it). Kinesis's rules: only open shards can
be split/merged; NewStartingHashKey must lie strictly inside the parent's range; merged
shards must be adjacent; UpdateShardCount (UNIFORM_SCALING) targets 1-500 shards and at
most double / at least half the open count. UpdateShardCount splits and merges as Kinesis
is observed to (`_rescale`), so the shard totals DescribeStream lists match AWS's.
The change is immediate; the stream reports UPDATING for `kinesis_update_delay_ms`
(default 0) and refuses another reshard meanwhile (ResourceInUseException). Invalid
shard ids and hash keys get the model's ValidationException texts, unknown shards
"Could not find shard ...", closed ones InvalidArgumentException, ON_DEMAND streams
refuse UpdateShardCount (ValidationException), as Kinesis answers.
Concurrency: the server's event loop; no awaits inside a reshard.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from mqlite.core.api import BrokerCore, Stream
from mqlite.protocols.aws.frontend import AwsContext
from mqlite.protocols.aws.kinesis import errors
from mqlite.protocols.aws.kinesis.sequence import shard_id, shard_index
from mqlite.protocols.aws.kinesis.shards import ShardInfo
from mqlite.protocols.aws.kinesis.state import KinesisState, StreamMeta

_SHARD_ID = re.compile(r"[a-zA-Z0-9_.-]{1,128}")
_HASH_KEY = re.compile(r"0|([1-9]\d{0,38})")
FILTERS = ("AFTER_SHARD_ID", "AT_TRIM_HORIZON", "FROM_TRIM_HORIZON", "AT_LATEST",
           "AT_TIMESTAMP", "FROM_TIMESTAMP")


class ReshardActions:
    def __init__(self, core: BrokerCore, state: KinesisState) -> None:
        self.core = core
        self.state = state

    # -- ListShards ---------------------------------------------------------------------
    async def list_shards(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """ListShards: ShardFilter, ExclusiveStartShardId, MaxResults (1-10000, default
        1000), NextToken (exclusive with StreamName)."""
        token = p.get("NextToken")
        after: int | None = None
        if token is not None:
            for other in ("StreamName", "StreamARN", "ExclusiveStartShardId", "ShardFilter",
                          "StreamCreationTimestamp"):
                if p.get(other) is not None:  # AWS names the one sent with the token
                    raise errors.invalid_argument(f"NextToken and {other} cannot be provided together.")
            try:
                name, last = base64.urlsafe_b64decode(token.encode()).decode().split("|")
                after = int(last)
            except ValueError:
                raise errors.invalid_argument(f"Invalid NextToken {token[:60]}.") from None
            filt = None
        else:
            name = self.state.name_of(p)
            start = p.get("ExclusiveStartShardId")
            if start is not None:
                after = shard_index(start)
            filt = p.get("ShardFilter")
        limit = p.get("MaxResults", 1000)
        if not 1 <= limit <= 10000:
            raise errors.validation(limit, "maxResults", "Member must have value between 1 and 10000")
        meta = self.state.meta(name)
        stream = self.core.get_stream(name)
        shards = sorted(meta.shards, key=lambda s: s.partition)
        if filt is not None:
            shards = self._filter(meta, stream, shards, filt)
        if after is not None:
            shards = [s for s in shards if s.partition > after]
        page = shards[:limit]
        out: dict[str, Any] = {"Shards": [s.describe() for s in page]}
        if len(shards) > limit:
            out["NextToken"] = base64.urlsafe_b64encode(f"{name}|{page[-1].partition}".encode()).decode()
        return out

    def _filter(self, meta: StreamMeta, stream: Stream, shards: list[ShardInfo], f: dict[str, Any]) -> list[ShardInfo]:
        kind = f.get("Type")
        if kind not in FILTERS:
            raise errors.validation(kind, "shardFilter.type", "Member must satisfy enum value set")
        if kind == "AFTER_SHARD_ID":
            if f.get("ShardId") is None:
                raise errors.invalid_argument("ShardId must be provided for ShardFilter type AFTER_SHARD_ID.")
            idx = shard_index(f["ShardId"])
            return [s for s in shards if idx is None or s.partition > idx]
        if kind == "AT_LATEST":
            return [s for s in shards if s.open]
        untrimmed = [s for s in shards if s.open or stream.earliest(s.partition) < (s.closed_at or 0)]
        if kind == "FROM_TRIM_HORIZON":
            return untrimmed
        if kind == "AT_TRIM_HORIZON":  # the shards open at the trim horizon: no untrimmed parent
            live = {s.partition for s in untrimmed}
            return [s for s in untrimmed if s.parent not in live and s.adjacent not in live]
        ts = f.get("Timestamp")
        if ts is None:
            raise errors.invalid_argument(f"Timestamp must be provided for ShardFilter type {kind}.")
        ts_ms = int(ts * 1000)
        alive = [s for s in untrimmed if s.closed_ms is None or s.closed_ms > ts_ms]
        if kind == "FROM_TIMESTAMP":
            return alive
        created = {s.partition: s for s in shards}
        return [s for s in alive if not any(
            q is not None and q in created and (created[q].closed_ms or 0) > ts_ms
            for q in (s.parent, s.adjacent))]

    # -- resharding ---------------------------------------------------------------------
    def _open_shard(self, meta: StreamMeta, shard: str, member: str) -> ShardInfo:
        if not _SHARD_ID.fullmatch(shard):
            raise errors.validation(shard, member, "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")
        idx = shard_index(shard)
        info = meta.shard(idx) if idx is not None else None
        if info is None:
            raise errors.not_found(
                f"Could not find shard {shard} in stream {meta.aws_name} under account {self.state.account}.")
        if not info.open:
            raise errors.invalid_argument(
                f"Shard {shard_id(info.partition)} in stream {meta.aws_name} under account "
                f"{self.state.account} has already been merged or split, and thus is not eligible "
                "for merging or splitting.")
        return info

    def _close(self, stream: Stream, info: ShardInfo, now: int) -> None:
        info.closed_at = stream.latest(info.partition)
        info.closed_ms = now

    def _children(self, meta: StreamMeta, stream: Stream, specs: list[tuple[int, int, int | None, int | None]]) -> None:
        first = stream.partition_count
        stream.add_partitions(len(specs))
        for i, (a, b, parent, adj) in enumerate(specs):
            meta.shards.append(ShardInfo(first + i, a, b, parent, adj, stream.earliest(first + i)))
        meta.data["synthetic"] = False
        self.state.updating(meta)
        self.state.save(meta)

    async def split_shard(self, ctx: AwsContext, p: dict[str, Any]) -> None:
        """SplitShard: two children [start, new-1] and [new, end]; the parent closes."""
        meta = self.state.meta(self.state.name_of(p))
        raw = p["NewStartingHashKey"]
        if not _HASH_KEY.fullmatch(raw):
            raise errors.validation(raw, "newStartingHashKey",
                                    "Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38})")
        info = self._open_shard(meta, p["ShardToSplit"], "shardToSplit")
        self.state.require_active(meta)
        new = int(raw)
        if not info.start + 1 <= new <= info.end:
            raise errors.invalid_argument(
                f"NewStartingHashKey {raw} used in SplitShard() on shard {shard_id(info.partition)} in "
                f"stream {meta.aws_name} under account {self.state.account} is not both greater than one "
                f"plus the shard's StartingHashKey {info.start} and less than the shard's "
                f"EndingHashKey {info.end}.")
        stream = self.core.get_stream(meta.name)
        self._close(stream, info, self.core.clock.now_ms())
        self._children(meta, stream, [(info.start, new - 1, info.partition, None),
                                      (new, info.end, info.partition, None)])

    async def merge_shards(self, ctx: AwsContext, p: dict[str, Any]) -> None:
        """MergeShards: two adjacent open shards -> one child (parent = ShardToMerge,
        adjacent parent = AdjacentShardToMerge)."""
        meta = self.state.meta(self.state.name_of(p))
        a = self._open_shard(meta, p["ShardToMerge"], "shardToMerge")
        b = self._open_shard(meta, p["AdjacentShardToMerge"], "adjacentShardToMerge")
        self.state.require_active(meta)
        if not (a.end + 1 == b.start or b.end + 1 == a.start):
            raise errors.invalid_argument(
                f"Shards {shard_id(a.partition)} and {shard_id(b.partition)} in stream {meta.aws_name} "
                f"under account {self.state.account} are not an adjacent pair of shards eligible "
                "for merging")
        stream = self.core.get_stream(meta.name)
        now = self.core.clock.now_ms()
        self._close(stream, a, now)
        self._close(stream, b, now)
        self._children(meta, stream, [(min(a.start, b.start), max(a.end, b.end), a.partition, b.partition)])

    def _rescale(self, meta: StreamMeta, old: list[ShardInfo], target: int) -> None:
        """Kinesis's observed UNIFORM_SCALING: to scale up, split every open shard at its
        middle; then merge adjacent pairs from the lowest hash key until `target` shards
        are open (2 -> 4 leaves 6 shards in all, 4 -> 5 leaves 15, 5 -> 3 leaves 7)."""
        stream = self.core.get_stream(meta.name)
        now = self.core.clock.now_ms()
        if target > len(old):
            for s in old:
                mid = (s.start + s.end + 1) // 2
                self._close(stream, s, now)
                self._children(meta, stream, [(s.start, mid - 1, s.partition, None), (mid, s.end, s.partition, None)])
        while True:
            live = sorted(meta.open_shards(), key=lambda s: s.start)
            merges = len(live) - target
            if merges <= 0:
                return
            for a, b in zip(live[0::2], live[1::2], strict=False):
                self._close(stream, a, now)
                self._close(stream, b, now)
                self._children(meta, stream, [(a.start, b.end, a.partition, b.partition)])
                merges -= 1
                if merges == 0:
                    break

    async def update_shard_count(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """UpdateShardCount (UNIFORM_SCALING)."""
        meta = self.state.meta(self.state.name_of(p))
        target = p["TargetShardCount"]
        if p.get("ScalingType", "UNIFORM_SCALING") != "UNIFORM_SCALING":
            raise errors.validation(p.get("ScalingType"), "scalingType",
                                    "Member must satisfy enum value set: [UNIFORM_SCALING]")
        if meta.data.get("mode") == "ON_DEMAND":
            raise errors.validation_message(
                f"Request is invalid. Stream {meta.aws_name} under account {self.state.account} is in On-Demand mode.")
        old = sorted(meta.open_shards(), key=lambda s: s.start)
        current = len(old)
        if target < 1 or target > 500:
            raise errors.validation(target, "targetShardCount", "Member must have value between 1 and 500")
        self.state.require_active(meta)
        if target > 2 * current or 2 * target < current:
            raise errors.invalid_argument(
                f"UpdateShardCount failed for {meta.aws_name}. Target shard count {target} must be "
                f"between {(current + 1) // 2} and {current * 2} (half and double the current open "
                f"shard count {current}).")
        if target != current:
            self._rescale(meta, old, target)
        return {"StreamName": meta.aws_name, "CurrentShardCount": current,
                "TargetShardCount": target, "StreamARN": self.state.arn(meta.name, ctx.region)}


