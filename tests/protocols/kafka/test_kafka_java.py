# ruff: noqa: F401, F811, I001  (fixtures imported from kafka_support, which must come before kafka)
"""The Java client (Apache Kafka's kafka-clients 4.x) and Kafka's own command-line tools,
unmodified, against mqlite.

Java sources in `java/` are compiled by the harness (`java_support.py`) against the jars
that `scripts/install-test-deps.sh` fetches; everything here skips where there is no JDK
or no jars. Rules checked: the producer (idempotent, acks=all) and a classic-protocol
consumer group round-trip records with keys, headers and per-key order; commits are
visible to the admin client; two members split a topic's partitions; the admin client's
cluster, topic, config, offset and delete-records calls; kafka-topics,
kafka-console-producer/-consumer, kafka-consumer-groups (--describe with lag,
--reset-offsets) and the producer/consumer perf tools; KafkaProducer transactions
(commit, abort, zombie fencing, consume-transform-produce with sendOffsetsToTransaction)
read by read_committed consumers, and kafka-transactions list/describe; consumers on
KIP-848's `group.protocol=consumer`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from java_support import (
    CONSOLE_CONSUMER, CONSOLE_PRODUCER, CONSUMER_GROUPS, CONSUMER_PERF, PRODUCER_PERF, TOPICS, TRANSACTIONS,
    java_classes, kafka_tool, lines, missing, run_java,
)
from kafka_support import bootstrap, kafka, kafka_factory

pytestmark = pytest.mark.skipif(missing() is not None, reason=missing() or "")


def _scenario(classes: Path, name: str, *args: str) -> dict[str, str]:
    out = run_java("ClientsCheck", name, *args, classes=classes)
    assert out.returncode == 0, out.stderr + out.stdout
    return lines(out.stdout)


def test_java_producer_and_classic_group_consumer(java_classes: Path, bootstrap: str) -> None:
    got = _scenario(java_classes, "produce-consume", bootstrap, "java-pc")
    assert got == {
        "produced": "300", "partitions_written": "3", "consumed": "300", "ordered_per_key": "true",
        "key_sticks_to_partition": "true", "headers_intact": "true", "committed_total": "300",
        "committed_matches_ends": "true", "resumed_with": "after",
    }


def test_java_admin_client(java_classes: Path, bootstrap: str) -> None:
    """Cluster (DescribeCluster), topics, configs, offsets, DeleteRecords and OffsetDelete
    (GROUP_SUBSCRIBED_TO_TOPIC while a member reads the topic)."""
    got = _scenario(java_classes, "admin", bootstrap)
    assert got == {
        "cluster_nodes": "1", "cluster_id_set": "true", "controller_id": "0",
        "create_again": "TopicExistsException", "listed": "true", "partitions": "4",
        "retention_ms": "3600000", "retention_ms_altered": "7200000", "latest": "5",
        "earliest_after_delete": "2", "describe_missing": "UnknownTopicOrPartitionException",
        "delete_offsets_active": "GroupSubscribedToTopicException", "offsets_left": "3",
        "listed_after_delete": "false",
    }


@pytest.mark.parametrize("protocol", ["classic", "consumer"])
def test_java_consumers_split_partitions(java_classes: Path, bootstrap: str, protocol: str) -> None:
    """Two members of one group split a 4-partition topic, with the classic protocol
    (JoinGroup/SyncGroup, client-side assignor) and with KIP-848's (ConsumerGroupHeartbeat,
    broker-side assignment, revocation before reassignment)."""
    got = _scenario(java_classes, "rebalance", bootstrap, f"java-split-{protocol}", protocol)
    assert got == {"alone": "4", "split": "2+2", "members": "2", "state": "Stable"}


def test_java_consumer_protocol_kip848(java_classes: Path, bootstrap: str) -> None:
    """A KafkaConsumer with group.protocol=consumer joins, is assigned both partitions,
    reads every record and commits with its member epoch."""
    got = _scenario(java_classes, "consumer-protocol", bootstrap, "java-848")
    assert got == {"consumed": "10", "assigned": "2"}


def test_kafka_topics_tool(bootstrap: str) -> None:
    out = kafka_tool(TOPICS, "--bootstrap-server", bootstrap, "--create", "--topic", "cli-t",
                     "--partitions", "3", "--config", "retention.ms=86400000")
    assert "Created topic cli-t." in out
    assert "cli-t" in kafka_tool(TOPICS, "--bootstrap-server", bootstrap, "--list").split()
    described = kafka_tool(TOPICS, "--bootstrap-server", bootstrap, "--describe", "--topic", "cli-t")
    assert re.search(r"Topic: cli-t\s+TopicId: \S+\s+PartitionCount: 3\s+ReplicationFactor: 1", described) \
        or re.search(r"Topic: cli-t\s.*PartitionCount: 3", described), described
    assert "retention.ms=86400000" in described
    assert len(re.findall(r"Partition: \d\s+Leader: 0", described)) == 3
    kafka_tool(TOPICS, "--bootstrap-server", bootstrap, "--alter", "--topic", "cli-t", "--partitions", "5")
    assert "PartitionCount: 5" in kafka_tool(TOPICS, "--bootstrap-server", bootstrap, "--describe", "--topic", "cli-t")
    kafka_tool(TOPICS, "--bootstrap-server", bootstrap, "--delete", "--topic", "cli-t")
    assert "cli-t" not in kafka_tool(TOPICS, "--bootstrap-server", bootstrap, "--list").split()


def _group_rows(out: str) -> dict[int, list[str]]:
    """kafka-consumer-groups --describe's table rows by partition."""
    rows = {}
    for line in out.splitlines():
        cols = line.split()
        if len(cols) >= 6 and cols[0] == "cli-g" and cols[2].isdigit():
            rows[int(cols[2])] = cols
    return rows


