"""RangeIndex: numeric intervals of filter conditions, and which contain a number.

Stores interval keys `("r", lo, hi)` (closed; lo may be -inf, hi +inf) and answers a
stab query `stab(v)` -> every stored key with lo <= v <= hi, with a centered interval
tree (built lazily on the first query after a change: O(n log n); a query is
O(log n + answers)). NaN is in no interval (as for the numeric predicates): `stab(nan)`
is empty. The caller re-checks candidates, so over-answering would be safe and
under-answering is not.

Invariants: `stab` never misses a stored interval containing v.
Concurrency: single-threaded (core's loop), like its owner `BindingIndex`.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from typing import Any

RangeKey = tuple[Any, ...]  # ("r", lo, hi)

# a tree node: (center, los ascending, keys by lo, his ascending, keys by hi, left, right)
_Node = tuple[float, list[float], list[RangeKey], list[float], list[RangeKey], Any, Any]


def _build(keys: list[RangeKey]) -> _Node | None:
    if not keys:
        return None
    points = sorted(p for k in keys for p in (k[1], k[2]))
    center = points[len(points) // 2]
    left: list[RangeKey] = []
    right: list[RangeKey] = []
    here: list[RangeKey] = []
    for k in keys:
        if k[2] < center:
            left.append(k)
        elif k[1] > center:
            right.append(k)
        else:
            here.append(k)  # never empty: center is an endpoint of some interval
    by_lo = sorted(here, key=lambda k: k[1])
    by_hi = sorted(here, key=lambda k: k[2])
    return (center, [k[1] for k in by_lo], by_lo, [k[2] for k in by_hi], by_hi,
            _build(left), _build(right))


class RangeIndex:
    """See module docstring."""

    __slots__ = ("_built", "_keys", "_tree")

    def __init__(self) -> None:
        self._keys: dict[RangeKey, None] = {}
        self._tree: _Node | None = None
        self._built = True

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, key: RangeKey) -> None:
        self._keys[key] = None
        self._built = False

    def discard(self, key: RangeKey) -> None:
        if self._keys.pop(key, _MISSING) is not _MISSING:
            self._built = False

    def stab(self, v: float) -> list[RangeKey]:
        """Every stored interval containing v (none for NaN)."""
        if math.isnan(v):
            return []
        if not self._built:
            self._tree = _build(list(self._keys))
            self._built = True
        out: list[RangeKey] = []
        node = self._tree
        while node is not None:
            center, los, by_lo, his, by_hi, left, right = node
            if v < center:
                out.extend(by_lo[: bisect_right(los, v)])
                node = left
            elif v > center:
                out.extend(by_hi[bisect_left(his, v):])
                node = right
            else:
                out.extend(by_lo)
                break
        return out


_MISSING = object()
