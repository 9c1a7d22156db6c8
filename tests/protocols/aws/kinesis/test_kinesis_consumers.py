"""Enhanced fan-out: Register/Deregister/Describe/ListStreamConsumers, SubscribeToShard."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, EventStreamError
from kinesis_support import kinesis_client

from mqlite.core.clock import ManualClock


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


def _consumer(client: Any, stream: str = "s") -> str:
    client.create_stream(StreamName=stream, ShardCount=1)
    arn = _arn(client, stream)
    return str(client.register_stream_consumer(StreamARN=arn, ConsumerName="efo")["Consumer"]["ConsumerARN"])


def test_subscribe_to_shard_streams_records_as_events(kinesis: Any) -> None:
    """SubscribeToShard: boto3 reads SubscribeToShardEvents (event-stream framing) over
    HTTP/1.1; ContinuationSequenceNumber resumes the next subscription
    (AFTER_SEQUENCE_NUMBER, as the SubscribeToShardEvent reference says)."""
    consumer = _consumer(kinesis)
    kinesis.put_records(StreamName="s", Records=[{"Data": f"r{i}".encode(), "PartitionKey": "k"} for i in range(5)])
    resp = kinesis.subscribe_to_shard(ConsumerARN=consumer, ShardId="shardId-000000000000",
                                      StartingPosition={"Type": "TRIM_HORIZON"})
    stream = resp["EventStream"]
    first = next(iter(stream))["SubscribeToShardEvent"]
    stream.close()
    assert [r["Data"] for r in first["Records"]] == [f"r{i}".encode() for i in range(5)]
    assert first["MillisBehindLatest"] == 0
    cont = first["ContinuationSequenceNumber"]
    assert cont == first["Records"][-1]["SequenceNumber"]
    kinesis.put_record(StreamName="s", Data=b"next", PartitionKey="k")
    resp = kinesis.subscribe_to_shard(ConsumerARN=consumer, ShardId="shardId-000000000000",
                                      StartingPosition={"Type": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": cont})
    stream = resp["EventStream"]
    again = next(iter(stream))["SubscribeToShardEvent"]
    stream.close()
    assert [r["Data"] for r in again["Records"]] == [b"next"]


def test_subscription_delivers_records_appended_while_it_is_open(kserver: Any) -> None:
    """A subscription is live (Kinesis pushes records as they arrive, for up to 5
    minutes): records another client appends while the stream is open arrive as new
    events, each with the ContinuationSequenceNumber of its last record."""
    reader, writer = kinesis_client(kserver), kinesis_client(kserver)
    consumer = _consumer(reader)
    writer.put_record(StreamName="s", Data=b"before", PartitionKey="k")
    resp = reader.subscribe_to_shard(ConsumerARN=consumer, ShardId="shardId-000000000000",
                                     StartingPosition={"Type": "TRIM_HORIZON"})
    stream = resp["EventStream"]
    seen: list[bytes] = []
    sent = 0
    try:
        for event in stream:
            body = event["SubscribeToShardEvent"]
            seen.extend(r["Data"] for r in body["Records"])
            if body["Records"]:
                assert body["ContinuationSequenceNumber"] == body["Records"][-1]["SequenceNumber"]
            if len(seen) == 1 + sent and sent < 3:
                writer.put_record(StreamName="s", Data=f"live{sent}".encode(), PartitionKey="k")
                sent += 1
            elif len(seen) == 4:
                break
    finally:
        stream.close()
    assert seen == [b"before", b"live0", b"live1", b"live2"]


def test_subscription_ends_after_five_minutes(mqlite_server_factory: Any) -> None:
    """A subscription lasts 5 minutes (SubscribeToShard reference), on the server clock:
    with a manual clock moved past it, the event stream ends and boto3's iteration
    finishes; the client then re-subscribes from ContinuationSequenceNumber."""
    clock = ManualClock()
    server = mqlite_server_factory(clock=clock, kafka_port=None, amqp_port=None, redis_port=None,
                                   kinesis_create_delay_ms=0)
    client = kinesis_client(server)
    consumer = _consumer(client)
    client.put_record(StreamName="s", Data=b"one", PartitionKey="k")
    resp = client.subscribe_to_shard(ConsumerARN=consumer, ShardId="shardId-000000000000",
                                     StartingPosition={"Type": "TRIM_HORIZON"})
    events = []
    for event in resp["EventStream"]:
        events.append(event["SubscribeToShardEvent"])
        if len(events) == 1:
            server.call(lambda: clock.advance(301))  # on the server loop
    assert [r["Data"] for e in events for r in e["Records"]] == [b"one"]


def test_deleting_the_stream_ends_a_subscription_with_resource_not_found(kinesis: Any) -> None:
    """Errors after the response started arrive as event-stream exception messages
    (SubscribeToShard's EventStream errors): a stream deleted under an open
    subscription ends it with ResourceNotFoundException."""
    consumer = _consumer(kinesis)
    kinesis.put_record(StreamName="s", Data=b"x", PartitionKey="k")
    resp = kinesis.subscribe_to_shard(ConsumerARN=consumer, ShardId="shardId-000000000000",
                                      StartingPosition={"Type": "TRIM_HORIZON"})
    events = iter(resp["EventStream"])
    assert [r["Data"] for r in next(events)["SubscribeToShardEvent"]["Records"]] == [b"x"]
    kinesis.delete_stream(StreamName="s", EnforceConsumerDeletion=True)
    with pytest.raises(EventStreamError) as exc:
        for _ in events:
            pass
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_subscription_to_a_closed_shard_ends_with_child_shards(kinesis: Any) -> None:
    """Once a split shard is read to its end, the last event carries ChildShards and
    the subscription ends (SubscribeToShardEvent.ChildShards)."""
    consumer = _consumer(kinesis)
    kinesis.put_record(StreamName="s", Data=b"x", PartitionKey="k")
    kinesis.split_shard(StreamName="s", ShardToSplit="shardId-000000000000",
                        NewStartingHashKey=str(2**127))
    resp = kinesis.subscribe_to_shard(ConsumerARN=consumer, ShardId="shardId-000000000000",
                                      StartingPosition={"Type": "TRIM_HORIZON"})
    events = [e["SubscribeToShardEvent"] for e in resp["EventStream"]]
    assert [r["Data"] for e in events for r in e["Records"]] == [b"x"]
    assert len(events[-1]["ChildShards"]) == 2


def test_subscribe_with_unknown_consumer_is_resource_not_found(kinesis: Any) -> None:
    kinesis.create_stream(StreamName="s", ShardCount=1)
    arn = _arn(kinesis, "s")
    with pytest.raises(ClientError) as exc:
        kinesis.subscribe_to_shard(ConsumerARN=arn + "/consumer/ghost:1", ShardId="shardId-000000000000",
                                   StartingPosition={"Type": "LATEST"})
    assert _code(exc) == "ResourceNotFoundException"
