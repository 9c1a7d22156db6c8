"""`FileLog`: the durable `Log`, a directory of segments (see segment.py for the files).

Owns one partition directory::

    <dir>/00000000000000000000.log .index .timeindex   one trio per segment
    <dir>/00000000000000052113.log .index .timeindex
    <dir>/log-start-offset     decimal text; present once delete_before moved the start
                               offset into a segment (Kafka's log-start-offset checkpoint)
    <dir>/.clean-shutdown      empty; written by close() after the last fsync, removed
                               by open (its presence means every index is complete)
    <dir>/producer-snapshot.json   written by close() when producer state was in use:
                               {"version": 1, "offset": <end offset it covers>,
                                "producers": [[id, epoch, last_seq, last_offset,
                                last_timestamp, [[first_seq, last_seq, base, last]...]]]}
                               (Kafka's .snapshot); the state is rebuilt from it plus
                               the batch headers after `offset`

Recovery on open: without `.clean-shutdown`, the tail segment is scanned with CRC-32C
and truncated to its last whole valid batch (indexes rebuilt), and every other
segment's indexes are checked from their last entry to the end of the file; a segment
that is not whole batches is reported as `CorruptSegment` (path, position, offset),
never skipped or truncated. With it, indexes are trusted and only the tail's last
index interval is walked.

Concurrency contract: thread-safe; one `RLock` guards all state and every file
operation except fsync, which the shared `GroupCommitter` runs on duplicated file
descriptors outside the lock (appends continue during an fsync). Under fsync `always`
appended bytes wait in memory until the committer writes them all with one `pwritev`
right before its fsync; reads write them first when they need them.
"""

from __future__ import annotations

import bisect
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mqlite.storage.batchheader import PREFIX_STRUCT
from mqlite.storage.cleaner import CLEANED_SUFFIX, COMPACTED_MARKER, clean
from mqlite.storage.commit import GroupCommitter
from mqlite.storage.errors import CorruptSegment, InvalidBatch, LogClosed, LogWriteError
from mqlite.storage.log import (
    AppendResult,
    Log,
    LogConfig,
    ProducerBatch,
    ProducerState,
)
from mqlite.storage.recordbatch import (
    HEADER_SIZE,
    BatchHeader,
    decode_batch,
    parse_header,
    validate_batch,
)
from mqlite.storage.segment import Segment

__all__ = ["FileLog"]

CLEAN_MARKER = ".clean-shutdown"
PRODUCER_SNAPSHOT = "producer-snapshot.json"
START_FILE = "log-start-offset"
MAX_LOADED_INACTIVE = 4
MAX_RELATIVE_OFFSET = 0xFFFFFFFF


