"""One segment of a log: a `.log` file of whole RecordBatch v2 and its two indexes.

Owns the files of one segment, named by the zero-padded base offset of its first batch::

    00000000000000000000.log        batches, back to back, exactly as in recordbatch.py
    00000000000000000000.index      sparse offset index (see index.py)
    00000000000000000000.timeindex  sparse time index (see index.py)

    .log:  +-----------------+-----------------+-----+-----------------+
           | batch @ base    | batch @ base+n1 | ... | batch           |   no padding,
           +-----------------+-----------------+-----+-----------------+   no file header

Invariants: batches are contiguous and their offsets dense (each baseOffset is the
previous batch's last offset + 1); `size` counts every appended byte, `written` those
already handed to the kernel (the rest wait in `pending` under fsync `always`, where
the group committer writes them in one `pwritev` just before its fsync). Reads never
see `pending` bytes that were not first written. Positions fit in uint32
(`segment_bytes` < 2 GiB).

Concurrency contract: none of its own; the owning `FileLog`'s lock guards every call.
"""

from __future__ import annotations

import logging
import os
import struct
from collections.abc import Iterator
from pathlib import Path

from crc32c import crc32c

from mqlite.storage.batchheader import (
    CRC_START,
    HEADER_SIZE,
    HEADER_STRUCT,
    LOG_OVERHEAD,
    MAGIC,
    BatchHeader,
)
from mqlite.storage.errors import CorruptSegment, LogWriteError
from mqlite.storage.index import OFFSET_ENTRY, TIME_ENTRY, SparseIndex, read_last_entry

__all__ = ["Segment", "segment_name"]

# baseOffset, batchLength, partitionLeaderEpoch, magic, crc, attributes, lastOffsetDelta,
# baseTimestamp, maxTimestamp  (the first 43 bytes of a header)
log = logging.getLogger("mqlite.storage")

_WALK = struct.Struct(">qiibIhiqq")
_WALK_SIZE = _WALK.size
_LEN = struct.Struct(">qi")
SCAN_CHUNK = 8 * 1024 * 1024
_MAX_IOV = 512


_PENDING_MAX = 4 * 1024 * 1024  # buffered bytes (fsync `always`) handed to the kernel at once


def segment_name(base_offset: int) -> str:
    return f"{base_offset:020d}"


def _pwrite_all(fd: int, pieces: list, pos: int, total: int = -1) -> int:
    """Write every buffer at `pos` (one pwritev when possible). Returns bytes written."""
    if len(pieces) > _MAX_IOV:
        pieces = [b"".join(pieces)]
    if total < 0:
        total = sum(len(p) for p in pieces)
    n = os.pwritev(fd, pieces, pos)
    if n < total:
        rest = memoryview(b"".join(pieces))[n:]
        while rest:
            m = os.pwrite(fd, rest, pos + n)
            n += m
            rest = rest[m:]
    return total


_SMALL_BATCH = 16 * 1024


class _ChunkReader:
    """Sequential pread with read-ahead that grows from 64 KiB to SCAN_CHUNK."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buf = b""
        self.buf_pos = 0
        self.chunk = 64 * 1024

    def get(self, pos: int, n: int, prefetch: bool) -> tuple[bytes, int]:
        """A buffer holding [pos, pos + n) when the file has it, and pos's index in it."""
        rel = pos - self.buf_pos
        if rel < 0 or rel + n > len(self.buf):
            want = max(n, self.chunk) if prefetch else n
            self.buf = os.pread(self.fd, want, pos)
            self.buf_pos = pos
            rel = 0
            if prefetch:
                self.chunk = min(self.chunk * 2, SCAN_CHUNK)
        return self.buf, rel


