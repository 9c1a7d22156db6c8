"""The embedded API: mqlite.Broker (blocking, thread-safe) and mqlite.AsyncBroker
(issue #3 section 4: the names and signatures there are the contract)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

import mqlite
from mqlite.core.clock import ManualClock
from mqlite.core.errors import InvalidValue, OffsetOutOfRange, StreamNotFound
from mqlite.core.message import Attribute
from mqlite.embedded import to_attributes


def test_stream_append_read_offsets_and_group_commit() -> None:
    """Rule (issue #3 §4): append -> (partition, offset); read -> Records; earliest,
    latest, group(name).commit/committed."""
    with mqlite.Broker() as broker:
        s = broker.stream("events", partitions=2)
        assert s.append(b"a", partition=1) == (1, 0)
        assert s.append("b", key="k", headers={"h": "v"}, partition=1) == (1, 1)
        records = s.read(1, 0)
        assert [(r.offset, r.key, r.value, r.headers) for r in records] == [
            (0, None, b"a", ()),
            (1, b"k", b"b", (("h", b"v"),)),
        ]
        assert isinstance(records[0].timestamp, int)
        assert (s.earliest(1), s.latest(1), s.latest(0)) == (0, 2, 0)
        g = s.group("readers")
        assert g.committed(1) is None
        g.commit(1, 2)
        assert g.committed(1) == 2
        assert g.lag() == {0: 0, 1: 0}
        assert broker.list_streams() == ["events"]


def test_stream_get_or_create_keeps_the_existing_partition_count() -> None:
    """Rule (issue #3 §4): broker.stream(name) gets or creates."""
    with mqlite.Broker() as broker:
        broker.stream("s", partitions=3)
        assert broker.stream("s").partitions == 3


def test_read_with_wait_returns_a_record_appended_by_another_thread() -> None:
    """Rule: read(..., wait) long-polls and returns as soon as a record arrives."""
    with mqlite.Broker() as broker:
        s = broker.stream("lp")
        started = threading.Event()

        def produce() -> None:
            started.wait()
            s.append(b"late")

        t = threading.Thread(target=produce)
        t.start()
        started.set()
        records = s.read(0, 0, wait=30)
        t.join()
        assert [r.value for r in records] == [b"late"]
        assert s.read(0, 1, wait=0) == []


def test_many_threads_share_one_broker() -> None:
    """Rule (issue #3 §4): the Broker is thread-safe; offsets stay dense and unique."""
    with mqlite.Broker() as broker:
        s = broker.stream("mt")
        results: list[tuple[int, int]] = []
        lock = threading.Lock()

        def worker(n: int) -> None:
            for i in range(50):
                got = s.append(f"{n}-{i}")
                with lock:
                    results.append(got)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(o for _, o in results) == list(range(200))
        assert len(s.read(0, 0, max_records=500)) == 200


def test_append_batch_appends_many_records_in_order() -> None:
    """Rule: a batch append keeps input order and returns one position per record."""
    with mqlite.Broker() as broker:
        s = broker.stream("b")
        out = s.append_batch([b"x", (b"y", b"k"), b"z"])
        assert [o for _, o in out] == [0, 1, 2]
        assert [r.value for r in s.read(0, 0)] == [b"x", b"y", b"z"]


def test_offset_for_time_through_the_facade() -> None:
    """Rule (Kafka ListOffsets): first offset with timestamp >= ts; None past the end."""
    clock = ManualClock(start_ms=10_000)
    with mqlite.Broker(clock=clock) as broker:
        s = broker.stream("t")
        s.append(b"a")
        clock.advance(5)
        s.append(b"b")
        assert s.offset_for_time(0, 10_000) == 0
        assert s.offset_for_time(0, 12_000) == 1
        assert s.offset_for_time(0, 20_000) is None


def test_core_errors_reach_the_caller_unchanged() -> None:
    """Rule (issue #3 'Bad input'): typed errors naming the rule, nothing changed."""
    with mqlite.Broker() as broker:
        s = broker.stream("e")
        with pytest.raises(OffsetOutOfRange):
            s.read(0, 5)
        with pytest.raises(InvalidValue):
            s.append(b"x", partition=3)
        broker.delete_stream("e")
        with pytest.raises(StreamNotFound):
            s.append(b"x")


def test_a_closed_broker_refuses_calls_and_close_is_idempotent() -> None:
    broker = mqlite.Broker()
    s = broker.stream("c")
    broker.close()
    broker.close()
    with pytest.raises(RuntimeError, match="closed"):
        s.append(b"x")


def test_committed_offsets_survive_reopening_the_directory(tmp_path: Path) -> None:
    """Rule (issue #3): consumer-group offsets are durable across restarts."""
    with mqlite.Broker(tmp_path) as broker:
        s = broker.stream("orders", partitions=2)
        s.group("g").commit(1, 5)
    with mqlite.Broker(tmp_path) as broker:
        s = broker.stream("orders")
        assert s.partitions == 2
        assert s.group("g").committed(1) == 5


def test_async_broker_has_the_same_names_awaitable() -> None:
    """Rule (issue #3 §4): AsyncBroker is the asyncio flavour with the same names."""

    async def main() -> None:
        async with mqlite.AsyncBroker() as broker:
            s = await broker.stream("a", partitions=1)
            waiter = asyncio.ensure_future(s.read(0, 0, wait=30))
            await asyncio.sleep(0)
            assert await s.append(b"v", key=b"k") == (0, 0)
            (record,) = await waiter
            assert (record.key, record.value) == (b"k", b"v")
            assert await s.latest(0) == 1 and await s.earliest(0) == 0
            g = s.group("g")
            await g.commit(0, 1)
            assert await g.committed(0) == 1
        opened = await mqlite.AsyncBroker.open()
        assert await opened.list_streams() == []
        await opened.close()

    asyncio.run(main())


def test_plain_attributes_become_typed_attributes() -> None:
    """Rule (SQS MessageAttributes): String, Number (decimal text) and Binary types."""
    assert to_attributes({"s": "x", "i": 3, "f": 1.5, "b": b"\x01", "a": Attribute("String.x", "y")}) == {
        "s": Attribute("String", "x"),
        "i": Attribute("Number", "3"),
        "f": Attribute("Number", "1.5"),
        "b": Attribute("Binary", b"\x01"),
        "a": Attribute("String.x", "y"),
    }
    assert to_attributes(None) is None
    with pytest.raises(InvalidValue):
        to_attributes({"flag": True})
    with pytest.raises(InvalidValue):
        to_attributes({"obj": object()})


def test_queue_facade_send_receive_delete_and_counts() -> None:
    """Rule (issue #3 §4): send -> message id; receive -> Messages with id, body,
    attributes, receipt, receive_count; delete; counts."""
    with mqlite.Broker() as broker:
        q = broker.queue("jobs")
        mid = q.send("hello", attributes={"n": 7, "s": "x", "b": b"\x00"})
        (m,) = q.receive(max_messages=10)
        assert (m.id, m.body, m.receive_count) == (mid, b"hello", 1)
        assert m.attributes["n"] == Attribute("Number", "7")
        assert m.attributes["b"] == Attribute("Binary", b"\x00")
        q.delete(m.receipt)
        counts = q.counts()
        assert (counts.visible, counts.in_flight) == (0, 0)
        assert broker.list_queues() == ["jobs"]


def test_queue_facade_visibility_and_redelivery_with_manual_clock() -> None:
    """Rule (SQS): an undeleted message becomes visible again after its visibility
    timeout, with a higher receive count; change_visibility(0) releases it at once."""
    clock = ManualClock()
    with mqlite.Broker(clock=clock) as broker:
        q = broker.queue("v")
        q.send(b"m")
        (first,) = q.receive(visibility_timeout=10)
        assert q.receive() == []
        clock.advance(11)
        (again,) = q.receive(visibility_timeout=10)
        assert again.receive_count == 2 and again.receipt != first.receipt
        q.change_visibility(again.receipt, 0)
        (third,) = q.receive()
        assert third.receive_count == 3


def test_queue_facade_fifo_group_and_dedup() -> None:
    """Rule (SQS FIFO): a duplicate dedup id within 5 minutes is accepted but not
    delivered twice; messages keep their group order."""
    with mqlite.Broker() as broker:
        q = broker.queue("orders.fifo", fifo=True)
        a = q.send("a", group_id="g", dedup_id="1")
        assert q.send("a", group_id="g", dedup_id="1") == a
        q.send("b", group_id="g", dedup_id="2")
        got = q.receive(max_messages=10)
        assert [m.body for m in got] == [b"a", b"b"]


def test_queue_facade_purge_and_delete_queue() -> None:
    """Rule (SQS PurgeQueue/DeleteQueue)."""
    with mqlite.Broker() as broker:
        q = broker.queue("p")
        q.send_batch(["1", "2", {"body": "3", "delay": 5}])
        q.purge()
        assert q.receive(max_messages=10) == []
        broker.delete_queue("p")
        assert broker.list_queues() == []


def test_send_batch_and_delete_batch_round_trip() -> None:
    """Rule (SQS SendMessageBatch / DeleteMessageBatch): many in one call, ids in order."""
    with mqlite.Broker() as broker:
        q = broker.queue("batch")
        ids = q.send_batch(["a", {"body": b"b", "attributes": {"n": 1}}])
        got = q.receive(max_messages=10)
        assert [m.id for m in got] == ids and got[1].attributes["n"] == Attribute("Number", "1")
        q.delete_batch([m.receipt for m in got])
        assert q.counts().in_flight == 0 and q.counts().visible == 0
        with pytest.raises(InvalidValue):
            q.send_batch([{"bodyy": "typo"}])


def test_send_batch_raises_the_refused_entrys_error_after_sending_the_rest() -> None:
    """Rule (SQS batch): entries succeed or fail one by one."""
    with mqlite.Broker() as broker:
        q = broker.queue("partial")
        with pytest.raises(InvalidValue):
            q.send_batch(["ok", {"body": "late", "delay": 10_000}])
        assert [m.body for m in q.receive(max_messages=10)] == [b"ok"]


def test_a_call_racing_close_returns_or_raises_but_never_hangs() -> None:
    """Rule: close() ends pending long-polls; concurrent callers get a result or
    RuntimeError('the broker is closed')."""
    broker = mqlite.Broker()
    s = broker.stream("race")
    outcome: list[object] = []

    def reader() -> None:
        try:
            outcome.append(s.read(0, 0, wait=30))
        except RuntimeError as exc:
            outcome.append(exc)

    t = threading.Thread(target=reader)
    t.start()
    while not broker.call(lambda core: core.get_stream("race")._partitions[0].waiters):
        pass
    broker.close()
    t.join(timeout=10)
    assert not t.is_alive()
    assert outcome and (outcome[0] == [] or isinstance(outcome[0], (RuntimeError, StreamNotFound)))
