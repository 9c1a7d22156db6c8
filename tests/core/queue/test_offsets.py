"""OffsetSet behaves as a set of ints with a low-water mark, stored as runs."""

from __future__ import annotations

import math

import hypothesis.strategies as st
from hypothesis import given
from queue_support import with_core

from mqlite.core.message import Envelope
from mqlite.core.queue.offsets import OffsetSet


@given(st.lists(st.integers(0, 200), max_size=300), st.integers(0, 100))
def test_offset_set_matches_a_python_set(adds: list[int], lwm: int) -> None:
    s, ref = OffsetSet(), set()
    for off in adds:
        assert s.add(off) == (off not in ref)
        ref.add(off)
    assert len(s) == len(ref) and set(s) == ref
    assert set(OffsetSet(s.ranges())) == ref
    new = s.advance(lwm)
    expected = lwm
    while expected in ref:
        expected += 1
    assert new == expected
    assert set(s) == {o for o in ref if o > new} and len(s) == len(set(s))


def test_acks_behind_one_stuck_lease_cost_one_run_not_one_entry_each() -> None:
    """Memory stays flat: a consumer holding the oldest message unacked (AMQP) while
    thousands behind it are acked leaves one run of done offsets."""

    async def main(core, clock):
        q = core.create_queue("q")
        await q.send_batch([Envelope(b"x") for _ in range(10)])
        await q.receive(1, visibility_timeout=math.inf, owner="stuck")
        for _ in range(300):
            await q.send_batch([Envelope(b"x") for _ in range(10)])
            got = await q.receive(10)
            await q.delete_batch([m.receipt for m in got])
        assert q.lwm == 0
        assert len(q._done) >= 2990 and len(q._done.ranges()) == 1

    with_core(main)