class Segment:
    """A segment file with its indexes and the bookkeeping the log needs."""

    def __init__(self, directory: Path, base_offset: int, index_interval: int) -> None:
        self.base_offset = base_offset
        stem = directory / segment_name(base_offset)
        self.path = stem.with_suffix(".log")
        self.index = SparseIndex(stem.with_suffix(".index"), OFFSET_ENTRY)
        self.time_index = SparseIndex(stem.with_suffix(".timeindex"), TIME_ENTRY)
        self.index_interval = index_interval
        self.fd: int | None = None
        self.size = 0
        self.written = 0
        self.pending: list = []
        self.pending_bytes = 0
        self.next_offset = base_offset
        self.max_timestamp = -1
        self.offset_of_max_timestamp = base_offset
        self.rolling_timestamp: int | None = (
            None  # first batch's max timestamp (age roll)
        )
        self.bytes_since_index = 0
        self.dirty = False  # written since the last fsync
        self.gaps = False  # compacted (storage/cleaner.py): offsets may skip between batches

    # -- files ---------------------------------------------------------------------
    def open(self, create: bool = False) -> None:
        if self.fd is None:
            flags = os.O_RDWR | (os.O_CREAT if create else 0)
            self.fd = os.open(self.path, flags, 0o644)

    def close_fd(self) -> None:
        """Write pending bytes, fsync if anything was written since the last sync, close."""
        if self.fd is not None:
            self.flush_writes()
            if self.dirty:
                os.fsync(self.fd)
                self.dirty = False
            os.close(self.fd)
            self.fd = None

    def drop_fd(self) -> None:
        """Close without writing or fsyncing (the segment is being deleted)."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def file_size(self) -> int:
        self.open()
        assert self.fd is not None
        return os.fstat(self.fd).st_size

    def delete(self) -> None:
        self.pending = []
        self.pending_bytes = 0
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        for p in (self.path, self.index.path, self.time_index.path):
            try:
                os.unlink(p)
            except FileNotFoundError:
                pass

    # -- appends -------------------------------------------------------------------
    def _account(
        self,
        base: int,
        last: int,
        max_ts: int,
        position: int,
        nbytes: int,
        index: bool = True,
    ) -> None:
        """Update indexes and bookkeeping for a batch at `position` (Kafka's rule)."""
        if self.rolling_timestamp is None:
            self.rolling_timestamp = max_ts
        if max_ts > self.max_timestamp:
            self.max_timestamp = max_ts
            self.offset_of_max_timestamp = last
        if index and self.bytes_since_index > self.index_interval:
            self.index.append(base - self.base_offset, position)
            t = self.time_index
            if not t.keys or self.max_timestamp > t.keys[-1]:
                t.append(
                    self.max_timestamp, self.offset_of_max_timestamp - self.base_offset
                )
            self.bytes_since_index = 0
        self.bytes_since_index += nbytes
        self.next_offset = last + 1

    def append(
        self,
        pieces: list,
        nbytes: int,
        base: int,
        last: int,
        max_ts: int,
        buffered: bool,
    ) -> None:
        """Append one batch given as buffers; write now, or leave it pending if `buffered`.

        A failed write raises `LogWriteError` and leaves the segment's state unchanged.
        """
        position = self.size
        if buffered:
            if self.pending and self.pending_bytes + nbytes >= _PENDING_MAX:
                self.flush_writes()  # may raise: then nothing of this batch was taken
            self.pending.extend(pieces)
            self.pending_bytes += nbytes
        else:
            assert self.fd is not None
            try:
                self.written += _pwrite_all(self.fd, pieces, self.written, nbytes)
            except OSError as exc:
                raise LogWriteError(self.path, exc) from exc
        self._account(base, last, max_ts, position, nbytes)
        self.size += nbytes
        self.dirty = True
        if buffered and self.pending_bytes >= _PENDING_MAX:
            try:
                self.flush_writes()
            except LogWriteError:
                pass  # the batch is taken; its durability future reports the failure

    def flush_writes(self) -> None:
        """Hand pending bytes to the kernel (one pwritev)."""
        if self.pending:
            assert self.fd is not None
            try:
                n = _pwrite_all(self.fd, self.pending, self.written, self.pending_bytes)
            except OSError as exc:
                raise LogWriteError(self.path, exc) from exc
            self.written += n
            self.pending = []
            self.pending_bytes = 0

    def finish(self) -> None:
        """The segment stops being active: write everything, close the time index, persist indexes."""
        self.flush_writes()
        t = self.time_index
        if (
            t.loaded
            and self.max_timestamp >= 0
            and (not t.keys or self.max_timestamp > t.keys[-1])
        ):
            t.append(
                self.max_timestamp, self.offset_of_max_timestamp - self.base_offset
            )
        self.index.persist()
        self.time_index.persist()

    # -- reads ---------------------------------------------------------------------
    def read_at(self, pos: int, n: int) -> bytes:
        if pos + n > self.written:
            try:
                self.flush_writes()
            except LogWriteError:
                return self._read_with_pending(pos, n)  # disk full: serve them from memory
        assert self.fd is not None
        return os.pread(self.fd, n, pos)

    def _read_with_pending(self, pos: int, n: int) -> bytes:
        """Bytes at `pos` when the tail is still in `pending` (its write failed)."""
        assert self.fd is not None
        head = os.pread(self.fd, max(0, self.written - pos), pos) if pos < self.written else b""
        tail = b"".join(bytes(p) for p in self.pending)
        start = max(0, pos - self.written)
        return head + tail[start : start + n - len(head)]

    def _corrupt(self, pos: int, offset: int | None, reason: str) -> CorruptSegment:
        return CorruptSegment(self.path, pos, offset, reason)

    def find_position(self, offset: int) -> int:
        """File position of the batch that contains `offset` (which must be in the segment)."""
        e = self.index.floor(offset - self.base_offset)
        pos = 0 if e is None else e[1]
        if e is not None and not self._entry_verifies(e[0], pos):
            # a plausible but wrong .index (sorted, yet not pointing at the batch it
            # names) would make seeks land on the wrong batch: rebuild it from the data
            log.warning("index %s: entry (offset %d, byte %d) does not match the segment;"
                        " rebuilt", self.index.path, self.base_offset + e[0], pos)
            self.flush_writes()
            next_offset = self.next_offset
            self.rebuild(next_offset)
            e = self.index.floor(offset - self.base_offset)
            pos = 0 if e is None else e[1]
        while pos < self.size:
            hdr = self.read_at(pos, _WALK_SIZE)
            if len(hdr) < _WALK_SIZE:
                raise self._corrupt(pos, offset, "batch header cut short")
            base, length, _, magic, _, _, lod, _, _ = _WALK.unpack(hdr)
            if magic != MAGIC or length < HEADER_SIZE - LOG_OVERHEAD:
                raise self._corrupt(
                    pos, offset, f"no batch header (magic {magic}, length {length})"
                )
            if base + lod >= offset:
                return pos
            pos += length + LOG_OVERHEAD
        return self.size

    def _entry_verifies(self, relative: int, pos: int) -> bool:
        """An offset-index entry names the base offset of the batch starting at `pos`."""
        if pos >= self.size:
            return False
        hdr = self.read_at(pos, _WALK_SIZE)
        if len(hdr) < _WALK_SIZE:
            return False
        base, length, _, magic, _, _, _, _, _ = _WALK.unpack(hdr)
        return bool(magic == MAGIC) and base == self.base_offset + relative and length >= HEADER_SIZE - LOG_OVERHEAD

    def read_batches(
        self, pos: int, budget: int, must_take_first: bool
    ) -> tuple[list[bytes], int, bool]:
        """Whole batches from `pos` within `budget` bytes (the first regardless if asked).

        Returns (batches, bytes used, stopped because the budget ran out).
        """
        avail = self.size - pos
        if avail <= 0:
            return [], 0, False
        head = self.read_at(pos, LOG_OVERHEAD)
        if len(head) < LOG_OVERHEAD:
            raise self._corrupt(pos, None, "batch header cut short")
        _, length = _LEN.unpack(head)
        first = length + LOG_OVERHEAD
        if length < HEADER_SIZE - LOG_OVERHEAD or first > avail:
            raise self._corrupt(pos, None, f"impossible batch length {length}")
        if first > budget and not must_take_first:
            return [], 0, True
        n = min(avail, max(budget, first))
        chunk = self.read_at(pos, n)
        if len(chunk) == first:
            if chunk[16] != MAGIC:
                raise self._corrupt(pos, None, f"bad magic {chunk[16]}")
            return [chunk], first, first < avail
        out: list[bytes] = []
        p = 0
        end = len(chunk)
        unpack = _LEN.unpack_from
        while p + HEADER_SIZE <= end:
            base, length = unpack(chunk, p)
            size = length + LOG_OVERHEAD
            if chunk[p + 16] != MAGIC or length < HEADER_SIZE - LOG_OVERHEAD:
                raise self._corrupt(pos + p, base, "no batch header")
            if p + size > end:
                break
            out.append(chunk[p : p + size])
            p += size
        return out, p, p < avail

    # -- recovery ------------------------------------------------------------------
    def scan(
        self,
        verify: bool,
        *,
        start_pos: int = 0,
        expected: int | None = None,
        skip_first_index: bool = False,
    ) -> tuple[int, str]:
        """Walk batches from `start_pos`, checking structure (and CRC-32C if `verify`),
        adding index entries. Returns (position where valid batches end, reason or "")."""
        assert self.fd is not None
        size = os.fstat(self.fd).st_size
        reader = _ChunkReader(self.fd)
        pos = start_pos
        expected = self.base_offset if expected is None and start_pos == 0 else expected
        first = True
        bsize = 0
        while pos < size:
            buf, rel = reader.get(pos, HEADER_SIZE, verify or bsize < _SMALL_BATCH)
            if len(buf) - rel < HEADER_SIZE:
                return pos, "torn batch header"
            base, length, _, magic, crc, _, lod, _, max_ts = _WALK.unpack_from(buf, rel)
            bsize = length + LOG_OVERHEAD
            if magic != MAGIC or length < HEADER_SIZE - LOG_OVERHEAD or lod < 0:
                return pos, f"no batch header (magic {magic}, length {length})"
            if pos + bsize > size:
                return pos, "torn batch"
            if expected is not None and base != expected and not (self.gaps and base > expected):
                return pos, f"batch base offset {base}, expected {expected}"
            if verify:
                buf, rel = reader.get(pos, bsize, True)
                if crc32c(memoryview(buf)[rel + CRC_START : rel + bsize]) != crc:
                    return pos, "CRC-32C mismatch"
            self._account(
                base,
                base + lod,
                max_ts,
                pos,
                bsize,
                index=not (first and skip_first_index),
            )
            first = False
            pos += bsize
            expected = base + lod + 1
        return pos, ""

    def headers(self, start_pos: int = 0) -> Iterator[BatchHeader]:
        """Headers of the batches from `start_pos` on, in order (structure checked, no CRC)."""
        self.flush_writes()
        assert self.fd is not None
        reader = _ChunkReader(self.fd)
        pos = start_pos
        bsize = 0
        while pos < self.size:
            buf, rel = reader.get(pos, HEADER_SIZE, bsize < _SMALL_BATCH)
            if len(buf) - rel < HEADER_SIZE:
                raise self._corrupt(pos, None, "batch header cut short")
            h = BatchHeader(*HEADER_STRUCT.unpack_from(buf, rel))
            if h.magic != MAGIC or h.batch_length < HEADER_SIZE - LOG_OVERHEAD:
                raise self._corrupt(pos, h.base_offset, "no batch header")
            yield h
            bsize = h.size
            pos += bsize

    def _reset_state(self) -> None:
        self.next_offset = self.base_offset
        self.max_timestamp = -1
        self.offset_of_max_timestamp = self.base_offset
        self.rolling_timestamp = None
        self.bytes_since_index = 0

    def recover(self) -> int:
        """Full scan with CRC-32C; rebuild both indexes; truncate a torn or failing tail.

        Returns the number of bytes cut off.
        """
        self.open()
        assert self.fd is not None
        self._reset_state()
        self.index.reset()
        self.time_index.reset()
        size = os.fstat(self.fd).st_size
        end, reason = self.scan(True)
        if end < size:
            log.warning(
                "recovery: truncated %s at byte %d (offset %d): %s; %d bytes dropped",
                self.path, end, self.next_offset, reason, size - end,
            )
            os.ftruncate(self.fd, end)
            os.fsync(self.fd)
        self.size = self.written = end
        return size - end

    def rebuild(self, expected_next: int | None) -> None:
        """Rebuild both indexes from batch headers (no CRC); raise `CorruptSegment` if the
        segment is not whole batches ending at `expected_next`."""
        self.open()
        self._reset_state()
        self.index.reset()
        self.time_index.reset()
        end, reason = self.scan(False)
        self._check_end(end, reason, expected_next)
        self.index.persist()
        self.time_index.persist()

    def _check_end(self, end: int, reason: str, expected_next: int | None) -> None:
        size = self.file_size()
        if end != size:
            raise self._corrupt(
                end, self.next_offset, reason or "bytes after the last batch"
            )
        if self.gaps and expected_next is not None and self.next_offset < expected_next:
            self.next_offset = expected_next  # the segment's last records were cleaned away
        if expected_next is not None and self.next_offset != expected_next:
            raise self._corrupt(
                end,
                self.next_offset,
                f"segment ends at offset {self.next_offset}, next segment starts at {expected_next}",
            )
        self.size = self.written = size

    def check_and_extend(self, expected_next: int | None) -> bool:
        """Trust the indexes up to their last entry, walk batch headers from there to the
        end (adding missing entries). Returns False if the indexes are stale or the walk
        does not end cleanly (the caller then rebuilds or recovers)."""
        self.open()
        if not (self.index.load() and self.time_index.load()):
            return False
        self._reset_state()
        last = self.index.last()
        t_last = self.time_index.last()
        if t_last is not None:
            self.max_timestamp, rel = t_last
            self.offset_of_max_timestamp = self.base_offset + rel
        if last is None:
            start_pos, start_off, skip = 0, self.base_offset, False
        else:
            start_pos, start_off, skip = last[1], self.base_offset + last[0], True
        end, reason = self.scan(
            False, start_pos=start_pos, expected=start_off, skip_first_index=skip
        )
        if reason or end != self.file_size():
            return False
        if self.gaps and expected_next is not None and self.next_offset < expected_next:
            self.next_offset = expected_next
        if expected_next is not None and self.next_offset != expected_next:
            return False
        self.size = self.written = end
        self.rolling_timestamp = self._first_max_timestamp()
        self.index.persist()
        self.time_index.persist()
        return True

    def load_trusted(self, next_offset: int) -> None:
        """Metadata of a cleanly closed inactive segment, without reading its indexes."""
        self.size = self.written = os.stat(self.path).st_size
        self.next_offset = next_offset
        t_last = read_last_entry(self.time_index.path, TIME_ENTRY)
        if t_last is not None:
            self.max_timestamp, rel = t_last
            self.offset_of_max_timestamp = self.base_offset + rel
        else:
            self.max_timestamp = -1

    def _first_max_timestamp(self) -> int | None:
        if self.size < _WALK_SIZE:
            return None
        return int(_WALK.unpack(self.read_at(0, _WALK_SIZE))[8])

    def ensure_loaded(self) -> None:
        """Open the file and load the indexes of an inactive segment (rebuild if stale)."""
        self.open()
        if not self.index.loaded and not (self.index.load() and self.time_index.load()):
            self.rebuild(self.next_offset)

    def unload(self) -> None:
        self.index.unload()
        self.time_index.unload()
        self.close_fd()

    def sync_fd(self) -> int | None:
        """A duplicate of the file descriptor, for an fsync outside the log's lock."""
        self.flush_writes()
        if self.fd is None or not self.dirty:
            return None
        self.dirty = False
        return os.dup(self.fd)

    def __repr__(self) -> str:
        return f"Segment({self.base_offset}, size={self.size}, next={self.next_offset})"
