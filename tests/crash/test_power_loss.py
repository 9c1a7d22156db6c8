"""Power loss, not only process death, for every protocol (#26 items 5 and 6).

A real `mqlite serve` runs under the fsync-tracking shim (powercut.py); real clients
(kafka-python, boto3, pika, redis-py) make acknowledged writes; the server is killed
and every write no fsync covered is dropped, as a power cut would; a fresh server on
the same directory must return every acknowledged write exactly:

- `--fsync always`: everything acknowledged, at once;
- `--fsync 200` (an interval): everything acknowledged before the interval elapsed
  (`wait_durable` waits for the policy's fsyncs, never for a fixed time) -- entity
  creations (the catalog), Kafka committed offsets, SQS deletes (the lease journal),
  Redis consumer-group acks included;
- and a SIGKILL alone (the page cache survives) loses nothing acknowledged in any mode:
  a Redis XACK acknowledged just before the kill stays acknowledged.
"""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import pika
import pytest
import redis
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.structs import OffsetAndMetadata

from mqlite.testing import ServerProcess, spawn_server

from powercut import CC, PowerCut

pytestmark = pytest.mark.skipif(CC is None, reason="the power-cut shim needs a C compiler")

N = 60


def _sqs(srv: ServerProcess) -> Any:
    return boto3.client("sqs", endpoint_url=f"http://127.0.0.1:{srv.ports['http']}", region_name="us-east-1",
                        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret")


# -- one workload per protocol: write (acknowledged), then check after the cut ----------
def kafka_write(srv: ServerProcess) -> dict[str, Any]:
    boot = f"127.0.0.1:{srv.ports['kafka']}"
    admin = KafkaAdminClient(bootstrap_servers=boot)
    admin.create_topics([NewTopic("pl", 1, 1)])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=boot, acks="all", linger_ms=0)
    values = [f"k{i}-{uuid.uuid4().hex}".encode() for i in range(N)]
    for v in values:
        producer.send("pl", v, partition=0).get(timeout=30)
    producer.close()
    consumer = KafkaConsumer(bootstrap_servers=boot, group_id="plg", enable_auto_commit=False)
    consumer.commit({TopicPartition("pl", 0): OffsetAndMetadata(N // 2, "", -1)})
    consumer.close()
    return {"values": values, "committed": N // 2}


def kafka_check(srv: ServerProcess, expect: dict[str, Any]) -> None:
    boot = f"127.0.0.1:{srv.ports['kafka']}"
    consumer = KafkaConsumer(bootstrap_servers=boot, group_id="plg", enable_auto_commit=False,
                             auto_offset_reset="earliest", consumer_timeout_ms=3000)
    tp = TopicPartition("pl", 0)
    assert consumer.committed(tp) == expect["committed"]
    consumer.assign([tp])
    consumer.seek(tp, 0)
    got = [m.value for m in consumer]
    consumer.close()
    assert got[: len(expect["values"])] == expect["values"]


def sqs_write(srv: ServerProcess) -> dict[str, Any]:
    sqs = _sqs(srv)
    url = sqs.create_queue(QueueName="plq")["QueueUrl"]
    bodies = {f"m{i}-{uuid.uuid4().hex}" for i in range(N)}
    for b in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=b)
    deleted = set()
    while len(deleted) < N // 3:
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            deleted.add(m["Body"])
    return {"kept": bodies - deleted}


def sqs_check(srv: ServerProcess, expect: dict[str, Any]) -> None:
    sqs = _sqs(srv)
    url = sqs.get_queue_url(QueueName="plq")["QueueUrl"]
    seen: set[str] = set()
    while True:
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=300).get("Messages", [])
        if not msgs:
            break
        seen.update(m["Body"] for m in msgs)
    assert seen == expect["kept"]  # nothing acknowledged lost, no acknowledged delete back


def amqp_write(srv: ServerProcess) -> dict[str, Any]:
    conn = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", srv.ports["amqp"]))
    ch = conn.channel()
    ch.queue_declare("plamqp", durable=True)
    ch.confirm_delivery()
    bodies = [f"a{i}-{uuid.uuid4().hex}".encode() for i in range(N)]
    for b in bodies:
        ch.basic_publish("", "plamqp", b, pika.BasicProperties(delivery_mode=2), mandatory=True)
    conn.close()
    return {"bodies": bodies}


def amqp_check(srv: ServerProcess, expect: dict[str, Any]) -> None:
    conn = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", srv.ports["amqp"]))
    ch = conn.channel()
    got = []
    while (msg := ch.basic_get("plamqp", auto_ack=True))[0] is not None:
        got.append(msg[2])
    conn.close()
    assert got == expect["bodies"]


def redis_write(srv: ServerProcess) -> dict[str, Any]:
    r = redis.Redis(port=srv.ports["redis"])
    entries = {}
    for i in range(N):
        fields = {"n": str(i), "v": uuid.uuid4().hex}
        entries[r.xadd("pls", fields).decode()] = fields
    r.xgroup_create("pls", "g", id="0")
    read = r.xreadgroup("g", "c", {"pls": ">"}, count=N // 2)[0][1]
    acked = [eid.decode() for eid, _ in read[: N // 4]]
    assert r.xack("pls", "g", *acked) == len(acked)
    return {"entries": entries, "pending": [eid.decode() for eid, _ in read[N // 4 :]]}


def redis_check(srv: ServerProcess, expect: dict[str, Any]) -> None:
    r = redis.Redis(port=srv.ports["redis"], decode_responses=True)
    got = {eid: fields for eid, fields in r.xrange("pls")}
    assert got == expect["entries"]
    pending = [p["message_id"] for p in r.xpending_range("pls", "g", "-", "+", 1000)]
    assert pending == expect["pending"]


PROTOCOLS = {
    "kafka": (kafka_write, kafka_check),
    "sqs": (sqs_write, sqs_check),
    "amqp": (amqp_write, amqp_check),
    "redis": (redis_write, redis_check),
}


def _restart_and_check(data: Path, check: Any, expect: dict[str, Any]) -> None:
    srv = spawn_server(data)
    try:
        check(srv, expect)
    finally:
        srv.stop()


@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
def test_fsync_always_keeps_every_acknowledged_write_through_a_power_cut(tmp_path: Path, protocol: str) -> None:
    write, check = PROTOCOLS[protocol]
    data = tmp_path / "data"
    pc = PowerCut(tmp_path / "pc")
    srv = pc.spawn(data, "--fsync", "always")
    expect = write(srv)
    pc.kill()
    pc.cut(data)
    _restart_and_check(data, check, expect)


@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
def test_fsync_interval_loses_nothing_acknowledged_before_the_interval(tmp_path: Path, protocol: str) -> None:
    """Entities created and data acknowledged just before: once the policy's interval
    has passed (its fsyncs seen), a power cut loses none of it, the catalog included."""
    write, check = PROTOCOLS[protocol]
    data = tmp_path / "data"
    pc = PowerCut(tmp_path / "pc")
    srv = pc.spawn(data, "--fsync", "200")
    expect = write(srv)
    pc.wait_durable(data)
    pc.kill()
    pc.cut(data)
    _restart_and_check(data, check, expect)


@pytest.mark.parametrize("fsync", ["1000", "never"])
def test_sigkill_right_after_xack_loses_no_acknowledged_group_change(tmp_path: Path, fsync: str) -> None:
    """The page cache survives a killed process, so nothing acknowledged may be lost in
    any mode: group state was held in memory up to 50 ms for a timer before."""
    data = tmp_path / "data"
    srv = spawn_server(data, "--fsync", fsync)
    r = redis.Redis(port=srv.ports["redis"])
    ids = [r.xadd("k", {"n": str(i)}).decode() for i in range(20)]
    r.xgroup_create("k", "g", id="0")
    r.xreadgroup("g", "c", {"k": ">"}, count=20)
    assert r.xack("k", "g", *ids[:15]) == 15
    srv.kill()
    srv = spawn_server(data, "--fsync", fsync)
    try:
        r = redis.Redis(port=srv.ports["redis"], decode_responses=True)
        assert [p["message_id"] for p in r.xpending_range("k", "g", "-", "+", 100)] == ids[15:]
        assert len(r.xrange("k")) == 20
    finally:
        srv.stop()


def test_the_shim_drops_unsynced_writes(tmp_path: Path) -> None:
    """The simulation itself: with `--fsync never` nothing is fsynced while running, so
    a cut empties the logs (the test above would pass vacuously otherwise)."""
    data = tmp_path / "data"
    pc = PowerCut(tmp_path / "pc")
    srv = pc.spawn(data, "--fsync", "never")
    r = redis.Redis(port=srv.ports["redis"])
    for i in range(10):
        r.xadd("gone", {"n": str(i)})
    time.sleep(0)  # nothing to wait for: never fsyncs
    pc.kill()
    dropped = pc.cut(data)
    assert dropped["bytes"] > 0
    assert all(p.stat().st_size == 0 for p in data.rglob("*.log"))
    shutil.rmtree(data)


@pytest.mark.parametrize("action", ["xreadgroup", "xdel"])
def test_redis_acks_wait_for_the_records_they_depend_on_through_a_power_cut(tmp_path: Path, action: str) -> None:
    """#26 item 5, the corrupt stream entry: an entry is readable (in memory) while its
    record's fsync is still running; an XREADGROUP that delivers it, or an XDEL, must
    not be acknowledged (nor its state committed) before the records it depends on are
    durable. Before, a power cut left the group's last-delivered ID and PEL naming an
    entry the log never kept, and brought back an acknowledged XDEL. The shim slows
    each log fsync by 400 ms so the cut lands inside that window every time."""
    data = tmp_path / "data"
    pc = PowerCut(tmp_path / "pc")
    srv = pc.spawn(data, "--fsync", "always", fsync_delay_ms=400)
    port = srv.ports["redis"]
    r = redis.Redis(port=port)
    first = r.xadd("k", {"n": "1"})  # acknowledged: durable
    r.xgroup_create("k", "g", id="0")
    unacked = redis.Connection(port=port)
    unacked.send_command("XADD", "k", "*", "n", "2")  # never acknowledged to us
    while r.xlen("k") < 2:  # in the server's memory, its fsync under way
        time.sleep(0.005)
    if action == "xreadgroup":
        delivered = [eid for eid, _ in r.xreadgroup("g", "c", {"k": ">"})[0][1]]
    else:
        assert r.xdel("k", first) == 1
    pc.kill()  # right after that reply
    pc.cut(data)
    srv = spawn_server(data)
    try:
        r = redis.Redis(port=srv.ports["redis"])
        entries = [eid for eid, _ in r.xrange("k")]
        [group] = r.xinfo_groups("k")
        if action == "xdel":
            assert first not in entries  # the acknowledged XDEL held
        else:  # whatever the group says was delivered exists in the log
            pending = [p["message_id"] for p in r.xpending_range("k", "g", "-", "+", 100)]
            assert pending == delivered and set(delivered) <= set(entries)
            assert group["last-delivered-id"] == delivered[-1]
    finally:
        srv.stop()
