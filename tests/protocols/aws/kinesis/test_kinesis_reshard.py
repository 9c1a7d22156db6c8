"""ListShards, SplitShard, MergeShards, UpdateShardCount: lineage, hash ranges, order."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from kinesis_support import read_all

HALF = 2**127


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def _read_in_lineage_order(client: Any, stream: str) -> list[Any]:
    """Read parents to their end before their children (what ChildShards tell a reader)."""
    shards = {s["ShardId"]: s for s in client.list_shards(StreamName=stream)["Shards"]}
    done: set[str] = set()
    out: list[Any] = []
    while len(done) < len(shards):
        for sid, s in sorted(shards.items()):
            parents = {s.get("ParentShardId"), s.get("AdjacentParentShardId")} - {None}
            if sid not in done and parents <= done:
                out.extend(read_all(client, stream, sid))
                done.add(sid)
    return out


def test_split_shard_closes_parent_and_keeps_per_key_order(kinesis: Any) -> None:
    """SplitShard: children [start, new-1] and [new, end], parent closed with an ending
    sequence number; reading parent then children keeps each partition key's order."""
    kinesis.create_stream(StreamName="s", ShardCount=1)
    keys = [f"key{i}" for i in range(8)]
    for n in range(5):
        kinesis.put_records(StreamName="s", Records=[{"Data": f"{k}:{n}".encode(), "PartitionKey": k} for k in keys])
    kinesis.split_shard(StreamName="s", ShardToSplit="shardId-000000000000", NewStartingHashKey=str(HALF))
    for n in range(5, 10):
        kinesis.put_records(StreamName="s", Records=[{"Data": f"{k}:{n}".encode(), "PartitionKey": k} for k in keys])
    shards = kinesis.list_shards(StreamName="s")["Shards"]
    assert [s["ShardId"] for s in shards] == ["shardId-000000000000", "shardId-000000000001", "shardId-000000000002"]
    assert "EndingSequenceNumber" in shards[0]["SequenceNumberRange"]
    assert shards[1]["ParentShardId"] == shards[2]["ParentShardId"] == "shardId-000000000000"
    assert shards[1]["HashKeyRange"] == {"StartingHashKey": "0", "EndingHashKey": str(HALF - 1)}
    assert shards[2]["HashKeyRange"] == {"StartingHashKey": str(HALF), "EndingHashKey": str(2**128 - 1)}
    # the closed parent is still readable; at its end GetRecords names the children
    it = kinesis.get_shard_iterator(StreamName="s", ShardId="shardId-000000000000",
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    page = kinesis.get_records(ShardIterator=it)
    assert len(page["Records"]) == 40
    if page.get("NextShardIterator"):
        page = kinesis.get_records(ShardIterator=page["NextShardIterator"])
    assert "NextShardIterator" not in page
    assert sorted(c["ShardId"] for c in page["ChildShards"]) == ["shardId-000000000001", "shardId-000000000002"]
    records = _read_in_lineage_order(kinesis, "s")
    for k in keys:
        mine = [r["Data"].decode() for r in records if r["PartitionKey"] == k]
        assert mine == [f"{k}:{n}" for n in range(10)]


def test_split_validates_hash_key_and_closed_shards(kinesis: Any) -> None:
    """NewStartingHashKey must lie inside the shard; a split shard cannot be split again
    (InvalidArgumentException, as Kinesis answers)."""
    kinesis.create_stream(StreamName="s", ShardCount=1)
    with pytest.raises(ClientError) as exc:
        kinesis.split_shard(StreamName="s", ShardToSplit="shardId-000000000000", NewStartingHashKey="0")
    assert _code(exc) == "InvalidArgumentException"
    kinesis.split_shard(StreamName="s", ShardToSplit="shardId-000000000000", NewStartingHashKey=str(HALF))
    with pytest.raises(ClientError) as exc:
        kinesis.split_shard(StreamName="s", ShardToSplit="shardId-000000000000", NewStartingHashKey=str(HALF))
    assert _code(exc) == "InvalidArgumentException"


def test_merge_shards_needs_adjacent_open_shards(kinesis: Any) -> None:
    """MergeShards: child with ParentShardId and AdjacentParentShardId and the union range."""
    kinesis.create_stream(StreamName="s", ShardCount=3)
    with pytest.raises(ClientError) as exc:
        kinesis.merge_shards(StreamName="s", ShardToMerge="shardId-000000000000",
                             AdjacentShardToMerge="shardId-000000000002")
    assert _code(exc) == "InvalidArgumentException"
    kinesis.put_record(StreamName="s", Data=b"before", PartitionKey="a")
    kinesis.merge_shards(StreamName="s", ShardToMerge="shardId-000000000000",
                         AdjacentShardToMerge="shardId-000000000001")
    child = kinesis.list_shards(StreamName="s", ShardFilter={"Type": "AT_LATEST"})["Shards"]
    assert [s["ShardId"] for s in child] == ["shardId-000000000002", "shardId-000000000003"]
    merged = child[1]
    assert merged["ParentShardId"] == "shardId-000000000000"
    assert merged["AdjacentParentShardId"] == "shardId-000000000001"
    assert merged["HashKeyRange"]["StartingHashKey"] == "0"
    out = kinesis.put_record(StreamName="s", Data=b"after", PartitionKey="a")
    assert out["ShardId"] in ("shardId-000000000002", "shardId-000000000003")


def test_update_shard_count_uniform_scaling(kinesis: Any) -> None:
    """UpdateShardCount: new uniform shards, old ones closed; target within half..double."""
    kinesis.create_stream(StreamName="s", ShardCount=2)
    out = kinesis.update_shard_count(StreamName="s", TargetShardCount=4, ScalingType="UNIFORM_SCALING")
    assert out["CurrentShardCount"] == 2 and out["TargetShardCount"] == 4
    summary = kinesis.describe_stream_summary(StreamName="s")["StreamDescriptionSummary"]
    assert summary["OpenShardCount"] == 4
    open_shards = kinesis.list_shards(StreamName="s", ShardFilter={"Type": "AT_LATEST"})["Shards"]
    assert [s["ParentShardId"] for s in open_shards] == ["shardId-000000000000"] * 2 + ["shardId-000000000001"] * 2
    with pytest.raises(ClientError) as exc:
        kinesis.update_shard_count(StreamName="s", TargetShardCount=9, ScalingType="UNIFORM_SCALING")
    assert _code(exc) == "InvalidArgumentException"


def test_list_shards_pages_with_next_token_and_filters(kinesis: Any) -> None:
    """ListShards: MaxResults + NextToken; NextToken with StreamName is refused."""
    kinesis.create_stream(StreamName="s", ShardCount=5)
    first = kinesis.list_shards(StreamName="s", MaxResults=2)
    assert len(first["Shards"]) == 2
    second = kinesis.list_shards(NextToken=first["NextToken"], MaxResults=10)
    assert second["Shards"][0]["ShardId"] == "shardId-000000000002"
    assert "NextToken" not in second
    after = kinesis.list_shards(StreamName="s", ExclusiveStartShardId="shardId-000000000003")
    assert [s["ShardId"] for s in after["Shards"]] == ["shardId-000000000004"]
    filt = kinesis.list_shards(StreamName="s", ShardFilter={"Type": "AFTER_SHARD_ID", "ShardId": "shardId-000000000002"})
    assert len(filt["Shards"]) == 2
    assert len(kinesis.list_shards(StreamName="s", ShardFilter={"Type": "FROM_TRIM_HORIZON"})["Shards"]) == 5
    with pytest.raises(ClientError) as exc:
        kinesis.list_shards(StreamName="s", NextToken=first["NextToken"])
    assert _code(exc) == "InvalidArgumentException"
