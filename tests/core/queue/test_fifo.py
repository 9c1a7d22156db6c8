"""FIFO queues: order within a group, group blocking, deduplication (SQS FIFO docs)."""

from __future__ import annotations

import pytest
from queue_support import with_core

from mqlite.core.errors import InvalidValue
from mqlite.core.message import Envelope


def test_group_is_blocked_while_one_of_its_messages_is_in_flight() -> None:
    """SQS FIFO: messages of a group are delivered in order, and no further message of
    the group is delivered while one is in flight; other groups proceed."""

    async def main(core, clock):
        q = core.create_queue("q.fifo", fifo=True, content_based_dedup=True, visibility_timeout=5)
        for g, body in [("a", b"a1"), ("b", b"b1"), ("a", b"a2"), ("b", b"b2")]:
            await q.send(body, group_id=g)
        first = await q.receive(1)
        assert [m.body for m in first] == [b"a1"]
        second = await q.receive(1)
        assert [m.body for m in second] == [b"b1"]
        assert await q.receive(10) == []  # both groups blocked
        await q.delete(first[0].receipt)
        assert [m.body for m in await q.receive(10)] == [b"a2"]
        clock.advance(5)  # leases expire: b1 comes again before b2; a2 again after
        assert [m.body for m in await q.receive(10)] == [b"b1", b"b2", b"a2"]

    with_core(main)


def test_receive_returns_several_messages_of_a_group_in_order() -> None:
    async def main(core, clock):
        q = core.create_queue("q.fifo", fifo=True, content_based_dedup=True)
        for i in range(5):
            await q.send(f"m{i}".encode(), group_id="g")
        got = await q.receive(3)
        assert [m.body for m in got] == [b"m0", b"m1", b"m2"]
        assert [m.sequence_number for m in got] == sorted(m.sequence_number for m in got)
        assert await q.receive(3) == []

    with_core(main)


def test_explicit_dedup_id_suppresses_a_repeat_within_five_minutes() -> None:
    """SQS: a message with a dedup id sent within the 5-minute interval is accepted but
    not delivered again; the reply carries the original message id."""

    async def main(core, clock):
        q = core.create_queue("q.fifo", fifo=True)
        r1 = await q.send(b"x", group_id="g", dedup_id="d1")
        r2 = await q.send(b"y", group_id="g", dedup_id="d1")
        assert r2.duplicate and r2.message_id == r1.message_id
        clock.advance(301)
        r3 = await q.send(b"z", group_id="g", dedup_id="d1")
        assert not r3.duplicate
        assert [m.body for m in await q.receive(10)] == [b"x", b"z"]

    with_core(main)


def test_content_based_dedup_uses_sha256_of_the_body() -> None:
    async def main(core, clock):
        q = core.create_queue("q.fifo", fifo=True, content_based_dedup=True)
        out = await q.send_batch([Envelope(b"same", group_id="g"), Envelope(b"same", group_id="g"),
                                  Envelope(b"other", group_id="g")])
        assert out[1].duplicate and not out[2].duplicate
        assert len(await q.receive(10)) == 2

    with_core(main)


def test_dedup_scope_message_group_keeps_ids_per_group() -> None:
    async def main(core, clock):
        q = core.create_queue("q.fifo", fifo=True, dedup_scope="messageGroup")
        await q.send(b"1", group_id="a", dedup_id="d")
        r = await q.send(b"2", group_id="b", dedup_id="d")
        assert not r.duplicate

    with_core(main)


@pytest.mark.parametrize(
    ("kwargs", "rule"),
    [
        ({}, "group_id"),
        ({"group_id": "g"}, "dedup_id"),
        ({"group_id": "g", "dedup_id": "d", "delay": 5}, "delay"),
        ({"group_id": "x" * 129, "dedup_id": "d"}, "group_id"),
    ],
)
def test_fifo_send_rules_raise_invalid_value(kwargs: dict, rule: str) -> None:
    """SQS: MessageGroupId required; dedup id required without content-based dedup;
    per-message DelaySeconds not allowed on FIFO queues."""

    async def main(core, clock):
        q = core.create_queue("q.fifo", fifo=True)
        with pytest.raises(InvalidValue) as info:
            await q.send(b"x", **kwargs)
        assert info.value.rule.startswith(rule)
        assert q.counts().total == 0

    with_core(main)


def test_fifo_queue_dead_letter_queue_must_be_fifo() -> None:
    """SQS: a FIFO queue's DLQ must be FIFO; a standard queue's must be standard."""

    async def main(core, clock):
        core.create_queue("dlq")
        core.create_queue("dlq.fifo", fifo=True)
        with pytest.raises(InvalidValue):
            core.create_queue("q.fifo", fifo=True,
                              redrive={"dead_letter_target": "dlq", "max_receive_count": 2})
        core.create_queue("std")
        with pytest.raises(InvalidValue):
            core.queues.set_config("std", redrive={"dead_letter_target": "dlq.fifo",
                                                   "max_receive_count": 2})
        assert core.get_queue("std").config.redrive is None

    with_core(main)


def test_receive_attempt_id_returns_the_same_messages_on_retry() -> None:
    """SQS ReceiveRequestAttemptId: a retried receive returns the same messages and receipts."""

    async def main(core, clock):
        q = core.create_queue("q.fifo", fifo=True, content_based_dedup=True)
        await q.send(b"a", group_id="g")
        first = await q.receive(1, attempt_id="att")
        again = await q.receive(1, attempt_id="att")
        assert [m.receipt for m in again] == [m.receipt for m in first]

    with_core(main)


def test_dedup_window_forgets_after_five_minutes_and_says_which_keys_went() -> None:
    """SQS and SNS FIFO: a deduplication id is remembered for 5 minutes from the first
    send; `expire` returns the keys it dropped (SNS deletes their catalog rows)."""
    from mqlite.core.queue.fifo import DEDUP_WINDOW_MS, DedupWindow

    window = DedupWindow()
    window.put("a", 1_000, "id-a", "1")
    window.put("b", 2_000, "id-b", "2")
    assert window.get("a", 1_000 + DEDUP_WINDOW_MS - 1) == ("id-a", "1")
    assert window.expire(1_000 + DEDUP_WINDOW_MS) == ["a"]
    assert window.get("a", 1_000 + DEDUP_WINDOW_MS) is None
    assert window.get("b", 1_000 + DEDUP_WINDOW_MS) == ("id-b", "2")
    assert len(window) == 1
    assert window.expire(2_000 + DEDUP_WINDOW_MS) == ["b"] and len(window) == 0
