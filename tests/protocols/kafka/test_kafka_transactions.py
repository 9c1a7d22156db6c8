# ruff: noqa: F401, F811, I001  (fixtures imported from kafka_support, which must come before kafka)
"""Kafka transactions (KIP-98/KIP-447) with confluent-kafka, kafkajs, aiokafka,
kafka-python (read_committed) and the raw wire (the Java client: test_kafka_java.py).

Rules checked (Apache Kafka `TransactionCoordinator`, `KafkaApis`, KIP-98/447/890):
committed records reach read_committed readers, aborted ones never do (the fetch names
the aborted transactions, the client drops them); an open transaction holds the last
stable offset (ListOffsets read_committed, Fetch) at its first offset; calls out of
order get Kafka's codes (INVALID_TXN_STATE, INVALID_PRODUCER_ID_MAPPING,
PRODUCER_FENCED / INVALID_PRODUCER_EPOCH by version, INVALID_TRANSACTION_TIMEOUT,
OPERATION_NOT_ATTEMPTED) on a connection that keeps working; a transaction past its
timeout is aborted and its producer fenced; an in-doubt transaction survives a restart
(still holding the LSO) and is aborted when its transactional id is initialised again.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from kafka_raw import RawClient
from kafka_support import bootstrap, kafka, kafka_factory
from mqlite.core.clock import ManualClock
from mqlite.protocols.kafka.errors import ErrorCode
from mqlite.storage.recordbatch import encode_batch

PRODUCE, LIST_OFFSETS, METADATA, INIT_PID, ADD_PARTITIONS, ADD_OFFSETS, END_TXN, TXN_COMMIT = 0, 2, 3, 22, 24, 25, 26, 28
NODE_DIR = Path(__file__).parent / "node"
HAVE_KAFKAJS = shutil.which("node") is not None and (NODE_DIR / "node_modules" / "kafkajs").is_dir()


def _create(bootstrap: str, *topics: str, partitions: int = 1) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic(t, partitions) for t in topics]).values():
        f.result(10)


def _producer(bootstrap: str, txn_id: str, **conf: Any) -> Producer:
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": txn_id, "linger.ms": 1, **conf})
    p.init_transactions(10)
    return p


def _read(bootstrap: str, topic: str, isolation: str, partitions: int = 1) -> list[str]:
    """Every record a fresh consumer reads from the start to the end it is allowed to see."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"reader-{time.monotonic_ns()}",
                  "isolation.level": isolation, "enable.partition.eof": True, "enable.auto.commit": False})
    try:
        c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        got, eof = [], 0
        deadline = time.monotonic() + 30
        while eof < partitions:
            assert time.monotonic() < deadline, f"never reached the end of {topic}: {got}"
            m = c.poll(1)
            if m is None:
                continue
            if m.error():
                eof += 1
                continue
            got.append(m.value().decode())
        return got
    finally:
        c.close()


def _stable(server: Any, topic: str, partition: int = 0) -> tuple[int, int]:
    """(last stable offset, high watermark) from ListOffsets read_committed / uncommitted."""
    c = RawClient("127.0.0.1", server.kafka_port)
    try:
        out = []
        for isolation in (1, 0):
            resp = c.request(LIST_OFFSETS, 2, {"ReplicaId": -1, "IsolationLevel": isolation, "Topics": [
                {"Name": topic, "Partitions": [{"PartitionIndex": partition, "Timestamp": -1}]}]})
            out.append(resp["Topics"][0]["Partitions"][0]["Offset"])
        return out[0], out[1]
    finally:
        c.close()


