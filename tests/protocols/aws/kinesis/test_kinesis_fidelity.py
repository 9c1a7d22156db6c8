"""Kinesis answers as AWS does (issue #20): status transitions, validation texts and codes,
limits, enhanced monitoring, resource policies; each with boto3 on a real server."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from kinesis_support import kinesis_client

ACCOUNT = "000000000000"


def _err(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    e = exc.value.response["Error"]
    return str(e["Code"]), str(e["Message"])


def test_default_stream_is_active_at_once_and_the_waiter_returns_on_its_first_call(mqlite_server: Any) -> None:
    client = kinesis_client(mqlite_server)  # default settings: kinesis_create_delay_ms 0
    client.create_stream(StreamName="s", ShardCount=1)
    assert client.describe_stream(StreamName="s")["StreamDescription"]["StreamStatus"] == "ACTIVE"
    # A Delay of 60 s would make a second attempt visible as a hang: one call suffices.
    client.get_waiter("stream_exists").wait(StreamName="s", WaiterConfig={"Delay": 60, "MaxAttempts": 1})


def test_resharding_reports_updating_and_refuses_a_second_reshard(mqlite_server_factory: Any) -> None:
    server = mqlite_server_factory(kafka_port=None, amqp_port=None, redis_port=None,
                                   kinesis_create_delay_ms=0, kinesis_update_delay_ms=600_000)
    client = kinesis_client(server)
    client.create_stream(StreamName="s", ShardCount=2)
    client.update_shard_count(StreamName="s", TargetShardCount=4, ScalingType="UNIFORM_SCALING")
    assert client.describe_stream_summary(StreamName="s")["StreamDescriptionSummary"]["StreamStatus"] == "UPDATING"
    client.put_record(StreamName="s", Data=b"x", PartitionKey="k")  # writes go on while UPDATING
    with pytest.raises(ClientError) as exc:
        client.update_shard_count(StreamName="s", TargetShardCount=2, ScalingType="UNIFORM_SCALING")
    assert _err(exc) == ("ResourceInUseException",
                         f"Stream s under account {ACCOUNT} not ACTIVE, instead in state UPDATING")


def test_on_demand_stream_has_four_shards_and_refuses_update_shard_count(kinesis: Any) -> None:
    kinesis.create_stream(StreamName="od", StreamModeDetails={"StreamMode": "ON_DEMAND"})
    assert len(kinesis.list_shards(StreamName="od")["Shards"]) == 4
    with pytest.raises(ClientError) as exc:
        kinesis.update_shard_count(StreamName="od", TargetShardCount=3, ScalingType="UNIFORM_SCALING")
    assert _err(exc) == ("ValidationException",
                         f"Request is invalid. Stream od under account {ACCOUNT} is in On-Demand mode.")
    limits = kinesis.describe_limits()
    assert limits["OnDemandStreamCount"] == 1 and limits["OnDemandStreamCountLimit"] == 50


def test_retention_bounds_come_before_the_direction_check(kinesis: Any) -> None:
    kinesis.create_stream(StreamName="r", ShardCount=1)
    with pytest.raises(ClientError) as exc:
        kinesis.increase_stream_retention_period(StreamName="r", RetentionPeriodHours=20)
    assert _err(exc) == ("InvalidArgumentException", "Minimum allowed retention period is 24 hours. "
                         "Requested retention period (20 hours) is too short.")
    with pytest.raises(ClientError) as exc:
        kinesis.decrease_stream_retention_period(StreamName="r", RetentionPeriodHours=9999)
    assert _err(exc) == ("InvalidArgumentException", "Maximum allowed retention period is 8760 hours. "
                         "Requested retention period (9999 hours) is too long.")
    assert kinesis.describe_stream_summary(StreamName="r")["StreamDescriptionSummary"]["RetentionPeriodHours"] == 24


def test_describe_limits_is_the_regions_shard_quota(mqlite_server: Any) -> None:
    east = kinesis_client(mqlite_server)
    assert east.describe_limits()["ShardLimit"] == 500
    import boto3

    other = boto3.client("kinesis", endpoint_url=mqlite_server.endpoint_url, region_name="ap-south-1",
                         aws_access_key_id="a", aws_secret_access_key="b")
    assert other.describe_limits()["ShardLimit"] == 200
    east.create_stream(StreamName="a", ShardCount=3)
    assert east.describe_limits()["OpenShardCount"] == 3
    with pytest.raises(ClientError) as exc:
        east.create_stream(StreamName="b", ShardCount=498)
    code, message = _err(exc)
    assert code == "LimitExceededException"
    assert "Current shard count for the account: 3. Limit: 500." in message
    assert east.list_streams()["StreamNames"] == ["a"]  # nothing stored


def test_enhanced_monitoring_all_is_reported_as_all(kinesis: Any) -> None:
    kinesis.create_stream(StreamName="m", ShardCount=1)
    on = kinesis.enable_enhanced_monitoring(StreamName="m", ShardLevelMetrics=["ALL"])
    assert on["CurrentShardLevelMetrics"] == [] and on["DesiredShardLevelMetrics"] == ["ALL"]
    off = kinesis.disable_enhanced_monitoring(StreamName="m", ShardLevelMetrics=["IncomingBytes"])
    assert off["CurrentShardLevelMetrics"] == ["ALL"]
    assert len(off["DesiredShardLevelMetrics"]) == 6 and "IncomingBytes" not in off["DesiredShardLevelMetrics"]
    with pytest.raises(ClientError) as exc:
        kinesis.enable_enhanced_monitoring(StreamName="m", ShardLevelMetrics=["Nope"])
    assert _err(exc)[0] == "ValidationException"


def test_resource_policies_on_missing_streams_and_missing_policies(kinesis: Any) -> None:
    kinesis.create_stream(StreamName="p", ShardCount=1)
    arn = kinesis.describe_stream_summary(StreamName="p")["StreamDescriptionSummary"]["StreamARN"]
    with pytest.raises(ClientError) as exc:
        kinesis.delete_resource_policy(ResourceARN=arn)
    assert _err(exc) == ("ResourceNotFoundException", f"No resource policy found for resource ARN {arn}.")
    assert kinesis.get_resource_policy(ResourceARN=arn)["Policy"] == "{}"
    missing = arn + "x"
    for call in (kinesis.get_resource_policy, kinesis.delete_resource_policy):
        with pytest.raises(ClientError) as exc:
            call(ResourceARN=missing)
        assert _err(exc) == ("ResourceNotFoundException", f"Stream {missing} under account {ACCOUNT} not found.")


def test_split_shard_validation_texts(kinesis: Any) -> None:
    kinesis.create_stream(StreamName="x", ShardCount=2)
    half = "170141183460469231731687303715884105728"
    with pytest.raises(ClientError) as exc:
        kinesis.split_shard(StreamName="x", ShardToSplit="?", NewStartingHashKey=half)
    assert _err(exc) == ("ValidationException", "1 validation error detected: Value '?' at 'shardToSplit' "
                         "failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")
    with pytest.raises(ClientError) as exc:
        kinesis.split_shard(StreamName="x", ShardToSplit="shardId-000000000001", NewStartingHashKey="sth")
    assert _err(exc) == ("ValidationException", "1 validation error detected: Value 'sth' at 'newStartingHashKey' "
                         "failed to satisfy constraint: Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38})")
    with pytest.raises(ClientError) as exc:
        kinesis.split_shard(StreamName="x", ShardToSplit="unknown", NewStartingHashKey=half)
    assert _err(exc) == ("ResourceNotFoundException",
                         f"Could not find shard unknown in stream x under account {ACCOUNT}.")
    assert len(kinesis.list_shards(StreamName="x")["Shards"]) == 2  # nothing changed


def test_put_records_limit_texts(kinesis: Any) -> None:
    kinesis.create_stream(StreamName="l", ShardCount=1)
    with pytest.raises(ClientError) as exc:
        kinesis.put_records(StreamName="l", Records=[{"Data": b"a", "PartitionKey": "k"}] * 501)
    code, message = _err(exc)  # the model validator's text (protocols/aws/validation.py)
    assert code == "ValidationException" and message.endswith(
        "at 'records' failed to satisfy constraint: Member must have length less than or equal to 500")
    with pytest.raises(ClientError) as exc:
        kinesis.put_records(StreamName="l", Records=[{"Data": b"a" * 1_000_000, "PartitionKey": "k"}] * 6)
    assert _err(exc) == ("InvalidArgumentException", "Records size exceeds 5 MB limit")


def test_describe_consumer_with_a_stream_arn_is_not_found(kinesis: Any) -> None:
    kinesis.create_stream(StreamName="c", ShardCount=1)
    arn = f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/unknown"
    with pytest.raises(ClientError) as exc:
        kinesis.describe_stream_consumer(ConsumerARN=arn)
    # the model's ConsumerARN pattern refuses it first (protocols/aws/validation.py)
    assert _err(exc)[0] == "ValidationException" and "at 'consumerARN'" in _err(exc)[1]


@pytest.mark.parametrize(("initial", "target", "total"), [(2, 4, 6), (4, 5, 15), (10, 13, 37), (4, 2, 6), (5, 3, 7)])
def test_update_shard_count_leaves_the_shards_kinesis_does(kinesis: Any, initial: int, target: int, total: int) -> None:
    """UNIFORM_SCALING splits every shard, then merges adjacent pairs: the shard totals AWS
    reports (moto's suite records them as verified against AWS)."""
    kinesis.create_stream(StreamName="u", ShardCount=initial)
    kinesis.put_record(StreamName="u", Data=b"before", PartitionKey="k")
    out = kinesis.update_shard_count(StreamName="u", TargetShardCount=target, ScalingType="UNIFORM_SCALING")
    assert (out["CurrentShardCount"], out["TargetShardCount"]) == (initial, target)
    shards = kinesis.describe_stream(StreamName="u")["StreamDescription"]["Shards"]
    assert len(shards) == total
    open_ = sorted((int(s["HashKeyRange"]["StartingHashKey"]), int(s["HashKeyRange"]["EndingHashKey"]))
                   for s in shards if "EndingSequenceNumber" not in s["SequenceNumberRange"])
    assert len(open_) == target
    assert open_[0][0] == 0 and open_[-1][1] == 2**128 - 1  # the open shards tile the key space
    assert all(a[1] + 1 == b[0] for a, b in zip(open_, open_[1:], strict=False))
    put = kinesis.put_record(StreamName="u", Data=b"after", PartitionKey="k")
    assert put["ShardId"] in {s["ShardId"] for s in shards if "EndingSequenceNumber" not in s["SequenceNumberRange"]}


def test_list_shards_next_token_names_the_parameter_sent_with_it(kinesis: Any) -> None:
    """AWS's texts, as quoted in public reports (awslabs/kinesis-hot-shard-advisor#5,
    awslabs/amazon-kinesis-scaling-utils#82, apache/beam#33478, aws/aws-cli#9635)."""
    kinesis.create_stream(StreamName="t", ShardCount=3)
    arn = kinesis.describe_stream_summary(StreamName="t")["StreamDescriptionSummary"]["StreamARN"]
    token = kinesis.list_shards(StreamName="t", MaxResults=1)["NextToken"]
    for extra, name in ((dict(StreamName="t"), "StreamName"), (dict(StreamARN=arn), "StreamARN"),
                        (dict(ExclusiveStartShardId="shardId-000000000000"), "ExclusiveStartShardId"),
                        (dict(ShardFilter={"Type": "AT_LATEST"}), "ShardFilter")):
        with pytest.raises(ClientError) as exc:
            kinesis.list_shards(NextToken=token, **extra)
        assert _err(exc) == ("InvalidArgumentException", f"NextToken and {name} cannot be provided together.")
    page = kinesis.list_shards(NextToken=token, MaxResults=5)
    assert [s["ShardId"] for s in page["Shards"]] == ["shardId-000000000001", "shardId-000000000002"]


def test_texts_name_the_stream_as_the_client_does_in_any_region(mqlite_server: Any) -> None:
    """Outside the default region a stream's core name carries its region; AWS's texts
    name the stream as the client named it."""
    import boto3

    west = boto3.client("kinesis", endpoint_url=mqlite_server.endpoint_url, region_name="us-west-1",
                        aws_access_key_id="a", aws_secret_access_key="b")
    west.create_stream(StreamName="mystream", ShardCount=1)
    with pytest.raises(ClientError) as exc:
        west.get_shard_iterator(StreamName="mystream", ShardId="123", ShardIteratorType="TRIM_HORIZON")
    assert _err(exc) == ("ResourceNotFoundException",
                         f"Shard 123 in stream mystream under account {ACCOUNT} does not exist")
    with pytest.raises(ClientError) as exc:
        west.create_stream(StreamName="mystream", ShardCount=1)
    assert _err(exc) == ("ResourceInUseException", f"Stream mystream under account {ACCOUNT} already exists.")
