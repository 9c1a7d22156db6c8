"""Property: a priority queue delivers its visible messages highest priority first and
in send order within a priority, across requeues and restarts (RabbitMQ priority
queues; priorities above x-max-priority count as the maximum)."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import hypothesis.strategies as st
from hypothesis import given, settings
from queue_support import open_core, run

OPS = st.lists(
    st.one_of(
        st.tuples(st.just("send"), st.integers(0, 12)),
        st.tuples(st.just("take"), st.integers(1, 4)),
        st.tuples(st.just("requeue_all"), st.just(0)),
        st.tuples(st.just("restart"), st.just(0)),
    ),
    max_size=25,
)


@settings(max_examples=30, deadline=None)
@given(OPS)
def test_priority_order_holds_across_requeue_and_restart(ops: list[tuple[str, int]]) -> None:
    async def main(path: Path) -> None:
        ready: list[tuple[int, int]] = []  # (priority, seq) of visible messages
        held: list[tuple[int, int, str]] = []
        seq = 0
        core_cm = open_core(path)
        core = await core_cm.__aenter__()
        try:
            q = core.queues.create("pq", name_rule="amqp", max_priority=9)
            for op, arg in ops:
                if op == "send":
                    seq += 1
                    await q.send(str(seq).encode(), priority=arg)
                    ready.append((min(arg, 9), seq))
                elif op == "take":
                    got = await q.receive(arg, visibility_timeout=math.inf, owner="ch")
                    expected = sorted(ready, key=lambda p: (-p[0], p[1]))[:arg]
                    assert [(m.priority, int(m.body)) for m in got] == expected
                    for m in got:
                        ready.remove((m.priority, int(m.body)))
                        held.append((m.priority, int(m.body), m.receipt))
                elif op == "requeue_all":
                    q.release_owner("ch")
                    ready += [(p, s) for p, s, _ in held]
                    held.clear()
                else:  # restart: until-released leases come back
                    await core_cm.__aexit__(None, None, None)
                    core_cm = open_core(path)
                    core = await core_cm.__aenter__()
                    q = core.get_queue("pq")
                    ready += [(p, s) for p, s, _ in held]
                    held.clear()
            assert q.counts().total == len(ready) + len(held)
        finally:
            await core_cm.__aexit__(None, None, None)

    with tempfile.TemporaryDirectory() as d:
        run(main(Path(d)))
