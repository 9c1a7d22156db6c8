# ruff: noqa: F401, F811, I001  (fixtures imported from kafka_support, which must come before kafka)
"""Log compaction (`cleanup.policy=compact`) driven by confluent-kafka and kafka-python."""

from __future__ import annotations

import time
from typing import Any

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, NewTopic

from kafka_support import bootstrap, kafka, kafka_factory

SMALL = {"cleanup.policy": "compact", "segment.bytes": "600", "min.compaction.lag.ms": "0",
         "delete.retention.ms": "0"}


def _read_all(bootstrap: str, topic: str) -> list[tuple[int, bytes | None, bytes | None]]:
    """Every record of partition 0 from the log start to the high watermark, aborted
    transactional records included (read_uncommitted)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "reader", "enable.auto.commit": False,
                         "isolation.level": "read_uncommitted"})
    _low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    consumer.assign([TopicPartition(topic, 0, 0)])  # 0 may be cleaned away: the fetch moves on
    out: list[tuple[int, bytes | None, bytes | None]] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (not out or out[-1][0] < high - 1):
        msg = consumer.poll(0.2)
        if msg is not None:
            assert msg.error() is None, msg.error()
            out.append((msg.offset(), msg.key(), msg.value()))
    consumer.close()
    return out


def _produce(bootstrap: str, topic: str, rows: list[tuple[bytes, bytes | None]]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, "batch.num.messages": 1})
    for key, value in rows:
        producer.produce(topic, key=key, value=value)
        producer.flush(10)  # one batch per record: segments roll on small sizes
    assert producer.flush(10) == 0


def test_compacted_topic_keeps_the_latest_value_per_key(bootstrap: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic("profiles", 1, 1, config=SMALL)])["profiles"].result()
    rows = [(b"user%d" % (i % 8), b"v%d" % i) for i in range(80)]
    rows += [(b"user0", None), (b"user1", None)]  # tombstones
    _produce(bootstrap, "profiles", rows)
    filler = [(b"f%d" % i, b"x" * 40) for i in range(30)]  # unique keys: nothing to clean here
    _produce(bootstrap, "profiles", filler)
    offset_of = {}
    for i, (key, value) in enumerate(rows + filler):
        offset_of[key] = (i, value)
    expected = sorted((o, k, v) for k, (o, v) in offset_of.items() if v is not None)
    got: list[Any] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the cleaner runs in the background, about once a second
        got = _read_all(bootstrap, "profiles")
        if got == expected:
            break
        time.sleep(0.5)
    assert got == expected  # latest per key, at its original offset; tombstones gone
    offsets = [o for o, _, _ in got]
    assert offsets == sorted(set(offsets)) and len(got) < len(rows) + len(filler)


def test_cleanup_policy_configs_are_accepted_and_described(bootstrap: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic("plain", 1, 1)])["plain"].result()
    res = ConfigResource(ConfigResource.Type.TOPIC, "plain")
    entries = [ConfigEntry("cleanup.policy", "compact,delete", incremental_operation=AlterConfigOpType.SET),
               ConfigEntry("min.compaction.lag.ms", "5000", incremental_operation=AlterConfigOpType.SET)]
    admin.incremental_alter_configs([ConfigResource(ConfigResource.Type.TOPIC, "plain",
                                                    incremental_configs=entries)])[res].result()
    described = admin.describe_configs([res])[res].result()
    assert described["cleanup.policy"].value == "compact,delete"
    assert described["min.compaction.lag.ms"].value == "5000"
    assert described["delete.retention.ms"].value == "86400000" and described["delete.retention.ms"].is_default
    bad = ConfigEntry("cleanup.policy", "shred", incremental_operation=AlterConfigOpType.SET)
    fut = admin.incremental_alter_configs([ConfigResource(ConfigResource.Type.TOPIC, "plain",
                                                          incremental_configs=[bad])])[res]
    try:
        fut.result()
        raise AssertionError("cleanup.policy=shred was accepted")
    except KafkaException as exc:
        assert exc.args[0].name() == "INVALID_CONFIG"


def test_compaction_drops_aborted_transactions_and_keeps_committed_ones(bootstrap: str) -> None:
    """A transactional producer commits user=v1 then aborts user=v2; once cleaned, even a
    read_uncommitted reader finds only v1 (the aborted write is gone, not a newer value)."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic("accounts", 1, 1, config=SMALL)])["accounts"].result()
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": "acct", "linger.ms": 0})
    producer.init_transactions(10)
    for value, commit in ((b"v1", True), (b"v2", False)):
        producer.begin_transaction()
        producer.produce("accounts", key=b"user", value=value)
        producer.flush(10)
        if commit:
            producer.commit_transaction(10)
        else:
            producer.abort_transaction(10)
    _produce(bootstrap, "accounts", [(b"f%d" % i, b"x" * 40) for i in range(30)])
    got: list[Any] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        got = [v for _o, k, v in _read_all(bootstrap, "accounts") if k == b"user"]
        if got == [b"v1"]:
            break
        time.sleep(0.5)
    assert got == [b"v1"]
