"""Property tests: a stream behaves like a list per partition, also across restarts.

Hypothesis drives random appends (single and batched, keyed and keyless), reads from
random offsets, partition growth and broker restarts on a real data directory; a plain
Python model (one list per partition) must agree with every answer.
Rules checked: dense offsets from 0 per partition; reads return exactly the records
from the offset on; key -> Kafka murmur2 partition; a restart loses nothing written.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from mqlite.core.broker import BrokerCore
from mqlite.core.clock import ManualClock
from mqlite.core.config import CoreConfig
from mqlite.core.partitioner import partition_for_key

CONFIG = CoreConfig(fsync="never", maintenance_interval=0)
values = st.binary(max_size=40)
keys = st.one_of(st.none(), st.binary(min_size=1, max_size=8))


class StreamMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="mqlite-prop-"))
        self.loop = asyncio.new_event_loop()
        self.clock = ManualClock()
        self.core = self._run(BrokerCore.open(self.dir, CONFIG, self.clock))
        self.stream = self.core.create_stream("p", partitions=2, config={"segment_bytes": 512})
        self.model: list[list[tuple[bytes | None, bytes]]] = [[], []]

    def _run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    @rule(value=values, key=keys)
    def append_one(self, value: bytes, key: bytes | None) -> None:
        p, offset = self._run(self.stream.append(value, key=key))
        if key is not None:
            assert p == partition_for_key(key, len(self.model))
        assert offset == len(self.model[p])
        self.model[p].append((key, value))

    @rule(items=st.lists(st.tuples(values, keys), min_size=1, max_size=20))
    def append_many(self, items: list[tuple[bytes, bytes | None]]) -> None:
        out = self._run(self.stream.append_many([(v, k) for v, k in items]))
        for (value, key), (p, offset) in zip(items, out, strict=True):
            assert offset == len(self.model[p])
            self.model[p].append((key, value))

    @rule(data=st.data())
    def read_from_anywhere(self, data: st.DataObject) -> None:
        p = data.draw(st.integers(0, len(self.model) - 1))
        offset = data.draw(st.integers(0, len(self.model[p])))
        limit = data.draw(st.integers(1, 50))
        got = self.stream.read(p, offset, limit)
        assert [(r.offset, r.key, r.value) for r in got] == [
            (offset + i, k, v) for i, (k, v) in enumerate(self.model[p][offset : offset + limit])
        ]

    @precondition(lambda self: len(self.model) < 5)
    @rule()
    def add_partition(self) -> None:
        assert self.stream.add_partitions(1) == len(self.model) + 1
        self.model.append([])

    @rule()
    def restart(self) -> None:
        self._run(self.core.close())
        self.core = self._run(BrokerCore.open(self.dir, CONFIG, self.clock))
        self.stream = self.core.get_stream("p")

    @invariant()
    def offsets_match_the_model(self) -> None:
        assert self.stream.partition_count == len(self.model)
        for p, records in enumerate(self.model):
            assert (self.stream.earliest(p), self.stream.latest(p)) == (0, len(records))

    def teardown(self) -> None:
        self._run(self.core.close())
        self.loop.close()
        shutil.rmtree(self.dir, ignore_errors=True)


StreamMachine.TestCase.settings = settings(max_examples=20, stateful_step_count=20, deadline=None)
test_stream_matches_a_list_model_across_restarts = StreamMachine.TestCase
