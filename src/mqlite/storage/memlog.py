"""`MemoryLog`: the `Log` contract held in process memory (`mqlite serve --memory`, tests).

Owns a list of stored batches (bytes, baseOffset already rewritten) and their base
offsets for bisection. Same semantics as `FileLog` except that every batch is its own
"segment" for deletion and retention, and nothing survives the process. Durability
futures are always done. Thread-safe: one lock guards all state.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterator

from mqlite.storage.batchheader import PREFIX_STRUCT, BatchHeader, parse_header
from mqlite.storage.commit import DONE
from mqlite.storage.errors import LogClosed
from mqlite.storage.log import AppendResult, Log, LogConfig
from mqlite.storage.recordbatch import decode_batch

__all__ = ["MemoryLog"]


class MemoryLog(Log):
    """An in-memory log; see `Log`."""

    def __init__(
        self, config: LogConfig | None = None, *, start_offset: int = 0
    ) -> None:
        self.config = config or LogConfig()
        self._lock = threading.RLock()
        self._batches: list[bytes] = []
        self._bases: list[int] = []
        self._max_ts: list[int] = []
        self._start = start_offset
        self._end = start_offset
        self._size = 0
        self._closed = False
        self._producers = {}

    # -- positions -------------------------------------------------------------------
    @property
    def start_offset(self) -> int:
        return self._start

    @property
    def end_offset(self) -> int:
        return self._end

    @property
    def size_bytes(self) -> int:
        return self._size

    def _check_open(self) -> None:
        if self._closed:
            raise LogClosed("log is closed")

    # -- appends ---------------------------------------------------------------------
    def _append_validated(
        self, batches: list[tuple[BatchHeader, memoryview]]
    ) -> AppendResult:
        epoch = self.config.leader_epoch
        with self._lock:
            self._check_open()
            first = self._end
            base = first
            max_ts = -1
            for h, view in batches:
                stored = (
                    PREFIX_STRUCT.pack(base, h.batch_length, epoch)
                    + view[16:].tobytes()
                )
                self._batches.append(stored)
                self._bases.append(base)
                self._max_ts.append(h.max_timestamp)
                self._size += len(stored)
                self._note_appended(h, base)
                max_ts = max(max_ts, h.max_timestamp)
                base += h.last_offset_delta + 1
            self._end = base
            return AppendResult(first, base - 1, max_ts, DONE)

    # -- reads -----------------------------------------------------------------------
    def read(self, offset: int, max_bytes: int) -> list[bytes]:
        with self._lock:
            self._check_open()
            self._check_offset(offset)
            if offset == self._end:
                return []
            i = bisect.bisect_right(self._bases, offset) - 1
            batches = self._batches
            out = [batches[i]]
            total = len(out[0])
            for j in range(i + 1, len(batches)):
                b = batches[j]
                total += len(b)
                if total > max_bytes:
                    break
                out.append(b)
            return out

    def offset_for_timestamp(self, timestamp: int) -> int | None:
        with self._lock:
            self._check_open()
            for i, ts in enumerate(self._max_ts):
                if ts >= timestamp:
                    _, records = decode_batch(self._batches[i], verify_crc=False)
                    for r in records:
                        if r.timestamp >= timestamp and r.offset >= self._start:
                            return r.offset
            return None

    def _iter_headers_from(self, offset: int) -> Iterator[BatchHeader]:
        i = max(bisect.bisect_right(self._bases, offset) - 1, 0)
        for b in self._batches[i:]:
            yield parse_header(b)

    # -- maintenance -----------------------------------------------------------------
    def _drop_front(self, n: int) -> int:
        freed = sum(len(b) for b in self._batches[:n])
        del self._batches[:n], self._bases[:n], self._max_ts[:n]
        self._size -= freed
        return freed

    def delete_before(self, offset: int) -> int:
        with self._lock:
            self._check_open()
            offset = min(offset, self._end)
            if offset <= self._start:
                return 0
            self._start = offset
            # batches whose next batch starts at or below offset hold only offsets < offset
            n = bisect.bisect_right(self._bases, offset) - 1
            if offset == self._end:
                n = len(self._bases)
            return self._drop_front(max(n, 0))

    def apply_retention(self, now_ms: int) -> int:
        cfg = self.config
        with self._lock:
            self._check_open()
            n = 0
            if cfg.retention_ms is not None:
                limit = now_ms - cfg.retention_ms
                while n < len(self._max_ts) and self._max_ts[n] < limit:
                    n += 1
            if cfg.retention_bytes is not None:
                size = self._size - sum(len(b) for b in self._batches[:n])
                while (
                    n < len(self._batches)
                    and size - len(self._batches[n]) >= cfg.retention_bytes
                ):
                    size -= len(self._batches[n])
                    n += 1
            if n == 0:
                return 0
            self._start = max(
                self._start, self._bases[n] if n < len(self._bases) else self._end
            )
            return self._drop_front(n)

    def roll(self) -> None:
        with self._lock:
            self._check_open()

    def flush(self) -> None:
        with self._lock:
            self._check_open()

    def close(self) -> None:
        with self._lock:
            self._closed = True

    def __repr__(self) -> str:
        return f"MemoryLog(start={self._start}, end={self._end}, batches={len(self._batches)})"
