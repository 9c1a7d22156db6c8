# ruff: noqa: F401, F811, I001  (fixtures imported from kafka_support, which must come before kafka)
"""kafka-python against a real mqlite server: produce, consume, groups, seek, times, restart."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from kafka_support import bootstrap, kafka, kafka_factory

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

from mqlite.storage.recordbatch import Compression, parse_header


def _consume(consumer: KafkaConsumer, count: int, limit: float = 30.0) -> list[Any]:
    got: list[Any] = []
    deadline = time.monotonic() + limit
    while len(got) < count and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=200).values():
            got.extend(records)
    return got


def _stored_compression(kafka: Any, topic: str) -> set[int]:
    def read() -> set[int]:
        stream = kafka.core.get_stream(topic)
        codes = set()
        for p in range(stream.partition_count):
            for batch in stream.read_batches(p, stream.earliest(p), 1 << 20):
                codes.add(parse_header(batch).compression.value)
        return codes

    return kafka.call(read)


@pytest.mark.parametrize("compression", [None, "gzip", "snappy", "lz4", "zstd"])
def test_keyed_messages_round_trip_with_every_compression_stored_as_sent(kafka: Any, bootstrap: str, compression: str | None) -> None:
    """Produce/Fetch move RecordBatch bytes unchanged: the stored batch keeps the
    producer's compression codec (issue #7), and equal keys share a partition."""
    topic = f"keyed-{compression or 'none'}"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=bootstrap, compression_type=compression, linger_ms=5)
    sent = [(f"key-{i % 5}".encode(), f"value-{i}".encode() * 3) for i in range(60)]
    for key, value in sent:
        producer.send(topic, key=key, value=value, headers=[("h", b"x")])
    producer.flush()
    producer.close()
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    got = _consume(consumer, len(sent))
    consumer.close()
    assert sorted((r.key, r.value) for r in got) == sorted(sent)
    partitions_by_key: dict[bytes, set[int]] = {}
    for r in got:
        partitions_by_key.setdefault(r.key, set()).add(r.partition)
        assert r.headers == [("h", b"x")]
    assert all(len(ps) == 1 for ps in partitions_by_key.values())
    expected = {None: Compression.NONE, "gzip": Compression.GZIP, "snappy": Compression.SNAPPY,
                "lz4": Compression.LZ4, "zstd": Compression.ZSTD}[compression]
    assert _stored_compression(kafka, topic) == {expected.value}


class GroupMember(threading.Thread):
    """One consumer polling in its own thread, recording what it is assigned."""

    def __init__(self, bootstrap: str, topic: str, group: str) -> None:
        super().__init__(daemon=True)
        self.consumer = KafkaConsumer(
            topic, bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest",
            heartbeat_interval_ms=200, session_timeout_ms=6000, max_poll_interval_ms=30000,
        )
        self.stop = threading.Event()
        self.values: list[bytes] = []
        self.lock = threading.Lock()

    def run(self) -> None:
        while not self.stop.is_set():
            for records in self.consumer.poll(timeout_ms=100).values():
                with self.lock:
                    self.values.extend(r.value for r in records)
        self.consumer.close()

    def assignment(self) -> set[int]:
        return {tp.partition for tp in self.consumer.assignment()}


def _wait_until(predicate: Any, limit: float = 40.0) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


def test_three_consumers_split_six_partitions_and_rebalance_when_one_leaves(kafka: Any, bootstrap: str) -> None:
    """Classic group protocol: members share a topic's partitions; a LeaveGroup makes
    the coordinator rebalance the partitions over the remaining members."""
    topic = "six"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(topic, num_partitions=6, replication_factor=1)])
    admin.close()
    members = [GroupMember(bootstrap, topic, "split") for _ in range(3)]
    for m in members:
        m.start()
    try:
        _wait_until(lambda: sorted(p for m in members for p in m.assignment()) == list(range(6))
                    and all(len(m.assignment()) == 2 for m in members))
        producer = KafkaProducer(bootstrap_servers=bootstrap)
        for i in range(60):
            producer.send(topic, value=b"a%d" % i, partition=i % 6)
        producer.flush()
        _wait_until(lambda: sum(len(m.values) for m in members) >= 60)
        leaving = members.pop()
        leaving.stop.set()
        leaving.join(timeout=30)
        _wait_until(lambda: sorted(p for m in members for p in m.assignment()) == list(range(6))
                    and all(len(m.assignment()) == 3 for m in members))
        for i in range(60):
            producer.send(topic, value=b"b%d" % i, partition=i % 6)
        producer.flush()
        producer.close()
        _wait_until(lambda: sum(1 for m in members for v in m.values if v.startswith(b"b")) >= 60)
        got_b = sorted(v for m in members for v in m.values if v.startswith(b"b"))
        assert got_b == sorted(b"b%d" % i for i in range(60))
    finally:
        for m in members:
            m.stop.set()
        for m in members:
            m.join(timeout=30)