class FileLog(Log):
    """A log stored as segment files under `directory`; see the module docstring."""

    def __init__(
        self,
        directory: Path | str,
        config: LogConfig | None = None,
        committer: GroupCommitter | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.config = config or LogConfig()
        if self.config.segment_bytes > 0x7FFFFFFF:
            raise ValueError("segment_bytes must be below 2 GiB")
        self._own_committer = committer is None
        self._committer = committer or GroupCommitter("never")
        self._buffered = self._committer.buffers_writes
        self._lock = threading.RLock()
        self._segments: list[Segment] = []
        self._bases: list[int] = []
        self._loaded: OrderedDict[int, Segment] = OrderedDict()
        self._unsynced: list[Segment] = []
        self._write_failed = False  # a buffered write failed and no write has succeeded since
        self._dir_dirty = False
        self._closed = False
        self._producers = None
        self._logical_start = 0
        self.truncated_bytes = 0  # bytes cut from a torn tail by the last open
        self.directory.mkdir(parents=True, exist_ok=True)
        self._open()

    # -- open / recovery -------------------------------------------------------------
    def _open(self) -> None:
        d = self.directory
        bases = sorted(int(p.stem) for p in d.glob("*.log") if p.stem.isdigit())
        for p in d.iterdir():  # indexes without a segment are leftovers of a deletion
            if p.name.endswith(CLEANED_SUFFIX):  # a compaction cut short by a crash
                p.unlink()
            elif (
                p.suffix in (".index", ".timeindex")
                and p.stem.isdigit()
                and int(p.stem) not in bases
            ):
                p.unlink()
        clean_path = d / CLEAN_MARKER
        clean = clean_path.exists()
        start_path = d / START_FILE
        if start_path.exists():
            try:
                self._logical_start = int(start_path.read_text().strip() or 0)
            except ValueError:
                self._logical_start = 0
        interval = self.config.index_interval_bytes
        if not bases:
            seg = Segment(d, self._logical_start, interval)
            seg.open(create=True)
            seg.index.reset()
            seg.time_index.reset()
            self._segments = [seg]
            self._dir_dirty = True
        else:
            segs = [Segment(d, b, interval) for b in bases]
            if (d / COMPACTED_MARKER).exists():
                for seg in segs:
                    seg.gaps = True
            # drop empty inactive segments that carry nothing (a crash between roll and write)
            keep: list[Segment] = []
            for i, seg in enumerate(segs):
                if (
                    i < len(segs) - 1
                    and os.stat(seg.path).st_size == 0
                    and segs[i + 1].base_offset == seg.base_offset
                ):
                    seg.delete()
                    continue
                keep.append(seg)
            segs = keep
            for i, seg in enumerate(segs[:-1]):
                nxt = segs[i + 1].base_offset
                if clean:
                    seg.load_trusted(nxt)
                else:
                    if not seg.check_and_extend(nxt):
                        seg.rebuild(nxt)
                    seg.unload()
            tail = segs[-1]
            if not (clean and tail.check_and_extend(None)):
                self.truncated_bytes = tail.recover()
                tail.index.persist()
                tail.time_index.persist()
            self._segments = segs
        if clean:
            clean_path.unlink()
            self._fsync_dir()
        self._bases = [s.base_offset for s in self._segments]
        self._logical_start = min(
            max(self._logical_start, self._segments[0].base_offset), self.end_offset
        )

    def _fsync_dir(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    # -- positions -------------------------------------------------------------------
    @property
    def _active(self) -> Segment:
        return self._segments[-1]

    @property
    def start_offset(self) -> int:
        return self._logical_start

    @property
    def end_offset(self) -> int:
        return self._segments[-1].next_offset

    @property
    def size_bytes(self) -> int:
        with self._lock:
            return sum(s.size for s in self._segments)

    @property
    def segment_count(self) -> int:
        return len(self._segments)

    def segment_bases(self) -> list[int]:
        """Base offsets of the segments, oldest first."""
        with self._lock:
            return list(self._bases)

    def set_config(self, config: LogConfig) -> None:
        if config.segment_bytes > 0x7FFFFFFF:
            raise ValueError("segment_bytes must be below 2 GiB")
        with self._lock:
            self.config = config
            self._active.index_interval = config.index_interval_bytes

    def _where(self) -> str:
        return f"{self.directory.parent.name}-{self.directory.name}"

    def _check_open(self) -> None:
        if self._closed:
            raise LogClosed(f"log {self.directory} is closed")

    # -- appends ---------------------------------------------------------------------
    def _should_roll(self, seg: Segment, h: BatchHeader, base: int) -> bool:
        if seg.size == 0:
            return False
        cfg = self.config
        if seg.size + h.size > cfg.segment_bytes:
            return True
        if (
            cfg.segment_ms is not None
            and seg.rolling_timestamp is not None
            and h.max_timestamp - seg.rolling_timestamp > cfg.segment_ms
        ):
            return True
        return base + h.last_offset_delta - seg.base_offset > MAX_RELATIVE_OFFSET

    def _append_validated(
        self, batches: list[tuple[BatchHeader, memoryview]]
    ) -> AppendResult:
        epoch = self.config.leader_epoch
        with self._lock:
            self._check_open()
            if self._write_failed and self._buffered:
                # the last write failed (disk full): retry it now, and refuse this append
                # at once while it still fails, rather than buffer more in memory
                for seg in [*self._unsynced, self._active]:
                    seg.flush_writes()
                self._write_failed = False
            first = base = self.end_offset
            max_ts = -1
            for h, view in batches:
                seg = self._segments[-1]
                if self._should_roll(seg, h, base):
                    seg = self._roll_locked()
                last = base + h.last_offset_delta
                pieces = [PREFIX_STRUCT.pack(base, h.batch_length, epoch), view[16:]]
                seg.append(pieces, h.size, base, last, h.max_timestamp, self._buffered)
                self._note_appended(h, base)
                max_ts = max(max_ts, h.max_timestamp)
                base = last + 1
            durable = self._committer.durable_future(self)
            return AppendResult(first, base - 1, max_ts, durable)

    def _roll_locked(self) -> Segment:
        old = self._segments[-1]
        old.finish()
        self._unsynced.append(old)
        seg = Segment(self.directory, old.next_offset, self.config.index_interval_bytes)
        seg.open(create=True)
        seg.index.reset()
        seg.time_index.reset()
        self._segments.append(seg)
        self._bases.append(seg.base_offset)
        self._dir_dirty = True
        self._remember_loaded(old)
        return seg

    def roll(self) -> None:
        with self._lock:
            self._check_open()
            if self._active.size > 0:
                self._roll_locked()

    # -- inactive segments: a few kept open and indexed, the rest closed ----------------
    def _remember_loaded(self, seg: Segment) -> None:
        loaded = self._loaded
        loaded[seg.base_offset] = seg
        loaded.move_to_end(seg.base_offset)
        while len(loaded) > MAX_LOADED_INACTIVE:
            _, victim = loaded.popitem(last=False)
            if victim is not self._segments[-1]:
                victim.unload()

    def _touch(self, seg: Segment) -> None:
        if seg is self._segments[-1]:
            return
        seg.ensure_loaded()
        self._remember_loaded(seg)

    # -- reads -----------------------------------------------------------------------
    def read(self, offset: int, max_bytes: int) -> list[bytes]:
        with self._lock:
            self._check_open()
            self._check_offset(offset)
            if offset == self.end_offset:
                return []
            i = bisect.bisect_right(self._bases, offset) - 1
            out: list[bytes] = []
            budget = max_bytes
            segs = self._segments
            while i < len(segs):
                seg = segs[i]
                self._touch(seg)
                pos = seg.find_position(offset) if not out else 0
                batches, used, stopped = seg.read_batches(pos, budget, not out)
                out.extend(batches)
                budget -= used
                if stopped or budget <= 0:
                    break
                i += 1
            return out

    def _stored_batch_invalid(self, raw: bytes, exc: InvalidBatch) -> Exception:
        base = parse_header(raw).base_offset
        with self._lock:
            seg = self._segments[max(bisect.bisect_right(self._bases, base) - 1, 0)]
            try:
                pos = seg.find_position(base)
            except CorruptSegment as inner:
                return inner
        return CorruptSegment(seg.path, pos, base, str(exc))

    def _next_readable(self, offset: int) -> int:
        """After the corrupt batch at `offset`: the batch its header says comes next, if
        one starts there; else the first position further on where a whole batch
        with a valid CRC and a higher base offset starts; else the next segment."""
        with self._lock:
            seg = self._segments[max(bisect.bisect_right(self._bases, offset) - 1, 0)]
            self._touch(seg)
            try:
                pos = seg.find_position(offset)
            except CorruptSegment as exc:
                pos = exc.position
            seg.flush_writes()
            data = seg.read_at(pos, max(seg.size - pos, 0))
        try:
            h = parse_header(data)
            if h.base_offset >= offset and h.size < len(data):
                nxt = parse_header(data, h.size)
                if nxt.base_offset == h.next_offset:
                    return h.next_offset
            elif h.base_offset >= offset and h.size == len(data):
                return seg.next_offset
        except InvalidBatch:
            pass
        p = 1
        while True:  # resynchronise on the next magic byte that starts a valid batch
            i = data.find(b"\x02", p + 16)
            if i < 0 or i - 16 + HEADER_SIZE > len(data):
                return seg.next_offset
            p = i - 16
            try:
                h = validate_batch(data, p)
                if h.base_offset > offset:
                    return h.base_offset
            except InvalidBatch:
                pass
            p += 1

    def offset_for_timestamp(self, timestamp: int) -> int | None:
        with self._lock:
            self._check_open()
            start = self._logical_start
            for seg in self._segments:
                if seg.max_timestamp < timestamp or seg.next_offset <= start:
                    continue
                self._touch(seg)
                e = seg.time_index.lower(timestamp)
                from_offset = max(
                    start, seg.base_offset if e is None else seg.base_offset + e[1]
                )
                pos = seg.find_position(from_offset)
                while pos < seg.size:
                    raw = seg.read_at(pos, HEADER_SIZE)
                    h = parse_header(raw)
                    if h.max_timestamp >= timestamp and h.last_offset >= start:
                        _, records = decode_batch(
                            seg.read_at(pos, h.size), verify_crc=False
                        )
                        for r in records:
                            if r.timestamp >= timestamp and r.offset >= start:
                                return r.offset
                    pos += h.size
            return None

    def _iter_headers_from(self, offset: int) -> Iterator[BatchHeader]:
        if offset >= self.end_offset:
            return
        i = max(bisect.bisect_right(self._bases, offset) - 1, 0)
        first = True
        for seg in list(self._segments[i:]):
            self._touch(seg)
            yield from seg.headers(seg.find_position(offset) if first else 0)
            first = False

    def _producer_snapshot(self) -> tuple[dict[int, ProducerState], int]:
        try:
            data = json.loads((self.directory / PRODUCER_SNAPSHOT).read_text())
            if data.get("version") != 1:
                return {}, self.start_offset
            states = {}
            for pid, epoch, last_seq, last_off, last_ts, batches in data["producers"]:
                states[pid] = ProducerState(
                    pid,
                    epoch,
                    last_seq,
                    last_off,
                    last_ts,
                    tuple(ProducerBatch(*b) for b in batches),
                )
            return states, int(data["offset"])
        except (OSError, ValueError, KeyError, TypeError):
            return {}, self.start_offset

    def _write_producer_snapshot(self) -> None:
        if self._producers is None:
            return  # never built: an older snapshot, if any, is still a valid start
        data = {
            "version": 1,
            "offset": self.end_offset,
            "producers": [
                [
                    s.producer_id,
                    s.producer_epoch,
                    s.last_sequence,
                    s.last_offset,
                    s.last_timestamp,
                    [
                        [
                            b.first_sequence,
                            b.last_sequence,
                            b.base_offset,
                            b.last_offset,
                        ]
                        for b in s.batches
                    ],
                ]
                for s in self._producers.values()
            ],
        }
        path = self.directory / PRODUCER_SNAPSHOT
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, path)

    # -- deletion --------------------------------------------------------------------
    def _delete_first(self, n: int) -> int:
        """Delete the n oldest segments (never the active one). Returns bytes freed."""
        n = min(n, len(self._segments) - 1)
        freed = 0
        for seg in self._segments[:n]:
            freed += seg.size
            self._loaded.pop(seg.base_offset, None)
            if seg in self._unsynced:
                self._unsynced.remove(seg)
            seg.delete()
        if n:
            del self._segments[:n]
            del self._bases[:n]
            self._dir_dirty = True
            self._logical_start = max(
                self._logical_start, self._segments[0].base_offset
            )
        return freed

    def delete_before(self, offset: int) -> int:
        with self._lock:
            self._check_open()
            offset = min(offset, self.end_offset)
            if offset <= self._logical_start:
                return 0
            if offset == self.end_offset and self._active.size > 0:
                self._roll_locked()
            self._logical_start = offset
            n = bisect.bisect_right(self._bases, offset) - 1
            freed = self._delete_first(n)
            self._write_start_file()
            return freed

    def _write_start_file(self) -> None:
        path = self.directory / START_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(f"{self._logical_start}\n")
        os.replace(tmp, path)
        self._dir_dirty = True

    def apply_retention(self, now_ms: int) -> int:
        cfg = self.config
        with self._lock:
            self._check_open()
            segs = self._segments
            n = 0
            if cfg.retention_ms is not None:
                limit = now_ms - cfg.retention_ms
                while (
                    n < len(segs) and segs[n].size > 0 and segs[n].max_timestamp < limit
                ):
                    n += 1
            if cfg.retention_bytes is not None:
                total = sum(s.size for s in segs[n:])
                while n < len(segs) - 1 and total - segs[n].size >= cfg.retention_bytes:
                    total -= segs[n].size
                    n += 1
            if n == 0:
                return 0
            if n == len(segs):  # the active segment expired too: roll so it can go
                self._roll_locked()
            return self._delete_first(n)

    def compact(self, now_ms: int, upto: int, aborted: Any = None) -> int:
        return clean(self, now_ms, upto, aborted) if self.config.compact and not self._closed else 0

    # -- durability ------------------------------------------------------------------
    def sync(self) -> None:
        """Write pending bytes and fsync every segment written since the last sync
        (called by the group committer; the fsyncs run outside the log lock)."""
        with self._lock:
            if self._closed:
                return
            fds = []
            try:
                for seg in self._unsynced:
                    fd = seg.sync_fd()
                    if fd is not None:
                        fds.append(fd)
                fd = self._active.sync_fd()
            except LogWriteError:
                self._write_failed = True  # later appends are refused until a write succeeds
                for fd in fds:
                    os.close(fd)
                raise
            self._unsynced.clear()
            self._write_failed = False
            if fd is not None:
                fds.append(fd)
            dir_dirty, self._dir_dirty = self._dir_dirty, False
        try:
            for fd in fds:
                os.fsync(fd)
        finally:
            for fd in fds:
                os.close(fd)
        if dir_dirty:
            self._fsync_dir()

    def flush(self) -> None:
        with self._lock:
            self._check_open()
            self._active.index.persist()
            self._active.time_index.persist()
        self.sync()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            active = self._active
            active.finish()
            self._write_producer_snapshot()
            self.sync()
            self._closed = True
            for seg in self._segments:
                seg.index.persist()
                seg.time_index.persist()
                seg.close_fd()
            self._loaded.clear()
            (self.directory / CLEAN_MARKER).touch()
            self._fsync_dir()
        self._committer.forget(self)
        if self._own_committer:
            self._committer.close()

    def discard(self) -> None:
        """Close without making anything durable (no fsync, no index or clean-shutdown
        files): for a log whose directory is deleted next. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for seg in self._segments:
                seg.drop_fd()
            self._loaded.clear()
        self._committer.forget(self)
        if self._own_committer:
            self._committer.close()

    def __repr__(self) -> str:
        return f"FileLog({str(self.directory)!r}, start={self._logical_start}, end={self.end_offset}, segments={len(self._segments)})"
