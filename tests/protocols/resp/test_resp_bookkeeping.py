"""XDEL / XTRIM / XSETID bookkeeping in Kafka control batches (resp/store.py docstring).

Rules checked: Redis's view after XDEL, XTRIM and XSETID survives a restart (Redis
docs: the stream's last ID, entries-added and max-deleted-entry-id are persistent
state); the bookkeeping is stored as control batches, which Kafka consumers skip
whatever their isolation level (Kafka protocol guide, "Control Batches"; checked with
the real kafka-python, aiokafka and confluent-kafka consumers); data dirs written
before, with bookkeeping as plain `redis-op` records, still recover.
"""

from __future__ import annotations

import asyncio
import time
import warnings
from typing import Any

import confluent_kafka
import redis

from mqlite.storage import parse_header

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import kafka
    import kafka.structs


def _bookkept_stream(server: Any) -> redis.Redis:
    r = redis.Redis(port=server.redis_port)
    for i in range(1, 6):
        r.xadd("books", {"n": str(i)}, id=f"{i}-0")
    r.xdel("books", "2-0")
    r.xtrim("books", minid="1-1", approximate=False)  # drops 1-0
    r.execute_command("XSETID", "books", "9-0", "ENTRIESADDED", "9")
    return r


def _control_flags(server: Any, name: str) -> list[bool]:
    def flags() -> list[bool]:
        stream = server.core.get_stream(name)
        return [parse_header(b).is_control for b in stream.read_batches(0, stream.earliest(0), 1 << 20)]

    return server.call(flags)


def test_xdel_xtrim_xsetid_state_survives_restart_from_control_batches(mqlite_server: Any) -> None:
    """Redis docs: XDEL/XTRIM/XSETID change the stream durably; here they are control
    batches in the log and are replayed from there after a restart."""
    r = _bookkept_stream(mqlite_server)
    r.close()
    mqlite_server.restart()
    assert _control_flags(mqlite_server, "books")[-3:] == [True, True, True]  # del, trim, setid
    r = redis.Redis(port=mqlite_server.redis_port)
    assert [e[0] for e in r.xrange("books")] == [b"3-0", b"4-0", b"5-0"]
    info = r.xinfo_stream("books")
    assert info["length"] == 3 and info["last-generated-id"] == b"9-0"
    assert info["entries-added"] == 9 and info["max-deleted-entry-id"] == b"2-0"
    assert int(r.xadd("books", {"n": "10"}).split(b"-")[0]) > 9  # IDs go on after 9-0
    r.close()


def test_kafka_clients_skip_the_bookkeeping_at_every_isolation_level(mqlite_server: Any) -> None:
    """Kafka protocol guide: control batches are never returned to the application;
    the control record key is well formed (version 0, an unknown type), so clients that
    parse it (read_committed) skip it too."""
    _bookkept_stream(mqlite_server).close()
    boot = f"127.0.0.1:{mqlite_server.kafka_port}"
    want = [b"1", b"2", b"3", b"4", b"5"]  # every entry record; XDEL hides from Redis only

    for isolation in ("read_uncommitted", "read_committed"):
        consumer = kafka.KafkaConsumer(bootstrap_servers=boot, enable_auto_commit=False,
                                       consumer_timeout_ms=1500, isolation_level=isolation)
        try:
            tp = kafka.structs.TopicPartition("books", 0)
            consumer.assign([tp])
            consumer.seek_to_beginning(tp)
            got = [rec.value[-1:] for rec in consumer]
        finally:
            consumer.close()
        assert got == want, isolation

        c = confluent_kafka.Consumer({"bootstrap.servers": boot, "group.id": "g-" + isolation,
                                      "enable.auto.commit": False, "isolation.level": isolation})
        try:
            c.assign([confluent_kafka.TopicPartition("books", 0, confluent_kafka.OFFSET_BEGINNING)])
            values: list[bytes] = []
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                msg = c.poll(0.2)
                if msg is None:
                    if len(values) >= len(want):
                        break
                    continue
                assert msg.error() is None or msg.error().code() == confluent_kafka.KafkaError._PARTITION_EOF
                if msg.error() is None:
                    values.append(msg.value()[-1:])
            assert values == want, isolation
        finally:
            c.close()

    async def aio() -> list[bytes]:
        import aiokafka

        consumer = aiokafka.AIOKafkaConsumer(bootstrap_servers=boot, isolation_level="read_committed",
                                             enable_auto_commit=False)
        await consumer.start()
        try:
            tp = aiokafka.TopicPartition("books", 0)
            consumer.assign([tp])
            await consumer.seek_to_beginning(tp)
            batch = await consumer.getmany(tp, timeout_ms=1500)
            return [m.value[-1:] for m in batch.get(tp, [])]
        finally:
            await consumer.stop()

    assert asyncio.run(aio()) == want


def test_plain_redis_op_records_of_older_data_dirs_still_recover(mqlite_server: Any) -> None:
    """Data dirs written before control batches kept bookkeeping as plain records with
    the `redis-op` header; recovery still applies them (resp/store.py `_replay`)."""
    r = redis.Redis(port=mqlite_server.redis_port)
    for i in range(1, 4):
        r.xadd("old", {"n": str(i)}, id=f"{i}-0")
    r.close()

    async def legacy() -> None:
        stream = mqlite_server.core.get_stream("old")
        await stream.append(b"2-0", headers=[("redis-op", b"del")], partition=0)
        await stream.append(b"7-0 7 2-0", headers=[("redis-op", b"setid")], partition=0)

    mqlite_server.call(legacy)
    mqlite_server.restart()
    r = redis.Redis(port=mqlite_server.redis_port)
    assert [e[0] for e in r.xrange("old")] == [b"1-0", b"3-0"]
    info = r.xinfo_stream("old")
    assert info["last-generated-id"] == b"7-0" and info["entries-added"] == 7
    r.close()
