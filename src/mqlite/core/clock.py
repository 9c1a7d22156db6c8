"""Time as the core model sees it: an injectable clock, so timeouts are testable.

Every core object takes a `Clock`; nothing in core/ calls `time.time()` directly.
`SystemClock` is the real one; `ManualClock` is advanced by tests, which then call the
object's `tick()` (or any operation) to make expiries take effect without sleeping.
"""

from __future__ import annotations

import time


class Clock:
    """Wall-clock milliseconds (for timestamps) and monotonic seconds (for timeouts)."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def monotonic(self) -> float:
        return time.monotonic()


SystemClock = Clock


class ManualClock(Clock):
    """A clock that moves only when told to; both readings advance together."""

    def __init__(self, start_ms: int = 1_700_000_000_000) -> None:
        self._ms = start_ms
        self._mono = 1000.0

    def now_ms(self) -> int:
        return self._ms

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        self._ms += int(seconds * 1000)
        self._mono += seconds
