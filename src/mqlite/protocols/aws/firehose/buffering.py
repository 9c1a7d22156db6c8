"""BufferingHints: when a delivery stream flushes its buffer, with Firehose's defaults.

Firehose delivers when either hint is reached, whichever first: `SizeInMBs` (MiB of
record data buffered) or `IntervalInSeconds` since the first buffered record.
Documented defaults and ranges (Firehose API reference, BufferingHints /
HttpEndpointBufferingHints): S3 and extended S3 5 MiB / 300 s (1-128 MiB, 0-900 s);
HTTP endpoints 5 MiB / 300 s (1-64 MiB, 0-900 s). When a Lambda transformation is
enabled, Firehose's processor buffer defaults apply before it (3 MiB / 60 s); here the
destination hints decide, and the transformation runs on each flushed buffer.
`Buffer` tracks what is pending in memory (the records themselves are durable in the
delivery stream's mqlite buffer stream, see delivery.py). Pure; no I/O, no asyncio.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mqlite.protocols.aws.firehose import errors

MIB = 1024 * 1024
DEFAULTS = {"s3": (5, 300), "http": (5, 300)}
RANGES = {"s3": (1, 128), "http": (1, 64)}
MAX_INTERVAL = 900


@dataclass(frozen=True, slots=True)
class Hints:
    size_bytes: int
    interval_s: float


def hints(kind: str, given: dict[str, Any] | None) -> Hints:
    """The effective hints of a destination (kind `s3` or `http`), validated."""
    size_mb, interval = DEFAULTS[kind]
    given = given or {}
    size_mb = given.get("SizeInMBs", size_mb)
    interval = given.get("IntervalInSeconds", interval)
    low, high = RANGES[kind]
    if not low <= size_mb <= high:
        raise errors.validation(size_mb, "bufferingHints.sizeInMBs",
                                f"Member must have value between {low} and {high}")
    if not 0 <= interval <= MAX_INTERVAL:
        raise errors.validation(interval, "bufferingHints.intervalInSeconds",
                                f"Member must have value between 0 and {MAX_INTERVAL}")
    return Hints(size_mb * MIB, float(interval))


@dataclass(slots=True)
class Buffer:
    """Records read from the source but not yet delivered (in arrival order)."""

    records: list[tuple[int, bytes]] = field(default_factory=list)  # (arrival ms, data)
    size: int = 0
    first_at: float | None = None  # loop time the first pending record was buffered

    def add(self, ts_ms: int, data: bytes, now: float) -> None:
        if self.first_at is None:
            self.first_at = now
        self.records.append((ts_ms, data))
        self.size += len(data)

    def due(self, h: Hints, now: float) -> bool:
        if not self.records:
            return False
        return self.size >= h.size_bytes or now - (self.first_at or now) >= h.interval_s

    def wait_time(self, h: Hints, now: float) -> float:
        if self.first_at is None:
            return h.interval_s
        return max(0.0, h.interval_s - (now - self.first_at))

    def take(self) -> list[tuple[int, bytes]]:
        out = self.records
        self.records = []
        self.size = 0
        self.first_at = None
        return out