def test_commit_abort_and_read_committed(kafka: Any, bootstrap: str) -> None:
    """Committed batches are read by both isolation levels; aborted ones only by
    read_uncommitted; an open transaction holds the LSO at its first offset until it
    commits, and read_committed readers stop there."""
    _create(bootstrap, "tx", partitions=2)
    p = _producer(bootstrap, "tx-1")
    p.begin_transaction()
    for i in range(4):
        p.produce("tx", f"c{i}".encode(), partition=i % 2)
    p.commit_transaction(10)
    p.begin_transaction()
    for i in range(4):
        p.produce("tx", f"a{i}".encode(), partition=i % 2)
    p.flush()
    p.abort_transaction(10)
    assert sorted(_read(bootstrap, "tx", "read_committed", 2)) == ["c0", "c1", "c2", "c3"]
    assert sorted(_read(bootstrap, "tx", "read_uncommitted", 2)) == ["a0", "a1", "a2", "a3", "c0", "c1", "c2", "c3"]
    # partition 0: c0 c2 (0, 1) commit marker (2) a0 a2 (3, 4) abort marker (5)
    assert _stable(kafka, "tx") == (6, 6)
    p.begin_transaction()
    p.produce("tx", b"open", partition=0)
    p.flush()
    assert _stable(kafka, "tx") == (6, 7)
    assert sorted(_read(bootstrap, "tx", "read_committed", 2)) == ["c0", "c1", "c2", "c3"]
    p.commit_transaction(10)
    assert _stable(kafka, "tx") == (8, 8)
    assert sorted(_read(bootstrap, "tx", "read_committed", 2)) == ["c0", "c1", "c2", "c3", "open"]


def test_offsets_commit_with_the_transaction_only(kafka: Any, bootstrap: str) -> None:
    """send_offsets_to_transaction: the group's offsets appear on commit, not on abort."""
    _create(bootstrap, "ctp-in", "ctp-out")
    plain = Producer({"bootstrap.servers": bootstrap})
    for i in range(6):
        plain.produce("ctp-in", f"w{i}".encode())
    plain.flush()
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "ctp", "isolation.level": "read_committed",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    p = _producer(bootstrap, "ctp-tx")
    try:
        consumer.subscribe(["ctp-in"])
        got: list[Any] = []
        deadline = time.monotonic() + 30
        while len(got) < 6:
            assert time.monotonic() < deadline
            m = consumer.poll(1)
            if m is not None and not m.error():
                got.append(m)
        for outcome, part in (("commit", got[:4]), ("abort", got[4:])):
            p.begin_transaction()
            for m in part:
                p.produce("ctp-out", m.value().upper())
            p.send_offsets_to_transaction([TopicPartition("ctp-in", 0, part[-1].offset() + 1)],
                                          consumer.consumer_group_metadata(), 10)
            p.flush()
            (p.commit_transaction if outcome == "commit" else p.abort_transaction)(10)
        [tp] = consumer.committed([TopicPartition("ctp-in", 0)], timeout=10)
        assert tp.offset == 4
    finally:
        consumer.close()
    assert _read(bootstrap, "ctp-out", "read_committed") == ["W0", "W1", "W2", "W3"]
    assert _read(bootstrap, "ctp-out", "read_uncommitted") == ["W0", "W1", "W2", "W3", "W4", "W5"]


def _txn_batch(pid: int, epoch: int, seq: int = 0) -> bytes:
    return encode_batch([(None, b"raw")], producer_id=pid, producer_epoch=epoch, base_sequence=seq,
                        is_transactional=True)


