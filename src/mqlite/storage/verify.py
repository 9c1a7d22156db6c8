"""Read-only verification of a log directory, for `mqlite check` (nothing is changed).

`verify_log(directory)` walks every segment's batches as recovery would (header,
length, base offset continuity, CRC-32C) and checks every `.index` entry against the
segment (it must point at the start of a batch whose base offset is the entry's
offset). It reports, never repairs: recovery at start truncates a torn tail of the
last segment (and logs it), and a wrong index is rebuilt when a read meets it.
Pure function over files; safe while a broker runs (it may see a batch mid-write).
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

from crc32c import crc32c

from mqlite.storage.batchheader import CRC_START, HEADER_SIZE, LOG_OVERHEAD, MAGIC
from mqlite.storage.index import OFFSET_ENTRY

__all__ = ["LogReport", "verify_log"]

_HEAD = struct.Struct(">qiibIhi")  # baseOffset, length, epoch, magic, crc, attributes, lastOffsetDelta


@dataclass(frozen=True, slots=True)
class LogReport:
    """What `verify_log` found in one partition directory."""

    directory: Path
    segments: int
    batches: int
    bytes: int
    problems: tuple[str, ...]


def _walk(path: Path, base_offset: int, problems: list[str], last: bool) -> tuple[int, dict[int, int], int]:
    """Batches of one segment file; returns (batch count, {file position: base offset},
    the position where valid batches end)."""
    data = path.read_bytes()
    pos = 0
    expected = base_offset
    starts: dict[int, int] = {}
    while pos < len(data):
        if len(data) - pos < HEADER_SIZE:
            reason = "torn batch header"
        else:
            base, length, _, magic, crc, _, lod = _HEAD.unpack_from(data, pos)
            size = length + LOG_OVERHEAD
            if magic != MAGIC or length < HEADER_SIZE - LOG_OVERHEAD or lod < 0:
                reason = f"no batch header (magic {magic}, length {length})"
            elif pos + size > len(data):
                reason = "torn batch"
            elif base != expected:
                reason = f"batch base offset {base}, expected {expected}"
            elif crc32c(memoryview(data)[pos + CRC_START : pos + size]) != crc:
                reason = "CRC-32C mismatch"
            else:
                starts[pos] = base
                pos += size
                expected = base + lod + 1
                continue
        dropped = len(data) - pos
        what = ("invalid batch in the last segment (recovery after an unclean stop truncates"
                " from here)" if last else "corrupt batch")
        problems.append(f"{path}: {what} at byte {pos} (offset {expected}): {reason}; {dropped} bytes from there")
        break
    return len(starts), starts, pos


def _check_index(path: Path, base_offset: int, starts: dict[int, int], end: int, problems: list[str]) -> None:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return  # derived data: rebuilt when missing
    size = OFFSET_ENTRY.size
    for i in range(len(raw) // size):
        rel, pos = OFFSET_ENTRY.unpack_from(raw, i * size)
        if pos >= end:
            return  # past a corrupt batch, already reported
        if starts.get(pos) != base_offset + rel:
            problems.append(
                f"{path}: entry {i} (offset {base_offset + rel} at byte {pos}) does not match"
                " the segment (rebuilt when read)"
            )
            return


def verify_log(directory: Path) -> LogReport:
    """Check every segment and offset index of one partition directory (read-only)."""
    segments = sorted(
        (int(p.stem), p) for p in directory.glob("*.log") if p.stem.isdigit()
    )
    problems: list[str] = []
    batches = 0
    for i, (base, path) in enumerate(segments):
        count, starts, end = _walk(path, base, problems, last=i == len(segments) - 1)
        batches += count
        _check_index(path.with_suffix(".index"), base, starts, end, problems)
    total = sum(os.stat(p).st_size for _, p in segments)
    return LogReport(directory, len(segments), batches, total, tuple(problems))
