"""Blocking `mqlite.Broker` calls run inline on the calling thread (under the core lock)
and cross to the loop thread only when they must wait. The contract stays the one of
docs/architecture.md: thread-safe, one implementation of semantics, long polls return
as soon as a message is visible (SQS), durable replies under fsync=always."""

from __future__ import annotations

import threading
from pathlib import Path

import mqlite


def test_long_poll_in_one_thread_is_woken_by_a_send_from_another() -> None:
    """SQS long polling: the receive returns as soon as another thread's send lands."""
    with mqlite.Broker() as broker:
        q = broker.queue("q")
        got: list[bytes] = []
        started = threading.Event()

        def poll() -> None:
            started.set()
            got.extend(m.body for m in q.receive(1, wait=20))

        t = threading.Thread(target=poll)
        t.start()
        started.wait()
        while broker.call(lambda core: len(core.get_queue("q")._waiters)) == 0:
            pass  # the poll is parked on the loop thread
        q.send(b"wake")
        t.join(10)
        assert not t.is_alive() and got == [b"wake"]


def test_long_poll_times_out_empty() -> None:
    """A long poll with nothing to receive returns an empty list when `wait` ends."""
    with mqlite.Broker() as broker:
        assert broker.queue("q").receive(1, wait=0.05) == []


def test_calls_that_wait_for_fsync_complete_durably(tmp_path: Path) -> None:
    """fsync=always: a send or delete returns only once durable; the call crosses to
    the loop thread to wait, and what it returned survives reopening."""
    with mqlite.Broker(tmp_path, fsync="always") as broker:
        q = broker.queue("q")
        q.send_batch([b"a", b"b", b"c"])
        [m] = q.receive(1)
        q.delete(m.receipt)
    with mqlite.Broker(tmp_path) as broker:
        assert sorted(m.body for m in broker.queue("q").receive(10)) == [b"b", b"c"]


def test_many_threads_send_receive_and_delete_without_loss_or_duplicates() -> None:
    """Thread-safe: concurrent inline calls are serialised; every message is received
    once and deleted once."""
    with mqlite.Broker() as broker:
        q = broker.queue("q")
        seen: list[bytes] = []
        lock = threading.Lock()

        def worker(k: int) -> None:
            for i in range(50):
                q.send_batch([b"%d-%d-%d" % (k, i, j) for j in range(4)])
                got = q.receive(10)
                q.delete_batch([m.receipt for m in got])
                with lock:
                    seen.extend(m.body for m in got)

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        while True:
            rest = q.receive(10)
            if not rest:
                break
            q.delete_batch([m.receipt for m in rest])
            seen.extend(m.body for m in rest)
        assert len(seen) == len(set(seen)) == 4 * 50 * 4
        assert q.counts().total == 0


def test_a_blocking_call_from_inside_broker_call_raises_instead_of_deadlocking() -> None:
    """Calls are serialised by the core lock; one made from code the broker is running
    (`Broker.call`) would wait for itself, so it raises (as from the loop thread)."""
    with mqlite.Broker() as broker:
        q = broker.queue("q")

        def nested(core: object) -> str:
            try:
                q.send(b"x")
            except RuntimeError as exc:
                return str(exc)
            return "no error"

        assert "deadlock" in broker.call(nested)
        q.send(b"after")  # the broker still works
        assert [m.body for m in q.receive(10)] == [b"after"]
