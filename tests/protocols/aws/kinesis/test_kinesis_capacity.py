"""UpdateMaxRecordSize, UpdateStreamWarmThroughput, Describe/UpdateAccountSettings
(botocore's Kinesis model and the Kinesis API reference), with boto3 against a real server."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from kinesis_support import CREDS, kinesis_client

from mqlite.core.clock import ManualClock

MIB = 1024 * 1024


def _arn(client: Any, name: str) -> str:
    return client.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]


def _unvalidated(server: Any) -> Any:
    """A client that sends what it is given (boto3 refuses values below a shape's min)."""
    return boto3.client("kinesis", endpoint_url=server.endpoint_url, region_name="us-east-1",
                        config=Config(retries={"max_attempts": 1}, parameter_validation=False),
                        **CREDS)


def test_record_above_one_mib_is_refused_until_max_record_size_is_raised(kinesis: Any) -> None:
    """UpdateMaxRecordSize: "You can ingest and digest single records up to 10240 KiB";
    the default limit is 1 MiB (1024 KiB), and PutRecord/PutRecords enforce the stream's own
    limit; DescribeStreamSummary reports MaxRecordSizeInKiB."""
    kinesis.create_stream(StreamName="big", ShardCount=1)
    arn = _arn(kinesis, "big")
    data = b"x" * (MIB + MIB // 2)
    summary = kinesis.describe_stream_summary(StreamName="big")["StreamDescriptionSummary"]
    assert summary["MaxRecordSizeInKiB"] == 1024
    with pytest.raises(ClientError) as err:
        kinesis.put_record(StreamName="big", Data=data, PartitionKey="k")
    assert err.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as err:
        kinesis.put_records(StreamName="big", Records=[{"Data": data, "PartitionKey": "k"}])
    assert err.value.response["Error"]["Code"] == "ValidationException"

    kinesis.update_max_record_size(StreamARN=arn, MaxRecordSizeInKiB=2048)
    summary = kinesis.describe_stream_summary(StreamName="big")["StreamDescriptionSummary"]
    assert summary["MaxRecordSizeInKiB"] == 2048
    kinesis.put_record(StreamName="big", Data=data, PartitionKey="k")
    kinesis.put_records(StreamName="big", Records=[{"Data": data, "PartitionKey": "k"}])
    with pytest.raises(ClientError) as err:  # the new limit is enforced too
        kinesis.put_record(StreamName="big", Data=b"x" * (2 * MIB + 1), PartitionKey="k")
    assert err.value.response["Error"]["Code"] == "ValidationException"
    it = kinesis.get_shard_iterator(StreamName="big", ShardId="shardId-000000000000",
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = kinesis.get_records(ShardIterator=it)["Records"]
    assert [len(r["Data"]) for r in records] == [len(data), len(data)]


def test_ten_mib_record_fits_a_stream_created_with_the_largest_record_size(kinesis: Any) -> None:
    """CreateStream's MaxRecordSizeInKiB (1024-10240): a 10 MiB record is accepted."""
    kinesis.create_stream(StreamName="huge", ShardCount=1, MaxRecordSizeInKiB=10240)
    out = kinesis.put_record(StreamName="huge", Data=b"y" * (10 * MIB), PartitionKey="k")
    assert out["ShardId"] == "shardId-000000000000"


def test_max_record_size_outside_1024_to_10240_kib_is_a_validation_exception(kserver: Any) -> None:
    """MaxRecordSizeInKiB outside 1024-10240: "UpdateMaxRecordSize sends back an
    ValidationException message"; an unknown stream is ResourceNotFoundException."""
    client = _unvalidated(kserver)
    client.create_stream(StreamName="s", ShardCount=1)
    arn = _arn(client, "s")
    for bad in (512, 10241):
        with pytest.raises(ClientError) as err:
            client.update_max_record_size(StreamARN=arn, MaxRecordSizeInKiB=bad)
        assert err.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as err:
        client.update_max_record_size(StreamARN=arn.replace("stream/s", "stream/nope"),
                                      MaxRecordSizeInKiB=2048)
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_warm_throughput_is_stored_and_reported_for_on_demand_streams(kinesis: Any) -> None:
    """UpdateStreamWarmThroughput: on-demand streams only ("Provisioned capacity mode
    streams do not support warm throughput configuration"), at most 10 GiBps; the value is
    reported in DescribeStreamSummary's WarmThroughput."""
    kinesis.create_stream(StreamName="od", StreamModeDetails={"StreamMode": "ON_DEMAND"})
    out = kinesis.update_stream_warm_throughput(StreamName="od", WarmThroughputMiBps=200)
    assert out["StreamName"] == "od" and out["StreamARN"].endswith(":stream/od")
    assert out["WarmThroughput"] == {"TargetMiBps": 200, "CurrentMiBps": 200}
    summary = kinesis.describe_stream_summary(StreamName="od")["StreamDescriptionSummary"]
    assert summary["WarmThroughput"]["TargetMiBps"] == 200
    with pytest.raises(ClientError) as err:
        kinesis.update_stream_warm_throughput(StreamName="od", WarmThroughputMiBps=10 * 1024 + 1)
    assert err.value.response["Error"]["Code"] == "LimitExceededException"
    kinesis.create_stream(StreamName="prov", ShardCount=1)
    with pytest.raises(ClientError) as err:
        kinesis.update_stream_warm_throughput(StreamName="prov", WarmThroughputMiBps=100)
    assert err.value.response["Error"]["Code"] == "InvalidArgumentException"


def test_account_settings_commitment_lasts_until_its_earliest_allowed_end(
        mqlite_server_factory: Any) -> None:
    """Describe/UpdateAccountSettings: MinimumThroughputBillingCommitment DISABLED by
    default; ENABLED starts a commitment with EarliestAllowedEndAt; disabling earlier
    answers ENABLED_UNTIL_EARLIEST_ALLOWED_END (commitments last at least 24 hours),
    DISABLED once that time has passed; enabling again meanwhile cancels the pending
    disable; a Status outside [ENABLED, DISABLED] is a ValidationException."""
    clock = ManualClock()
    server = mqlite_server_factory(clock=clock, kafka_port=None, amqp_port=None, redis_port=None,
                                   kinesis_create_delay_ms=0)
    client = kinesis_client(server)
    assert client.describe_account_settings()["MinimumThroughputBillingCommitment"] == {
        "Status": "DISABLED"}
    on = client.update_account_settings(MinimumThroughputBillingCommitment={"Status": "ENABLED"})
    c = on["MinimumThroughputBillingCommitment"]
    assert c["Status"] == "ENABLED" and c["EarliestAllowedEndAt"] > c["StartedAt"]
    off = client.update_account_settings(MinimumThroughputBillingCommitment={"Status": "DISABLED"})
    c = off["MinimumThroughputBillingCommitment"]
    assert c["Status"] == "ENABLED_UNTIL_EARLIEST_ALLOWED_END"
    assert c["EndedAt"] == c["EarliestAllowedEndAt"]
    again = client.update_account_settings(MinimumThroughputBillingCommitment={"Status": "ENABLED"})
    assert again["MinimumThroughputBillingCommitment"]["Status"] == "ENABLED"
    assert again["MinimumThroughputBillingCommitment"]["StartedAt"] == c["StartedAt"]
    client.update_account_settings(MinimumThroughputBillingCommitment={"Status": "DISABLED"})
    server.call(lambda: clock.advance(24 * 3600 + 1))  # on the server loop
    got = client.describe_account_settings()["MinimumThroughputBillingCommitment"]
    assert got["Status"] == "DISABLED"
    with pytest.raises(ClientError) as err:
        client.update_account_settings(MinimumThroughputBillingCommitment={"Status": "MAYBE"})
    assert err.value.response["Error"]["Code"] == "ValidationException"


def test_record_size_warm_throughput_and_account_settings_survive_restart(kserver: Any) -> None:
    """Durability: the stream's MaxRecordSizeInKiB (still enforced), its warm throughput and
    the account settings are kept across a clean restart."""
    client = kinesis_client(kserver)
    client.create_stream(StreamName="od", StreamModeDetails={"StreamMode": "ON_DEMAND"})
    client.update_max_record_size(StreamARN=_arn(client, "od"), MaxRecordSizeInKiB=3072)
    client.update_stream_warm_throughput(StreamName="od", WarmThroughputMiBps=50)
    client.update_account_settings(MinimumThroughputBillingCommitment={"Status": "ENABLED"})
    kserver.restart()
    client = kinesis_client(kserver)
    summary = client.describe_stream_summary(StreamName="od")["StreamDescriptionSummary"]
    assert summary["MaxRecordSizeInKiB"] == 3072
    assert summary["WarmThroughput"]["TargetMiBps"] == 50
    client.put_record(StreamName="od", Data=b"z" * (3 * MIB), PartitionKey="k")
    got = client.describe_account_settings()["MinimumThroughputBillingCommitment"]
    assert got["Status"] == "ENABLED"