def test_console_tools_and_consumer_groups_lag(bootstrap: str) -> None:
    """Console producer -> console consumer in a group (4 of 10 read) -> consumer-groups
    shows CURRENT-OFFSET 4, LOG-END-OFFSET 10, LAG 6; --reset-offsets --to-earliest
    --execute moves it back to 0 and the lag to 10; --delete-offsets forgets it."""
    kafka_tool(TOPICS, "--bootstrap-server", bootstrap, "--create", "--topic", "cli-c", "--partitions", "1")
    lines_in = "".join(f"line-{i}\n" for i in range(10))
    kafka_tool(CONSOLE_PRODUCER, "--bootstrap-server", bootstrap, "--topic", "cli-c", input=lines_in)
    out = kafka_tool(CONSOLE_CONSUMER, "--bootstrap-server", bootstrap, "--topic", "cli-c", "--group", "cli-g",
                     "--from-beginning", "--max-messages", "4")
    assert out.split() == [f"line-{i}" for i in range(4)]
    described = kafka_tool(CONSUMER_GROUPS, "--bootstrap-server", bootstrap, "--describe", "--group", "cli-g")
    # GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG ...
    assert _group_rows(described)[0][1:6] == ["cli-c", "0", "4", "10", "6"], described
    listed = kafka_tool(CONSUMER_GROUPS, "--bootstrap-server", bootstrap, "--list")
    assert "cli-g" in listed.split()
    kafka_tool(CONSUMER_GROUPS, "--bootstrap-server", bootstrap, "--reset-offsets", "--group", "cli-g",
               "--topic", "cli-c", "--to-earliest", "--execute")
    described = kafka_tool(CONSUMER_GROUPS, "--bootstrap-server", bootstrap, "--describe", "--group", "cli-g")
    assert _group_rows(described)[0][1:6] == ["cli-c", "0", "0", "10", "10"], described
    out = kafka_tool(CONSOLE_CONSUMER, "--bootstrap-server", bootstrap, "--topic", "cli-c", "--group", "cli-g",
                     "--max-messages", "10", "--formatter-property", "print.key=false")
    assert out.split() == [f"line-{i}" for i in range(10)]
    out = kafka_tool(CONSUMER_GROUPS, "--bootstrap-server", bootstrap, "--delete-offsets", "--group", "cli-g",
                     "--topic", "cli-c")
    assert re.search(r"cli-c\s+0\s+Successful", out), out
    described = kafka_tool(CONSUMER_GROUPS, "--bootstrap-server", bootstrap, "--describe", "--group", "cli-g")
    assert 0 not in _group_rows(described), described


