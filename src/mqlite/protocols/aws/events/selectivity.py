"""Field order of event patterns, so the router's index picks each rule's rarest condition.

The core router indexes an event pattern by one of its exact-value conditions and, when
several conditions are equally small, by the first field in pattern order. Rules on one
bus usually share `source` (and often `detail-type`) and differ deeper, so binding the
pattern as written would put every rule under the same key and evaluate all of them for
each event. `order_pattern(pattern, freq)` returns the same pattern (same meaning: an
AND does not depend on order) with, at each object level, the fields whose exact values
are shared by the fewest rules of the bus first; `key_counts(pattern)` gives the
(path, value) keys a pattern contributes to `freq`. Pure functions; no I/O.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import orjson

INF = float("inf")


def _scalar_key(value: Any) -> str | None:
    if value is None or isinstance(value, (str, int, float, bool)):
        return orjson.dumps(value).decode()
    return None


def key_counts(pattern: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    """Every (path, exact value) condition of a pattern (each once)."""
    if not isinstance(pattern, dict):
        return
    seen: set[tuple[tuple[str, ...], str]] = set()
    for key, value in pattern.items():
        if key == "$or":
            continue
        if isinstance(value, dict):
            for item in key_counts(value, (*path, key)):
                if item not in seen:
                    seen.add(item)
                    yield item
        elif isinstance(value, list):
            for v in value:
                k = _scalar_key(v)
                if k is not None and ((*path, key), k) not in seen:
                    seen.add(((*path, key), k))
                    yield ((*path, key), k)


def _cost(value: Any, path: tuple[str, ...], freq: Counter[Any]) -> float:
    if isinstance(value, dict):
        costs = [_cost(v, (*path, k), freq) for k, v in value.items() if k != "$or"]
        return min(costs, default=INF)
    if isinstance(value, list):
        total = 0.0
        for v in value:
            k = _scalar_key(v)
            if k is None:
                return INF
            total += freq.get((path, k), 0)
        return total
    return INF


def order_pattern(pattern: Any, freq: Counter[Any], path: tuple[str, ...] = ()) -> Any:
    """The pattern with its rarest conditions first at every level (see module docstring)."""
    if not isinstance(pattern, dict):
        return pattern
    items = []
    for i, (key, value) in enumerate(pattern.items()):
        sub = order_pattern(value, freq, (*path, key)) if isinstance(value, dict) and key != "$or" else value
        cost = INF if key == "$or" else _cost(value, (*path, key), freq)
        items.append((cost, i, key, sub))
    items.sort(key=lambda t: (t[0], t[1]))
    return {key: sub for _cost_, _i, key, sub in items}