def test_seek_replays_from_an_offset(bootstrap: str) -> None:
    """A consumer can seek to any offset and read the log again from there."""
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    for i in range(20):
        producer.send("replay", value=b"m%d" % i, partition=0)
    producer.flush()
    producer.close()
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    tp = TopicPartition("replay", 0)
    consumer.assign([tp])
    consumer.seek(tp, 15)
    assert [r.value for r in _consume(consumer, 5)] == [b"m%d" % i for i in range(15, 20)]
    consumer.seek(tp, 3)
    got = _consume(consumer, 17)
    assert [r.offset for r in got] == list(range(3, 20))
    consumer.seek_to_beginning(tp)
    assert _consume(consumer, 1)[0].offset == 0
    consumer.close()


def test_offsets_for_times_finds_the_first_record_at_or_after_a_timestamp(bootstrap: str) -> None:
    """ListOffsets by timestamp (KIP-79): earliest offset whose timestamp >= the target."""
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    base = 1_700_000_000_000
    for i in range(10):
        producer.send("times", value=b"t%d" % i, partition=0, timestamp_ms=base + i * 1000)
        producer.flush()
    producer.close()
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    tp = TopicPartition("times", 0)
    found = consumer.offsets_for_times({tp: base + 4500})[tp]
    assert (found.offset, found.timestamp) == (5, base + 5000)
    assert consumer.offsets_for_times({tp: base + 99_000})[tp] is None
    assert consumer.beginning_offsets([tp])[tp] == 0
    assert consumer.end_offsets([tp])[tp] == 10
    consumer.close()


def test_committed_offsets_metadata_and_data_survive_a_restart(kafka: Any, bootstrap: str) -> None:
    """Committed offsets live in the durable group store; the log survives restart."""
    from kafka.structs import OffsetAndMetadata

    producer = KafkaProducer(bootstrap_servers=bootstrap)
    for i in range(10):
        producer.send("durable", value=b"d%d" % i, partition=0)
    producer.flush()
    producer.close()
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id="keeper", enable_auto_commit=False)
    tp = TopicPartition("durable", 0)
    consumer.assign([tp])
    consumer.commit({tp: OffsetAndMetadata(7, "note", -1)})
    consumer.close()
    kafka.restart()
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id="keeper", enable_auto_commit=False)
    consumer.assign([tp])
    committed = consumer.committed(tp, metadata=True)
    assert (committed.offset, committed.metadata) == (7, "note")
    assert [r.value for r in _consume(consumer, 3)] == [b"d7", b"d8", b"d9"]
    consumer.close()
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    groups = {g["group_id"]: g["group_state"] for g in admin.list_groups()}
    assert groups["keeper"] == "Empty"  # the group itself survived the restart
    admin.close()


def test_admin_creates_describes_and_deletes_topics(bootstrap: str) -> None:
    """CreateTopics / Metadata / DeleteTopics; an existing name is TOPIC_ALREADY_EXISTS."""
    from kafka.errors import TopicAlreadyExistsError

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic("adm", num_partitions=4, replication_factor=1,
                                  topic_configs={"retention.ms": "60000"})])
    with pytest.raises(TopicAlreadyExistsError):
        admin.create_topics([NewTopic("adm", num_partitions=1, replication_factor=1)])
    described = admin.describe_topics(["adm"])
    assert len(described[0]["partitions"]) == 4
    assert "adm" in admin.list_topics()
    admin.delete_topics(["adm"])
    assert "adm" not in admin.list_topics()
    admin.close()


def test_consumer_group_continues_across_a_server_restart(kafka: Any, bootstrap: str) -> None:
    """A restart in the middle: a live group consumer reconnects, rejoins and resumes
    from its committed offsets; produced data survives (issue #7, tests)."""
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    for i in range(30):
        producer.send("midway", value=b"before-%d" % i, partition=0)
    producer.flush()
    consumer = KafkaConsumer("midway", bootstrap_servers=bootstrap, group_id="midway-g",
                             auto_offset_reset="earliest", enable_auto_commit=False,
                             heartbeat_interval_ms=200, reconnect_backoff_max_ms=200)
    first = _consume(consumer, 30)
    assert [r.value for r in first] == [b"before-%d" % i for i in range(30)]
    consumer.commit()
    kafka.restart()
    for i in range(30):
        producer.send("midway", value=b"after-%d" % i, partition=0)
    producer.flush()
    producer.close()
    second = _consume(consumer, 30, limit=60)
    consumer.close()
    assert [r.value for r in second] == [b"after-%d" % i for i in range(30)]
    assert [r.offset for r in second] == list(range(30, 60))
