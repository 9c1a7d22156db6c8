"""Sparse per-segment indexes: offset -> file position, and timestamp -> offset.

Owns the `.index` and `.timeindex` files of a segment. Both are derived data: the log
rebuilds them from the segment's batch headers when they are missing or stale, so they
are never fsynced on the append path. An entry is added for a batch when more than
`index_interval_bytes` were appended since the previous entry (Kafka's rule), so each
costs a few bytes per 4 KiB of log.

    .index      entries of 8 bytes, big-endian, strictly increasing in both fields:
                +---------------------------+---------------------------+
                | relative offset  uint32   | file position  uint32     |
                +---------------------------+---------------------------+
                relative offset = batch baseOffset - segment base offset

    .timeindex  entries of 12 bytes, big-endian, strictly increasing timestamps:
                +-------------------------------------------+---------------------------+
                | max timestamp so far  int64 (ms)          | relative offset  uint32   |
                +-------------------------------------------+---------------------------+
                "every record at or before this offset has a timestamp <= this one";
                a final entry is written when the segment stops being active.

In memory an index is two `array('q')` columns, loaded lazily and dropped again for
inactive segments (the log keeps only a few loaded), so memory stays flat however large
the log grows. Not thread-safe by itself: the owning log's lock guards it.
"""

from __future__ import annotations

import bisect
import os
import struct
from array import array
from pathlib import Path

__all__ = ["OFFSET_ENTRY", "TIME_ENTRY", "SparseIndex"]

OFFSET_ENTRY = struct.Struct(">II")
TIME_ENTRY = struct.Struct(">qI")


class SparseIndex:
    """Two sorted columns (keys, values) mirrored to an append-only file of fixed entries.

    For the offset index keys are relative offsets and values file positions; for the
    time index keys are timestamps and values relative offsets.
    """

    def __init__(self, path: Path, entry: struct.Struct) -> None:
        self.path = path
        self._entry = entry
        self.keys: array[int] = array("q")
        self.values: array[int] = array("q")
        self._persisted = 0  # entries already in the file
        self.loaded = False

    # -- file ----------------------------------------------------------------------
    def load(self) -> bool:
        """Read the file into memory. Returns False (and loads nothing) if it is missing,
        of a size that is not a whole number of entries, or not strictly increasing."""
        self.keys = array("q")
        self.values = array("q")
        self._persisted = 0
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            self.loaded = True
            return False
        self.loaded = True
        if len(data) % self._entry.size:
            return False
        keys = self.keys
        values = self.values
        last_k = last_v = -(1 << 63)
        for k, v in self._entry.iter_unpack(data):
            if k <= last_k or v < last_v:
                self.keys = array("q")
                self.values = array("q")
                return False
            keys.append(k)
            values.append(v)
            last_k, last_v = k, v
        self._persisted = len(keys)
        return True

    def unload(self) -> None:
        """Drop the in-memory copy (entries not yet persisted are written first)."""
        if self.loaded:
            self.persist()
            self.keys = array("q")
            self.values = array("q")
            self.loaded = False

    def persist(self) -> None:
        """Append the entries not yet in the file."""
        n = len(self.keys)
        if n == self._persisted:
            return
        pack = self._entry.pack
        data = b"".join(
            pack(self.keys[i], self.values[i]) for i in range(self._persisted, n)
        )
        with open(self.path, "ab") as f:
            f.write(data)
        self._persisted = n

    def reset(self) -> None:
        """Empty the index, in memory and on disk."""
        self.keys = array("q")
        self.values = array("q")
        self._persisted = 0
        self.loaded = True
        with open(self.path, "wb"):
            pass

    def delete(self) -> None:
        self.keys = array("q")
        self.values = array("q")
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    # -- entries -------------------------------------------------------------------
    def append(self, key: int, value: int) -> None:
        self.keys.append(key)
        self.values.append(value)

    def last(self) -> tuple[int, int] | None:
        if not self.keys:
            return None
        return self.keys[-1], self.values[-1]

    def floor(self, key: int) -> tuple[int, int] | None:
        """The entry with the largest key <= `key`, or None."""
        i = bisect.bisect_right(self.keys, key)
        if i == 0:
            return None
        return self.keys[i - 1], self.values[i - 1]

    def lower(self, key: int) -> tuple[int, int] | None:
        """The entry with the largest key < `key`, or None."""
        i = bisect.bisect_left(self.keys, key)
        if i == 0:
            return None
        return self.keys[i - 1], self.values[i - 1]

    def __len__(self) -> int:
        return len(self.keys)


def read_last_entry(path: Path, entry: struct.Struct) -> tuple[int, int] | None:
    """The last entry of an index file without loading it (None if empty/missing/odd size)."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size == 0 or size % entry.size:
                return None
            f.seek(size - entry.size)
            k, v = entry.unpack(f.read(entry.size))
            return k, v
    except FileNotFoundError:
        return None
