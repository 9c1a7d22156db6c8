"""Kinesis stream lifecycle, listing, retention, tags, encryption, monitoring, limits."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from kinesis_support import kinesis_client


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_create_stream_goes_creating_then_active_and_waiter_returns(mqlite_server_factory: Any) -> None:
    """CreateStream: the stream is CREATING, then ACTIVE; the stream_exists waiter works."""
    server = mqlite_server_factory(kafka_port=None, amqp_port=None, redis_port=None,
                                   kinesis_create_delay_ms=300)
    client = kinesis_client(server)
    client.create_stream(StreamName="s", ShardCount=2)
    first = client.describe_stream(StreamName="s")["StreamDescription"]["StreamStatus"]
    assert first == "CREATING"
    client.get_waiter("stream_exists").wait(StreamName="s", WaiterConfig={"Delay": 1, "MaxAttempts": 10})
    assert client.describe_stream(StreamName="s")["StreamDescription"]["StreamStatus"] == "ACTIVE"


def test_describe_stream_reports_shards_with_kinesis_hash_ranges(kinesis: Any) -> None:
    """Kinesis assigns equal hash-key ranges over [0, 2^128-1] to the initial shards."""
    kinesis.create_stream(StreamName="s", ShardCount=3)
    d = kinesis.describe_stream(StreamName="s")["StreamDescription"]
    ranges = [(int(s["HashKeyRange"]["StartingHashKey"]), int(s["HashKeyRange"]["EndingHashKey"]))
              for s in d["Shards"]]
    assert [s["ShardId"] for s in d["Shards"]] == [f"shardId-00000000000{i}" for i in range(3)]
    assert ranges[0] == (0, 113427455640312821154458202477256070484)
    assert ranges[1][0] == 113427455640312821154458202477256070485
    assert ranges[2][1] == 2**128 - 1
    assert d["RetentionPeriodHours"] == 24
    assert d["StreamARN"] == "arn:aws:kinesis:us-east-1:000000000000:stream/s"
    assert d["HasMoreShards"] is False
    page = kinesis.describe_stream(StreamName="s", Limit=1, ExclusiveStartShardId="shardId-000000000000")
    assert [s["ShardId"] for s in page["StreamDescription"]["Shards"]] == ["shardId-000000000001"]
    assert page["StreamDescription"]["HasMoreShards"] is True


def test_on_demand_stream_has_four_shards_and_summary(kinesis: Any) -> None:
    """ON_DEMAND streams start with 4 shards (Kinesis default)."""
    kinesis.create_stream(StreamName="od", StreamModeDetails={"StreamMode": "ON_DEMAND"})
    s = kinesis.describe_stream_summary(StreamName="od")["StreamDescriptionSummary"]
    assert s["OpenShardCount"] == 4
    assert s["StreamModeDetails"]["StreamMode"] == "ON_DEMAND"
    assert s["ConsumerCount"] == 0
    kinesis.update_stream_mode(StreamARN=s["StreamARN"], StreamModeDetails={"StreamMode": "PROVISIONED"})
    again = kinesis.describe_stream_summary(StreamARN=s["StreamARN"])["StreamDescriptionSummary"]
    assert again["StreamModeDetails"]["StreamMode"] == "PROVISIONED"


def test_create_existing_stream_is_resource_in_use(kinesis: Any) -> None:
    """ResourceInUseException with Kinesis's wording."""
    kinesis.create_stream(StreamName="s", ShardCount=1)
    with pytest.raises(ClientError) as exc:
        kinesis.create_stream(StreamName="s", ShardCount=1)
    assert _code(exc) == "ResourceInUseException"
    assert exc.value.response["Error"]["Message"] == "Stream s under account 000000000000 already exists."


def test_unknown_stream_is_resource_not_found_with_aws_wording(kinesis: Any) -> None:
    """ResourceNotFoundException: 'Stream x under account 000000000000 not found.'"""
    for call in (lambda: kinesis.describe_stream(StreamName="nope"),
                 lambda: kinesis.put_record(StreamName="nope", Data=b"x", PartitionKey="k"),
                 lambda: kinesis.delete_stream(StreamName="nope")):
        with pytest.raises(ClientError) as exc:
            call()
        assert _code(exc) == "ResourceNotFoundException"
        assert exc.value.response["Error"]["Message"] == "Stream nope under account 000000000000 not found."


def test_provisioned_stream_needs_shard_count(kinesis: Any) -> None:
    with pytest.raises(ClientError) as exc:
        kinesis.create_stream(StreamName="s")
    assert _code(exc) == "InvalidArgumentException"


def test_list_streams_paginates_with_summaries(kinesis: Any) -> None:
    """ListStreams: Limit, HasMoreStreams, NextToken, StreamSummaries."""
    for i in range(5):
        kinesis.create_stream(StreamName=f"s{i}", ShardCount=1)
    first = kinesis.list_streams(Limit=2)
    assert first["StreamNames"] == ["s0", "s1"] and first["HasMoreStreams"] is True
    assert [s["StreamName"] for s in first["StreamSummaries"]] == ["s0", "s1"]
    second = kinesis.list_streams(Limit=2, NextToken=first["NextToken"])
    assert second["StreamNames"] == ["s2", "s3"]
    rest = kinesis.list_streams(ExclusiveStartStreamName="s3")
    assert rest["StreamNames"] == ["s4"] and rest["HasMoreStreams"] is False
    names = [n for page in kinesis.get_paginator("list_streams").paginate(PaginationConfig={"PageSize": 2})
             for n in page["StreamNames"]]
    assert names == [f"s{i}" for i in range(5)]


