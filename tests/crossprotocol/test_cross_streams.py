"""Streams across protocols: a Kafka topic, a Kinesis stream and a Redis stream key are
one core `Stream` (docs/cross-protocol.md, "Streams"; DESIGN.md "One model").

Rules checked (each test names its own): Kafka key -> Kinesis PartitionKey and Kafka value
-> Kinesis Data (kinesis/records.py docstring); a foreign record reads in Redis as the
fields `key` (if any) and `value` with ID `<timestamp>-<n>` (resp/store.py docstring); an
XADD entry is one record whose value is the length-prefixed field list and whose header
`redis-id` carries the entry ID (resp/store.py); Kinesis PutRecord stores key = the
partition key's UTF-8 bytes and value = Data (kinesis/records.py).
"""

from __future__ import annotations

import struct
import threading
from typing import Any

from cross_clients import aws, kafka_producer, kafka_read, redis_client


def _produce(server: Any, topic: str, records: list[tuple[bytes | None, bytes, list[tuple[str, bytes]]]]) -> None:
    producer = kafka_producer(server)
    try:
        for key, value, headers in records:
            producer.send(topic, key=key, value=value, headers=headers, partition=0)
        producer.flush()
    finally:
        producer.close()


def _kinesis_records(server: Any, stream: str, shard: str = "shardId-000000000000") -> list[dict[str, Any]]:
    kinesis = aws(server, "kinesis")
    it = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    return list(kinesis.get_records(ShardIterator=it["ShardIterator"])["Records"])


def test_kafka_produce_with_key_and_headers_reads_back_with_kinesis_get_records(mqlite_server: Any) -> None:
    """Kafka key -> PartitionKey, value -> Data; Kafka headers are not a Kinesis concept
    and are not shown (kinesis/records.py)."""
    _produce(mqlite_server, "orders", [(b"cust-1", b'{"n": 1}', [("trace", b"abc")]),
                                       (b"cust-2", b'{"n": 2}', [])])
    kinesis = aws(mqlite_server, "kinesis")
    shards = kinesis.list_shards(StreamName="orders")["Shards"]
    assert [s["ShardId"] for s in shards] == ["shardId-000000000000"]
    records = _kinesis_records(mqlite_server, "orders")
    assert [(r["PartitionKey"], r["Data"]) for r in records] == [("cust-1", b'{"n": 1}'), ("cust-2", b'{"n": 2}')]
    assert set(records[0]) >= {"SequenceNumber", "ApproximateArrivalTimestamp", "Data", "PartitionKey"}
    assert records[0]["SequenceNumber"] < records[1]["SequenceNumber"]


def test_kafka_produce_reads_back_with_redis_xrange_and_xread(mqlite_server: Any) -> None:
    """A record from another front-end reads in Redis as fields `key` (if any) and `value`,
    ID `<timestamp>-<n>`; Kafka headers are not shown (resp/store.py, resp/model.py)."""
    _produce(mqlite_server, "clicks", [(b"user-7", b"page=/home", [("trace", b"abc")]),
                                       (None, b"no-key", [])])
    r = redis_client(mqlite_server)
    entries = r.xrange("clicks")
    assert [fields for _, fields in entries] == [
        {b"key": b"user-7", b"value": b"page=/home"},
        {b"value": b"no-key"},
    ]
    first_id, second_id = (entry_id.decode() for entry_id, _ in entries)
    ms1, _, seq1 = first_id.partition("-")
    ms2, _, seq2 = second_id.partition("-")
    assert (int(ms1), int(seq1)) < (int(ms2), int(seq2))
    assert r.xread({"clicks": "0-0"}) == [[b"clicks", entries]]
    assert r.xlen("clicks") == 2
    assert r.type("clicks") == b"stream"


def test_redis_xread_block_wakes_for_a_kafka_produce(mqlite_server: Any) -> None:
    """XREAD BLOCK with `$` returns an entry appended later by another front-end (Redis:
    a blocked XREAD is served by the next XADD; here the next append of any front-end)."""
    r = redis_client(mqlite_server)
    r.xadd("live", {"seed": "1"})
    got: list[Any] = []
    reader = threading.Thread(target=lambda: got.append(r.xread({"live": "$"}, block=10_000)))
    reader.start()
    # the blocked XREAD must be registered before the produce; XINFO-free check: poll CLIENT LIST
    probe = redis_client(mqlite_server)
    for _ in range(200):
        if b"cmd=xread" in probe.execute_command("CLIENT", "LIST"):
            break
        threading.Event().wait(0.02)
    _produce(mqlite_server, "live", [(b"k", b"from-kafka", [])])
    reader.join(timeout=15)
    assert got and got[0][0][1][0][1] == {b"key": b"k", b"value": b"from-kafka"}


