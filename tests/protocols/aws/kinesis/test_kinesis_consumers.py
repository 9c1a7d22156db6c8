"""Enhanced fan-out: Register/Deregister/Describe/ListStreamConsumers, SubscribeToShard."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def _arn(client: Any, stream: str) -> str:
    return str(client.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamARN"])


def test_consumer_lifecycle(kinesis: Any) -> None:
    """Consumers are registered per stream, listed, described, deregistered; a stream
    with consumers is only deleted with EnforceConsumerDeletion."""
    kinesis.create_stream(StreamName="s", ShardCount=1)
    arn = _arn(kinesis, "s")
    c = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="app")["Consumer"]
    assert c["ConsumerARN"].startswith(arn + "/consumer/app:")
    assert c["ConsumerStatus"] == "ACTIVE"
    with pytest.raises(ClientError) as exc:
        kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="app")
    assert _code(exc) == "ResourceInUseException"
    kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="other")
    listed = kinesis.list_stream_consumers(StreamARN=arn)["Consumers"]
    assert [x["ConsumerName"] for x in listed] == ["app", "other"]
    d = kinesis.describe_stream_consumer(ConsumerARN=c["ConsumerARN"])["ConsumerDescription"]
    assert d["StreamARN"] == arn and d["ConsumerName"] == "app"
    d2 = kinesis.describe_stream_consumer(StreamARN=arn, ConsumerName="other")["ConsumerDescription"]
    assert d2["ConsumerName"] == "other"
    assert kinesis.describe_stream_summary(StreamName="s")["StreamDescriptionSummary"]["ConsumerCount"] == 2
    kinesis.deregister_stream_consumer(ConsumerARN=c["ConsumerARN"])
    with pytest.raises(ClientError) as exc:
        kinesis.describe_stream_consumer(ConsumerARN=c["ConsumerARN"])
    assert _code(exc) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        kinesis.delete_stream(StreamName="s")
    assert _code(exc) == "ResourceInUseException"
    kinesis.delete_stream(StreamName="s", EnforceConsumerDeletion=True)


def test_subscribe_to_shard_streams_records_as_events(kinesis: Any) -> None:
    """SubscribeToShard: boto3 reads SubscribeToShardEvents (event-stream framing) over
    HTTP/1.1; ContinuationSequenceNumber resumes the next subscription."""
    kinesis.create_stream(StreamName="s", ShardCount=1)
    arn = _arn(kinesis, "s")
    consumer = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="efo")["Consumer"]["ConsumerARN"]
    kinesis.put_records(StreamName="s", Records=[{"Data": f"r{i}".encode(), "PartitionKey": "k"} for i in range(5)])
    resp = kinesis.subscribe_to_shard(ConsumerARN=consumer, ShardId="shardId-000000000000",
                                      StartingPosition={"Type": "TRIM_HORIZON"})
    events = [e["SubscribeToShardEvent"] for e in resp["EventStream"]]
    data = [r["Data"] for e in events for r in e["Records"]]
    assert data == [f"r{i}".encode() for i in range(5)]
    cont = events[-1]["ContinuationSequenceNumber"]
    assert events[-1]["MillisBehindLatest"] == 0
    kinesis.put_record(StreamName="s", Data=b"next", PartitionKey="k")
    resp = kinesis.subscribe_to_shard(ConsumerARN=consumer, ShardId="shardId-000000000000",
                                      StartingPosition={"Type": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": cont})
    again = [r["Data"] for e in resp["EventStream"] for r in e["SubscribeToShardEvent"]["Records"]]
    assert again == [b"next"]


def test_subscribe_with_unknown_consumer_is_resource_not_found(kinesis: Any) -> None:
    kinesis.create_stream(StreamName="s", ShardCount=1)
    arn = _arn(kinesis, "s")
    with pytest.raises(ClientError) as exc:
        kinesis.subscribe_to_shard(ConsumerARN=arn + "/consumer/ghost:1", ShardId="shardId-000000000000",
                                   StartingPosition={"Type": "LATEST"})
    assert _code(exc) == "ResourceNotFoundException"