def test_delete_stream_removes_it(kinesis: Any) -> None:
    kinesis.create_stream(StreamName="s", ShardCount=1)
    kinesis.delete_stream(StreamName="s")
    assert kinesis.list_streams()["StreamNames"] == []
    kinesis.create_stream(StreamName="s", ShardCount=1)  # the name is free again


def test_retention_increase_and_decrease_within_24_to_8760_hours(kinesis: Any) -> None:
    """Retention 24-8760 h; increase cannot shorten, decrease cannot lengthen."""
    kinesis.create_stream(StreamName="s", ShardCount=1)
    kinesis.increase_stream_retention_period(StreamName="s", RetentionPeriodHours=48)
    assert kinesis.describe_stream_summary(StreamName="s")["StreamDescriptionSummary"]["RetentionPeriodHours"] == 48
    kinesis.decrease_stream_retention_period(StreamName="s", RetentionPeriodHours=24)
    assert kinesis.describe_stream(StreamName="s")["StreamDescription"]["RetentionPeriodHours"] == 24
    with pytest.raises(ClientError) as exc:
        kinesis.increase_stream_retention_period(StreamName="s", RetentionPeriodHours=8761)
    assert _code(exc) == "InvalidArgumentException"
    assert "Maximum allowed retention period is 8760 hours" in exc.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as exc:
        kinesis.decrease_stream_retention_period(StreamName="s", RetentionPeriodHours=23)
    assert "Minimum allowed retention period is 24 hours" in exc.value.response["Error"]["Message"]
    kinesis.increase_stream_retention_period(StreamName="s", RetentionPeriodHours=100)
    with pytest.raises(ClientError) as exc:
        kinesis.increase_stream_retention_period(StreamName="s", RetentionPeriodHours=50)
    assert "can not be shorter than existing retention period" in exc.value.response["Error"]["Message"]


def test_stream_tags_and_arn_based_tags(kinesis: Any) -> None:
    """AddTagsToStream/RemoveTagsFromStream/ListTagsForStream and Tag/Untag/ListTagsForResource."""
    kinesis.create_stream(StreamName="s", ShardCount=1, Tags={"a": "1"})
    kinesis.add_tags_to_stream(StreamName="s", Tags={"b": "2", "c": "3"})
    tags = kinesis.list_tags_for_stream(StreamName="s")
    assert tags["Tags"] == [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}, {"Key": "c", "Value": "3"}]
    page = kinesis.list_tags_for_stream(StreamName="s", Limit=1, ExclusiveStartTagKey="a")
    assert page["Tags"] == [{"Key": "b", "Value": "2"}] and page["HasMoreTags"] is True
    kinesis.remove_tags_from_stream(StreamName="s", TagKeys=["a"])
    arn = kinesis.describe_stream_summary(StreamName="s")["StreamDescriptionSummary"]["StreamARN"]
    kinesis.tag_resource(ResourceARN=arn, Tags={"d": "4"})
    kinesis.untag_resource(ResourceARN=arn, TagKeys=["b"])
    assert kinesis.list_tags_for_resource(ResourceARN=arn)["Tags"] == [
        {"Key": "c", "Value": "3"}, {"Key": "d", "Value": "4"}]
    with pytest.raises(ClientError) as exc:
        kinesis.add_tags_to_stream(StreamName="s", Tags={f"k{i}": "v" for i in range(50)})
    assert _code(exc) == "InvalidArgumentException"


def test_encryption_and_enhanced_monitoring_are_accepted_and_reported(kinesis: Any) -> None:
    kinesis.create_stream(StreamName="s", ShardCount=1)
    kinesis.start_stream_encryption(StreamName="s", EncryptionType="KMS", KeyId="alias/aws/kinesis")
    d = kinesis.describe_stream(StreamName="s")["StreamDescription"]
    assert d["EncryptionType"] == "KMS" and d["KeyId"] == "alias/aws/kinesis"
    out = kinesis.put_record(StreamName="s", Data=b"x", PartitionKey="k")
    assert out["EncryptionType"] == "KMS"
    kinesis.stop_stream_encryption(StreamName="s", EncryptionType="KMS", KeyId="alias/aws/kinesis")
    assert kinesis.describe_stream(StreamName="s")["StreamDescription"]["EncryptionType"] == "NONE"
    mon = kinesis.enable_enhanced_monitoring(StreamName="s", ShardLevelMetrics=["IncomingBytes"])
    assert mon["DesiredShardLevelMetrics"] == ["IncomingBytes"]
    mon = kinesis.disable_enhanced_monitoring(StreamName="s", ShardLevelMetrics=["IncomingBytes"])
    assert mon["CurrentShardLevelMetrics"] == ["IncomingBytes"] and mon["DesiredShardLevelMetrics"] == []
    limits = kinesis.describe_limits()
    assert limits["OpenShardCount"] == 1


def test_resource_policy_round_trips(kinesis: Any) -> None:
    kinesis.create_stream(StreamName="s", ShardCount=1)
    arn = kinesis.describe_stream_summary(StreamName="s")["StreamDescriptionSummary"]["StreamARN"]
    kinesis.put_resource_policy(ResourceARN=arn, Policy='{"Version":"2012-10-17","Statement":[]}')
    assert "Statement" in kinesis.get_resource_policy(ResourceARN=arn)["Policy"]
    kinesis.delete_resource_policy(ResourceARN=arn)
    assert kinesis.get_resource_policy(ResourceARN=arn)["Policy"] == "{}"
