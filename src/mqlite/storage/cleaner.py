"""Log compaction (Kafka's `cleanup.policy=compact`): rewrite closed segments keeping the
latest record per key.

Rules (Apache Kafka `LogCleaner`, `Cleaner.cleanSegments`, KIP-58, KIP-98):
- only closed segments wholly below `upto` (the caller's last stable offset, never the
  active segment) and whose newest record is older than `min_compaction_lag_ms` are
  cleanable; the key -> latest offset map is built from exactly those segments;
- a record is kept if it is the latest for its key in that map, or has no key;
  offsets never change (the log then has gaps, as Kafka's);
- a tombstone (null value) that is the latest for its key is kept until its segment is
  older than `delete_retention_ms`, then dropped;
- transactional data batches whose (producer id, base offset) falls in an aborted
  range are dropped whole; control batches (COMMIT/ABORT markers) are always kept
  (a simplification: Kafka drops a marker once the transaction's data is gone and
  delete.retention.ms has passed);
- each batch keeps its base offset, producer fields and last offset delta; a batch left
  with no records is dropped (offset gaps between batches: the log directory gets a
  `compacted` marker, written before the first swap, telling recovery to accept them;
  a segment whose tail was cleaned away still ends where the next one begins);
- the work is a pass over one log done off the event loop: segments are read through
  the log's thread-safe `read`, written to `<base>.log.cleaned` (fsynced), and swapped
  by `FileLog._swap_cleaned`: indexes removed, then `os.replace` over the `.log`
  (atomic), then indexes rebuilt. A crash before the replace leaves the old segment and
  a `.cleaned` leftover that open deletes; after it, the new one (missing indexes are
  rebuilt on open). Either is a whole, readable log.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

from crc32c import crc32c

from mqlite.storage.batchheader import (
    ATTR_COMPRESSION_MASK,
    ATTR_CONTROL,
    ATTR_TRANSACTIONAL,
    BODY_STRUCT,
    HEADER_SIZE,
    LOG_OVERHEAD,
    PREFIX_STRUCT,
)
from mqlite.storage.compression import Compression, compress
from mqlite.storage.recordbatch import _header_bytes, decode_batch
from mqlite.storage.segment import segment_name
from mqlite.storage.varint import MINUS_ONE, encode_varint

__all__ = ["CLEANED_SUFFIX", "COMPACTED_MARKER", "clean", "encode_kept"]

CLEANED_SUFFIX = ".cleaned"
COMPACTED_MARKER = "compacted"  # in a log directory: its segments may have offset gaps
READ_CHUNK = 1 << 20
Aborted = Callable[[int, int], bool]  # (producer id, base offset) -> was it aborted


def encode_kept(raw: bytes, h: Any, records: list[Any]) -> bytes:
    """Re-encode batch `raw` (header `h`) with only `records`, keeping offsets."""
    out = []
    for r in records:
        key, value = r.key, r.value
        rec = b"".join((
            b"\x00",
            encode_varint(r.timestamp - h.base_timestamp),
            encode_varint(r.offset - h.base_offset),
            MINUS_ONE if key is None else encode_varint(len(key)) + key,
            MINUS_ONE if value is None else encode_varint(len(value)) + value,
            _header_bytes(r.headers) if r.headers else b"\x00",
        ))
        out.append(encode_varint(len(rec)) + rec)
    body = b"".join(out)
    attributes = h.attributes if records else h.attributes & ~ATTR_COMPRESSION_MASK
    codec = attributes & ATTR_COMPRESSION_MASK
    if codec:
        body = compress(Compression(codec), body)
    tail = BODY_STRUCT.pack(attributes, h.last_offset_delta, h.base_timestamp, h.max_timestamp,
                            h.producer_id, h.producer_epoch, h.base_sequence, len(records))
    crc = crc32c(body, crc32c(tail))
    prefix = PREFIX_STRUCT.pack(h.base_offset, HEADER_SIZE - LOG_OVERHEAD + len(body), h.partition_leader_epoch)
    return b"".join((prefix, b"\x02", crc.to_bytes(4, "big"), tail, body))


def _batches(log: Any, start: int, end: int) -> Iterable[tuple[bytes, Any, list[Any]]]:
    """Decoded batches of `log` from offset `start` up to `end` (exclusive)."""
    offset = start
    while offset < end:
        raws = log.read(offset, READ_CHUNK)
        if not raws:
            return
        for raw in raws:
            h, records = decode_batch(raw)
            if h.base_offset >= end:
                return
            yield raw, h, records
            offset = h.base_offset + h.last_offset_delta + 1


def _is_aborted(h: Any, aborted: Aborted | None) -> bool:
    return bool(aborted and h.attributes & ATTR_TRANSACTIONAL and not h.attributes & ATTR_CONTROL
                and aborted(h.producer_id, h.base_offset))


def clean(log: Any, now_ms: int, upto: int, aborted: Aborted | None = None) -> int:
    """One compaction pass over FileLog `log`; returns how many segments were rewritten."""
    cfg = log.config
    segs = _cleanable(log, now_ms - cfg.min_compaction_lag_ms, upto)
    if not segs or segs[-1][1] <= getattr(log, "_cleaned_to", -1):
        return 0  # nothing new since the last pass (Kafka's dirty section is empty)
    start, end = max(segs[0][0], log.start_offset), segs[-1][1]
    latest: dict[bytes, int] = {}
    for _raw, h, records in _batches(log, start, end):
        if h.attributes & ATTR_CONTROL or _is_aborted(h, aborted):
            continue
        for r in records:
            if r.key is not None:
                latest[r.key] = r.offset
    drop_tombstones_before = now_ms - cfg.delete_retention_ms
    done = 0
    for base, nxt, max_ts in segs:
        lo = max(base, log.start_offset)
        pieces: list[bytes] = []
        changed = False
        for raw, h, records in _batches(log, lo, nxt):
            if h.attributes & ATTR_CONTROL:
                pieces.append(raw)
                continue
            kept = [] if _is_aborted(h, aborted) else [r for r in records
                    if r.key is None or (latest.get(r.key) == r.offset
                                         and (r.value is not None or max_ts >= drop_tombstones_before))]
            if len(kept) == len(records):
                pieces.append(raw)
                continue
            changed = True
            if kept:
                pieces.append(encode_kept(raw, h, kept))
        if not changed:
            continue
        if _swap(log, base, nxt, _write_cleaned(log.directory, base, pieces)):
            done += 1
    log._cleaned_to = end
    return done


def _cleanable(log: Any, newest_before: int, upto: int) -> list[tuple[int, int, int]]:
    """(base, next offset, max timestamp) of the oldest closed segments that may be
    cleaned: below `upto`, newest record before `newest_before`."""
    out = []
    with log._lock:
        for seg in log._segments[:-1]:
            if seg.next_offset > upto or seg.max_timestamp > newest_before:
                break
            if seg.size:
                out.append((seg.base_offset, seg.next_offset, seg.max_timestamp))
    return out


def _swap(log: Any, base: int, nxt: int, path: Any) -> bool:
    """Replace segment `base` by the cleaned file at `path` (see the module docstring)."""
    with log._lock:
        seg = next((s for s in log._segments[:-1] if s.base_offset == base), None)
        if log._closed or seg is None or seg.next_offset != nxt:  # deleted (retention) meanwhile
            os.unlink(path)
            return False
        marker = log.directory / COMPACTED_MARKER
        if not marker.exists():  # before any gap reaches disk: recovery must accept gaps
            marker.touch()
            log._fsync_dir()
        for s in log._segments:
            s.gaps = True
        log._loaded.pop(base, None)
        seg.unload()
        for p in (seg.index.path, seg.time_index.path):
            try:
                os.unlink(p)
            except FileNotFoundError:
                pass
        log._fsync_dir()
        os.replace(path, seg.path)
        log._fsync_dir()
        seg.rebuild(nxt)
        seg.unload()
        return True


def _write_cleaned(directory: Any, base: int, pieces: list[bytes]) -> Any:
    path = directory / (segment_name(base) + ".log" + CLEANED_SUFFIX)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, b"".join(pieces))
        os.fsync(fd)
    finally:
        os.close(fd)
    return path
