"""Property: any interleaving of appends, reads, rolls and reopens reads back exactly
what was acknowledged (issue 2, "Tests"), for FileLog and MemoryLog alike.

A hypothesis state machine keeps a model (the list of acknowledged records) and checks
every read against it; FileLog runs with tiny segments and index intervals so rolls and
index lookups happen constantly, and with fsync `always` so every acknowledgement is a
resolved durability future.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from mqlite.storage import (
    Compression,
    FileLog,
    GroupCommitter,
    LogConfig,
    MemoryLog,
    RecordIn,
    encode_batch,
)

records_st = st.lists(
    st.builds(
        RecordIn,
        st.none() | st.binary(max_size=8),
        st.binary(max_size=120),
        st.lists(
            st.tuples(st.sampled_from(["a", "b"]), st.none() | st.binary(max_size=4)),
            max_size=2,
        ).map(tuple),
        st.integers(min_value=0, max_value=10_000),
    ),
    min_size=1,
    max_size=8,
)


class LogMachine(RuleBasedStateMachine):
    kind = "file"

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="mqlite-prop-"))
        self.committer = GroupCommitter("always")
        self.model: list[RecordIn] = []  # index = offset - self.first
        self.start = 0

    @initialize(segment_bytes=st.integers(300, 3000), interval=st.integers(0, 500))
    def open_log(self, segment_bytes: int, interval: int) -> None:
        self.config = LogConfig(
            segment_bytes=segment_bytes, index_interval_bytes=interval
        )
        self.log = self._open()

    def _open(self):
        if self.kind == "file":
            return FileLog(self.dir, self.config, self.committer)
        return MemoryLog(self.config)

    def _ack(self, res, recs) -> None:
        res.durable.result(10)
        assert res.base_offset == len(self.model)
        assert res.last_offset == len(self.model) + len(recs) - 1
        self.model.extend(recs)

    @rule(recs=records_st)
    def append(self, recs) -> None:
        self._ack(self.log.append(recs), recs)

    @rule(
        recs=records_st,
        codec=st.sampled_from([Compression.NONE, Compression.ZSTD, Compression.SNAPPY]),
    )
    def append_batch(self, recs, codec) -> None:
        raw = encode_batch(recs, base_offset=12345, compression=codec)
        self._ack(self.log.append_batch(raw), recs)

    @rule()
    def roll(self) -> None:
        self.log.roll()

    @rule()
    def reopen(self) -> None:
        if self.kind == "file":
            self.log.close()
            self.log = self._open()

    @precondition(lambda self: len(self.model) > 0)
    @rule(data=st.data())
    def delete_before(self, data) -> None:
        offset = data.draw(st.integers(self.start, len(self.model)))
        self.log.delete_before(offset)
        self.start = max(self.start, offset)

    @rule(data=st.data(), max_records=st.integers(1, 30))
    def read_records(self, data, max_records) -> None:
        offset = data.draw(st.integers(self.start, len(self.model)))
        got = self.log.read_records(offset, max_records)
        want = self.model[offset : offset + max_records]
        assert [r.offset for r in got] == list(range(offset, offset + len(want)))
        assert [(r.key, r.value, r.headers, r.timestamp) for r in got] == [
            tuple(r) for r in want
        ]

    @rule(data=st.data(), max_bytes=st.integers(1, 2000))
    def read_batches(self, data, max_bytes) -> None:
        offset = data.draw(st.integers(self.start, len(self.model)))
        batches = self.log.read(offset, max_bytes)
        if offset == len(self.model):
            assert batches == []
            return
        assert batches, "at least one batch"
        assert len(batches) == 1 or sum(map(len, batches)) <= max_bytes
        from mqlite.storage import decode_batch

        expected_next = None
        for i, raw in enumerate(batches):
            h, recs = decode_batch(raw)
            if i == 0:
                assert h.base_offset <= offset <= h.last_offset
            else:
                assert h.base_offset == expected_next
            expected_next = h.next_offset
            for r in recs:
                if r.offset >= self.start:
                    m = self.model[r.offset]
                    assert (r.key, r.value, r.headers, r.timestamp) == tuple(m)

    @invariant()
    def offsets_match(self) -> None:
        if hasattr(self, "log"):
            assert self.log.end_offset == len(self.model)
            assert self.log.start_offset == self.start

    def teardown(self) -> None:
        if hasattr(self, "log"):
            self.log.close()
        self.committer.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class MemoryLogMachine(LogMachine):
    kind = "memory"


_settings = settings(max_examples=25, stateful_step_count=25, deadline=None)
TestFileLogReadsBackWhatWasAcknowledged = LogMachine.TestCase
TestFileLogReadsBackWhatWasAcknowledged.settings = _settings
TestMemoryLogReadsBackWhatWasAcknowledged = MemoryLogMachine.TestCase
TestMemoryLogReadsBackWhatWasAcknowledged.settings = _settings
