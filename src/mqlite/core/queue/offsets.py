"""OffsetSet: a set of log offsets stored as sorted disjoint runs [start, end).

Done offsets above a queue's low-water mark are almost always long runs (messages are
acked roughly in order behind one old unacked message), so a million acks behind a
stuck lease cost a few runs, not a million set entries.
Operations: `add` O(log r) (+ list insert), `in` O(log r), `pop_front_from(lwm)`
(advance a low-water mark over a run), `len` O(1), `ranges()` for snapshots.
Plain data structure; no I/O, no concurrency of its own.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator


class OffsetSet:
    __slots__ = ("_count", "_ends", "_starts")

    def __init__(self, runs: Iterable[tuple[int, int] | list[int]] = ()) -> None:
        """`runs`: sorted, disjoint [start, end) pairs (as `ranges()` gives them)."""
        self._starts: list[int] = []
        self._ends: list[int] = []
        self._count = 0
        for a, b in runs:
            if b <= a:
                continue
            if self._ends and a <= self._ends[-1]:
                raise ValueError("runs must be sorted and disjoint")
            self._starts.append(a)
            self._ends.append(b)
            self._count += b - a

    @classmethod
    def between(cls, kept: list[int], end: int) -> OffsetSet:
        """The offsets in (kept[0], end) that are not in `kept` (sorted, ascending):
        what a purge that keeps only the leased `kept` leaves done above its low-water
        mark. Empty when `kept` is."""
        runs: list[tuple[int, int]] = []
        for i, off in enumerate(kept):
            nxt = kept[i + 1] if i + 1 < len(kept) else end
            if off + 1 < nxt:
                runs.append((off + 1, nxt))
        return cls(runs)

    def __len__(self) -> int:
        return self._count

    def __bool__(self) -> bool:
        return self._count > 0

    def __contains__(self, off: int) -> bool:
        i = bisect.bisect_right(self._starts, off) - 1
        return i >= 0 and off < self._ends[i]

    def add(self, off: int) -> bool:
        starts, ends = self._starts, self._ends
        i = bisect.bisect_right(starts, off) - 1
        if i >= 0 and off < ends[i]:
            return False
        joins_left = i >= 0 and ends[i] == off
        joins_right = i + 1 < len(starts) and starts[i + 1] == off + 1
        if joins_left and joins_right:
            ends[i] = ends[i + 1]
            del starts[i + 1]
            del ends[i + 1]
        elif joins_left:
            ends[i] = off + 1
        elif joins_right:
            starts[i + 1] = off
        else:
            starts.insert(i + 1, off)
            ends.insert(i + 1, off + 1)
        self._count += 1
        return True

    def advance(self, lwm: int) -> int:
        """The new low-water mark: `lwm` moved over a run starting at it (which is
        dropped), and every run below it dropped too."""
        starts, ends = self._starts, self._ends
        while starts and starts[0] <= lwm:
            lwm = max(lwm, ends[0])
            self._count -= ends[0] - starts[0]
            del starts[0]
            del ends[0]
        return lwm

    def discard_below(self, lwm: int) -> None:
        starts, ends = self._starts, self._ends
        while starts and starts[0] < lwm:
            if ends[0] > lwm:
                self._count -= lwm - starts[0]
                starts[0] = lwm
                break
            self._count -= ends[0] - starts[0]
            del starts[0]
            del ends[0]

    def discard_from(self, end: int) -> None:
        """Drop every offset >= end."""
        starts, ends = self._starts, self._ends
        while starts and ends[-1] > end:
            if starts[-1] >= end:
                self._count -= ends[-1] - starts[-1]
                starts.pop()
                ends.pop()
            else:
                self._count -= ends[-1] - end
                ends[-1] = end

    def max(self) -> int:
        """One past the highest offset held (0 when empty)."""
        return self._ends[-1] if self._ends else 0

    def clear(self) -> None:
        self._starts.clear()
        self._ends.clear()
        self._count = 0

    def ranges(self) -> list[list[int]]:
        return [[a, b] for a, b in zip(self._starts, self._ends)]

    def __iter__(self) -> Iterator[int]:
        for a, b in zip(self._starts, self._ends):
            yield from range(a, b)
