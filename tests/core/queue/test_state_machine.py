"""Property test: any sequence of send / receive / delete (current or stale receipt) /
change-visibility / clock advance / restart keeps the queue's guarantees (issue #3 §5):

- at-least-once: every sent, undeleted message is counted and eventually delivered;
  nothing acknowledged-deleted is ever delivered again;
- one lease at a time: a message is never delivered while a previous lease on it is
  still running; a stale receipt never deletes a newer delivery (SQS);
- a receive returns every visible message it may (up to max_messages);
- FIFO: within a group, delivery follows send order, and a group with a message in
  flight delivers nothing;
- delayed messages are not delivered before their delay ends; a released (requeued)
  message is visible again at once.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from mqlite.core.broker import BrokerCore
from mqlite.core.clock import ManualClock
from mqlite.core.config import CoreConfig
from mqlite.core.errors import MessageNotInflight

CONFIG = CoreConfig(fsync="never", maintenance_interval=0)
VIS = 10


class QueueMachine(RuleBasedStateMachine):
    fifo = False

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.dir = Path(tempfile.mkdtemp(prefix="mqlite-qsm-"))
        self.clock = ManualClock()
        self.core = self.loop.run_until_complete(BrokerCore.open(self.dir, CONFIG, self.clock))
        name = "q.fifo" if self.fifo else "q"
        attrs = {"fifo": True, "content_based_dedup": True} if self.fifo else {}
        self.q = self.core.create_queue(name, visibility_timeout=VIS, **attrs)
        self.name = name
        self.n = 0
        self.order: list[str] = []  # message ids in send order
        self.group: dict[str, str] = {}
        self.live: set[str] = set()
        self.deleted: set[str] = set()
        self.until: dict[str, int] = {}  # message id -> lease end (ms)
        self.visible_at: dict[str, int] = {}  # message id -> end of its delay (ms)
        self.latest: dict[str, str] = {}  # message id -> latest receipt
        self.receipts: list[tuple[str, str]] = []  # (message id, receipt) ever issued

    def teardown(self) -> None:
        self.loop.run_until_complete(self.core.close())
        self.loop.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def run(self, coro):
        return self.loop.run_until_complete(coro)

    def in_flight(self, mid: str) -> bool:
        return self.until.get(mid, 0) > self.clock.now_ms()

    def visible(self) -> list[str]:
        now = self.clock.now_ms()
        vis = [
            m for m in self.order
            if m in self.live and not self.in_flight(m) and self.visible_at.get(m, 0) <= now
        ]
        if not self.fifo:
            return vis
        blocked = {self.group[m] for m in self.live if self.in_flight(m)}
        return [m for m in vis if self.group[m] not in blocked]

    @rule(count=st.integers(1, 4), group=st.sampled_from(["a", "b", "c"]))
    def send(self, count: int, group: str) -> None:
        for _ in range(count):
            self.n += 1
            r = self.run(self.q.send(f"m{self.n}".encode(), group_id=group))
            assert not r.duplicate
            self.order.append(r.message_id)
            self.group[r.message_id] = group
            self.live.add(r.message_id)

    @precondition(lambda self: not self.fifo)
    @rule(delay=st.sampled_from([1, 5, 20]))
    def send_delayed(self, delay: int) -> None:
        """SQS DelaySeconds (standard queues: per message)."""
        self.n += 1
        r = self.run(self.q.send(f"m{self.n}".encode(), delay=delay))
        self.order.append(r.message_id)
        self.group[r.message_id] = "-"
        self.live.add(r.message_id)
        self.visible_at[r.message_id] = self.clock.now_ms() + delay * 1000

    @precondition(lambda self: self.receipts)
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        """AMQP nack/reject with requeue: back to the queue now (stale receipt: no-op)."""
        mid, receipt = data.draw(st.sampled_from(self.receipts))
        self.q.release(receipt)
        if mid in self.live and self.latest[mid] == receipt and self.in_flight(mid):
            self.until[mid] = 0

    @rule(n=st.integers(1, 10))
    def receive(self, n: int) -> None:
        expected_visible = self.visible()
        got = self.run(self.q.receive(n))
        now = self.clock.now_ms()
        ids = [m.id for m in got]
        assert len(set(ids)) == len(ids)
        for m in got:
            assert m.id in self.live, "deleted or unknown message delivered"
            assert not self.in_flight(m.id), "delivered while a lease was running"
        if not self.fifo:
            assert len(got) == min(n, len(expected_visible))
        else:
            per_group: dict[str, list[str]] = {}
            for mid in expected_visible:
                per_group.setdefault(self.group[mid], []).append(mid)
            got_groups: dict[str, list[str]] = {}
            for mid in ids:
                got_groups.setdefault(self.group[mid], []).append(mid)
            for g, mids in got_groups.items():
                assert mids == per_group[g][: len(mids)], "FIFO order broken in group " + g
            assert len(got) == min(n, len(expected_visible))
        for m in got:
            self.until[m.id] = now + VIS * 1000
            self.latest[m.id] = m.receipt
            self.receipts.append((m.id, m.receipt))

    @precondition(lambda self: self.receipts)
    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        mid, receipt = data.draw(st.sampled_from(self.receipts))
        self.run(self.q.delete(receipt))
        if mid in self.live and self.latest[mid] == receipt:
            self.live.discard(mid)
            self.deleted.add(mid)
            self.until.pop(mid, None)

    @precondition(lambda self: self.receipts)
    @rule(data=st.data(), seconds=st.integers(0, 20))
    def change_visibility(self, data: st.DataObject, seconds: int) -> None:
        mid, receipt = data.draw(st.sampled_from(self.receipts))
        # Any receipt of a message in flight changes its visibility (SQS allows old ones).
        current = mid in self.live and self.in_flight(mid)
        try:
            self.q.change_visibility(receipt, seconds)
        except MessageNotInflight:
            assert not current
            return
        assert current
        self.until[mid] = self.clock.now_ms() + seconds * 1000

    @rule(seconds=st.sampled_from([1, 5, 9, 10, 11, 30]))
    def advance(self, seconds: int) -> None:
        self.clock.advance(seconds)

    @rule()
    def restart(self) -> None:
        self.run(self.core.close())
        self.core = self.run(BrokerCore.open(self.dir, CONFIG, self.clock))
        self.q = self.core.get_queue(self.name)

    @invariant()
    def counts_match_the_model(self) -> None:
        c = self.q.counts()
        assert c.total == len(self.live)
        assert c.in_flight == sum(1 for m in self.live if self.in_flight(m))


class FifoQueueMachine(QueueMachine):
    fifo = True


SETTINGS = settings(
    max_examples=25, stateful_step_count=30, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestStandardQueueMachine = QueueMachine.TestCase
TestStandardQueueMachine.settings = SETTINGS
TestFifoQueueMachine = FifoQueueMachine.TestCase
TestFifoQueueMachine.settings = SETTINGS