def test_redis_xadd_is_read_by_a_kafka_consumer_as_encoded_fields_with_redis_id_header(mqlite_server: Any) -> None:
    """An XADD entry is one record: no key, value = `(u32be len | bytes)*` over field,
    value, ...; header `redis-id` = the entry ID (resp/store.py docstring)."""
    r = redis_client(mqlite_server)
    entry_id = r.xadd("sensor", {"temp": "21.5", "unit": "C"}).decode()
    (record,) = kafka_read(mqlite_server, "sensor", 1)
    assert record.key is None
    parts = [b"temp", b"21.5", b"unit", b"C"]
    assert record.value == b"".join(struct.pack(">I", len(p)) + p for p in parts)
    assert list(record.headers) == [("redis-id", entry_id.encode())]


def test_kinesis_put_record_is_read_by_a_kafka_consumer_as_key_and_value(mqlite_server: Any) -> None:
    """PutRecord stores key = PartitionKey (UTF-8), value = Data, no headers
    (kinesis/records.py); Kafka's record timestamp is the arrival time."""
    kinesis = aws(mqlite_server, "kinesis")
    kinesis.create_stream(StreamName="payments", ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName="payments", WaiterConfig={"Delay": 0.2})
    kinesis.put_record(StreamName="payments", PartitionKey="acct-9", Data=b"\x00\x01binary")
    kinesis.put_records(StreamName="payments", Records=[{"PartitionKey": "acct-10", "Data": b"second"}])
    records = kafka_read(mqlite_server, "payments", 2)
    assert [(rec.key, rec.value, list(rec.headers)) for rec in records] == [
        (b"acct-9", b"\x00\x01binary", []), (b"acct-10", b"second", [])]
    assert records[0].timestamp > 0


def test_kinesis_put_record_reads_back_with_redis_xrange(mqlite_server: Any) -> None:
    """Kinesis -> Redis: the partition key is the `key` field, Data the `value` field."""
    kinesis = aws(mqlite_server, "kinesis")
    kinesis.create_stream(StreamName="metrics", ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName="metrics", WaiterConfig={"Delay": 0.2})
    kinesis.put_record(StreamName="metrics", PartitionKey="host-1", Data=b"cpu=3")
    assert [f for _, f in redis_client(mqlite_server).xrange("metrics")] == [{b"key": b"host-1", b"value": b"cpu=3"}]


def test_redis_xadd_reads_back_with_kinesis_as_encoded_fields(mqlite_server: Any) -> None:
    """Redis -> Kinesis: no key, so PartitionKey falls back to the shard's index text
    (kinesis/records.py get_records); Data = the encoded field list."""
    r = redis_client(mqlite_server)
    r.xadd("audit", {"who": "ann"})
    (record,) = _kinesis_records(mqlite_server, "audit")
    assert record["Data"] == struct.pack(">I", 3) + b"who" + struct.pack(">I", 3) + b"ann"
    assert record["PartitionKey"] == "0"


def test_redis_reads_only_partition_zero_of_a_multi_partition_kafka_topic(mqlite_server: Any) -> None:
    """A Redis stream key is partition 0 of the core stream (resp/store.py: "Redis stream
    key = mqlite stream with one partition"); records of other partitions are not entries.
    Documented limitation (docs/cross-protocol.md)."""
    from kafka.admin import KafkaAdminClient, NewTopic

    admin = KafkaAdminClient(bootstrap_servers=f"127.0.0.1:{mqlite_server.kafka_port}")
    try:
        admin.create_topics([NewTopic("wide", num_partitions=2, replication_factor=1)])
    finally:
        admin.close()
    producer = kafka_producer(mqlite_server)
    try:
        producer.send("wide", value=b"p0", partition=0)
        producer.send("wide", value=b"p1", partition=1)
        producer.flush()
    finally:
        producer.close()
    assert [f for _, f in redis_client(mqlite_server).xrange("wide")] == [{b"value": b"p0"}]
    kinesis = aws(mqlite_server, "kinesis")
    assert len(kinesis.list_shards(StreamName="wide")["Shards"]) == 2
    assert [r["Data"] for r in _kinesis_records(mqlite_server, "wide", "shardId-000000000001")] == [b"p1"]


def test_redis_stream_bookkeeping_is_not_read_as_data_by_kafka_or_kinesis(mqlite_server: Any) -> None:
    """Only entries are data: XDEL, XTRIM and XSETID change Redis's view of the stream
    (Redis docs) and must not appear as messages to other protocols' consumers (they are
    written as Kafka control batches, which consumers skip: Kafka protocol guide,
    "Control Batches"; core reads skip them, resp/store.py docstring)."""
    r = redis_client(mqlite_server)
    first = r.xadd("books", {"a": "1"})
    r.xadd("books", {"b": "2"})
    r.xdel("books", first)
    r.execute_command("XSETID", "books", "9999999999999-0")
    values = [rec.value for rec in kafka_read(mqlite_server, "books", 4, timeout_ms=2000)]
    assert all(not v.startswith((b"1", b"9")) for v in values)  # no "<ms>-<seq> ..." texts
    assert len(_kinesis_records(mqlite_server, "books")) == 2