def test_out_of_order_calls_get_kafkas_error_codes(kafka: Any, bootstrap: str) -> None:
    """Each misuse gets Kafka's code; the same connection keeps serving, and nothing of
    the refused calls reaches a read_committed reader."""
    _create(bootstrap, "bad")
    c = RawClient("127.0.0.1", kafka.kafka_port)

    def init(txn: str, timeout: int = 60_000, version: int = 4) -> dict[str, Any]:
        return c.request(INIT_PID, version, {"TransactionalId": txn, "TransactionTimeoutMs": timeout,
                                             "ProducerId": -1, "ProducerEpoch": -1})

    def add(pid: int, epoch: int, topic: str = "bad", version: int = 3, parts: Any = (0,)) -> dict[int, int]:
        resp = c.request(ADD_PARTITIONS, version, {
            "V3AndBelowTransactionalId": "t", "V3AndBelowProducerId": pid, "V3AndBelowProducerEpoch": epoch,
            "V3AndBelowTopics": [{"Name": topic, "Partitions": list(parts)}]})
        return {r["PartitionIndex"]: r["PartitionErrorCode"] for t in resp["ResultsByTopicV3AndBelow"]
                for r in t["ResultsByPartition"]}

    def end(pid: int, epoch: int, commit: bool, version: int = 3) -> int:
        return c.request(END_TXN, version, {"TransactionalId": "t", "ProducerId": pid, "ProducerEpoch": epoch,
                                            "Committed": commit})["ErrorCode"]

    def produce(pid: int, epoch: int, seq: int = 0) -> int:
        resp = c.request(PRODUCE, 7, {"TransactionalId": "t", "Acks": -1, "TimeoutMs": 5000, "TopicData": [
            {"Name": "bad", "PartitionData": [{"Index": 0, "Records": _txn_batch(pid, epoch, seq)}]}]})
        return resp["Responses"][0]["PartitionResponses"][0]["ErrorCode"]

    try:
        assert init("t", timeout=0)["ErrorCode"] == ErrorCode.INVALID_TRANSACTION_TIMEOUT
        assert init("t", timeout=3_600_000)["ErrorCode"] == ErrorCode.INVALID_TRANSACTION_TIMEOUT
        first = init("t")
        pid, epoch = first["ProducerId"], first["ProducerEpoch"]
        assert end(pid, epoch, True) == ErrorCode.INVALID_TXN_STATE  # EndTxn without a transaction
        assert produce(pid, epoch) == ErrorCode.INVALID_TXN_STATE  # partition not in a transaction
        assert add(pid + 1, epoch) == {0: ErrorCode.INVALID_PRODUCER_ID_MAPPING}
        assert add(pid, epoch, topic="nope") == {0: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION}
        assert add(pid, epoch, parts=(0, 5)) == {0: ErrorCode.OPERATION_NOT_ATTEMPTED,
                                                  5: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION}
        assert add(pid, epoch) == {0: ErrorCode.NONE}
        resp = c.request(TXN_COMMIT, 3, {"TransactionalId": "t", "GroupId": "g", "ProducerId": pid,
                                         "ProducerEpoch": epoch, "GenerationId": -1, "MemberId": "",
                                         "GroupInstanceId": None, "Topics": [{"Name": "bad", "Partitions": [
                                             {"PartitionIndex": 0, "CommittedOffset": 1, "CommittedLeaderEpoch": -1,
                                              "CommittedMetadata": ""}]}]})
        assert resp["Topics"][0]["Partitions"][0]["ErrorCode"] == ErrorCode.INVALID_TXN_STATE  # no AddOffsetsToTxn
        assert produce(pid, epoch) == ErrorCode.NONE
        assert end(pid, epoch, False) == ErrorCode.NONE
        assert end(pid, epoch, False) == ErrorCode.NONE  # a retried abort
        assert end(pid, epoch, True) == ErrorCode.INVALID_TXN_STATE  # commit after abort
        again = init("t")  # fences epoch `epoch`
        assert (again["ProducerId"], again["ProducerEpoch"]) == (pid, epoch + 1)
        assert add(pid, epoch) == {0: ErrorCode.PRODUCER_FENCED}
        assert add(pid, epoch, version=1) == {0: ErrorCode.INVALID_PRODUCER_EPOCH}
        assert end(pid, epoch, True) == ErrorCode.PRODUCER_FENCED
        assert c.request(ADD_OFFSETS, 3, {"TransactionalId": "t", "ProducerId": pid, "ProducerEpoch": epoch,
                                          "GroupId": "g"})["ErrorCode"] == ErrorCode.PRODUCER_FENCED
        assert add(pid, epoch + 1) == {0: ErrorCode.NONE}
        assert produce(pid, epoch) == ErrorCode.INVALID_PRODUCER_EPOCH  # the zombie's batch
        assert c.request(METADATA, 1, {"Topics": None})["Brokers"]  # the connection still serves
    finally:
        c.close()
    assert _read(bootstrap, "bad", "read_committed") == []
    assert _read(bootstrap, "bad", "read_uncommitted") == ["raw"]  # the aborted one


def test_timeout_aborts_the_transaction_and_fences_its_producer(kafka_factory: Any) -> None:
    """Past transaction.timeout.ms the coordinator aborts (markers written, LSO released)
    with a bumped epoch, so the producer's commit is refused as fenced."""
    clock = ManualClock(int(time.time() * 1000))
    server = kafka_factory(clock=clock)
    bootstrap = f"127.0.0.1:{server.kafka_port}"
    _create(bootstrap, "slow")
    p = _producer(bootstrap, "slow-tx", **{"transaction.timeout.ms": 5000})
    p.begin_transaction()
    p.produce("slow", b"late")
    p.flush()
    assert _stable(server, "slow") == (0, 1)
    clock.advance(6)
    deadline = time.monotonic() + 30
    while _stable(server, "slow")[0] == 0:  # the maintenance pass aborts it
        assert time.monotonic() < deadline, "the timed-out transaction was never aborted"
        time.sleep(0.05)
    assert _stable(server, "slow") == (2, 2)
    with pytest.raises(KafkaException):
        p.commit_transaction(10)
    assert _read(bootstrap, "slow", "read_committed") == []