def test_producer_and_consumer_perf_tools(bootstrap: str) -> None:
    """kafka-producer-perf-test (100-byte records, acks=all) and kafka-consumer-perf-test
    complete and account for every record."""
    kafka_tool(TOPICS, "--bootstrap-server", bootstrap, "--create", "--topic", "cli-perf", "--partitions", "2")
    out = kafka_tool(PRODUCER_PERF, "--topic", "cli-perf", "--num-records", "5000", "--record-size", "100",
                     "--throughput", "-1", "--bootstrap-server", bootstrap,
                     "--command-property", "acks=all")
    assert re.search(r"^5000 records sent, [\d.]+ records/sec", out, re.MULTILINE), out
    out = kafka_tool(CONSUMER_PERF, "--bootstrap-server", bootstrap, "--topic", "cli-perf", "--num-records", "5000")
    header, row = out.strip().splitlines()[-2:]
    fields = dict(zip([h.strip() for h in header.split(",")], [v.strip() for v in row.split(",")], strict=True))
    assert fields["data.consumed.in.nMsg"] == "5000"


def _txn(classes: Path, name: str, *args: str) -> dict[str, str]:
    out = run_java("TxnCheck", name, *args, classes=classes)
    assert out.returncode == 0, out.stderr + out.stdout
    return lines(out.stdout)


def test_java_transactions_commit_and_abort(java_classes: Path, bootstrap: str) -> None:
    """KafkaProducer transactions: a read_committed KafkaConsumer sees the committed
    records only and its end offset is the last stable offset; read_uncommitted sees all."""
    got = _txn(java_classes, "basic", bootstrap, "jt-basic")
    assert got["committed"] == "c0,c1,c2,c3"
    assert got["uncommitted"] == "c0,c1,c2,a0,a1,c3"
    # c0-c2, commit marker, a0 a1, abort marker, c3, commit marker
    assert got["jt-basic_end_read_committed"] == got["jt-basic_end_read_uncommitted"] == "9"


def test_java_zombie_producer_is_fenced(java_classes: Path, bootstrap: str) -> None:
    """A second producer with the same transactional.id fences the first: its open
    transaction is aborted, its next send is refused by the partition
    (InvalidProducerEpochException) and its EndTxn by the coordinator (ProducerFencedException)."""
    got = _txn(java_classes, "zombie", bootstrap, "jt-zombie")
    assert got["zombie_send"] == "InvalidProducerEpochException"
    assert got["zombie_end"] == "ProducerFencedException"
    assert got["committed"] == "fresh-1"
    assert got["uncommitted"] == "zombie-1,fresh-1"


def test_java_consume_transform_produce(java_classes: Path, bootstrap: str) -> None:
    """sendOffsetsToTransaction with the consumer's group metadata (KIP-447): the group
    offset moves with the committed transaction and not with the aborted one."""
    got = _txn(java_classes, "ctp", bootstrap, "jt-in", "jt-out")
    assert got["group_offset"] == "10"
    assert got["out_committed"] == ",".join(f"W{i}" for i in range(10))
    assert got["out_uncommitted_count"] == "15"


def test_kafka_transactions_tool(bootstrap: str) -> None:
    """kafka-transactions list / describe (ListTransactions, DescribeTransactions) show an
    open transaction with its producer and partition; an unknown id is an error."""
    from confluent_kafka import Producer

    kafka_tool(TOPICS, "--bootstrap-server", bootstrap, "--create", "--topic", "cli-tx", "--partitions", "2")
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": "cli-shown"})
    producer.init_transactions(10)
    producer.begin_transaction()
    producer.produce("cli-tx", b"x", partition=1)
    producer.flush(10)
    listed = kafka_tool(TRANSACTIONS, "--bootstrap-server", bootstrap, "list")
    assert re.search(r"^cli-shown\s+0\s+\d+\s+Ongoing", listed, re.MULTILINE), listed
    described = kafka_tool(TRANSACTIONS, "--bootstrap-server", bootstrap, "describe", "--transactional-id",
                           "cli-shown")
    assert re.search(r"cli-shown\s+\d+\s+0\s+Ongoing\s+60000\s+\d+\s+\d+\s+cli-tx-1", described), described
    producer.commit_transaction(10)
    assert re.search(r"^cli-shown\s.*CompleteCommit", kafka_tool(TRANSACTIONS, "--bootstrap-server", bootstrap,
                                                                  "list"), re.MULTILINE)
    missing = run_java(TRANSACTIONS, "--bootstrap-server", bootstrap, "describe", "--transactional-id", "nope")
    assert missing.returncode == 1 and "could not be found" in missing.stdout + missing.stderr
