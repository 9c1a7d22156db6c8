"""Internal streams (`__mqlite.*`: Firehose buffers, EventBridge archives) do not exist for
any client protocol, by name or otherwise (issue #23, item 5).

Before, they were hidden from listings only: a Kafka client read a Firehose record back
by naming the buffer (Metadata + Fetch), and Redis XADD wrote into it. The rule now lives
in core's user-visible stream calls (`BrokerCore.get_stream/find_stream/stream/
create_stream/delete_stream/list_streams`), which every front-end goes through; only the
owning front-ends use the registry itself. Each protocol answers as for a stream that
does not exist (Kafka INVALID_TOPIC_EXCEPTION for the reserved name in Metadata, so
Fetch, ListOffsets and Produce fail; Redis: no such key, XADD refused; Kinesis
ResourceNotFoundException; a Firehose cannot use another's buffer as its Kinesis source).
"""

from __future__ import annotations

from typing import Any

import confluent_kafka
import kafka.admin
import kafka.errors
import pytest
import redis
from botocore.exceptions import ClientError
from cross_clients import ACCOUNT, aws, bootstrap, redis_client

from mqlite.core.naming import is_internal_stream

ROLE = f"arn:aws:iam::{ACCOUNT}:role/firehose"
SECRET = b"firehose record: not for kafka"


def _raw_streams(server: Any) -> set[str]:
    return set(server.call(lambda: server.core.streams.list()))


def _buffer_and_archive(server: Any) -> tuple[str, str]:
    """A DirectPut delivery stream holding one buffered record, and an EventBridge archive."""
    firehose = aws(server, "firehose")
    firehose.create_delivery_stream(
        DeliveryStreamName="kept", DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration={
            "RoleARN": ROLE, "BucketARN": "arn:aws:s3:::kept-bucket",
            "BufferingHints": {"IntervalInSeconds": 900, "SizeInMBs": 128}})
    firehose.put_record(DeliveryStreamName="kept", Record={"Data": SECRET})
    events = aws(server, "events")
    events.create_archive(ArchiveName="kept-archive", EventSourceArn=events.describe_event_bus()["Arn"])
    names = _raw_streams(server)
    assert len(names) == 2 and all(is_internal_stream(n) for n in names)
    buffer = next(n for n in names if "firehose" in n)
    archive = next(n for n in names if n != buffer)
    return buffer, archive


def test_kafka_cannot_describe_fetch_list_offsets_produce_or_delete_internal_streams(mqlite_server: Any) -> None:
    buffer, archive = _buffer_and_archive(mqlite_server)
    admin = kafka.admin.KafkaAdminClient(bootstrap_servers=bootstrap(mqlite_server))
    try:
        assert admin.list_topics() == []
        described = admin.describe_topics([buffer, archive])
        assert {t["error_code"] for t in described} == {kafka.errors.InvalidTopicError.errno}
        for name in (buffer, archive):
            with pytest.raises((kafka.errors.TopicAuthorizationFailedError,
                                kafka.errors.UnknownTopicOrPartitionError)):
                admin.delete_topics([name])
        with pytest.raises(kafka.errors.InvalidTopicError):
            admin.create_topics([kafka.admin.NewTopic("__mqlite.mine", 1, 1)])
    finally:
        admin.close()

    consumer = confluent_kafka.Consumer({"bootstrap.servers": bootstrap(mqlite_server), "group.id": "thief",
                                         "enable.partition.eof": True, "topic.metadata.refresh.interval.ms": 500})
    try:
        with pytest.raises(confluent_kafka.KafkaException):  # ListOffsets
            consumer.get_watermark_offsets(confluent_kafka.TopicPartition(buffer, 0), timeout=5)
        consumer.assign([confluent_kafka.TopicPartition(buffer, 0, confluent_kafka.OFFSET_BEGINNING)])
        seen = [m for m in (consumer.poll(0.5) for _ in range(6)) if m is not None]
        # (the wire-level Fetch is checked in tests/protocols/kafka/test_kafka_internal_streams.py)
        assert not any(m.error() is None and m.value() == SECRET for m in seen)
    finally:
        consumer.close()

    producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap(mqlite_server),
                                         "message.send.max.retries": 0, "message.timeout.ms": 5000})
    errors: list[Any] = []
    producer.produce(buffer, b"injected", partition=0, on_delivery=lambda err, _m: errors.append(err))
    assert producer.flush(10) == 0
    assert len(errors) == 1 and errors[0] is not None
    assert _raw_streams(mqlite_server) == {buffer, archive}
    stream = mqlite_server.call(lambda: mqlite_server.core.streams.get(buffer))
    assert [r.value for r in mqlite_server.call(lambda: stream.read(0, 0, 10))] == [SECRET]


def test_redis_cannot_read_write_or_delete_internal_streams(mqlite_server: Any) -> None:
    buffer, archive = _buffer_and_archive(mqlite_server)
    r = redis_client(mqlite_server)
    assert r.keys("*") == []
    for name in (buffer, archive):
        assert r.exists(name) == 0
        assert r.type(name) == b"none"
        assert r.xlen(name) == 0
        assert r.xrange(name) == []
        assert r.xread({name: "0-0"}, count=10) == []
        assert r.delete(name) == 0
        with pytest.raises(redis.ResponseError):
            r.xadd(name, {"f": "injected"})
    r.flushall()
    assert _raw_streams(mqlite_server) == {buffer, archive}
    stream = mqlite_server.call(lambda: mqlite_server.core.streams.get(buffer))
    assert [r.value for r in mqlite_server.call(lambda: stream.read(0, 0, 10))] == [SECRET]


def test_kinesis_and_firehose_cannot_reach_internal_streams(mqlite_server: Any) -> None:
    buffer, _archive = _buffer_and_archive(mqlite_server)
    kinesis = aws(mqlite_server, "kinesis")
    for call in (lambda: kinesis.describe_stream(StreamName=buffer),
                 lambda: kinesis.put_record(StreamName=buffer, Data=b"x", PartitionKey="k"),
                 lambda: kinesis.get_shard_iterator(StreamName=buffer, ShardId="shardId-000000000000",
                                                    ShardIteratorType="TRIM_HORIZON")):
        with pytest.raises(ClientError) as info:
            call()
        assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as info:
        kinesis.create_stream(StreamName="__mqlite.firehose.mine", ShardCount=1)
    assert info.value.response["Error"]["Code"] in ("InvalidArgumentException", "ValidationException")
    firehose = aws(mqlite_server, "firehose")
    with pytest.raises(ClientError) as info:
        firehose.create_delivery_stream(
            DeliveryStreamName="thief", DeliveryStreamType="KinesisStreamAsSource",
            KinesisStreamSourceConfiguration={
                "KinesisStreamARN": f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/{buffer}", "RoleARN": ROLE},
            ExtendedS3DestinationConfiguration={"RoleARN": ROLE, "BucketARN": "arn:aws:s3:::thief"})
    assert info.value.response["Error"]["Code"] == "InvalidArgumentException"