def test_in_doubt_transaction_survives_a_restart_and_is_aborted_on_reinit(kafka: Any, bootstrap: str) -> None:
    """A restart keeps an open transaction open (the LSO still holds, nothing of it is
    readable committed); a new producer with its transactional id aborts it."""
    _create(bootstrap, "doubt")
    p = _producer(bootstrap, "doubt-tx")
    p.begin_transaction()
    p.produce("doubt", b"kept")
    p.commit_transaction(10)
    p.begin_transaction()
    p.produce("doubt", b"in-doubt")
    p.flush()
    kafka.restart()
    assert _stable(kafka, "doubt") == (2, 3)
    assert _read(bootstrap, "doubt", "read_committed") == ["kept"]
    fresh = _producer(bootstrap, "doubt-tx")
    assert _stable(kafka, "doubt") == (4, 4)
    fresh.begin_transaction()
    fresh.produce("doubt", b"after")
    fresh.commit_transaction(10)
    assert _read(bootstrap, "doubt", "read_committed") == ["kept", "after"]
    with pytest.raises(KafkaException):  # the old producer is fenced
        p.commit_transaction(10)


@pytest.mark.skipif(not HAVE_KAFKAJS, reason="kafkajs not installed (scripts/install-test-deps.sh)")
def test_kafkajs_transactions(kafka: Any, bootstrap: str) -> None:
    """kafkajs's transactional producer: commit, abort, sendOffsets; its read_committed
    consumer (readUncommitted: false) sees the committed records only."""
    out = subprocess.run(["node", str(NODE_DIR / "transactions.js"), bootstrap, "jstx"], capture_output=True,
                         text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["committed"] == ["c0", "c1", "c2"]
    assert got["offsets"] == [{"partition": 0, "offset": "3", "metadata": None}] or \
        [(o["partition"], o["offset"]) for o in got["offsets"]] == [(0, "3")]
    assert _read(bootstrap, "jstx", "read_uncommitted") == ["c0", "c1", "a0", "a1", "c2"]


def test_aiokafka_transactions_read_by_kafka_python(kafka: Any, bootstrap: str) -> None:
    """aiokafka's transactional producer (commit, abort); kafka-python's read_committed
    consumer drops the aborted records using the fetch's aborted-transaction list."""
    import asyncio

    from aiokafka import AIOKafkaProducer
    from kafka import KafkaConsumer, TopicPartition as KTopicPartition

    _create(bootstrap, "aio-tx")

    async def produce() -> None:
        p = AIOKafkaProducer(bootstrap_servers=bootstrap, transactional_id="aio-tx-1")
        await p.start()
        try:
            async with p.transaction():
                await p.send_and_wait("aio-tx", b"kept-1")
            try:
                async with p.transaction():
                    await p.send_and_wait("aio-tx", b"dropped")
                    raise RuntimeError("abort")
            except RuntimeError:
                pass
            async with p.transaction():
                await p.send_and_wait("aio-tx", b"kept-2")
        finally:
            await p.stop()

    asyncio.run(produce())
    for isolation, want in (("read_committed", [b"kept-1", b"kept-2"]),
                            ("read_uncommitted", [b"kept-1", b"dropped", b"kept-2"])):
        c = KafkaConsumer(bootstrap_servers=bootstrap, isolation_level=isolation, auto_offset_reset="earliest",
                          enable_auto_commit=False)
        try:
            tp = KTopicPartition("aio-tx", 0)
            c.assign([tp])
            end = c.end_offsets([tp])[tp]
            got: list[bytes] = []
            deadline = time.monotonic() + 30
            while c.position(tp) < end:
                assert time.monotonic() < deadline, got
                for records in c.poll(timeout_ms=500).values():
                    got += [r.value for r in records]
            assert got == want
        finally:
            c.close()
