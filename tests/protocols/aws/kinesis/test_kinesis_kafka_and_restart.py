"""Cross-protocol (a Kinesis stream is a Kafka topic) and restart persistence."""

from __future__ import annotations

from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kinesis_support import kinesis_client, read_all


def test_records_produced_with_kafka_are_read_with_get_records(mqlite_server_factory: Any) -> None:
    """Design: one stream, many protocols - Kafka (key, value) reads back as
    (PartitionKey, Data) through GetRecords, on shard n = partition n."""
    server = mqlite_server_factory(amqp_port=None, redis_port=None)
    producer = KafkaProducer(bootstrap_servers=f"127.0.0.1:{server.kafka_port}")
    for i in range(10):
        producer.send("orders", key=f"cust{i % 3}".encode(), value=f"order{i}".encode(), partition=0)
    producer.flush()
    producer.close()
    client = kinesis_client(server)
    d = client.describe_stream(StreamName="orders")["StreamDescription"]
    assert d["StreamStatus"] == "ACTIVE" and d["Shards"][0]["ShardId"] == "shardId-000000000000"
    got = read_all(client, "orders", "shardId-000000000000")
    assert [(r["PartitionKey"], r["Data"]) for r in got] == [
        (f"cust{i % 3}", f"order{i}".encode()) for i in range(10)]


def test_records_put_with_kinesis_are_consumed_with_kafka(mqlite_server_factory: Any) -> None:
    """The reverse: PutRecords, then a Kafka consumer sees key = PartitionKey, value = Data."""
    server = mqlite_server_factory(amqp_port=None, redis_port=None,
                                   kinesis_create_delay_ms=0)
    client = kinesis_client(server)
    client.create_stream(StreamName="events", ShardCount=2)
    out = client.put_records(StreamName="events", Records=[
        {"Data": f"e{i}".encode(), "PartitionKey": f"k{i}"} for i in range(20)])
    consumer = KafkaConsumer(bootstrap_servers=f"127.0.0.1:{server.kafka_port}",
                             auto_offset_reset="earliest", consumer_timeout_ms=5000)
    consumer.assign([TopicPartition("events", 0), TopicPartition("events", 1)])
    seen = {}
    for msg in consumer:
        seen[msg.value] = (msg.key, msg.partition)
        if len(seen) == 20:
            break
    consumer.close()
    for i, r in enumerate(out["Records"]):
        assert seen[f"e{i}".encode()] == (f"k{i}".encode(), int(r["ShardId"][-1]))


def test_streams_shards_consumers_and_records_survive_restart(mqlite_server_factory: Any) -> None:
    """Durability: after a clean restart the stream, its resharded lineage, tags,
    retention, consumers and records are all there, and sequence numbers still resolve."""
    server = mqlite_server_factory(kafka_port=None, amqp_port=None, redis_port=None,
                                   kinesis_create_delay_ms=0)
    client = kinesis_client(server)
    client.create_stream(StreamName="s", ShardCount=1, Tags={"team": "a"})
    client.increase_stream_retention_period(StreamName="s", RetentionPeriodHours=72)
    seq = client.put_record(StreamName="s", Data=b"one", PartitionKey="k")["SequenceNumber"]
    client.split_shard(StreamName="s", ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2**127))
    client.put_record(StreamName="s", Data=b"two", PartitionKey="k")
    arn = client.describe_stream_summary(StreamName="s")["StreamDescriptionSummary"]["StreamARN"]
    client.register_stream_consumer(StreamARN=arn, ConsumerName="c")
    before = client.list_shards(StreamName="s")["Shards"]
    server.restart()
    client = kinesis_client(server)
    assert client.list_shards(StreamName="s")["Shards"] == before
    summary = client.describe_stream_summary(StreamName="s")["StreamDescriptionSummary"]
    assert summary["RetentionPeriodHours"] == 72 and summary["ConsumerCount"] == 1
    assert client.list_tags_for_stream(StreamName="s")["Tags"] == [{"Key": "team", "Value": "a"}]
    at = read_all(client, "s", "shardId-000000000000", "AT_SEQUENCE_NUMBER", StartingSequenceNumber=seq)
    assert [r["Data"] for r in at] == [b"one"]
    child = [s["ShardId"] for s in before if s.get("ParentShardId")]
    assert sum(len(read_all(client, "s", c)) for c in child) == 1
