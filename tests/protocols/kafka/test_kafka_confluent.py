# ruff: noqa: F401, F811, I001  (fixtures imported from kafka_support, which must come before kafka)
"""confluent-kafka (librdkafka) against a real mqlite server."""

from __future__ import annotations

import time
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicCollection, TopicPartition
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewPartitions,
    NewTopic,
)

from kafka_support import bootstrap, kafka, kafka_factory


def _poll(consumer: Consumer, count: int, limit: float = 30.0) -> list[Any]:
    got = []
    deadline = time.monotonic() + limit
    while len(got) < count and time.monotonic() < deadline:
        msg = consumer.poll(0.2)
        if msg is None:
            continue
        assert msg.error() is None, msg.error()
        got.append(msg)
    return got


def test_idempotent_producer_and_group_consumer(bootstrap: str) -> None:
    """librdkafka's idempotent producer (InitProducerId, sequences) and its group
    consumer (JoinGroup/SyncGroup/OffsetCommit) work unchanged (issue #7)."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic("orders", 3, 1)]).values():
        f.result()
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all",
                         "compression.type": "zstd", "linger.ms": 5})
    errors: list[Any] = []
    for i in range(300):
        producer.produce("orders", key=b"k%d" % (i % 7), value=b"v%d" % i,
                         on_delivery=lambda err, msg: errors.append(err) if err else None)
    assert producer.flush(30) == 0
    assert errors == []
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "billing", "auto.offset.reset": "earliest",
                         "enable.auto.commit": False})
    consumer.subscribe(["orders"])
    got = _poll(consumer, 300)
    assert sorted(m.value() for m in got) == sorted(b"v%d" % i for i in range(300))
    consumer.commit(asynchronous=False)
    committed = consumer.committed([TopicPartition("orders", p) for p in range(3)], timeout=10)
    assert sum(tp.offset for tp in committed) == 300
    consumer.close()


def test_admin_client_creates_describes_and_configures_topics(bootstrap: str) -> None:
    """CreateTopics, Metadata, CreatePartitions, DescribeConfigs/AlterConfigs."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic("cfg", 2, 1, config={"retention.ms": "3600000"})]).values():
        f.result()
    with pytest.raises(KafkaException):
        for f in admin.create_topics([NewTopic("cfg", 2, 1)]).values():
            f.result()
    meta = admin.list_topics(timeout=10)
    assert len(meta.topics["cfg"].partitions) == 2
    for f in admin.create_partitions([NewPartitions("cfg", 5)]).values():
        f.result()
    assert len(admin.list_topics(timeout=10).topics["cfg"].partitions) == 5
    resource = ConfigResource(ConfigResource.Type.TOPIC, "cfg")
    configs = next(iter(admin.describe_configs([resource]).values())).result()
    assert configs["retention.ms"].value == "3600000"
    assert not configs["retention.ms"].is_default
    assert configs["retention.bytes"].is_default
    change = ConfigResource(ConfigResource.Type.TOPIC, "cfg", incremental_configs=[
        ConfigEntry("retention.bytes", "1048576", incremental_operation=AlterConfigOpType.SET),
        ConfigEntry("retention.ms", None, incremental_operation=AlterConfigOpType.DELETE),
    ])
    for f in admin.incremental_alter_configs([change]).values():
        f.result()
    configs = next(iter(admin.describe_configs([resource]).values())).result()
    assert configs["retention.bytes"].value == "1048576"
    assert configs["retention.ms"].is_default
    described = admin.describe_topics(TopicCollection(["cfg"]))["cfg"].result()
    assert [p.id for p in described.partitions] == [0, 1, 2, 3, 4]
    for f in admin.delete_topics(["cfg"]).values():
        f.result()
    assert "cfg" not in admin.list_topics(timeout=10).topics


def test_consumer_reads_from_offsets_for_times(bootstrap: str) -> None:
    """ListOffsets v1+ by timestamp through librdkafka's offsets_for_times."""
    producer = Producer({"bootstrap.servers": bootstrap})
    base = 1_750_000_000_000
    for i in range(5):
        producer.produce("stamped", value=b"s%d" % i, partition=0, timestamp=base + i * 10)
    producer.flush(10)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "times"})
    found = consumer.offsets_for_times([TopicPartition("stamped", 0, base + 25)], timeout=10)
    assert found[0].offset == 3
    consumer.assign(found)
    assert [m.value() for m in _poll(consumer, 2)] == [b"s3", b"s4"]
    consumer.close()


def test_static_member_restart_keeps_its_partitions_without_a_rebalance(bootstrap: str, kafka: Any) -> None:
    """KIP-345 with librdkafka: a consumer with `group.instance.id` that closes (no
    LeaveGroup for static members) and comes back gets its partitions again in the
    same generation, without rebalancing the other member."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic("static", 4, 1)]).values():
        f.result()

    def member(i: int) -> Consumer:
        c = Consumer({"bootstrap.servers": bootstrap, "group.id": "statics", "group.instance.id": f"inst-{i}",
                      "auto.offset.reset": "earliest", "session.timeout.ms": 10000})
        c.subscribe(["static"])
        return c

    def settle(consumers: list[Consumer]) -> list[list[int]]:
        deadline = time.monotonic() + 30
        while not all(len(c.assignment()) == 2 for c in consumers):
            assert time.monotonic() < deadline, "group did not settle"
            for c in consumers:
                c.poll(0.05)
        return [sorted(p.partition for p in c.assignment()) for c in consumers]

    def generation() -> tuple[int, str]:
        group = kafka.call(lambda: kafka.core.groups.find("statics"))
        return group.generation, kafka.call(lambda: kafka.core.groups.membership.state("statics"))

    consumers = [member(0), member(1)]
    before = settle(consumers)
    assert sorted(before[0] + before[1]) == [0, 1, 2, 3]
    gen = generation()
    consumers[1].close()
    consumers[1] = member(1)
    assert settle(consumers) == before
    assert generation() == gen == (gen[0], "Stable")
    for c in consumers:
        c.close()
